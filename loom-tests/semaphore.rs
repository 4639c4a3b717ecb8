//! Loom models of the fair [`Semaphore`]: permits conserved, cancel safety (after a grant and
//! after a partial assignment), FIFO, close, no lost wakeup, and the lock-free fast path's
//! `QUEUED`-bit invariant (a `release` or `try_acquire` never lets anyone overtake a queued waiter).
//!
//! Every model is generic over [`SemaphoreUnderTest`] and runs three ways:
//! - on the shipped [`Semaphore`] (whose atomics and lock are loom's under `--cfg loom`);
//! - on `naive_semaphore::Correct`, a different, lock-everything implementation without bugs,
//!   which it must accept (the model checks the property, not our implementation's details);
//! - where the model is meant to catch one, on the naive semaphore with that bug, as a
//!   `#[should_panic]` test that expects the model's own assertion message or loom's `deadlock`
//!   (how loom reports a lost wakeup: every thread blocked in `block_on`, nobody left to wake it).
//!
//! Bounding: at most 2 spawned threads + main each, preemption bound 3 (`LOOM_MAX_PREEMPTIONS`
//! overrides it, see `model.rs`).

use std::sync::Arc;
use std::task::Poll;

use async_patterns::sync::{Semaphore, TryAcquireError};
use loom::thread;

use crate::model::{block_on, model, model_pair, poll_once};
use crate::naive_semaphore::{Correct, LeakOnCancelAfterGrant, Lifo, LostWakeup};
use crate::semaphore_under_test::{Closed, SemaphoreUnderTest};

/// Permits conserved: `available + held == initial + added - forgotten`, under concurrent
/// `acquire_many`, `add_permits`, `forget_permits` and forgetting a held permit.
///
/// The thread that waits for 2 permits always gets them in the end: every other participant
/// finishes holding nothing, and the total never drops below 2 (2 initial + 2 added − at most 1
/// forgotten by each of the two others), so a hang here is a lost wakeup or a lost permit.
fn permits_are_conserved<S: SemaphoreUnderTest>() {
    model(|| {
        const INITIAL: usize = 2;
        let semaphore = S::with_permits(INITIAL);

        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                // Takes the slow path whenever a permit is missing, so it races with the others
                // both queued (with a partial assignment) and on the fast path.
                let permit = block_on(S::acquire_many(&semaphore, 2)).expect("never closed");
                drop(permit);
            })
        };
        let forgetter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                let forgotten = semaphore.forget_permits(1);
                assert!(
                    forgotten <= 1,
                    "forget_permits(1) removed {forgotten} permits"
                );
                semaphore.add_permits(1);
                forgotten
            })
        };

        let mut forgotten = 0;
        if let Ok(permit) = S::try_acquire_many(&semaphore, 1) {
            S::forget(permit);
            forgotten += 1;
        }
        semaphore.add_permits(1);

        waiter.join().unwrap();
        forgotten += forgetter.join().unwrap();
        let expected = INITIAL + 2 - forgotten;
        assert_eq!(
            semaphore.available_permits(),
            expected,
            "permits not conserved: initial {INITIAL} + added 2 - forgotten {forgotten} != available"
        );
    });
}

#[test]
fn permits_are_conserved_under_acquire_add_forget() {
    permits_are_conserved::<Semaphore>();
}

#[test]
fn permits_are_conserved_accepts_correct_naive() {
    permits_are_conserved::<Correct>();
}

