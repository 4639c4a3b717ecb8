#![cfg(not(any(loom, shuttle)))]
//! Poll-level and runtime behaviour of the shipped `Semaphore`: FIFO, how `acquire_many` at the
//! head holds up smaller requests, cancel safety, close, and the documented panics.
//! The random-sequence version of these checks is `semaphore_model.rs`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use async_patterns::sync::{Semaphore, TryAcquireError};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready, assert_ready_err, assert_ready_ok};

#[test]
fn waiters_are_granted_in_arrival_order() {
    let semaphore = Semaphore::new(0);
    let mut first = spawn(semaphore.acquire());
    let mut second = spawn(semaphore.acquire());
    let mut third = spawn(semaphore.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert_pending!(third.poll());

    semaphore.add_permits(1);
    assert!(first.is_woken());
    assert!(!second.is_woken());
    assert_pending!(second.poll());
    let permit = assert_ready_ok!(first.poll());

    drop(permit);
    assert!(second.is_woken());
    let _second = assert_ready_ok!(second.poll());
    assert_pending!(third.poll());
}

/// Each waiter's place in the queue lives in its own future: dropping one from the middle, the
/// back or the front must leave the others linked, in order, and woken in turn.
#[test]
fn waiters_cancelled_anywhere_in_the_queue_leave_the_others_in_order() {
    let semaphore = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..5).map(|_| spawn(semaphore.acquire())).collect();
    for waiter in &mut waiters {
        assert_pending!(waiter.poll());
    }
    // Queue 0 1 2 3 4: drop the middle, then the back, then the front: 1 3 are left.
    drop(waiters.remove(2));
    drop(waiters.remove(3));
    drop(waiters.remove(0));
    let (mut first, mut second) = (waiters.remove(0), waiters.remove(0));
    assert_eq!(
        format!("{semaphore:?}"),
        "Semaphore { available_permits: 0, closed: false, waiters: 2 }"
    );

    semaphore.add_permits(1);
    assert!(first.is_woken());
    assert!(!second.is_woken());
    let permit = assert_ready_ok!(first.poll());
    drop(permit);
    assert!(second.is_woken());
    drop(assert_ready_ok!(second.poll()));
    assert_eq!(semaphore.available_permits(), 1);
    assert!(
        semaphore.try_acquire().is_ok(),
        "the queue must be empty again"
    );
}

/// A waiter polled again from another task (a future moved between tasks, or a `select!` that
/// re-polls with a new context) must be woken through the newest waker, not the one it queued with.
#[test]
fn a_waiter_polled_again_with_another_waker_is_woken_through_that_one() {
    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (first, second) = (
        Arc::new(CountWakes(AtomicUsize::new(0))),
        Arc::new(CountWakes(AtomicUsize::new(0))),
    );
    let semaphore = Semaphore::new(0);
    let mut acquire = Box::pin(semaphore.acquire());
    for waker in [&first, &second] {
        let waker = Waker::from(Arc::clone(waker));
        assert!(
            acquire
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    semaphore.add_permits(1);
    assert_eq!(
        second.0.load(Ordering::SeqCst),
        1,
        "the newest waker is woken"
    );
    assert_eq!(
        first.0.load(Ordering::SeqCst),
        0,
        "the replaced waker is not"
    );
}

/// A waker is user code: if cloning it panics while an acquire queues, the semaphore must be left
/// as it was — not marked as having waiters when nobody waits, with the available permits gone.
#[test]
fn a_waker_whose_clone_panics_leaves_the_semaphore_as_it_was() {
    fn panic_on_clone(_: *const ()) -> RawWaker {
        panic!("this waker cannot be cloned")
    }
    fn no_op(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(panic_on_clone, no_op, no_op, no_op);
    // SAFETY: the vtable's functions ignore the (null) data pointer; none of them can misuse it.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };

    let semaphore = Semaphore::new(1);
    // Needs 2 of the 1 there is: it takes the slow path and would queue with the 1 it found.
    let mut acquire = Box::pin(semaphore.acquire_many(2));
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        acquire.as_mut().poll(&mut Context::from_waker(&waker))
    }));
    assert!(polled.is_err(), "the waker's clone panics");
    drop(acquire);

    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!(
        format!("{semaphore:?}"),
        "Semaphore { available_permits: 1, closed: false, waiters: 0 }"
    );
    drop(
        semaphore
            .try_acquire()
            .expect("nobody waits, one permit is there"),
    );
}

