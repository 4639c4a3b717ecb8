//! The [`RwLock`] with more parties than its loom models can afford: three readers, two writers
//! and a writer that downgrades, over a lock that admits two readers at once, with a read and a
//! write future each cancelled after one poll (queued, or possibly after their grant).
//!
//! Checked on every step, with `std` atomics counting who is inside: a writer is never inside
//! beside anyone (reader or writer), and never more than `max_readers` readers are. The value under
//! the lock stays consistent: each writer increments it twice with a yield between, so a reader
//! never sees it odd, and it never changes under a read guard; `downgrade` keeps the value it
//! wrote (no writer slips in between). After joining all threads: the value counts every write
//! twice (none lost), and `try_write` succeeds (every permit came back). Every task ends: a lost
//! wakeup is shuttle's deadlock.
//!
//! The check is generic over [`LockUnderTest`], so it also runs on a lock built the shipped way
//! (a read takes one permit, a write all of them) on the naive semaphores of the bug zoo, and on
//! one whose writers take one permit too few: the self-test at the end shows it rejects each.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use async_patterns::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore};
use shuttle::future::block_on;
use shuttle::thread;

use crate::naive_semaphore::{Correct, LeakOnCancelAfterGrant, LostWakeup};
use crate::runner::{self, check_here, first_failure};
use crate::semaphore_under_test::SemaphoreUnderTest;

/// Fewer than the readers, so that the readers also queue behind each other.
const MAX_READERS: u32 = 2;
const READERS: usize = 3;
const WRITERS: usize = 2;

/// What the check needs from a reader-writer lock over a `u64`.
trait LockUnderTest: Send + Sync + Sized + 'static {
    type Read<'a>
    where
        Self: 'a;
    type Write<'a>
    where
        Self: 'a;

    fn with_max_readers(max_readers: u32) -> Self;
    fn read(&self) -> impl Future<Output = Self::Read<'_>>;
    fn write(&self) -> impl Future<Output = Self::Write<'_>>;
    fn seen(guard: &Self::Read<'_>) -> u64;
    fn written(guard: &Self::Write<'_>) -> u64;
    fn set(guard: &mut Self::Write<'_>, value: u64);
    fn downgrade(guard: Self::Write<'_>) -> Self::Read<'_>;
    /// Whether a write lock can be had now (nothing held, nothing queued).
    fn is_free(&self) -> bool;
}

impl LockUnderTest for RwLock<u64> {
    type Read<'a> = RwLockReadGuard<'a, u64>;
    type Write<'a> = RwLockWriteGuard<'a, u64>;

    fn with_max_readers(max_readers: u32) -> Self {
        RwLock::with_max_readers(0, max_readers)
    }

    fn read(&self) -> impl Future<Output = Self::Read<'_>> {
        RwLock::read(self)
    }

    fn write(&self) -> impl Future<Output = Self::Write<'_>> {
        RwLock::write(self)
    }

    fn seen(guard: &Self::Read<'_>) -> u64 {
        **guard
    }

    fn written(guard: &Self::Write<'_>) -> u64 {
        **guard
    }

    fn set(guard: &mut Self::Write<'_>, value: u64) {
        **guard = value;
    }

    fn downgrade(guard: Self::Write<'_>) -> Self::Read<'_> {
        guard.downgrade()
    }

    fn is_free(&self) -> bool {
        self.try_write().is_ok()
    }
}

/// A lock built as the shipped one is (a read takes one of `max_readers` permits, a write all of
/// them, `downgrade` gives back all but one) on any [`SemaphoreUnderTest`] — or, with
/// `WRITE_SHORT = 1`, one whose writes take one permit too few. The value is an atomic, so a
/// broken lock shows as a failed assertion, not as a data race.
struct OnSemaphore<S, const WRITE_SHORT: u32> {
    permits: Arc<S>,
    max_readers: u32,
    value: AtomicU64,
}

/// Permits taken from an [`OnSemaphore`] (the semaphore's permit forgotten, given back on drop).
struct Held<'a, S: SemaphoreUnderTest, const WRITE_SHORT: u32> {
    lock: &'a OnSemaphore<S, WRITE_SHORT>,
    permits: u32,
}

impl<S: SemaphoreUnderTest, const WRITE_SHORT: u32> Drop for Held<'_, S, WRITE_SHORT> {
    fn drop(&mut self) {
        self.lock.permits.add_permits(self.permits as usize);
    }
}

