//! The four guards of [`RwLock`]: borrowed and owned, read and write.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::RwLock;
use crate::loom::ReceiverArc as Arc;

/// Shared read access to a [`RwLock`]; its permit is given back when it is dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive write access to a [`RwLock`]; released when dropped, or turned into a read guard
/// with [`downgrade`](Self::downgrade).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Shared read access to an `Arc<RwLock<T>>`; `'static`, so it can move into a spawned task.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// Exclusive write access to an `Arc<RwLock<T>>`; `'static`, so it can move into a spawned task.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    /// Permits to give back on drop: all of them, or none once downgraded (the read guard that
    /// replaces it gives back its one).
    permits: u32,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>) -> Self {
        RwLockReadGuard { lock }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>) -> Self {
        RwLockWriteGuard { lock }
    }

    /// Turns exclusive access into shared access without unlocking: the guard keeps one permit
    /// and gives back the others, so queued readers get in but no writer can slip in between.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        // The write guard's Drop would give back every permit; this one keeps one.
        std::mem::forget(self);
        lock.semaphore.release(lock.max_readers as usize - 1);
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        OwnedRwLockReadGuard { lock }
    }

    /// The lock this guard holds.
    #[must_use]
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        let permits = lock.max_readers;
        OwnedRwLockWriteGuard { lock, permits }
    }

    /// The lock this guard holds.
    #[must_use]
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// As [`RwLockWriteGuard::downgrade`]: shared access without unlocking in between.
    pub fn downgrade(mut self) -> OwnedRwLockReadGuard<T> {
        let read = OwnedRwLockReadGuard {
            lock: Arc::clone(&self.lock),
        };
        self.permits = 0;
        self.lock
            .semaphore
            .release(self.lock.max_readers as usize - 1);
        read
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.permits as usize);
    }
}

/// `Deref`, `Debug` and `Display` for a guard type, and `DerefMut` for a write guard.
macro_rules! guard_access {
    ($guard:ty, $($lt:lifetime)?) => {
        impl<$($lt,)? T: ?Sized> Deref for $guard {
            type Target = T;

            fn deref(&self) -> &T {
                // SAFETY: the guard holds at least one of the lock's permits until it is dropped,
                // and a writer needs all of them, so no `&mut T` exists while this `&T` does.
                self.lock.data.with(|ptr| unsafe { &*ptr })
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Display> fmt::Display for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
    ($guard:ty, $($lt:lifetime)?, writer) => {
        guard_access!($guard, $($lt)?);

        impl<$($lt,)? T: ?Sized> DerefMut for $guard {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: a write guard holds every permit of the lock until it is dropped or
                // downgraded (which consumes it), so it is the only access; `&mut self` rules
                // out other borrows through the guard.
                self.lock.data.with_mut(|ptr| unsafe { &mut *ptr })
            }
        }
    };
}

guard_access!(RwLockReadGuard<'a, T>, 'a);
guard_access!(OwnedRwLockReadGuard<T>,);
guard_access!(RwLockWriteGuard<'a, T>, 'a, writer);
guard_access!(OwnedRwLockWriteGuard<T>,, writer);
