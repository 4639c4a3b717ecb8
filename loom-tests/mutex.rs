//! Loom models of the counter [`Mutex`]: mutual exclusion, and cancel safety of a pending
//! `lock()`.
//!
//! The shipped `Mutex` keeps its data in the shim's `UnsafeCell`, which is loom's under
//! `--cfg loom`: loom checks every access to the data against the happens-before order, so two
//! guards alive at once — or a guard whose access is not ordered after the previous holder's —
//! fails the model as a data race even when the final count happens to be right. The increments
//! read and then write the data through separate accesses so that an unprotected pair could also
//! lose an update.
//!
//! Bounding: 2 spawned threads + main, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides it,
//! see `model.rs`).

use std::pin::pin;
use std::sync::Arc;

use async_patterns::sync::Mutex;
use loom::thread;

use crate::model::{block_on, model, poll_once};

/// Takes the lock (waiting for it) and adds one to the counter, as a read followed by a write.
fn increment(counter: &Mutex<usize>) {
    let mut guard = block_on(counter.lock());
    let value = *guard;
    *guard = value + 1;
}

fn spawn_incrementer(counter: &Arc<Mutex<usize>>) -> thread::JoinHandle<()> {
    let counter = Arc::clone(counter);
    thread::spawn(move || increment(&counter))
}

/// Asserts the final count, and that the mutex is unlocked with nobody queued (`try_lock`
/// succeeds: it fails while the lock is held or while anyone waits for it).
fn assert_unlocked_with_count(counter: &Mutex<usize>, expected: usize) {
    let guard = counter
        .try_lock()
        .expect("the mutex was left locked (or with a waiter queued) at the end");
    assert_eq!(*guard, expected, "lost an increment");
}

/// Mutual exclusion: two threads each lock and increment once; the final value is 2 and loom sees
/// no concurrent access to the data.
#[test]
fn mutex_excludes_concurrent_increments() {
    model(|| {
        let counter = Arc::new(Mutex::new(0usize));
        let first = spawn_incrementer(&counter);
        let second = spawn_incrementer(&counter);
        first.join().unwrap();
        second.join().unwrap();
        assert_unlocked_with_count(&counter, 2);
    });
}

/// Mutual exclusion with three contenders (main locks too), so that one of them can be queued
/// behind another waiter and the lock is handed over through the queue, not only the fast path.
#[test]
fn mutex_excludes_three_contenders() {
    model(|| {
        let counter = Arc::new(Mutex::new(0usize));
        let first = spawn_incrementer(&counter);
        let second = spawn_incrementer(&counter);
        increment(&counter);
        first.join().unwrap();
        second.join().unwrap();
        assert_unlocked_with_count(&counter, 3);
    });
}

/// Cancel safety of `lock()`: two threads each lock and increment once, while main polls a
/// `lock()` future once and drops it — possibly after the lock was handed to it (a `select!`
/// whose other branch won). The lock must pass on to the incrementers (else loom reports a
/// deadlock), both increments must land, and the mutex must end unlocked.
#[test]
fn mutex_cancelled_lock_passes_the_lock_on() {
    model(|| {
        let counter = Arc::new(Mutex::new(0usize));
        let first = spawn_incrementer(&counter);
        let second = spawn_incrementer(&counter);

        {
            let mut lock = pin!(counter.lock());
            // Ready at once if the lock was free: the guard is dropped unused, which unlocks.
            drop(poll_once(lock.as_mut()));
            // Otherwise queued; dropped here without another poll, granted or not.
        }

        first.join().unwrap();
        second.join().unwrap();
        assert_unlocked_with_count(&counter, 2);
    });
}

/// The data of the mapped-guard models: a loom cell, so that loom sees every access made through
/// the pointer a mapped guard keeps (the mutex's own cell sees only the access that made it).
type Counted = (usize, loom::cell::UnsafeCell<usize>);

fn bump(cell: &loom::cell::UnsafeCell<usize>) {
    // SAFETY: the callers hold the lock (or, in the naive version, claim to): loom checks it.
    cell.with_mut(|count| unsafe { *count += 1 });
}

/// Main maps its guard to the cell and bumps it through the mapped guard while a thread locks the
/// whole and bumps the same cell. With `naive`, main's "mapped guard" lets go of the lock first
/// (what a map that forgets to carry the permit over does).
fn mapped_guard_keeps_the_lock(naive: bool) {
    use async_patterns::sync::{MappedMutexGuard, MutexGuard};
    model(move || {
        let lock = Arc::new(Mutex::new((0usize, loom::cell::UnsafeCell::new(0usize))));
        let other = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || bump(&block_on(lock.lock()).1))
        };
        let guard = block_on(lock.lock());
        if naive {
            let cell: *const loom::cell::UnsafeCell<usize> = &guard.1;
            drop(guard);
            // SAFETY: not safe — the point of the naive version; `lock` outlives the access.
            bump(unsafe { &*cell });
        } else {
            let mapped = MutexGuard::map(guard, |pair: &mut Counted| &mut pair.1);
            let mapped = MappedMutexGuard::map(mapped, |cell| cell);
            bump(&mapped);
        }
        other.join().unwrap();
        let guard = lock
            .try_lock()
            .expect("the mapped guard left the mutex locked");
        // SAFETY: every other access has ended (joined, guards dropped).
        let total = guard.1.with(|count| unsafe { *count });
        assert_eq!(total, 2, "lost a bump");
    });
}

/// A mapped guard holds the lock until it is dropped, and its drop gives the lock back.
#[test]
fn mapped_guard_keeps_the_lock_until_dropped() {
    mapped_guard_keeps_the_lock(false);
}

#[test]
#[should_panic(expected = "Causality violation")]
fn mapped_guard_model_catches_a_map_that_lets_go_of_the_lock() {
    mapped_guard_keeps_the_lock(true);
}