/// Cancel after grant: an `acquire` future is polled once (queued, since main holds the only
/// permit), main releases concurrently — possibly granting the permit to the queued future — and
/// the future is dropped without being polled again. Whatever the interleaving, the permit must
/// come back.
fn cancel_after_grant<S: SemaphoreUnderTest>() {
    model_pair(|| {
        let semaphore = S::with_permits(1);
        let held = S::try_acquire_many(&semaphore, 1).expect("one permit, nobody queued");

        let canceller = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                let mut acquire = S::acquire_many(&semaphore, 1);
                match poll_once(acquire.as_mut()) {
                    // Main released before the first poll: the fast path took it.
                    Poll::Ready(Ok(permit)) => drop(permit),
                    Poll::Ready(Err(Closed)) => panic!("never closed"),
                    Poll::Pending => {}
                }
                // Dropped unobserved: it may or may not have been granted the permit meanwhile.
                drop(acquire);
            })
        };
        drop(held);
        canceller.join().unwrap();

        assert_eq!(
            semaphore.available_permits(),
            1,
            "cancel after grant leaked a permit"
        );
        assert!(
            S::try_acquire_many(&semaphore, 1).is_ok(),
            "cancel after grant: a fresh try_acquire failed"
        );
    });
}

#[test]
fn cancel_after_grant_returns_permits() {
    cancel_after_grant::<Semaphore>();
}

#[test]
fn cancel_after_grant_accepts_correct_naive() {
    cancel_after_grant::<Correct>();
}

#[test]
#[should_panic(expected = "cancel after grant leaked a permit")]
fn cancel_after_grant_catches_leaky_naive() {
    cancel_after_grant::<LeakOnCancelAfterGrant>();
}

/// Close while waiting: two threads wait on a semaphore with no permits; main closes it. Both
/// must wake with `Closed` (a missed wakeup shows as loom's deadlock), and later acquires fail.
fn close_wakes_all_waiters<S: SemaphoreUnderTest>() {
    model_pair(|| {
        let semaphore = S::with_permits(0);
        let spawn_waiter = || {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                let result = block_on(S::acquire_many(&semaphore, 1));
                assert!(
                    matches!(result, Err(Closed)),
                    "a waiter on a closed semaphore with no permits did not get Closed"
                );
            })
        };
        let first = spawn_waiter();
        let second = spawn_waiter();

        semaphore.close();

        first.join().unwrap();
        second.join().unwrap();
        assert!(
            matches!(
                S::try_acquire_many(&semaphore, 1),
                Err(TryAcquireError::Closed)
            ),
            "try_acquire after close did not fail with Closed"
        );
    });
}

#[test]
fn close_wakes_all_waiters_with_closed() {
    close_wakes_all_waiters::<Semaphore>();
}

#[test]
fn close_wakes_all_waiters_accepts_correct_naive() {
    close_wakes_all_waiters::<Correct>();
}

/// Close racing a partial assignment: a waiter for 2 permits takes the only one as a partial
/// assignment and queues, main closes, and another thread adds the second permit — in any order.
/// Whichever wins, the waiter wakes (granted, or closed out) and every permit is counted as
/// available at the end: those assigned to a waiter that was closed out go back.
fn close_returns_partially_assigned_permits<S: SemaphoreUnderTest>() {
    model(|| {
        let semaphore = S::with_permits(1);

        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                // Ok when the second permit came before the close; the permit goes back on drop.
                drop(block_on(S::acquire_many(&semaphore, 2)));
            })
        };
        let adder = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.add_permits(1))
        };

        semaphore.close();

        waiter.join().unwrap();
        adder.join().unwrap();
        assert_eq!(
            semaphore.available_permits(),
            2,
            "close lost permits assigned to a waiter"
        );
    });
}

#[test]
fn close_returns_partially_assigned_permits_to_the_semaphore() {
    close_returns_partially_assigned_permits::<Semaphore>();
}

#[test]
fn close_returns_partially_assigned_permits_accepts_correct_naive() {
    close_returns_partially_assigned_permits::<Correct>();
}