impl<S: SemaphoreUnderTest, const WRITE_SHORT: u32> OnSemaphore<S, WRITE_SHORT> {
    async fn take(&self, permits: u32) -> Held<'_, S, WRITE_SHORT> {
        let permit = S::acquire_many(&self.permits, permits)
            .await
            .expect("never closed");
        S::forget(permit);
        Held {
            lock: self,
            permits,
        }
    }
}

impl<S: SemaphoreUnderTest, const WRITE_SHORT: u32> LockUnderTest for OnSemaphore<S, WRITE_SHORT> {
    type Read<'a> = Held<'a, S, WRITE_SHORT>;
    type Write<'a> = Held<'a, S, WRITE_SHORT>;

    fn with_max_readers(max_readers: u32) -> Self {
        OnSemaphore {
            permits: S::with_permits(max_readers as usize),
            max_readers,
            value: AtomicU64::new(0),
        }
    }

    fn read(&self) -> impl Future<Output = Self::Read<'_>> {
        self.take(1)
    }

    fn write(&self) -> impl Future<Output = Self::Write<'_>> {
        self.take(self.max_readers - WRITE_SHORT)
    }

    fn seen(guard: &Self::Read<'_>) -> u64 {
        guard.lock.value.load(Ordering::SeqCst)
    }

    fn written(guard: &Self::Write<'_>) -> u64 {
        guard.lock.value.load(Ordering::SeqCst)
    }

    fn set(guard: &mut Self::Write<'_>, value: u64) {
        guard.lock.value.store(value, Ordering::SeqCst);
    }

    fn downgrade(mut guard: Self::Write<'_>) -> Self::Read<'_> {
        guard.lock.permits.add_permits(guard.permits as usize - 1);
        guard.permits = 1;
        guard
    }

    fn is_free(&self) -> bool {
        match S::try_acquire_many(&self.permits, self.max_readers) {
            Ok(permit) => {
                drop(permit);
                true
            }
            Err(_) => false,
        }
    }
}

/// Who is inside the lock now, and how many write sections completed.
#[derive(Default)]
struct Inside {
    readers: AtomicUsize,
    writers: AtomicUsize,
    writes: AtomicU64,
}

impl Inside {
    /// Entered as a reader: no writer inside, at most `max_readers` readers.
    fn enter_read(&self) {
        let readers = self.readers.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            readers <= MAX_READERS as usize,
            "{readers} readers inside a lock of {MAX_READERS}"
        );
        assert_eq!(
            self.writers.load(Ordering::SeqCst),
            0,
            "a reader got in beside a writer"
        );
    }

    /// Entered as a writer: nobody else inside.
    fn enter_write(&self) {
        assert_eq!(
            self.writers.fetch_add(1, Ordering::SeqCst),
            0,
            "two writers inside at once"
        );
        self.assert_alone();
    }

    fn assert_alone(&self) {
        assert_eq!(
            self.readers.load(Ordering::SeqCst),
            0,
            "a writer got in beside a reader"
        );
        assert_eq!(
            self.writers.load(Ordering::SeqCst),
            1,
            "two writers inside at once"
        );
    }
}

/// A read section: the value is even (no half-done write) and stays put while the guard lives.
fn read_section<L: LockUnderTest>(inside: &Inside, guard: &L::Read<'_>) {
    inside.enter_read();
    let seen = L::seen(guard);
    assert!(seen % 2 == 0, "a reader saw a half-done write: {seen}");
    thread::yield_now();
    assert_eq!(L::seen(guard), seen, "the value changed under a read guard");
    inside.readers.fetch_sub(1, Ordering::SeqCst);
}

/// The two increments of a write section, with a yield between; still inside (as the writer)
/// when it returns.
fn write_twice<L: LockUnderTest>(inside: &Inside, guard: &mut L::Write<'_>) {
    inside.enter_write();
    let before = L::written(guard);
    assert!(
        before % 2 == 0,
        "a writer found a half-done write: {before}"
    );
    L::set(guard, before + 1);
    thread::yield_now();
    inside.assert_alone();
    assert_eq!(
        L::written(guard),
        before + 1,
        "the value changed under a write guard"
    );
    L::set(guard, before + 2);
    inside.writes.fetch_add(1, Ordering::SeqCst);
}

fn write_section<L: LockUnderTest>(inside: &Inside, guard: &mut L::Write<'_>) {
    write_twice::<L>(inside, guard);
    inside.writers.fetch_sub(1, Ordering::SeqCst);
}

