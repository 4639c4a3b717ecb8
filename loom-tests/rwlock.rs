//! Loom models of the [`RwLock`]: a writer never holds the lock together with anyone else,
//! `downgrade` keeps the data locked, and a cancelled queued writer lets the readers behind it in.
//!
//! The data lives in the shim's `UnsafeCell` (loom's here), so any access not ordered after the
//! previous holder's is reported as a data race. Under `--cfg loom` the lock admits at most 4
//! readers, so a write takes 4 permits through the semaphore's partial-assignment path.
//!
//! Bounding: 2 spawned threads + main, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides it).

use std::pin::pin;
use std::sync::Arc;

use async_patterns::sync::{RwLock, Semaphore};
use loom::thread;

use crate::model::{block_on, model, poll_once};

/// What the exclusion model needs from a reader-writer lock over a pair.
trait PairLock: Send + Sync + 'static {
    fn new() -> Self;
    fn write(&self, f: impl FnOnce(&mut (usize, usize)));
    fn read(&self) -> (usize, usize);
}

impl PairLock for RwLock<(usize, usize)> {
    fn new() -> Self {
        RwLock::new((0, 0))
    }

    fn write(&self, f: impl FnOnce(&mut (usize, usize))) {
        f(&mut block_on(RwLock::write(self)));
    }

    fn read(&self) -> (usize, usize) {
        *block_on(RwLock::read(self))
    }
}

/// The naive lock the model must reject: readers take one of 4 permits, but a writer takes only
/// 3, so one reader can hold the lock beside a writer.
struct WriterTakesTooFew {
    permits: Semaphore,
    data: loom::cell::UnsafeCell<(usize, usize)>,
}

// SAFETY: deliberately unsound (that is the bug the model must find): shared only inside loom
// models, whose `UnsafeCell` reports the resulting unsynchronized access instead of letting it
// happen.
unsafe impl Sync for WriterTakesTooFew {}

impl PairLock for WriterTakesTooFew {
    fn new() -> Self {
        WriterTakesTooFew {
            permits: Semaphore::new(4),
            data: loom::cell::UnsafeCell::new((0, 0)),
        }
    }

    fn write(&self, f: impl FnOnce(&mut (usize, usize))) {
        let _permit = block_on(self.permits.acquire_many(3)).unwrap();
        // SAFETY: not safe — the bug under test; loom checks the access and fails the model.
        self.data.with_mut(|pair| f(unsafe { &mut *pair }));
    }

    fn read(&self) -> (usize, usize) {
        let _permit = block_on(self.permits.acquire()).unwrap();
        // SAFETY: as in `write`: loom checks the access.
        self.data.with(|pair| unsafe { *pair })
    }
}

/// A writer updates both halves of a pair with a read-modify-write each; readers must always see
/// equal halves, and loom must see no access to the data unordered with a write. Two writers
/// and a reader race.
fn writer_never_shares<L: PairLock>() {
    model(|| {
        let lock = Arc::new(L::new());
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    lock.write(|pair| {
                        let first = pair.0;
                        pair.0 = first + 1;
                        let second = pair.1;
                        pair.1 = second + 1;
                    });
                })
            })
            .collect();
        let pair = lock.read();
        assert_eq!(pair.0, pair.1, "a reader saw a half-done write");
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(lock.read(), (2, 2), "lost a write");
    });
}

#[test]
fn writer_never_shares_the_lock() {
    writer_never_shares::<RwLock<(usize, usize)>>();
}

#[test]
#[should_panic(expected = "Causality violation")]
fn writer_never_shares_catches_a_writer_that_takes_too_few_permits() {
    writer_never_shares::<WriterTakesTooFew>();
}

/// `downgrade` keeps the data locked: the value written before downgrading is still there while
/// the read guard lives, although another writer is waiting; that writer gets in afterwards.
#[test]
fn downgrade_keeps_the_data_locked() {
    model(|| {
        let lock = Arc::new(RwLock::new(0usize));
        let other_writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || *block_on(lock.write()) = 2)
        };
        let reader = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let value = *block_on(lock.read());
                assert!(value == 0 || value == 1 || value == 2);
            })
        };
        let mut guard = block_on(lock.write());
        let before = *guard;
        *guard = 1;
        let read = guard.downgrade();
        assert_eq!(
            *read, 1,
            "a writer slipped in during downgrade (was {before})"
        );
        drop(read);
        other_writer.join().unwrap();
        reader.join().unwrap();
        assert!(lock.try_write().is_ok(), "every permit came back");
    });
}

/// Main holds a read guard; a writer queues behind it and is cancelled; a reader that arrived
/// behind the writer must get in without main letting go (else loom reports a deadlock: the
/// cancelled writer's collected permits must pass on and wake it).
#[test]
fn cancelled_queued_writer_lets_the_readers_behind_it_in() {
    model(|| {
        let lock = Arc::new(RwLock::new(()));
        let held = block_on(lock.read());
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let mut write = pin!(lock.write());
                assert!(
                    poll_once(write.as_mut()).is_pending(),
                    "main holds a read guard"
                );
                // Dropped here, queued, without another poll.
            })
        };
        let reader = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || drop(block_on(lock.read())))
        };
        writer.join().unwrap();
        reader.join().unwrap();
        drop(held);
        assert!(lock.try_write().is_ok(), "every permit came back");
    });
}

/// A loom cell that may be shared: the lock around it is what must order the accesses, and loom
/// checks that it does.
struct Cell(loom::cell::UnsafeCell<usize>);

// SAFETY: only reached through the lock's guards; a missing exclusion is the model's failure.
unsafe impl Sync for Cell {}

impl std::ops::Deref for Cell {
    type Target = loom::cell::UnsafeCell<usize>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Mapped guards keep their hold: a writer maps its guard to the cell and bumps it; main writes
/// the cell, downgrades to a mapped read of it and reads it twice (no writer may slip in between);
/// a reader maps a read guard to the cell and reads it. The data is a loom cell, so loom checks
/// every access made through the mapped guards' pointers against the happens-before order.
#[test]
fn mapped_guards_keep_their_hold() {
    use async_patterns::sync::{RwLockReadGuard, RwLockWriteGuard};
    model(|| {
        let lock = Arc::new(RwLock::new((0usize, Cell(loom::cell::UnsafeCell::new(0)))));
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let mapped = RwLockWriteGuard::map(block_on(lock.write()), |pair| &mut pair.1);
                // SAFETY: the mapped write guard holds every permit; loom checks it.
                mapped.with_mut(|count| unsafe { *count += 1 });
            })
        };
        let reader = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let mapped = RwLockReadGuard::map(block_on(lock.read()), |pair| &pair.1);
                // SAFETY: a read guard excludes writers; loom checks it.
                let seen = mapped.with(|count| unsafe { *count });
                assert!(seen <= 11, "read a value nobody wrote: {seen}");
            })
        };
        let guard = block_on(lock.write());
        // SAFETY: the write guard holds every permit.
        guard.1.with_mut(|count| unsafe { *count += 10 });
        let read = RwLockWriteGuard::downgrade_map(guard, |pair| &pair.1);
        // SAFETY: a read guard excludes writers; loom checks it.
        let first = read.with(|count| unsafe { *count });
        let again = read.with(|count| unsafe { *count });
        assert_eq!(first, again, "a writer slipped in beside a downgraded read");
        drop(read);
        writer.join().unwrap();
        reader.join().unwrap();
        let guard = lock.try_write().expect("every permit came back");
        // SAFETY: the write guard holds every permit.
        assert_eq!(guard.1.with(|count| unsafe { *count }), 11, "lost a write");
    });
}
