//! An async mutex: a [`Semaphore`] with one permit guarding an `UnsafeCell`.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::Semaphore;
use crate::loom::{ReceiverArc as Arc, UnsafeCell};

mod mapped;

pub use mapped::{MappedMutexGuard, OwnedMappedMutexGuard};

/// An async mutual-exclusion lock, a drop-in for [`tokio::sync::Mutex`](https://docs.rs/tokio/1/tokio/sync/struct.Mutex.html).
///
/// It is a [`Semaphore`] with one permit: whoever holds the permit may touch the data. So it
/// inherits the semaphore's guarantees, checked by the loom models and the proptest state machine:
///
/// - **Mutual exclusion**: at most one guard exists at a time.
/// - **FIFO**: tasks get the lock in the order they started waiting; [`try_lock`](Self::try_lock)
///   never overtakes a queued task.
/// - **Cancel safety**: dropping a `lock()` future — even one that was handed the lock but never
///   polled again — passes the lock on to the next waiter; nothing stays locked.
/// - The guard may be held across `.await` (unlike `std::sync::Mutex`'s), and the guard is `Send`
///   when `T: Send`, so the task that holds it can move between threads.
///
/// Because it is fair and async, it is slower than `std::sync::Mutex` for short critical sections
/// that never `.await`; prefer std's there.
///
/// # Example: the shared counter
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::sync::Mutex;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn run() {
/// let counter = Arc::new(Mutex::new(0u64));
/// let tasks: Vec<_> = (0..100)
///     .map(|_| {
///         let counter = Arc::clone(&counter);
///         tokio::spawn(async move {
///             let mut n = counter.lock().await;
///             tokio::task::yield_now().await; // holding the guard across an await is fine
///             *n += 1;
///         })
///     })
///     .collect();
/// for task in tasks {
///     task.await.unwrap();
/// }
/// assert_eq!(*counter.lock().await, 100);
/// # }
/// ```
pub struct Mutex<T: ?Sized> {
    semaphore: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one thread at a time (the semaphore has one
// permit), so sharing or sending the mutex only ever moves `T` between threads: `T: Send` suffices,
// as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; `&Mutex<T>` gives `&mut T` to one holder at a time, never `&T` to two threads.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Exclusive access to the data of a [`Mutex`]; the lock is released when it is dropped.
///
/// It is `Send` when `T: Send` and `Sync` only when `T: Send + Sync` (sharing a guard shares
/// `&T`), so a guard over a `Cell` cannot be shared between threads:
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<async_patterns::sync::MutexGuard<'static, std::cell::Cell<u8>>>();
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

/// Exclusive access to the data of an `Arc<Mutex<T>>`; being `'static`, it can move into a
/// spawned task. The lock is released when it is dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

// SAFETY: sharing a guard between threads shares `&T`, which needs `T: Sync`; the auto impl
// would only require `T: Send` (through `&Mutex<T>`). Sending a guard is covered by the auto
// impl (`&Mutex<T>: Send` iff `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as for `MutexGuard`: shared guards expose `&T` to several threads.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

/// Error from [`Mutex::try_lock`] and the `try_*` methods of [`RwLock`](super::RwLock): the lock
/// is held, or others are queued for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    pub(super) const fn new() -> Self {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    #[must_use]
    pub fn new(value: T) -> Self {
        Mutex {
            semaphore: Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked mutex in a `const` context (for a `static`).
    ///
    /// Not available under `--cfg loom`.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn const_new(value: T) -> Self {
        Mutex {
            semaphore: Semaphore::const_new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock (FIFO) and returns a guard.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, even after the lock was handed to it, the lock passes
    /// to the next waiter. A new `lock()` call queues at the back.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        if self.semaphore.acquire_unwrapped(1).await.is_err() {
            unreachable!("a Mutex never closes its semaphore");
        }
        MutexGuard { lock: self }
    }

    /// Takes the lock if it is free and nobody is queued for it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or others wait for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(MutexGuard { lock: self })
            }
            Err(_) => Err(TryLockError::new()),
        }
    }

    /// [`lock`](Self::lock) for an `Arc<Mutex<T>>`: the guard owns a clone of the `Arc`.
    ///
    /// # Cancel safety
    ///
    /// As [`lock`](Self::lock).
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        if self.semaphore.acquire_unwrapped(1).await.is_err() {
            unreachable!("a Mutex never closes its semaphore");
        }
        OwnedMutexGuard { lock: self }
    }

    /// [`try_lock`](Self::try_lock) for an `Arc<Mutex<T>>`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or others wait for it.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.semaphore.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(TryLockError::new()),
        }
        Ok(OwnedMutexGuard { lock: self })
    }

    /// [`lock`](Self::lock) from synchronous code: parks the calling thread until the lock is
    /// its (FIFO with the async waiters).
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
    /// use async_patterns::sync::Mutex;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let worker = std::thread::spawn({
    ///     let mutex = Arc::clone(&mutex);
    ///     move || *mutex.blocking_lock() += 1
    /// });
    /// worker.join().unwrap();
    /// assert_eq!(*mutex.blocking_lock(), 2);
    /// ```
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        crate::sync::blocking::block_on(self.lock())
    }

    /// [`lock_owned`](Self::lock_owned) from synchronous code; see
    /// [`blocking_lock`](Self::blocking_lock).
    ///
    /// # Panics
    ///
    /// As [`blocking_lock`](Self::blocking_lock).
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        crate::sync::blocking::block_on(self.lock_owned())
    }

    /// A mutable reference to the data, with no locking: `&mut self` already proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` means no guard is alive (guards borrow the mutex) and no other
        // thread can reach the data, so this is the only access.
        self.data.with_mut(|ptr| unsafe { &mut *ptr })
    }
}

impl<T: ?Sized> MutexGuard<'_, T> {
    /// The mutex this guard locks.
    #[must_use]
    pub fn mutex<'a>(this: &Self) -> &'a Mutex<T>
    where
        Self: 'a,
    {
        this.lock
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    #[must_use]
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its holder owns the semaphore's single permit, so no
        // other guard, and so no `&mut T`, exists until this guard is dropped.
        self.lock.data.with(|ptr| unsafe { &*ptr })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        self.lock.data.with_mut(|ptr| unsafe { &mut *ptr })
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its holder owns the semaphore's single permit.
        self.lock.data.with(|ptr| unsafe { &*ptr })
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        self.lock.data.with_mut(|ptr| unsafe { &mut *ptr })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    /// Never waits: shows the data if the lock is free right now, `<locked>` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

crate::sync::guard_fmt! {
    ['a, T: ?Sized] MutexGuard<'a, T> => T;
    [T: ?Sized] OwnedMutexGuard<T> => T;
}