/// Polls `future` once with a waker that does nothing, then drops it: a caller that gave up. It
/// may have completed (then its output is returned, to be used as usual).
fn poll_once_and_drop<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Reader 0 first cancels a `read` after one poll; every reader then reads once.
fn reader<L: LockUnderTest>(lock: &L, inside: &Inside, id: usize) {
    if id == 0
        && let Some(guard) = poll_once_and_drop(lock.read())
    {
        read_section::<L>(inside, &guard);
    }
    let guard = block_on(lock.read());
    read_section::<L>(inside, &guard);
}

/// Writer 0 first cancels a `write` after one poll; every writer then writes once.
fn writer<L: LockUnderTest>(lock: &L, inside: &Inside, id: usize) {
    if id == 0
        && let Some(mut guard) = poll_once_and_drop(lock.write())
    {
        write_section::<L>(inside, &mut guard);
    }
    let mut guard = block_on(lock.write());
    write_section::<L>(inside, &mut guard);
}

/// Writes, then downgrades: the read guard must still see the value written, although the other
/// writers may be queued, and other readers may now come in beside it.
fn downgrader<L: LockUnderTest>(lock: &L, inside: &Inside) {
    let mut guard = block_on(lock.write());
    write_twice::<L>(inside, &mut guard);
    let written = L::written(&guard);
    // Still alone inside: turn from the writer into a reader before anyone can come in.
    inside.readers.fetch_add(1, Ordering::SeqCst);
    inside.writers.fetch_sub(1, Ordering::SeqCst);
    let guard = L::downgrade(guard);
    assert_eq!(
        L::seen(&guard),
        written,
        "a writer slipped in during downgrade"
    );
    thread::yield_now();
    assert_eq!(
        L::seen(&guard),
        written,
        "a writer got in beside a downgraded guard"
    );
    inside.readers.fetch_sub(1, Ordering::SeqCst);
}

/// Three readers, two writers and a downgrading writer on separate threads, main joining them.
fn many_parties<L: LockUnderTest>() {
    let lock = Arc::new(L::with_max_readers(MAX_READERS));
    let inside = Arc::new(Inside::default());
    let mut threads = Vec::new();
    for id in 0..READERS {
        let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
        threads.push(thread::spawn(move || reader(&*lock, &inside, id)));
    }
    for id in 0..WRITERS {
        let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
        threads.push(thread::spawn(move || writer(&*lock, &inside, id)));
    }
    {
        let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
        threads.push(thread::spawn(move || downgrader(&*lock, &inside)));
    }
    for thread in threads {
        thread.join().unwrap();
    }

    let writes = inside.writes.load(Ordering::SeqCst);
    assert!(
        writes > WRITERS as u64,
        "every writer and the downgrader wrote"
    );
    let value = L::seen(&block_on(lock.read()));
    assert_eq!(value, 2 * writes, "a write was lost or torn");
    assert_eq!(
        (
            inside.readers.load(Ordering::SeqCst),
            inside.writers.load(Ordering::SeqCst)
        ),
        (0, 0)
    );
    assert!(lock.is_free(), "a permit was leaked");
}

#[test]
fn rwlock_many_parties_exclude_writers_and_lose_no_write() {
    check_here(many_parties::<RwLock<u64>>);
}

/// The check has teeth: it rejects a lock built the shipped way on a semaphore that loses a
/// wakeup or leaks a cancelled grant, and one whose writers take a permit too few; it accepts
/// the same lock on the correct naive semaphore. Prints how many schedules each took to fail.
#[test]
fn shuttle_rejects_the_naive_rwlocks() {
    runner::quiet_expected_panics();
    type Hunt = fn() -> Option<(runner::Kind, usize)>;
    let cases: [(&str, Hunt); 3] = [
        ("a semaphore that loses a wakeup", || {
            first_failure(
                "naive_rwlock::lost_wakeup",
                many_parties::<OnSemaphore<LostWakeup, 0>>,
            )
        }),
        ("a semaphore that leaks a cancelled grant", || {
            first_failure(
                "naive_rwlock::leak",
                many_parties::<OnSemaphore<LeakOnCancelAfterGrant, 0>>,
            )
        }),
        ("writers that take a permit too few", || {
            first_failure(
                "naive_rwlock::writer_takes_too_few",
                many_parties::<OnSemaphore<Semaphore, 1>>,
            )
        }),
    ];
    for (bug, hunt) in cases {
        match hunt() {
            Some((kind, iterations)) => eprintln!(
                "naive rwlock rejected as required: {bug}, {kind:?} scheduler, schedule {iterations}"
            ),
            None => panic!("the shuttle check accepted the rwlock with {bug}"),
        }
    }
    assert_eq!(
        first_failure(
            "naive_rwlock::correct",
            many_parties::<OnSemaphore<Correct, 0>>
        ),
        None
    );
}