#[test]
fn try_acquire_never_overtakes_a_queued_waiter() {
    let semaphore = Semaphore::new(1);
    let mut big = spawn(semaphore.acquire_many(2));
    assert_pending!(big.poll());
    // The one permit went to the head as a partial assignment: nothing is available to barge with.
    assert_eq!(semaphore.available_permits(), 0);
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits
    );
    let mut small = spawn(semaphore.acquire());
    assert_pending!(small.poll());
    semaphore.add_permits(1);
    let _big = assert_ready_ok!(big.poll());
    assert_pending!(small.poll());
}

#[test]
fn acquire_many_at_the_head_holds_up_smaller_requests_until_it_is_served() {
    let semaphore = Semaphore::new(0);
    let mut head = spawn(semaphore.acquire_many(3));
    let mut behind = spawn(semaphore.acquire());
    assert_pending!(head.poll());
    assert_pending!(behind.poll());
    semaphore.add_permits(2);
    // Two permits would serve `behind`, but they are assigned to the head.
    assert!(!behind.is_woken());
    assert_pending!(behind.poll());
    assert_pending!(head.poll());
    semaphore.add_permits(2);
    let head_permit = assert_ready_ok!(head.poll());
    assert_eq!(head_permit.num_permits(), 3);
    assert_eq!(assert_ready_ok!(behind.poll()).num_permits(), 1);
}

#[test]
fn cancelling_a_partially_served_head_passes_its_permits_on() {
    let semaphore = Semaphore::new(0);
    let mut head = spawn(semaphore.acquire_many(3));
    let mut behind = spawn(semaphore.acquire_many(2));
    assert_pending!(head.poll());
    assert_pending!(behind.poll());
    semaphore.add_permits(2);
    assert_pending!(behind.poll());
    drop(head);
    assert!(behind.is_woken());
    assert_eq!(assert_ready_ok!(behind.poll()).num_permits(), 2);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn cancelling_a_granted_but_unobserved_acquire_returns_its_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let mut granted = spawn(semaphore.acquire());
    let mut next = spawn(semaphore.acquire());
    assert_pending!(granted.poll());
    assert_pending!(next.poll());
    drop(held); // the permit is assigned to `granted`, which never polls again
    assert!(granted.is_woken());
    drop(granted);
    assert!(
        next.is_woken(),
        "the permit must move on to the next waiter"
    );
    drop(assert_ready_ok!(next.poll()));
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn close_wakes_every_waiter_with_an_error_and_keeps_counting_permits() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().unwrap();
    let mut waiters: Vec<_> = (0..40).map(|_| spawn(semaphore.acquire())).collect();
    let mut many = spawn(semaphore.acquire_many(2));
    for waiter in &mut waiters {
        assert_pending!(waiter.poll());
    }
    assert_pending!(many.poll());
    semaphore.close();
    // More than one wake batch (32) of waiters: all of them are woken.
    for waiter in &mut waiters {
        assert!(waiter.is_woken());
        assert_ready_err!(waiter.poll());
    }
    assert_ready_err!(many.poll());
    assert_eq!(
        semaphore.try_acquire().unwrap_err(),
        TryAcquireError::Closed
    );
    assert!(semaphore.is_closed());
    drop(held);
    semaphore.add_permits(2);
    assert_eq!(semaphore.available_permits(), 3);
    assert_eq!(
        semaphore.try_acquire_many(0).unwrap_err(),
        TryAcquireError::Closed
    );
}

#[test]
fn a_release_completing_more_than_one_wake_batch_wakes_everyone() {
    let semaphore = Semaphore::new(0);
    let mut waiters: Vec<_> = (0..100).map(|_| spawn(semaphore.acquire())).collect();
    for waiter in &mut waiters {
        assert_pending!(waiter.poll());
    }
    semaphore.add_permits(100);
    for waiter in &mut waiters {
        assert!(waiter.is_woken());
        assert_ready_ok!(waiter.poll()).forget();
    }
    assert_eq!(semaphore.available_permits(), 0);
}

#[test]
fn acquiring_zero_permits_succeeds_unless_closed() {
    let semaphore = Semaphore::new(0);
    let mut queued = spawn(semaphore.acquire());
    assert_pending!(queued.poll());
    assert_eq!(semaphore.try_acquire_many(0).unwrap().num_permits(), 0);
    let mut zero = spawn(semaphore.acquire_many(0));
    assert_eq!(assert_ready_ok!(zero.poll()).num_permits(), 0);
    semaphore.close();
    let mut zero = spawn(semaphore.acquire_many(0));
    assert_ready_err!(zero.poll());
}

