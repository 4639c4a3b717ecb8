//! Guards narrowed to a part of the data ([`MutexGuard::map`]): they keep the lock's permit and
//! point into the data instead of at the whole.

use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::{Mutex, MutexGuard, OwnedMutexGuard};
use crate::loom::ReceiverArc as Arc;
use crate::sync::semaphore::Semaphore;
use crate::sync::{mapped, take_field};

/// Exclusive access to a part of a [`Mutex`]'s data, made by [`MutexGuard::map`]; the lock is
/// released when it is dropped.
///
/// It cannot name its mutex (the data it points to may be any part of it), so it has no
/// `mutex()` accessor.
///
/// ```
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # tokio_test::block_on(async {
/// use async_patterns::sync::{Mutex, MutexGuard};
///
/// let pair = Mutex::new((1, String::from("one")));
/// let mut name = MutexGuard::map(pair.lock().await, |pair| &mut pair.1);
/// name.push_str(" (still locked)");
/// assert!(pair.try_lock().is_err());
/// drop(name);
/// assert_eq!(pair.lock().await.1, "one (still locked)");
/// # });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    semaphore: &'a Semaphore,
    data: NonNull<T>,
    marker: PhantomData<&'a mut T>,
}

/// Exclusive access to a part of an `Arc<Mutex<T>>`'s data, made by [`OwnedMutexGuard::map`];
/// `'static` when `T` and `U` are. The lock is released when it is dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    data: NonNull<U>,
    marker: PhantomData<U>,
}

// SAFETY: the guard is a `&'a mut U` that also gives a permit back; sending it sends that `&mut U`
// (needs `U: Send`) and the `&Semaphore` (always `Send`: the semaphore is `Sync`).
unsafe impl<U: ?Sized + Send> Send for MappedMutexGuard<'_, U> {}
// SAFETY: a shared guard only gives out `&U`.
unsafe impl<U: ?Sized + Sync> Sync for MappedMutexGuard<'_, U> {}
// SAFETY: as above, plus the `Arc<Mutex<T>>`, which is `Send` and `Sync` when `T: Send`; `T: Sync`
// and `U: Send` are also asked for sharing, as for the unmapped owned guard.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the data, keeping the lock.
    ///
    /// An associated function (`MutexGuard::map(guard, f)`), so that it does not shadow a method
    /// of `T`. If `f` panics, the guard is dropped and the lock released.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline: then the original guard is given back.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        let semaphore = &this.lock.semaphore;
        mem::forget(this);
        Ok(MappedMutexGuard {
            semaphore,
            data,
            marker: PhantomData,
        })
    }
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further; see [`MutexGuard::map`].
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        let semaphore = this.semaphore;
        mem::forget(this);
        Ok(MappedMutexGuard {
            semaphore,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Narrows the guard to a part of the data, keeping the lock and the `Arc`; see
    /// [`MutexGuard::map`].
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            // SAFETY: `lock` is a field of the guard; the permit stays taken, for the new guard.
            lock: unsafe { take_field(this, |guard| &guard.lock) },
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Narrows the guard further; see [`MutexGuard::map`].
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<V: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let data = match f(&mut *this) {
            Some(data) => NonNull::from(data),
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard {
            // SAFETY: as above.
            lock: unsafe { take_field(this, |guard| &guard.lock) },
            data,
            marker: PhantomData,
        })
    }

    /// The mutex this guard locks (a part of).
    #[must_use]
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // `data` was derived from the `&mut` a guard gave out; a panic in `map`'s closure drops
        // that guard before any mapped guard exists; the mutex outlives `'a`.
        // SAFETY: this guard holds the mutex's only permit until it is dropped, so nothing else
        // reaches the data.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: as for `MappedMutexGuard`; the `Arc` this guard holds keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

crate::sync::guard_fmt! {
    ['a, T: ?Sized] MappedMutexGuard<'a, T> => T;
    [T: ?Sized, U: ?Sized] OwnedMappedMutexGuard<T, U> => U;
}