/// `acquire_many` partially served, then cancelled: main queues a request for 2 with 1 permit
/// available (so 1 is assigned to it and none is available), a second waiter queues behind it,
/// another thread adds the missing permit, and main drops its request — before or after it was
/// completed. The permits assigned to it must be handed on: the second waiter is served (else
/// loom reports a deadlock) and all permits are available at the end.
fn partial_acquire_many_cancelled<S: SemaphoreUnderTest>() {
    model(|| {
        let semaphore = S::with_permits(1);

        let mut big = S::acquire_many(&semaphore, 2);
        assert!(
            poll_once(big.as_mut()).is_pending(),
            "acquire_many(2) with 1 permit must wait"
        );
        // The partial assignment belongs to the head waiter: it is not available to anyone else.
        assert_eq!(
            semaphore.available_permits(),
            0,
            "a permit assigned to the queued head was still available"
        );

        let behind = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                let permit = block_on(S::acquire_many(&semaphore, 1)).expect("never closed");
                drop(permit);
            })
        };
        let adder = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.add_permits(1))
        };

        // Cancelled while partially served, or after being completed but before seeing it.
        drop(big);

        behind.join().unwrap();
        adder.join().unwrap();
        assert_eq!(
            semaphore.available_permits(),
            2,
            "a cancelled partial acquire_many lost permits"
        );
    });
}

#[test]
fn partial_acquire_many_cancelled_hands_permits_on() {
    partial_acquire_many_cancelled::<Semaphore>();
}

#[test]
fn partial_acquire_many_cancelled_accepts_correct_naive() {
    partial_acquire_many_cancelled::<Correct>();
}

#[test]
#[should_panic(expected = "deadlock")]
fn partial_acquire_many_cancelled_catches_leaky_naive() {
    // The completed-but-dropped request leaks both permits, so the waiter behind it is never
    // served.
    partial_acquire_many_cancelled::<LeakOnCancelAfterGrant>();
}

#[test]
#[should_panic(expected = "deadlock")]
fn partial_acquire_many_cancelled_catches_lost_wakeup_naive() {
    partial_acquire_many_cancelled::<LostWakeup>();
}