#[test]
fn forget_permits_takes_only_available_ones() {
    let semaphore = Semaphore::new(3);
    let held = semaphore.try_acquire().unwrap();
    assert_eq!(semaphore.forget_permits(5), 2);
    assert_eq!(semaphore.forget_permits(1), 0);
    drop(held);
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn permits_split_merge_and_forget_keep_the_count() {
    let semaphore = Semaphore::new(5);
    let mut permit = semaphore.try_acquire_many(3).unwrap();
    let part = permit.split(2).unwrap();
    assert_eq!((permit.num_permits(), part.num_permits()), (1, 2));
    assert!(permit.split(2).is_none());
    assert_eq!(permit.num_permits(), 1);
    permit.merge(part);
    assert_eq!(permit.num_permits(), 3);
    permit.split(1).unwrap().forget();
    drop(permit);
    assert_eq!(semaphore.available_permits(), 4);
}

#[test]
fn owned_permits_split_and_merge_keep_the_count() {
    let semaphore = Arc::new(Semaphore::new(5));
    let mut permit = Arc::clone(&semaphore).try_acquire_many_owned(3).unwrap();
    let part = permit.split(2).unwrap();
    assert_eq!((permit.num_permits(), part.num_permits()), (1, 2));
    permit.merge(part);
    assert_eq!(permit.num_permits(), 3);
    assert_eq!(semaphore.available_permits(), 2);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 5);
}

#[test]
#[should_panic(expected = "merging permits from different semaphores")]
fn merging_permits_of_different_semaphores_panics() {
    let a = Semaphore::new(1);
    let b = Semaphore::new(1);
    let mut pa = a.try_acquire().unwrap();
    pa.merge(b.try_acquire().unwrap());
}

