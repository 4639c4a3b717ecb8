#![cfg(not(any(loom, shuttle)))]
//! Hostile callers: user code that runs inside the primitives misbehaves, and the primitives'
//! invariants survive it.
//!
//! User code runs inside a primitive in four places: `Waker::clone`, `wake` / `wake_by_ref`, a
//! waker's drop, and the `Drop` of a stored value. Each test hands one primitive a
//! [`HostileWaker`] or an [`OnDrop`] value that panics or calls back into the primitive at one
//! of those places, and checks what every primitive promises:
//!
//! - the panic reaches only the caller whose poll or drop ran the user code — after the
//!   operation it was part of is complete (permits handed on, values moved, every other waiter
//!   woken);
//! - the invariants hold afterwards: permits conserved, FIFO kept, no value lost or duplicated;
//! - a re-entrant waker or value neither deadlocks nor corrupts state (no user code runs under
//!   a lock of the crate's).
//!
//! The state-machine tests (`semaphore_model.rs`, `channel_model.rs`) draw the same hostile
//! wakers at random among their operations; this file pins each case down by name, for every
//! primitive that stores a waker or a value.

mod support;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use async_patterns::channel;
use async_patterns::sync::{Mutex, RwLock, Semaphore};

use support::hostile::{Event, HostileWaker, OnDrop};

/// Polls `future` once with `waker`; `Err` if the poll panicked.
fn poll_with<F: Future + ?Sized>(
    future: Pin<&mut F>,
    waker: &Waker,
) -> std::thread::Result<Poll<F::Output>> {
    support::hostile::quiet_hostile_panics();
    catch_unwind(AssertUnwindSafe(|| {
        future.poll(&mut Context::from_waker(waker))
    }))
}

/// Runs `f`, which must panic (the hostile user code ran in it).
fn panics(what: &str, f: impl FnOnce()) {
    assert!(
        catch_unwind(AssertUnwindSafe(f)).is_err(),
        "{what}: the hostile user code's panic did not reach the caller that ran it"
    );
}

// ---------------------------------------------------------------------------------------------
// Semaphore (and the Mutex and RwLock, whose waits are the semaphore's)
// ---------------------------------------------------------------------------------------------

/// A waker whose clone panics while another acquire waits: the queue keeps the waiter that was
/// there, FIFO and wakeups intact.
#[test]
fn semaphore_a_clone_that_panics_leaves_the_queue_intact() {
    let semaphore = Semaphore::new(0);
    let first = HostileWaker::counting();
    let mut queued = Box::pin(semaphore.acquire());
    assert!(
        poll_with(queued.as_mut(), &first.waker())
            .unwrap()
            .is_pending()
    );

    let hostile = HostileWaker::panicking_on(Event::Clone);
    let mut failed = Box::pin(semaphore.acquire());
    assert!(poll_with(failed.as_mut(), &hostile.waker()).is_err());
    drop(failed);

    let behind = HostileWaker::counting();
    let mut later = Box::pin(semaphore.acquire());
    assert!(
        poll_with(later.as_mut(), &behind.waker())
            .unwrap()
            .is_pending()
    );

    semaphore.add_permits(1);
    assert_eq!(first.wakes(), 1, "the waiter queued first was not woken");
    assert_eq!(behind.wakes(), 0, "FIFO broken");
    let permit = match poll_with(queued.as_mut(), &first.waker()).unwrap() {
        Poll::Ready(permit) => permit.unwrap(),
        Poll::Pending => panic!("the first waiter lost its grant"),
    };
    drop(permit);
    assert_eq!(
        behind.wakes(),
        1,
        "the permit did not pass to the next waiter"
    );
    assert!(
        poll_with(later.as_mut(), &behind.waker())
            .unwrap()
            .is_ready()
    );
    assert_eq!(semaphore.available_permits(), 1, "permits not conserved");
    assert_eq!(hostile.live(), 0, "a clone of the hostile waker leaked");
}

