//! The guards of [`RwLock`]: borrowed and owned, read and write, and the write guards narrowed to
//! a part of the data (`map`).
//!
//! The write guards deref through the lock's cell. A read guard, and every mapped guard, points
//! into the data instead (a mapped read guard is still a read guard, as in tokio): the pointer is
//! taken while the guard's permits are held and is used only while they are.

use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::RwLock;
use crate::loom::ReceiverArc as Arc;
use crate::sync::semaphore::Semaphore;
use crate::sync::{mapped, take_field};

/// Shared read access to (a part of) a [`RwLock`]'s data; its permit is given back when it is
/// dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    semaphore: &'a Semaphore,
    data: NonNull<T>,
    marker: PhantomData<&'a T>,
}

/// Exclusive write access to a [`RwLock`]; released when dropped, or turned into a read guard
/// with [`downgrade`](Self::downgrade).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive write access to a part of a [`RwLock`]'s data, made by [`RwLockWriteGuard::map`];
/// released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    semaphore: &'a Semaphore,
    /// Every permit of the lock, given back on drop.
    permits: u32,
    data: NonNull<T>,
    marker: PhantomData<&'a mut T>,
}

/// Shared read access to (a part of) an `Arc<RwLock<T>>`'s data; `'static` when `T` and `U` are,
/// so it can move into a spawned task.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
    marker: PhantomData<U>,
}

/// Exclusive write access to an `Arc<RwLock<T>>`; `'static`, so it can move into a spawned task.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

/// Exclusive write access to a part of an `Arc<RwLock<T>>`'s data, made by
/// [`OwnedRwLockWriteGuard::map`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: NonNull<U>,
    marker: PhantomData<U>,
}

// Why the bounds of the `Send` / `Sync` impls below: a read guard is a `&T` that gives a permit
// back: sending it shares the data with the thread it came from (`T: Sync`); the `Send` asked for
// sharing matches tokio's and the borrowed lock's own bounds. A write guard (mapped or not) gives
// `&mut` access: `T: Send` to move what it points to, `T: Sync` because the lock it came from is
// shared. An owned guard also carries an `Arc<RwLock<T>>`, which is `Send` and `Sync` when
// `T: Send + Sync`; it can be the last owner of the data and drop it, so `T: Send` always.
// SAFETY: a shared read guard gives out `&T` only; see above.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

