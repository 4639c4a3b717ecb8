//! Synchronization primitives, each a drop-in for its `tokio::sync` namesake, all built on one
//! verified core: the fair [`Semaphore`].
//!
//! | primitive | built as | fairness |
//! |---|---|---|
//! | [`Semaphore`] | atomic fast path + FIFO queue of nodes inside the waiters' futures | FIFO, no barging |
//! | [`Mutex`] | `Semaphore::new(1)` + an `UnsafeCell` | FIFO |
//! | [`RwLock`] | `Semaphore::new(max_readers)`: read takes 1, write takes all | FIFO: a queued writer blocks later readers |

/// `Debug` and `Display` through `Deref`, for every guard.
macro_rules! guard_fmt {
    ($([$($generics:tt)*] $guard:ty => $target:ident;)*) => {$(
        impl<$($generics)*> ::std::fmt::Debug for $guard
        where
            $target: ::std::fmt::Debug,
        {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($generics)*> ::std::fmt::Display for $guard
        where
            $target: ::std::fmt::Display,
        {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}

pub(crate) use guard_fmt;

#[cfg(not(any(loom, shuttle)))]
mod blocking;
mod coop;
mod mutex;
mod rwlock;
mod semaphore;

pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub(crate) use semaphore::WakeList;
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

/// Moves one field out of `value` without running `value`'s `Drop`: how a guard becomes another
/// guard that takes over giving its permits back. The other fields are leaked (the guards' others
/// are pointers and counts).
///
/// # Safety
///
/// `field` must return a reference into `value` itself (one of its fields), so that what is read
/// is never used or dropped again through `value`.
pub(crate) unsafe fn take_field<G, F>(value: G, field: impl FnOnce(&G) -> &F) -> F {
    let value = std::mem::ManuallyDrop::new(value);
    // SAFETY: the caller's promise: the reference points into `value`, which is never used or
    // dropped again, so the field is moved out exactly once.
    unsafe { std::ptr::read(field(&value)) }
}

/// The guard a `try_map` made from a closure that always maps: how each `map` is its `try_map`.
pub(crate) fn mapped<G, E>(result: Result<G, E>) -> G {
    match result {
        Ok(guard) => guard,
        Err(_) => unreachable!("the closure always maps"),
    }
}