/// Re-polled with a new waker whose clone (or whose replaced waker's drop) panics: the poll
/// panics, which ends that `acquire` (an `async fn` does not resume after a panic: its wait is
/// dropped and cancelled), and nothing is lost — the next waiter is served, permits add up.
#[test]
fn semaphore_a_repoll_that_panics_cancels_that_wait_and_loses_nothing() {
    for (first, repoll) in hostile_repolls() {
        let semaphore = Semaphore::new(1);
        let held = semaphore.try_acquire().unwrap();
        let mut queued = Box::pin(semaphore.acquire());
        assert!(
            poll_with(queued.as_mut(), &first.waker())
                .unwrap()
                .is_pending()
        );
        let behind = HostileWaker::counting();
        let mut next = Box::pin(semaphore.acquire());
        assert!(
            poll_with(next.as_mut(), &behind.waker())
                .unwrap()
                .is_pending()
        );
        assert!(
            poll_with(queued.as_mut(), &repoll.waker()).is_err(),
            "the poll panics"
        );
        drop(queued);
        drop(held);
        assert_eq!(behind.wakes(), 1, "the next waiter was not served");
        assert!(
            poll_with(next.as_mut(), &behind.waker())
                .unwrap()
                .is_ready()
        );
        drop(next);
        assert_eq!(semaphore.available_permits(), 1, "permits not conserved");
        assert_eq!(first.live() + repoll.live(), 0, "a waker leaked");
    }
}

/// The waker of a first poll and that of a re-poll, one of which panics in the re-poll: a new
/// waker whose clone panics, or a stored waker whose drop (when the re-poll replaces it)
/// panics. (The waker passed to a poll is a temporary, dropped calmly after it: drop #0; the
/// stored clone's is drop #1.)
fn hostile_repolls() -> [(HostileWaker, HostileWaker); 2] {
    [
        (
            HostileWaker::counting(),
            HostileWaker::panicking_on(Event::Clone),
        ),
        (
            HostileWaker::panicking_once_on(Event::Drop, 1),
            HostileWaker::counting(),
        ),
    ]
}

