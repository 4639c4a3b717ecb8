#![cfg(not(any(loom, shuttle)))]
//! Cooperative scheduling: an acquire that is ready spends the task's tokio budget and yields once
//! it is spent, so a task looping on an always-free lock cannot starve the other tasks on its
//! worker — and the permits it held while yielding are never lost.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_patterns::sync::{Mutex, OwnedSemaphorePermit, RwLock, Semaphore};
use futures::FutureExt;
use proptest::prelude::*;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

/// Spends the rest of the current task's budget.
fn exhaust_budget() {
    while tokio::task::coop::consume_budget().now_or_never().is_some() {}
}

/// One task locks and unlocks a free mutex in a loop; another only wants to tick once. On a
/// current-thread runtime the ticker runs only if the locking task yields: with coop it does
/// within one budget (128 operations), without it never (the loop's bound ends the test).
#[test]
fn a_task_looping_on_a_free_lock_lets_the_others_run() {
    const LOCKS: u32 = 100_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let locks_before_tick = runtime.block_on(async {
        let ticked = Rc::new(Cell::new(false));
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                // The looper is spawned first, so it runs first: the ticker gets the worker only
                // when the looper yields.
                let mutex = Mutex::new(0u32);
                let looper = tokio::task::spawn_local({
                    let ticked = Rc::clone(&ticked);
                    async move {
                        for locks in 0..LOCKS {
                            if ticked.get() {
                                return Some(locks);
                            }
                            *mutex.lock().await += 1;
                        }
                        None
                    }
                });
                let ticker = tokio::task::spawn_local(async move { ticked.set(true) });
                ticker.await.unwrap();
                looper.await.unwrap()
            })
            .await
    });
    let locks = locks_before_tick.expect("the ticker never ran while the loop held the worker");
    assert!(locks <= 1_000, "the ticker ran only after {locks} locks");
}

/// The same for the RwLock's read and write and the semaphore's acquire.
#[tokio::test(flavor = "current_thread")]
async fn every_acquire_yields_once_the_budget_is_spent() {
    let lock = RwLock::new(());
    let semaphore = Semaphore::new(1);
    let mutex = Mutex::new(());
    exhaust_budget();
    let mut read = spawn(lock.read());
    assert_pending!(read.poll());
    let mut acquire = spawn(semaphore.acquire());
    assert_pending!(acquire.poll());
    let mut lock_mutex = spawn(mutex.lock());
    assert_pending!(lock_mutex.poll());
    // Yielding for the budget, each holds what it took: a writer or another acquire must wait.
    assert!(lock.try_write().is_err());
    assert!(semaphore.try_acquire().is_err());
    assert!(mutex.try_lock().is_err());
    tokio::task::yield_now().await; // a fresh budget
    let _read = assert_ready!(read.poll());
    assert!(assert_ready!(acquire.poll()).is_ok());
    let _locked = assert_ready!(lock_mutex.poll());
}

/// tokio's check of the same thing: a `lock()` that took the permit and then yielded for the
/// budget gives it back when dropped.
#[tokio::test(flavor = "current_thread")]
async fn a_lock_dropped_while_yielding_for_the_budget_gives_the_lock_back() {
    let mutex = Arc::new(Mutex::new(()));
    let mut lock = spawn(Arc::clone(&mutex).lock_owned());
    exhaust_budget();
    assert_pending!(lock.poll());
    assert!(mutex.try_lock().is_err());
    drop(lock);
    assert!(mutex.try_lock().is_ok());
}

/// A queued waiter granted while the budget is spent keeps its place and its permits.
#[tokio::test(flavor = "current_thread")]
async fn a_grant_seen_with_no_budget_is_kept_for_the_next_poll() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let mut first = spawn(semaphore.acquire());
    let mut second = spawn(semaphore.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(held);
    assert!(first.is_woken());
    exhaust_budget();
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    tokio::task::yield_now().await;
    let permit = assert_ready!(first.poll()).unwrap();
    assert_pending!(second.poll());
    drop(permit);
    let _second = assert_ready!(second.poll()).unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    /// `acquire_many(n)`, polled once.
    Acquire(u32),
    /// Poll a pending acquire, with the budget spent or not.
    Poll { index: usize, budget_spent: bool },
    /// Drop a pending acquire.
    Cancel(usize),
    /// Drop a permit.
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..=3).prop_map(Op::Acquire),
        (any::<usize>(), any::<bool>()).prop_map(|(index, budget_spent)| Op::Poll {
            index,
            budget_spent
        }),
        any::<usize>().prop_map(Op::Cancel),
        any::<usize>().prop_map(Op::Release),
    ]
}

type Pending =
    Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, async_patterns::sync::AcquireError>>>>;

/// Polls `future` once inside the runtime, with the budget spent first if asked (each
/// `block_on` starts with a fresh budget).
fn poll_once(
    runtime: &tokio::runtime::Runtime,
    future: &mut Pending,
    budget_spent: bool,
) -> Poll<OwnedSemaphorePermit> {
    runtime.block_on(async {
        if budget_spent {
            exhaust_budget();
        }
        let waker = futures::task::noop_waker();
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(result) => Poll::Ready(result.expect("never closed")),
            Poll::Pending => Poll::Pending,
        }
    })
}

proptest! {
    /// The semaphore's state machine with the budget spent at random polls: a poll with no budget
    /// never completes, permits are conserved at every step (what is available plus what the
    /// permits hold never exceeds the total), and once everything is dropped every permit is
    /// back — none was lost in a future that yielded for the budget while holding it.
    #[test]
    fn no_permit_is_lost_to_a_spent_budget(
        initial in 1usize..=4,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let semaphore = Arc::new(Semaphore::new(initial));
        let mut pending: Vec<Pending> = Vec::new();
        let mut held: Vec<OwnedSemaphorePermit> = Vec::new();
        for op in ops {
            match op {
                Op::Acquire(n) => {
                    // Never more than the total, so that every acquire can complete at the end.
                    let n = n.min(initial as u32);
                    let mut future: Pending = Box::pin(Arc::clone(&semaphore).acquire_many_owned(n));
                    match poll_once(&runtime, &mut future, false) {
                        Poll::Ready(permit) => held.push(permit),
                        Poll::Pending => pending.push(future),
                    }
                }
                Op::Poll { index, budget_spent } if !pending.is_empty() => {
                    let index = index % pending.len();
                    match poll_once(&runtime, &mut pending[index], budget_spent) {
                        Poll::Ready(permit) => {
                            prop_assert!(!budget_spent, "an acquire completed with no budget left");
                            held.push(permit);
                            drop(pending.remove(index));
                        }
                        Poll::Pending => {}
                    }
                }
                Op::Cancel(index) if !pending.is_empty() => {
                    drop(pending.remove(index % pending.len()));
                }
                Op::Release(index) if !held.is_empty() => {
                    drop(held.remove(index % held.len()));
                }
                _ => {}
            }
            let in_permits: usize = held.iter().map(OwnedSemaphorePermit::num_permits).sum();
            prop_assert!(
                semaphore.available_permits() + in_permits <= initial,
                "{} available + {in_permits} in permits > {initial}",
                semaphore.available_permits()
            );
        }
        // With every permit back, each pending acquire completes in turn (FIFO: the head first).
        held.clear();
        while !pending.is_empty() {
            let permit = poll_once(&runtime, &mut pending[0], false);
            prop_assert!(permit.is_ready(), "the head of the queue was not granted with every permit free");
            drop(pending.remove(0));
        }
        prop_assert_eq!(semaphore.available_permits(), initial);
    }
}