/// The lock's data as a pointer, taken while the caller holds at least one permit.
fn data_of<T: ?Sized>(lock: &RwLock<T>) -> NonNull<T> {
    // SAFETY: a cell's pointer is never null.
    lock.data
        .with(|ptr| unsafe { NonNull::new_unchecked(ptr.cast_mut()) })
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>) -> Self {
        RwLockReadGuard {
            semaphore: &lock.semaphore,
            data: data_of(lock),
            marker: PhantomData,
        }
    }

    /// Narrows the guard to a part of the data; still a read guard, holding the same permit.
    ///
    /// An associated function (`RwLockReadGuard::map(guard, f)`), so that it does not shadow a
    /// method of `T`. If `f` panics, the guard is dropped and its permit given back.
    ///
    /// ```
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// # tokio_test::block_on(async {
    /// use async_patterns::sync::{RwLock, RwLockReadGuard};
    ///
    /// let config = RwLock::new((String::from("host"), 8080));
    /// let port = RwLockReadGuard::map(config.read().await, |config| &config.1);
    /// assert_eq!(*port, 8080);
    /// assert!(config.try_write().is_err()); // still read-locked
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline: then the original guard is given back.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        let semaphore = this.semaphore;
        mem::forget(this);
        Ok(RwLockReadGuard {
            semaphore,
            data,
            marker: PhantomData,
        })
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>) -> Self {
        RwLockWriteGuard { lock }
    }

    /// Turns exclusive access into shared access without unlocking: the guard keeps one permit
    /// and gives back the others, so queued readers get in but no writer can slip in between.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        Self::downgrade_map(self, |data| data)
    }

    /// Narrows the guard to a part of the data, keeping exclusive access; see
    /// [`RwLockReadGuard::map`]. If `f` panics, the guard is dropped and the lock released.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
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
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        Ok(Self::into_mapped_at(this, data))
    }

    /// The guard as a mapped write guard over the whole data.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        Self::map(this, |data| data)
    }

    /// [`downgrade`](Self::downgrade) and [`RwLockReadGuard::map`] in one step: no writer can
    /// slip in between. If `f` panics, the write guard is dropped and the lock released.
    ///
    /// ```
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// # tokio_test::block_on(async {
    /// use async_patterns::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let pair = RwLock::new((0, 0));
    /// let mut writer = pair.write().await;
    /// writer.0 = 7;
    /// let first = RwLockWriteGuard::downgrade_map(writer, |pair| &pair.0);
    /// assert_eq!(*first, 7);
    /// assert_eq!(pair.try_read().unwrap().1, 0); // readers get in beside it
    /// # });
    /// ```
    pub fn downgrade_map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        mapped(Self::try_downgrade_map(this, |data| Some(f(data))))
    }

    /// [`downgrade_map`](Self::downgrade_map) where `f` may decline: then the write guard is given
    /// back, still exclusive.
    ///
    /// # Errors
    ///
    /// The write guard, unchanged, if `f` returns `None`.
    pub fn try_downgrade_map<U: ?Sized, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        Ok(Self::downgrade_at(this, data))
    }

    fn into_mapped_at<U: ?Sized>(this: Self, data: NonNull<U>) -> RwLockMappedWriteGuard<'a, U> {
        let lock = this.lock;
        // The new guard gives every permit back instead.
        mem::forget(this);
        RwLockMappedWriteGuard {
            semaphore: &lock.semaphore,
            permits: lock.max_readers,
            data,
            marker: PhantomData,
        }
    }

    fn downgrade_at<U: ?Sized>(this: Self, data: NonNull<U>) -> RwLockReadGuard<'a, U> {
        let lock = this.lock;
        // The write guard's `Drop` would give back every permit; the read guard keeps one. It
        // exists before the others go back: the release wakes waiters (user code), and if a
        // waker panics, the unwinding drops the read guard, which gives its permit back too.
        let read = RwLockReadGuard {
            semaphore: &lock.semaphore,
            data,
            marker: PhantomData,
        };
        mem::forget(this);
        lock.semaphore.release(lock.max_readers as usize - 1);
        read
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further; see [`RwLockWriteGuard::map`].
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
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
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        let (semaphore, permits) = (this.semaphore, this.permits);
        mem::forget(this);
        Ok(RwLockMappedWriteGuard {
            semaphore,
            permits,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        let data = data_of(&lock);
        OwnedRwLockReadGuard {
            lock,
            data,
            marker: PhantomData,
        }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// The lock this guard holds.
    #[must_use]
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard to a part of the data; see [`RwLockReadGuard::map`].
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// [`map`](Self::map) where `f` may decline.
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<V: ?Sized, F>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        // SAFETY: `lock` is a field of the guard.
        let lock = unsafe { take_field(this, |guard| &guard.lock) };
        Ok(OwnedRwLockReadGuard {
            lock,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        OwnedRwLockWriteGuard { lock }
    }

    /// The lock this guard holds.
    #[must_use]
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// As [`RwLockWriteGuard::downgrade`]: shared access without unlocking in between.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        Self::downgrade_map(self, |data| data)
    }

    /// As [`RwLockWriteGuard::map`].
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        mapped(Self::try_map(this, |data| Some(f(data))))
    }

    /// As [`RwLockWriteGuard::try_map`].
    ///
    /// # Errors
    ///
    /// The guard, unchanged, if `f` returns `None`.
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        // SAFETY: `lock` is a field of the guard.
        let lock = unsafe { take_field(this, |guard| &guard.lock) };
        Ok(OwnedRwLockMappedWriteGuard {
            lock,
            data,
            marker: PhantomData,
        })
    }

    /// As [`RwLockWriteGuard::into_mapped`].
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        Self::map(this, |data| data)
    }

    /// As [`RwLockWriteGuard::downgrade_map`].
    pub fn downgrade_map<U: ?Sized, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        mapped(Self::try_downgrade_map(this, |data| Some(f(data))))
    }

    /// As [`RwLockWriteGuard::try_downgrade_map`].
    ///
    /// # Errors
    ///
    /// The write guard, unchanged, if `f` returns `None`.
    pub fn try_downgrade_map<U: ?Sized, F>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(NonNull::from) else {
            return Err(this);
        };
        Ok(Self::downgrade_at(this, data))
    }

    fn downgrade_at<U: ?Sized>(this: Self, data: NonNull<U>) -> OwnedRwLockReadGuard<T, U> {
        // SAFETY: `lock` is a field of the guard.
        let lock = unsafe { take_field(this, |guard| &guard.lock) };
        // As for the borrowed guard: the read guard exists before the other permits go back.
        let read = OwnedRwLockReadGuard {
            lock,
            data,
            marker: PhantomData,
        };
        read.lock
            .semaphore
            .release(read.lock.max_readers as usize - 1);
        read
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// The lock this guard holds.
    #[must_use]
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard further; see [`RwLockWriteGuard::map`].
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
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
    pub fn try_map<V: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let Some(data) = f(&mut *this).map(NonNull::from) else {
            return Err(this);
        };
        // SAFETY: `lock` is a field of the guard.
        let lock = unsafe { take_field(this, |guard| &guard.lock) };
        Ok(OwnedRwLockMappedWriteGuard {
            lock,
            data,
            marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits as usize);
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.semaphore.release(1);
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.semaphore.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // The pointer was taken into the lock's data while this guard's permit was held (a
        // panic in `map`'s closure drops the guard before a new one exists), and the lock
        // outlives `'a`.
        // SAFETY: the guard holds its permit until dropped and a writer needs every permit, so
        // no `&mut` to the data exists while this `&` does.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: as for `RwLockReadGuard`; the `Arc` the guard holds keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the pointer was derived from the `&mut` of a write guard whose permits (all of
        // the lock's) this guard holds until it is dropped: nothing else reaches the data.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;

    fn deref(&self) -> &U {
        // SAFETY: as for `RwLockMappedWriteGuard`; the `Arc` keeps the data alive.
        unsafe { self.data.as_ref() }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` also rules out other borrows through this guard.
        unsafe { self.data.as_mut() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit of the lock until it is dropped or consumed,
        // so it is the only access.
        self.lock.data.with(|ptr| unsafe { &*ptr })
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` rules out other borrows through the guard.
        self.lock.data.with_mut(|ptr| unsafe { &mut *ptr })
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: as for `RwLockWriteGuard`.
        self.lock.data.with(|ptr| unsafe { &*ptr })
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `RwLockWriteGuard`.
        self.lock.data.with_mut(|ptr| unsafe { &mut *ptr })
    }
}

crate::sync::guard_fmt! {
    ['a, T: ?Sized] RwLockReadGuard<'a, T> => T;
    ['a, T: ?Sized] RwLockWriteGuard<'a, T> => T;
    ['a, T: ?Sized] RwLockMappedWriteGuard<'a, T> => T;
    [T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U> => U;
    [T: ?Sized] OwnedRwLockWriteGuard<T> => T;
    [T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U> => U;
}