/// Three waiters; the first one's wake panics. The release that wakes them hands every permit
/// on and wakes the other two, then raises the panic in the releaser.
#[test]
fn semaphore_a_wake_that_panics_still_wakes_every_other_waiter() {
    let semaphore = Semaphore::new(0);
    let wakers = [
        HostileWaker::panicking_on(Event::Wake),
        HostileWaker::counting(),
        HostileWaker::counting(),
    ];
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(semaphore.acquire())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(
            poll_with(future.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("add_permits", || semaphore.add_permits(3));
    for waker in &wakers {
        assert_eq!(waker.wakes(), 1, "a waiter was not woken");
    }
    let permits: Vec<_> = futures
        .iter_mut()
        .zip(&wakers)
        .map(
            |(future, waker)| match poll_with(future.as_mut(), &waker.waker()).unwrap() {
                Poll::Ready(permit) => permit.unwrap(),
                Poll::Pending => panic!("a waiter lost its grant"),
            },
        )
        .collect();
    drop(permits);
    assert_eq!(semaphore.available_permits(), 3, "permits not conserved");
}

/// As above for `close`: every waiter is closed out and woken.
#[test]
fn semaphore_a_wake_that_panics_in_close_still_closes_out_every_waiter() {
    let semaphore = Semaphore::new(0);
    let wakers: Vec<_> = (0..40)
        .map(|i| {
            if i % 3 == 0 {
                HostileWaker::panicking_on(Event::Wake)
            } else {
                HostileWaker::counting()
            }
        })
        .collect();
    // More waiters than one batch of wakers (32).
    let mut futures: Vec<_> = (0..40).map(|_| Box::pin(semaphore.acquire())).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(
            poll_with(future.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("close", || semaphore.close());
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert_eq!(waker.wakes(), 1, "a waiter was not woken");
        match poll_with(future.as_mut(), &waker.waker()).unwrap() {
            Poll::Ready(result) => assert!(result.is_err(), "closed out"),
            Poll::Pending => panic!("a waiter was left queued"),
        }
    }
}

/// Wakers that call back into the semaphore from `clone`, `wake` and drop: no deadlock, and the
/// permits add up.
#[test]
fn semaphore_reentrant_wakers_neither_deadlock_nor_lose_permits() {
    let semaphore = Arc::new(Semaphore::new(0));
    let net = Arc::new(AtomicUsize::new(0));
    // Each family re-enters at every clone, wake and drop; they differ in the calls' order of
    // the waiters they belong to.
    let reenter = |_family: Event| {
        let (semaphore, net) = (Arc::clone(&semaphore), Arc::clone(&net));
        HostileWaker::new(move |_| {
            {
                // Each call runs where a lock of the semaphore could have been held.
                let _ = semaphore.try_acquire();
                semaphore.add_permits(1);
                net.fetch_add(1, Ordering::SeqCst);
                let forgotten = semaphore.forget_permits(1);
                net.fetch_sub(forgotten, Ordering::SeqCst);
                let _ = format!("{semaphore:?}");
            }
        })
    };
    let families = [
        reenter(Event::Clone),
        reenter(Event::Wake),
        reenter(Event::Drop),
    ];
    // Each hook adds a permit that goes to the queue's head: ask for many, so that both stay
    // queued through the re-polls.
    let mut futures: Vec<_> = (0..2)
        .map(|_| Some(Box::pin(semaphore.acquire_many(100))))
        .collect();
    let mut held = Vec::new();
    let mut poll = |i: usize, family: &HostileWaker| {
        if let Some(future) = &mut futures[i] {
            // A re-entrant call may grant it at any poll.
            if let Poll::Ready(permit) = poll_with(future.as_mut(), &family.waker()).unwrap() {
                held.push(permit.unwrap());
                futures[i] = None;
            }
        }
    };
    // Each re-poll with another family's waker clones the new one and drops the stored one.
    for (i, family) in [0, 1, 2, 1, 0, 2].into_iter().enumerate() {
        poll(i % 2, &families[family]);
    }
    semaphore.add_permits(200);
    for (i, family) in families.iter().enumerate().take(2) {
        poll(i, family);
    }
    assert!(
        futures.iter().all(Option::is_none),
        "a waiter was not granted"
    );
    drop(held);
    assert_eq!(
        semaphore.available_permits(),
        200 + net.load(Ordering::SeqCst),
        "permits not conserved"
    );
}

/// The same hostile wakers on the locks: a lock waiter whose clone panics leaves the queue
/// intact, and a waiter whose wake panics still lets the next one in.
#[test]
fn locks_survive_hostile_wakers() {
    let mutex = Mutex::new(0);
    let guard = mutex.try_lock().unwrap();
    let calm = HostileWaker::counting();
    let mut first = Box::pin(mutex.lock());
    assert!(
        poll_with(first.as_mut(), &calm.waker())
            .unwrap()
            .is_pending()
    );
    let mut failed = Box::pin(mutex.lock());
    assert!(
        poll_with(
            failed.as_mut(),
            &HostileWaker::panicking_on(Event::Clone).waker()
        )
        .is_err()
    );
    drop(failed);
    drop(guard);
    assert_eq!(calm.wakes(), 1);
    assert!(poll_with(first.as_mut(), &calm.waker()).unwrap().is_ready());
    drop(first);

    let lock = RwLock::new(0);
    let write = lock.try_write().unwrap();
    let wakers = [
        HostileWaker::panicking_on(Event::Wake),
        HostileWaker::counting(),
    ];
    let mut readers: Vec<_> = (0..2).map(|_| Box::pin(lock.read())).collect();
    for (reader, waker) in readers.iter_mut().zip(&wakers) {
        assert!(
            poll_with(reader.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("dropping the write guard", || drop(write));
    assert_eq!(wakers[1].wakes(), 1, "the second reader was not woken");
    for (reader, waker) in readers.iter_mut().zip(&wakers) {
        assert!(
            poll_with(reader.as_mut(), &waker.waker())
                .unwrap()
                .is_ready()
        );
    }
}

/// A downgrade hands the other permits to queued readers: if one of their wakers panics, the
/// read guard the downgrade made is dropped with the unwinding and gives its permit back, so no
/// permit is lost (a writer gets in once the readers are done).
#[test]
fn a_downgrade_whose_wake_panics_loses_no_permit() {
    use async_patterns::sync::{OwnedRwLockWriteGuard, RwLockWriteGuard};
    for owned in [false, true] {
        let lock = std::sync::Arc::new(RwLock::with_max_readers(0, 2));
        let hostile = HostileWaker::panicking_on(Event::Wake);
        let mut reader = Box::pin(lock.read());
        if owned {
            let write = std::sync::Arc::clone(&lock).try_write_owned().unwrap();
            assert!(
                poll_with(reader.as_mut(), &hostile.waker())
                    .unwrap()
                    .is_pending()
            );
            panics("downgrade", || {
                drop(OwnedRwLockWriteGuard::downgrade(write))
            });
        } else {
            let write = lock.try_write().unwrap();
            assert!(
                poll_with(reader.as_mut(), &hostile.waker())
                    .unwrap()
                    .is_pending()
            );
            panics("downgrade_map", || {
                drop(RwLockWriteGuard::downgrade_map(write, |value| value));
            });
        }
        assert!(
            poll_with(reader.as_mut(), &hostile.waker())
                .unwrap()
                .is_ready()
        );
        drop(reader);
        assert!(
            lock.try_write().is_ok(),
            "a permit was lost (owned: {owned})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Channel
// ---------------------------------------------------------------------------------------------

/// A waiting `recv` and a waiting `send` whose wakers' clones panic: the channel is left as it
/// was (nothing queued, nothing taken), and later callers are served.
#[test]
fn channel_a_clone_that_panics_leaves_the_channel_as_it_was() {
    let (tx, rx) = channel::bounded::<u32>(1).unwrap();
    let hostile = HostileWaker::panicking_on(Event::Clone);
    let mut recv = Box::pin(rx.recv());
    assert!(poll_with(recv.as_mut(), &hostile.waker()).is_err());
    drop(recv);
    tx.try_send(1).unwrap();
    let mut send = Box::pin(tx.send(2));
    assert!(poll_with(send.as_mut(), &hostile.waker()).is_err());
    drop(send); // the value 2 goes with it: it never reached the channel
    assert_eq!(tx.len(), 1);
    assert_eq!(rx.try_recv(), Ok(1));
    tx.try_send(3).expect("no sender is queued");
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(hostile.live(), 0, "a clone of the hostile waker leaked");
}

/// A queued receiver re-polled with a waker whose clone (or whose replaced waker's drop) panics:
/// that `recv` ends (its wait is cancelled), and the value sent next reaches the receiver behind
/// it.
#[test]
fn channel_a_repoll_that_panics_cancels_that_wait_and_loses_nothing() {
    for (first, repoll) in hostile_repolls() {
        let (tx, rx) = channel::bounded::<u32>(1).unwrap();
        let mut recv = Box::pin(rx.recv());
        assert!(
            poll_with(recv.as_mut(), &first.waker())
                .unwrap()
                .is_pending()
        );
        let behind = HostileWaker::counting();
        let mut next = Box::pin(rx.recv());
        assert!(
            poll_with(next.as_mut(), &behind.waker())
                .unwrap()
                .is_pending()
        );
        assert!(
            poll_with(recv.as_mut(), &repoll.waker()).is_err(),
            "the poll panics"
        );
        drop(recv);
        tx.try_send(5).unwrap();
        assert_eq!(behind.wakes(), 1, "the receiver behind was not woken");
        assert_eq!(
            poll_with(next.as_mut(), &behind.waker()).unwrap(),
            Poll::Ready(Some(5))
        );
        assert_eq!(first.live() + repoll.live(), 0, "a waker leaked");
    }
}

/// Two queued receivers, the first one's wake panics: the send that wakes it completes (the
/// value is in the channel) and raises the panic; both receivers get a value, each once.
#[test]
fn channel_a_wake_that_panics_loses_no_value_and_no_wakeup() {
    let (tx, rx) = channel::bounded::<u32>(2).unwrap();
    let wakers = [
        HostileWaker::panicking_on(Event::Wake),
        HostileWaker::counting(),
    ];
    let mut recvs: Vec<_> = (0..2).map(|_| Box::pin(rx.recv())).collect();
    for (recv, waker) in recvs.iter_mut().zip(&wakers) {
        assert!(
            poll_with(recv.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("try_send", || tx.try_send(1).unwrap());
    tx.try_send(2).unwrap();
    assert_eq!(wakers[1].wakes(), 1);
    let got: Vec<_> = recvs
        .iter_mut()
        .zip(&wakers)
        .map(|(recv, waker)| poll_with(recv.as_mut(), &waker.waker()).unwrap())
        .collect();
    assert_eq!(got, [Poll::Ready(Some(1)), Poll::Ready(Some(2))]);
    assert!(rx.is_empty());
}

/// `close` with many queued callers whose wakes panic: every one is woken and sees the close.
#[test]
fn channel_a_wake_that_panics_in_close_still_wakes_everyone() {
    let (tx, rx) = channel::bounded::<u32>(1).unwrap();
    let wakers: Vec<_> = (0..40)
        .map(|i| {
            if i % 4 == 0 {
                HostileWaker::panicking_on(Event::Wake)
            } else {
                HostileWaker::counting()
            }
        })
        .collect();
    let mut recvs: Vec<_> = (0..40).map(|_| Box::pin(rx.recv())).collect();
    for (recv, waker) in recvs.iter_mut().zip(&wakers) {
        assert!(
            poll_with(recv.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("close", || {
        tx.close();
    });
    for (recv, waker) in recvs.iter_mut().zip(&wakers) {
        assert_eq!(waker.wakes(), 1, "a receiver was not woken");
        assert_eq!(
            poll_with(recv.as_mut(), &waker.waker()).unwrap(),
            Poll::Ready(None)
        );
    }
}

/// Wakers that call back into the channel from `clone` (a send), `wake` (a receive) and drop (a
/// send): no deadlock, and every value sent is received once.
#[test]
fn channel_reentrant_wakers_neither_deadlock_nor_lose_values() {
    let (tx, rx) = channel::bounded::<u32>(2).unwrap();
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let on_clone = {
        let tx = tx.clone();
        HostileWaker::reentering_once_on(Event::Clone, move || tx.try_send(10).unwrap())
    };
    // `recv` finds the channel empty, clones the waker (which sends 10), and takes 10 at once.
    let mut recv = Box::pin(rx.recv());
    assert_eq!(
        poll_with(recv.as_mut(), &on_clone.waker()).unwrap(),
        Poll::Ready(Some(10))
    );
    drop(recv);

    let on_wake = {
        let (rx, received) = (rx.clone(), Arc::clone(&received));
        HostileWaker::reentering_once_on(Event::Wake, move || {
            if let Ok(value) = rx.try_recv() {
                received.lock().unwrap().push(value);
            }
        })
    };
    let on_drop = {
        let tx = tx.clone();
        HostileWaker::reentering_once_on(Event::Drop, move || tx.try_send(30).unwrap())
    };
    let mut waiting = Box::pin(rx.recv());
    // Alternating wakers: each poll replaces the stored waker, and the first drop of one of
    // `on_drop`'s wakers sends 30, which may reach `waiting` at once.
    for waker in [&on_wake, &on_drop, &on_wake] {
        if let Poll::Ready(value) = poll_with(waiting.as_mut(), &waker.waker()).unwrap() {
            received.lock().unwrap().extend(value);
            waiting = Box::pin(rx.recv());
        }
    }
    tx.try_send(20).unwrap();
    if let Poll::Ready(value) = poll_with(waiting.as_mut(), &on_wake.waker()).unwrap() {
        received.lock().unwrap().extend(value);
    }
    drop(waiting);
    while let Ok(value) = rx.try_recv() {
        received.lock().unwrap().push(value);
    }
    let mut got = received.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, [20, 30], "a value was lost or received twice");
}

/// Values whose `Drop` panics or calls back into the channel, dropped by the channel (the last
/// receiver gone with values queued): no deadlock, and each value dropped exactly once.
#[test]
fn channel_values_whose_drop_panics_or_reenters_are_dropped_once() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::bounded::<OnDrop<u32>>(4).unwrap();
    // The values reach a sender through this (not a clone each: a queued value holding a sender
    // would keep the channel alive, a cycle).
    let sender = Arc::new(std::sync::Mutex::new(Some(tx.clone())));
    for i in 0..4 {
        let (dropped, sender) = (Arc::clone(&dropped), Arc::clone(&sender));
        tx.try_send(OnDrop::new(i, move |&i| {
            dropped.fetch_add(1, Ordering::SeqCst);
            // Re-enters: the channel is closed by now, so this is refused.
            if let Some(tx) = sender.lock().unwrap().as_ref() {
                assert!(tx.try_send(OnDrop::new(99, |_| {})).is_err());
            }
            if i == 1 {
                panic!("hostile value: its drop panicked");
            }
        }))
        .unwrap_or_else(|_| panic!("room for 4"));
    }
    panics("dropping the last receiver", || drop(rx));
    assert!(tx.is_closed());
    // The values after the panicking one are dropped too, before the panic is raised.
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        4,
        "a value was not dropped with the channel"
    );
    sender.lock().unwrap().take();
    drop(tx);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        4,
        "a value was lost or dropped twice"
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limiter (its `acquire` queue is a one-permit semaphore: the turnstile)
// ---------------------------------------------------------------------------------------------

const SECOND: std::time::Duration = std::time::Duration::from_secs(1);

/// A caller whose waker's clone panics while another waits in `acquire`: the waiting caller keeps
/// its turn, and the period's admission goes to it.
#[tokio::test(start_paused = true)]
async fn rate_limiter_a_clone_that_panics_leaves_the_queue_intact() {
    use async_patterns::rate::{Quota, RateLimiter};
    let limiter = Arc::new(RateLimiter::new(Quota::token_bucket(1, SECOND, 1)).unwrap());
    limiter.try_acquire().unwrap();
    let waiting = tokio::spawn({
        let limiter = Arc::clone(&limiter);
        async move { limiter.acquire().await }
    });
    tokio::task::yield_now().await;
    let mut hostile = Box::pin(limiter.acquire());
    let clone_panics = HostileWaker::panicking_on(Event::Clone);
    assert!(poll_with(hostile.as_mut(), &clone_panics.waker()).is_err());
    drop(hostile);
    tokio::time::timeout(2 * SECOND, waiting)
        .await
        .expect("the waiting caller was admitted")
        .unwrap();
    assert!(limiter.try_acquire().is_err(), "one admission per period");
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

/// Tokens waiting for the trigger, one with a waker that panics when woken: the trigger wakes
/// every other token, every token sees it, and the panic reaches only the caller of `trigger`.
#[test]
fn shutdown_a_wake_that_panics_still_lets_every_token_see_the_trigger() {
    use async_patterns::shutdown::Shutdown;
    let shutdown = Shutdown::new();
    let tokens: Vec<_> = (0..3).map(|_| shutdown.token()).collect();
    let wakers = [
        HostileWaker::counting(),
        HostileWaker::panicking_on(Event::Wake),
        HostileWaker::counting(),
    ];
    let mut waits: Vec<_> = tokens
        .iter()
        .map(|token| Box::pin(token.triggered()))
        .collect();
    for (wait, waker) in waits.iter_mut().zip(&wakers) {
        assert!(
            poll_with(wait.as_mut(), &waker.waker())
                .unwrap()
                .is_pending()
        );
    }
    panics("trigger", || {
        shutdown.trigger();
    });
    assert!(shutdown.is_triggered());
    for (wait, waker) in waits.iter_mut().zip(&wakers) {
        assert_eq!(waker.wakes(), 1, "a token was not woken");
        assert!(poll_with(wait.as_mut(), &waker.waker()).unwrap().is_ready());
    }
}

// ---------------------------------------------------------------------------------------------
// Worker pool
// ---------------------------------------------------------------------------------------------

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("hostile drop");
        }
    }
}

/// A job whose future panics when it is dropped (once it has finished), and one whose output
/// panics when the worker drops it (its handle was dropped first): the one worker survives both
/// — a panic never costs the pool a worker — and every handle resolves once.
#[tokio::test(flavor = "current_thread")]
async fn pool_a_job_whose_drop_panics_costs_no_worker() {
    use async_patterns::pool::{JobError, WorkerPool};
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    /// Ready at once; its own `Drop` (run by the worker once it has the output) panics.
    struct DropPanicsAfterwards(PanicOnDrop);
    impl Future for DropPanicsAfterwards {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            Poll::Ready(1)
        }
    }
    let first = pool
        .submit(DropPanicsAfterwards(PanicOnDrop))
        .await
        .unwrap();
    assert_eq!(
        first.await,
        Err(JobError::Aborted),
        "resolved once, as aborted (its output was never delivered)"
    );
    // A local of an async job dropped as the job completes panics inside its poll: a job panic.
    let local = pool
        .submit(async {
            let _guard = PanicOnDrop;
            tokio::task::yield_now().await;
            1
        })
        .await
        .unwrap();
    assert_eq!(local.await, Err(JobError::Panicked("hostile drop".into())));
    let second = pool.submit(async { PanicOnDrop }).await.unwrap();
    drop(second);
    let third = pool.submit(async { 3 }).await.unwrap();
    assert_eq!(third.await, Ok(3), "the worker is still there");
    let report = pool.shutdown().await;
    assert_eq!(report.accepted, 4);
    assert_eq!(
        report.accepted,
        report.completed + report.panicked + report.cancelled.len() + report.aborted.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Connection pool
// ---------------------------------------------------------------------------------------------

/// Objects whose `Drop` panics, discarded by the pool (marked broken, and by `close`): the
/// pool's books stay right — the size comes back to 0, every object is dropped once.
#[tokio::test(flavor = "current_thread")]
async fn conn_pool_objects_whose_drop_panics_leave_the_books_right() {
    use async_patterns::conn_pool::{Manager, Object, Pool};

    struct Conn(Arc<AtomicUsize>);
    impl Drop for Conn {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            if !std::thread::panicking() {
                panic!("hostile object drop");
            }
        }
    }
    struct Fake(Arc<AtomicUsize>);
    impl Manager for Fake {
        type Object = Conn;
        type Error = std::io::Error;
        async fn create(&self) -> Result<Conn, std::io::Error> {
            Ok(Conn(Arc::clone(&self.0)))
        }
        async fn recycle(&self, _: &mut Conn) -> Result<(), std::io::Error> {
            Ok(())
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let pool = Pool::builder(Fake(Arc::clone(&dropped)))
        .max_size(2)
        .build()
        .unwrap();
    let mut broken = pool.get().await.unwrap();
    Object::mark_broken(&mut broken);
    panics("returning a broken object", || drop(broken));
    assert_eq!(
        pool.status().size,
        0,
        "the discarded object is still counted"
    );
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    drop((a, b));
    assert_eq!(pool.status().idle, 2);
    panics("closing with idle objects", || {
        pool.close();
    });
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        3,
        "every object dropped once"
    );
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.status().idle, 0);
}

/// A job handle whose waker panics when the job's end wakes it: the worker survives, the job is
/// resolved once — the handle gets the output, not a second, made-up outcome — and the report
/// counts it once.
#[tokio::test(flavor = "current_thread")]
async fn pool_a_handle_whose_wake_panics_gets_its_output_once() {
    use async_patterns::pool::WorkerPool;
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut handle = Box::pin(
        pool.submit({
            let gate = Arc::clone(&gate);
            async move {
                gate.notified().await;
                7
            }
        })
        .await
        .unwrap(),
    );
    let hostile = HostileWaker::panicking_on(Event::Wake);
    assert!(
        poll_with(handle.as_mut(), &hostile.waker())
            .unwrap()
            .is_pending()
    );
    gate.notify_one();
    // Let the worker run the job to its end (and wake the hostile waker, which panics).
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    assert_eq!(hostile.wakes(), 1);
    assert_eq!(
        poll_with(handle.as_mut(), &HostileWaker::counting().waker()).unwrap(),
        Poll::Ready(Ok(7))
    );
    let next = pool.submit(async { 8 }).await.unwrap();
    assert_eq!(next.await, Ok(8), "the worker is still there");
    let report = pool.shutdown().await;
    assert_eq!((report.accepted, report.completed), (2, 2), "{report:?}");
}

/// Nested scopes, with a waker that panics on each level: a parent token's (the trigger wakes it
/// first) and a child `wait`'s (the last task's end wakes it). The trigger still reaches the
/// child scope and its tokens, and the task's end is still counted in the parent, whose `wait`
/// then returns.
#[tokio::test(flavor = "current_thread")]
async fn shutdown_a_panicking_waker_stops_neither_the_trigger_nor_the_count_down_the_tree() {
    use async_patterns::shutdown::Shutdown;
    let parent = Shutdown::new();
    let child = parent.child();
    let (parent_token, child_token) = (parent.token(), child.token());
    let mut parent_wait = Box::pin(parent_token.triggered());
    let panicking = HostileWaker::panicking_on(Event::Wake);
    assert!(
        poll_with(parent_wait.as_mut(), &panicking.waker())
            .unwrap()
            .is_pending()
    );
    let task = child.track(std::future::pending::<()>()).unwrap();
    panics("trigger", || {
        parent.trigger();
    });
    assert!(
        child_token.is_triggered(),
        "the trigger did not reach the child"
    );
    assert!(child.track(async {}).is_err());

    let mut child_wait = Box::pin(child.wait());
    assert!(
        poll_with(child_wait.as_mut(), &panicking.waker())
            .unwrap()
            .is_pending()
    );
    panics("the last task's end", || drop(task));
    assert!(child.is_finished());
    assert!(
        parent.is_finished(),
        "the parent still counts the child's task"
    );
    tokio::time::timeout(std::time::Duration::from_secs(1), parent.wait())
        .await
        .expect("the parent's wait returns");
}