/// FIFO between two queued waiters: main queues A, then B (no permits), while another thread
/// adds one permit at any point. A must be the one that gets it: B stays queued.
fn fifo_between_queued_waiters<S: SemaphoreUnderTest>() {
    model_pair(|| {
        let semaphore = S::with_permits(0);

        let adder = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.add_permits(1))
        };

        let mut first = S::acquire_many(&semaphore, 1);
        // Ready already if the permit was added before A polled (then nobody was queued).
        let mut first_permit = match poll_once(first.as_mut()) {
            Poll::Ready(result) => Some(result.expect("never closed")),
            Poll::Pending => None,
        };
        let mut second = S::acquire_many(&semaphore, 1);
        let second_early = poll_once(second.as_mut());
        assert!(
            second_early.is_pending(),
            "FIFO violated: the second waiter got the permit on its first poll"
        );

        adder.join().unwrap();

        if first_permit.is_none() {
            // The noop waker was not woken: poll again to see the outcome.
            match poll_once(first.as_mut()) {
                Poll::Ready(result) => first_permit = Some(result.expect("never closed")),
                Poll::Pending => panic!("FIFO violated: the first waiter was not served first"),
            }
        }
        assert!(
            poll_once(second.as_mut()).is_pending(),
            "FIFO violated: the second waiter was served too"
        );

        // A's permit goes on to B.
        drop(first_permit);
        match poll_once(second.as_mut()) {
            Poll::Ready(Ok(permit)) => drop(permit),
            _ => panic!("the second waiter was not served when the first released"),
        }
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn fifo_between_queued_waiters_serves_the_first() {
    fifo_between_queued_waiters::<Semaphore>();
}

#[test]
fn fifo_between_queued_waiters_accepts_correct_naive() {
    fifo_between_queued_waiters::<Correct>();
}

#[test]
#[should_panic(expected = "FIFO violated: the first waiter was not served first")]
fn fifo_between_queued_waiters_catches_lifo_naive() {
    fifo_between_queued_waiters::<Lifo>();
}

/// `try_acquire` never overtakes a queued waiter: main holds the only permit and queues A; then
/// one thread releases the permit while another calls `try_acquire`. This is the `QUEUED`-bit
/// invariant of the lock-free fast path: a `release` that saw no waiter would make the permit
/// available and the `try_acquire` could barge in ahead of A.
fn try_acquire_never_overtakes<S: SemaphoreUnderTest>() {
    model(|| {
        let semaphore = S::with_permits(1);
        let held = S::try_acquire_many(&semaphore, 1).expect("one permit, nobody queued");

        let mut queued = S::acquire_many(&semaphore, 1);
        assert!(
            poll_once(queued.as_mut()).is_pending(),
            "acquire with the only permit held must wait"
        );

        let releaser = thread::spawn(move || drop(held));
        let barger = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                assert!(
                    matches!(
                        S::try_acquire_many(&semaphore, 1),
                        Err(TryAcquireError::NoPermits)
                    ),
                    "try_acquire overtook a queued waiter"
                );
            })
        };
        releaser.join().unwrap();
        barger.join().unwrap();

        match poll_once(queued.as_mut()) {
            Poll::Ready(Ok(permit)) => drop(permit),
            _ => panic!("the queued waiter was not granted the released permit"),
        }
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn try_acquire_never_overtakes_a_queued_waiter() {
    try_acquire_never_overtakes::<Semaphore>();
}

#[test]
fn try_acquire_never_overtakes_accepts_correct_naive() {
    try_acquire_never_overtakes::<Correct>();
}

/// No lost wakeup when a release races an enqueue: one permit, held by a thread that releases it
/// (through the lock-free path if it sees no waiter) while two others `block_on(acquire)` it,
/// each enqueueing (setting `QUEUED`) or taking the fast path. Every waiter must be woken in turn
/// — a permit released lock-free while someone was queued, or a grant without a wake, leaves a
/// waiter blocked forever, which loom reports as a deadlock.
fn release_racing_enqueue<S: SemaphoreUnderTest>() {
    model(|| {
        let semaphore = S::with_permits(1);
        let held = S::try_acquire_many(&semaphore, 1).expect("one permit, nobody queued");

        let releaser = thread::spawn(move || drop(held));
        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || {
                drop(block_on(S::acquire_many(&semaphore, 1)).expect("never closed"));
            })
        };
        drop(block_on(S::acquire_many(&semaphore, 1)).expect("never closed"));

        releaser.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(
            semaphore.available_permits(),
            1,
            "release racing enqueue lost a permit"
        );
    });
}

#[test]
fn release_racing_enqueue_wakes_every_waiter() {
    release_racing_enqueue::<Semaphore>();
}

#[test]
fn release_racing_enqueue_accepts_correct_naive() {
    release_racing_enqueue::<Correct>();
}

#[test]
#[should_panic(expected = "deadlock")]
fn release_racing_enqueue_catches_lost_wakeup_naive() {
    release_racing_enqueue::<LostWakeup>();
}

