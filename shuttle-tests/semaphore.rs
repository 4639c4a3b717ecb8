//! The semaphore with six parties: acquires of one and two permits (one cancelled after a poll,
//! possibly after its grant), `add_permits`, `forget_permits` and `close` racing. And the FIFO
//! order of waiters, checked one release at a time.
//!
//! Both checks are generic over [`SemaphoreUnderTest`], so the same tests run on the naive
//! semaphores of the bug zoo: each must be rejected (the self-tests at the end), and the correct
//! lock-everything one accepted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use async_patterns::sync::Semaphore;
use shuttle::future::block_on;
use shuttle::thread;

use crate::naive_semaphore::{Correct, LeakOnCancelAfterGrant, Lifo, LostWakeup};
use crate::runner::{self, check_here, first_failure};
use crate::semaphore_under_test::SemaphoreUnderTest;

const INITIAL: usize = 2;

/// Four acquiring tasks (the last cancels its acquire after one poll), one adding a permit, one
/// forgetting one, and main closing the semaphore once the adder is done. No more permits are
/// ever held at once than there are, every task ends (a lost wakeup is shuttle's deadlock), and
/// once all is dropped the permits add up: initial + added − forgotten.
fn many_parties<S: SemaphoreUnderTest>() {
    let semaphore = S::with_permits(INITIAL);
    let held = Arc::new(AtomicUsize::new(0));
    let added = Arc::new(AtomicUsize::new(0));
    let forgotten = Arc::new(AtomicUsize::new(0));
    let acquirers: Vec<_> = (0..4u32)
        .map(|id| {
            let (semaphore, held) = (Arc::clone(&semaphore), Arc::clone(&held));
            thread::spawn(move || {
                let n = 1 + id % 2;
                let future = S::acquire_many(&semaphore, n);
                let permit = if id == 3 {
                    // Cancelled after one poll: possibly after its permits were assigned to it.
                    let mut future = future;
                    match future
                        .as_mut()
                        .poll(&mut Context::from_waker(Waker::noop()))
                    {
                        Poll::Ready(permit) => permit.ok(),
                        Poll::Pending => None,
                    }
                } else {
                    block_on(future).ok()
                };
                if let Some(permit) = permit {
                    let now = held.fetch_add(n as usize, Ordering::SeqCst) + n as usize;
                    assert!(now <= INITIAL + 1, "{now} permits held at once");
                    thread::yield_now();
                    held.fetch_sub(n as usize, Ordering::SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    let adder = {
        let (semaphore, added) = (Arc::clone(&semaphore), Arc::clone(&added));
        thread::spawn(move || {
            semaphore.add_permits(1);
            added.fetch_add(1, Ordering::SeqCst);
        })
    };
    let forgetter = {
        let (semaphore, forgotten) = (Arc::clone(&semaphore), Arc::clone(&forgotten));
        thread::spawn(move || {
            forgotten.fetch_add(semaphore.forget_permits(1), Ordering::SeqCst);
        })
    };
    adder.join().unwrap();
    forgetter.join().unwrap();
    // Waiters still queued now (asking for more than is left) are woken by the close.
    if semaphore.available_permits() == 0 {
        semaphore.close();
    }
    for acquirer in acquirers {
        acquirer.join().unwrap();
    }
    assert_eq!(
        semaphore.available_permits(),
        INITIAL + added.load(Ordering::SeqCst) - forgotten.load(Ordering::SeqCst),
        "permits were lost or made up"
    );
}

/// Three waiters queue in a known order (main polls each once before handing it to its
/// thread), then main releases one permit at a time and waits for the waiter it reached: it must
/// be the next in arrival order, whatever the schedule.
fn waiters_in_arrival_order<S: SemaphoreUnderTest>() {
    let semaphore = S::with_permits(0);
    let (report, reports) = shuttle::sync::mpsc::channel();
    let waiters: Vec<_> = (0..3usize)
        .map(|id| {
            let mut future = S::acquire_many(&semaphore, 1);
            assert!(
                future
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_pending(),
                "nothing is available"
            );
            let report = report.clone();
            thread::spawn(move || {
                let permit = block_on(future).expect("never closed");
                // Kept out of the semaphore: only main releases permits.
                S::forget(permit);
                report.send(id).unwrap();
            })
        })
        .collect();
    for expected in 0..3 {
        semaphore.add_permits(1);
        let granted = reports.recv().unwrap();
        assert_eq!(granted, expected, "a waiter overtook one queued before it");
    }
    for waiter in waiters {
        waiter.join().unwrap();
    }
}

#[test]
fn semaphore_many_parties_conserve_permits() {
    check_here(many_parties::<Semaphore>);
}

#[test]
fn semaphore_waiters_are_granted_in_arrival_order() {
    check_here(waiters_in_arrival_order::<Semaphore>);
}

/// The tier has teeth: the checks above reject each naive semaphore (and accept the correct
/// lock-everything one). Prints how many schedules each took to fail.
#[test]
fn shuttle_rejects_the_naive_semaphores() {
    runner::quiet_expected_panics();
    type Hunt = fn() -> Option<(runner::Kind, usize)>;
    let cases: [(&str, Hunt); 3] = [
        ("leak on cancel after grant", || {
            first_failure("naive::leak", many_parties::<LeakOnCancelAfterGrant>)
        }),
        ("LIFO", || {
            first_failure("naive::lifo", waiters_in_arrival_order::<Lifo>)
        }),
        ("lost wakeup", || {
            first_failure("naive::lost_wakeup", many_parties::<LostWakeup>)
        }),
    ];
    for (bug, hunt) in cases {
        match hunt() {
            Some((kind, iterations)) => eprintln!(
                "naive semaphore rejected as required: {bug}, {kind:?} scheduler, schedule {iterations}"
            ),
            None => panic!("the shuttle checks accepted the naive semaphore with {bug}"),
        }
    }
    assert_eq!(
        first_failure("naive::correct", many_parties::<Correct>),
        None
    );
    assert_eq!(
        first_failure("naive::correct_fifo", waiters_in_arrival_order::<Correct>),
        None
    );
}
