//! An async reader-writer lock on the semaphore core: a read takes one permit, a write takes all.

mod guards;

use std::fmt;

use super::TryLockError;
use super::semaphore::{Acquire, Semaphore};
use crate::loom::{ReceiverArc as Arc, UnsafeCell};

pub use guards::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};

/// The default (and largest) number of simultaneous readers. Small under loom so that a write
/// (which takes every permit) keeps the models small.
#[cfg(not(loom))]
const MAX_READS: u32 = u32::MAX >> 3;
#[cfg(loom)]
const MAX_READS: u32 = 4;

/// An async reader-writer lock, a drop-in for
/// [`tokio::sync::RwLock`](https://docs.rs/tokio/1/tokio/sync/struct.RwLock.html).
///
/// It is a [`Semaphore`] with `max_readers` permits: a reader takes one, a writer takes all of
/// them. So it inherits the semaphore's guarantees, checked by the loom models and proptest:
///
/// - **Exclusion**: a writer never holds the lock together with any other reader or writer; up to
///   `max_readers` readers hold it together.
/// - **Fair (FIFO), write-preferring in effect**: requests are served in arrival order. A queued
///   writer is served before readers that arrive after it, so a stream of readers cannot starve a
///   writer, and a writer cannot starve readers either.
/// - **Cancel safety**: dropping a `read()` or `write()` future at any point loses nothing; a
///   cancelled queued writer lets the readers behind it in at once.
/// - **`downgrade`** turns a write guard into a read guard atomically: the data stays locked
///   throughout, and the readers queued behind are let in.
///
/// # Re-entrant reads deadlock
///
/// Because a queued writer blocks every later reader, a task that already holds a read guard and
/// asks for another one while a writer waits will wait for the writer, which waits for the first
/// read guard: a deadlock. Never take a second read lock while holding one. (`tests/rwlock.rs`
/// shows this with a timeout.)
///
/// # Example
///
/// ```
/// use async_patterns::sync::RwLock;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn run() {
/// let config = RwLock::new(String::from("v1"));
/// {
///     let a = config.read().await;
///     let b = config.read().await; // readers share the lock
///     assert_eq!(*a, *b);
/// }
/// let mut writer = config.write().await;
/// writer.push_str("-patched");
/// let reader = writer.downgrade(); // still locked: no writer can slip in between
/// assert_eq!(*reader, "v1-patched");
/// # }
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    semaphore: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the lock only ever moves `T` between threads (it owns it): `T: Send` suffices.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: `&RwLock<T>` gives `&mut T` to one writer (so `T: Send`) or `&T` to several readers on
// different threads at once (so `T: Sync`), as for std's `RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// Creates an unlocked lock that admits up to `u32::MAX >> 3` readers at once.
    #[must_use]
    pub fn new(value: T) -> Self {
        Self::with_max_readers(value, MAX_READS)
    }

    /// Creates an unlocked lock that admits up to `max_reads` readers at once.
    ///
    /// # Panics
    ///
    /// If `max_reads` is 0 (no one could ever read, and a write would take no permit, so
    /// writers would not exclude each other) or exceeds `u32::MAX >> 3`, as tokio does: both are
    /// programming errors, not run-time conditions.
    #[must_use]
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> Self {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        RwLock {
            max_readers: max_reads,
            semaphore: Semaphore::new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked lock in a `const` context (for a `static`). Not available under
    /// `--cfg loom`.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn const_new(value: T) -> Self {
        Self::const_with_max_readers(value, MAX_READS)
    }

    /// [`with_max_readers`](Self::with_max_readers) in a `const` context (for a `static`). Not
    /// available under `--cfg loom`.
    ///
    /// ```
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// use async_patterns::sync::RwLock;
    ///
    /// static ROUTES: RwLock<Vec<&str>> = RwLock::const_with_max_readers(Vec::new(), 64);
    /// # tokio_test::block_on(async {
    /// ROUTES.write().await.push("/health");
    /// assert_eq!(ROUTES.read().await.len(), 1);
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// As [`with_max_readers`](Self::with_max_readers) (at compile time in a `static`).
    #[cfg(not(loom))]
    #[must_use]
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> Self {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        RwLock {
            max_readers: max_reads,
            semaphore: Semaphore::const_new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits (FIFO) for shared read access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives back anything assigned to it.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1)
            .await
            .unwrap_or_else(|_| unreachable!("a RwLock never closes its semaphore"));
        RwLockReadGuard::new(self)
    }

    /// Waits (FIFO) for exclusive write access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `write()` gives back the reader permits it had collected, so the
    /// readers queued behind it get in at once.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers)
            .await
            .unwrap_or_else(|_| unreachable!("a RwLock never closes its semaphore"));
        RwLockWriteGuard::new(self)
    }

    /// Takes shared read access if it is free now and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds the lock, `max_readers` readers hold it, or others wait.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_take(1)?;
        Ok(RwLockReadGuard::new(self))
    }

    /// Takes exclusive write access if it is free now and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if anyone holds the lock or waits for it.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_take(self.max_readers)?;
        Ok(RwLockWriteGuard::new(self))
    }

    /// [`read`](Self::read) for an `Arc<RwLock<T>>`: the guard owns a clone of the `Arc`.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1)
            .await
            .unwrap_or_else(|_| unreachable!("a RwLock never closes its semaphore"));
        OwnedRwLockReadGuard::new(self)
    }

    /// [`write`](Self::write) for an `Arc<RwLock<T>>`: the guard owns a clone of the `Arc`.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.max_readers)
            .await
            .unwrap_or_else(|_| unreachable!("a RwLock never closes its semaphore"));
        OwnedRwLockWriteGuard::new(self)
    }

    /// [`try_read`](Self::try_read) for an `Arc<RwLock<T>>`.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read).
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_take(1)?;
        Ok(OwnedRwLockReadGuard::new(self))
    }

    /// [`try_write`](Self::try_write) for an `Arc<RwLock<T>>`.
    ///
    /// # Errors
    ///
    /// As [`try_write`](Self::try_write).
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_take(self.max_readers)?;
        Ok(OwnedRwLockWriteGuard::new(self))
    }

    /// [`read`](Self::read) from synchronous code: parks the calling thread until it may read
    /// (FIFO with the async waiters).
    ///
    /// Not available under `--cfg loom` or `--cfg shuttle` (it parks a real thread).
    ///
    /// # Panics
    ///
    /// When called on a thread that drives asynchronous tasks (inside a tokio runtime, as tokio's
    /// does): parking it could stop the very task that holds the lock. Call it from a plain
    /// thread or from `tokio::task::spawn_blocking`.
    ///
    /// ```
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// use std::sync::Arc;
    /// use async_patterns::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let writer = std::thread::spawn({
    ///     let lock = Arc::clone(&lock);
    ///     move || *lock.blocking_write() += 1
    /// });
    /// writer.join().unwrap();
    /// assert_eq!(*lock.blocking_read(), 2);
    /// ```
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        crate::sync::blocking::block_on(self.read())
    }

    /// [`write`](Self::write) from synchronous code; see [`blocking_read`](Self::blocking_read).
    ///
    /// # Panics
    ///
    /// As [`blocking_read`](Self::blocking_read).
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        crate::sync::blocking::block_on(self.write())
    }

    /// A mutable reference to the data, with no locking: `&mut self` already proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` means no guard is alive (guards borrow the lock or own an `Arc` of
        // it, and an `Arc` cannot yield `&mut`) and no other thread can reach the data.
        self.data.with_mut(|ptr| unsafe { &mut *ptr })
    }

    /// Waits for `permits` permits and keeps them (the guard gives them back).
    /// The semaphore's own future for `permits`, which the caller keeps (its guard gives them
    /// back). Awaited directly by `read`/`write`: no `async fn` layer in between to poll.
    fn acquire(&self, permits: u32) -> Acquire<'_> {
        self.semaphore.acquire_unwrapped(permits)
    }

    fn try_take(&self, permits: u32) -> Result<(), TryLockError> {
        match self.semaphore.try_acquire_many(permits) {
            Ok(permit) => {
                permit.forget();
                Ok(())
            }
            Err(_) => Err(TryLockError::new()),
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    /// Never waits: shows the data if a read lock can be had right now, `<locked>` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.field("max_readers", &self.max_readers).finish()
    }
}