/// A waiter polled again with a different waker is woken through the new one: main polls an
/// acquire once with a no-op waker (queued: the only permit is held), then drives the same
/// future with `block_on`'s waker while another thread releases the permit. A queue that kept
/// the first waker would never wake main: loom reports a deadlock.
fn repoll_with_new_waker<S: SemaphoreUnderTest>() {
    model_pair(|| {
        let semaphore = S::with_permits(1);
        let held = S::try_acquire_many(&semaphore, 1).expect("one permit, nobody queued");

        let mut acquire = S::acquire_many(&semaphore, 1);
        assert!(
            poll_once(acquire.as_mut()).is_pending(),
            "acquire with the only permit held must wait"
        );

        let releaser = thread::spawn(move || drop(held));
        drop(block_on(acquire).expect("never closed"));

        releaser.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn repoll_with_new_waker_wakes_the_new_waker() {
    repoll_with_new_waker::<Semaphore>();
}

#[test]
fn repoll_with_new_waker_accepts_correct_naive() {
    repoll_with_new_waker::<Correct>();
}

/// A waiter that polls without waiting to be woken — an executor that polls spuriously, or a
/// `select!` loop — sees its grant the moment it is published and frees its future at once, while
/// the releasing thread may still be inside `release`. Main queues an acquire (the only permit is
/// held), another thread releases the permit, and main polls in a loop until it is granted, then
/// drops the future. The shipped semaphore's queue node lives in that future and its waker is
/// dropped through a loom cell, so a release that touched the node after publishing the grant
/// shows up as a race on the cell (checked: publishing the grant before taking the waker fails
/// here with loom's "Causality violation").
fn waiter_polling_without_a_wake<S: SemaphoreUnderTest>() {
    model(|| {
        let semaphore = S::with_permits(1);
        let held = S::try_acquire_many(&semaphore, 1).expect("one permit, nobody queued");

        let mut acquire = S::acquire_many(&semaphore, 1);
        assert!(
            poll_once(acquire.as_mut()).is_pending(),
            "acquire with the only permit held must wait"
        );

        let releaser = thread::spawn(move || drop(held));
        let permit = loop {
            match poll_once(acquire.as_mut()) {
                Poll::Ready(result) => break result.expect("never closed"),
                Poll::Pending => thread::yield_now(),
            }
        };
        drop(acquire);
        drop(permit);

        releaser.join().unwrap();
        assert_eq!(
            semaphore.available_permits(),
            1,
            "a waiter polled without a wake lost the permit"
        );
    });
}

#[test]
fn waiter_polling_without_a_wake_frees_its_future_safely() {
    waiter_polling_without_a_wake::<Semaphore>();
}

#[test]
fn waiter_polling_without_a_wake_accepts_correct_naive() {
    waiter_polling_without_a_wake::<Correct>();
}

/// The waiter's side of a grant published without the lock, with a third party acting in
/// between: main waits for 2 permits (none available), one thread adds them one at a time (a
/// partial assignment, then the grant) and another closes the semaphore. The lock holder publishes
/// the outcome (granted, or closed out) as its last touch of the node, and main reads it without
/// the lock and frees the node at once: loom checks that no access to the node follows its free.
/// Whichever outcome, every permit is available at the end (a grant is given back on drop, and
/// permits assigned to a waiter that was closed out go back).
#[test]
fn a_grant_read_without_the_lock_races_a_release_and_a_close() {
    model(|| {
        let semaphore = std::sync::Arc::new(Semaphore::new(0));
        let adder = {
            let semaphore = std::sync::Arc::clone(&semaphore);
            thread::spawn(move || {
                semaphore.add_permits(1);
                semaphore.add_permits(1);
            })
        };
        let closer = {
            let semaphore = std::sync::Arc::clone(&semaphore);
            thread::spawn(move || semaphore.close())
        };
        drop(block_on(semaphore.acquire_many(2)));
        adder.join().unwrap();
        closer.join().unwrap();
        assert_eq!(semaphore.available_permits(), 2, "a permit was lost");
    });
}

/// One `add_permits(3)` with two waiters queued (for 1 and for 2 permits, in either order): the
/// one call hands every waiter its permits and wakes both — a release that stops after the first
/// waiter leaves the second parked (loom's deadlock).
#[test]
fn add_permits_serves_several_queued_waiters_in_one_call() {
    model(|| {
        let semaphore = std::sync::Arc::new(Semaphore::new(0));
        let waiters: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let semaphore = std::sync::Arc::clone(&semaphore);
                thread::spawn(move || {
                    block_on(semaphore.acquire_many(n))
                        .expect("never closed")
                        .forget();
                })
            })
            .collect();
        semaphore.add_permits(3);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(semaphore.available_permits(), 0);
    });
}