#[test]
#[should_panic(expected = "more than MAX_PERMITS")]
fn new_beyond_max_permits_panics_with_a_message_that_says_so() {
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
#[should_panic(expected = "would exceed MAX_PERMITS")]
fn add_permits_beyond_max_permits_panics_with_a_message_that_says_so() {
    let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    semaphore.add_permits(1);
}

#[test]
fn max_permits_is_accepted() {
    let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    assert_eq!(semaphore.available_permits(), Semaphore::MAX_PERMITS);
    assert_eq!(
        semaphore.try_acquire_many(u32::MAX).unwrap().num_permits(),
        u32::MAX as usize
    );
}

#[test]
fn const_new_and_new_closed() {
    static SEMAPHORE: Semaphore = Semaphore::const_new(2);
    assert_eq!(SEMAPHORE.try_acquire_many(2).unwrap().num_permits(), 2);
    let closed = Semaphore::new_closed();
    assert!(closed.is_closed());
    let err = closed.try_acquire_many(0).unwrap_err();
    assert_eq!(err, TryAcquireError::Closed);
    assert!(err.is_closed() && !err.is_no_permits());
    let empty = Semaphore::new(0);
    let err = empty.try_acquire().unwrap_err();
    assert!(err.is_no_permits() && !err.is_closed());
}

#[test]
fn debug_output_shows_state_without_waiting() {
    let semaphore = Semaphore::new(1);
    let _held = semaphore.try_acquire().unwrap();
    let mut first = spawn(semaphore.acquire());
    let mut second = spawn(semaphore.acquire());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert_eq!(
        format!("{semaphore:?}"),
        "Semaphore { available_permits: 0, closed: false, waiters: 2 }"
    );
}

#[test]
fn errors_display_their_cause_once() {
    let semaphore = Semaphore::new_closed();
    let mut acquire = spawn(semaphore.acquire());
    let err = assert_ready!(acquire.poll()).unwrap_err();
    assert_eq!(err.to_string(), "semaphore closed");
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
    assert!(std::error::Error::source(&err).is_none());
}

async fn at_most_k_held_at_once() {
    const K: usize = 3;
    let semaphore = Arc::new(Semaphore::new(K));
    let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let semaphore = Arc::clone(&semaphore);
            let held = Arc::clone(&held);
            tokio::spawn(async move {
                let _permit = semaphore.acquire_many(1 + i % 2).await.unwrap();
                let now = held.fetch_add(1 + i as usize % 2, std::sync::atomic::Ordering::SeqCst);
                assert!(now + 1 + i as usize % 2 <= K, "more than {K} permits out");
                tokio::task::yield_now().await;
                held.fetch_sub(1 + i as usize % 2, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(semaphore.available_permits(), K);
}

#[tokio::test(flavor = "current_thread")]
async fn at_most_k_permits_out_current_thread() {
    at_most_k_held_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_k_permits_out_multi_thread() {
    at_most_k_held_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn acquire_cancelled_by_timeout_while_queued_loses_nothing() {
    let semaphore = Arc::new(Semaphore::new(2));
    let held = Arc::clone(&semaphore).acquire_many_owned(2).await.unwrap();
    let timed_out =
        tokio::time::timeout(Duration::from_millis(50), semaphore.acquire_many(2)).await;
    assert!(timed_out.is_err());
    let waiter = tokio::spawn(Arc::clone(&semaphore).acquire_owned());
    tokio::task::yield_now().await;
    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap().num_permits(), 1);
    assert_eq!(semaphore.available_permits(), 2);
}

/// `is_closed` is false until `close` (and for a semaphore with permits available or waiters
/// queued), true after.
#[test]
fn is_closed_only_after_close() {
    let semaphore = Semaphore::new(1);
    assert!(!semaphore.is_closed());
    let held = semaphore.try_acquire().unwrap();
    let mut waiter = spawn(semaphore.acquire());
    assert_pending!(waiter.poll());
    assert!(
        !semaphore.is_closed(),
        "queued waiters do not make it closed"
    );
    semaphore.close();
    assert!(semaphore.is_closed());
    drop(held);
    assert!(semaphore.is_closed());
    assert!(Semaphore::new_closed().is_closed());
    assert!(!Semaphore::new(0).is_closed());
}

/// The numbers at their extremes: a semaphore created with `MAX_PERMITS`, requests of `u32::MAX`
/// (waits: more than there are), `add_permits` past the maximum (the documented panic, leaving
/// the count as it was), and held permits given back to a full semaphore (they are counted, and
/// a later `add_permits` still refuses cleanly instead of underflowing).
#[test]
fn permits_at_the_extremes() {
    let max = Semaphore::MAX_PERMITS;
    let semaphore = Semaphore::new(max);
    assert_eq!(semaphore.available_permits(), max);
    let held = semaphore.try_acquire_many(u32::MAX).unwrap();
    assert_eq!(semaphore.available_permits(), max - u32::MAX as usize);
    semaphore.add_permits(u32::MAX as usize);
    assert_eq!(semaphore.available_permits(), max);
    let refused = std::panic::catch_unwind(AssertUnwindSafe(|| semaphore.add_permits(1)));
    assert!(
        refused.is_err(),
        "adding past MAX_PERMITS panics, as documented"
    );
    assert_eq!(
        semaphore.available_permits(),
        max,
        "a refused add changes nothing"
    );
    // Given back to a full semaphore: counted, above the maximum.
    drop(held);
    assert_eq!(semaphore.available_permits(), max + u32::MAX as usize);
    let refused = std::panic::catch_unwind(AssertUnwindSafe(|| semaphore.add_permits(1)));
    assert!(
        refused.is_err(),
        "still refused, without an arithmetic overflow"
    );
    assert_eq!(
        semaphore.forget_permits(usize::MAX),
        max + u32::MAX as usize
    );
    assert_eq!(semaphore.available_permits(), 0);
    semaphore.add_permits(max);
    let mut waiter = spawn(semaphore.acquire_many(u32::MAX));
    // 64-bit: u32::MAX <= MAX_PERMITS, granted at once when available.
    assert_ready_ok!(waiter.poll()).forget();
    assert_eq!(semaphore.available_permits(), max - u32::MAX as usize);
    assert_eq!(semaphore.forget_permits(0), 0);
}

/// An owned permit names the semaphore it came from.
#[test]
fn an_owned_permit_names_its_semaphore() {
    let semaphore = Arc::new(Semaphore::new(1));
    let other = Arc::new(Semaphore::new(1));
    let permit = Arc::clone(&semaphore).try_acquire_owned().unwrap();
    assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    assert!(!Arc::ptr_eq(permit.semaphore(), &other));
}

#[test]
fn blocking_acquire_waits_for_a_release_from_another_thread() {
    let semaphore = Arc::new(Semaphore::new(0));
    let waiter = std::thread::spawn({
        let semaphore = Arc::clone(&semaphore);
        move || {
            let permit = semaphore.blocking_acquire_many(2).unwrap();
            (
                permit.num_permits(),
                std::ptr::eq(permit.semaphore(), &*semaphore),
            )
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    semaphore.add_permits(2);
    assert_eq!(waiter.join().unwrap(), (2, true));
    let owned = Arc::clone(&semaphore)
        .blocking_acquire_many_owned(2)
        .unwrap();
    drop(owned);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn blocking_acquire_returns_the_close_error() {
    let semaphore = Arc::new(Semaphore::new(0));
    let waiter = std::thread::spawn({
        let semaphore = Arc::clone(&semaphore);
        move || semaphore.blocking_acquire_owned().map(|_| ())
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    semaphore.close();
    assert!(waiter.join().unwrap().is_err());
}
