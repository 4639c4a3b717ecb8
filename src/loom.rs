//! The sync shim: the one place that chooses between `std`, `loom` and `shuttle`.
//!
//! Every module that shares state between threads imports its primitives from here, so that
//! `RUSTFLAGS="--cfg loom"` swaps them for loom's model-checked versions and the loom models in
//! `loom-tests/` check the code that ships, not a copy; `RUSTFLAGS="--cfg shuttle"` swaps them for
//! shuttle's, whose randomized schedulers drive the tests in `shuttle-tests/` through the same
//! code with more threads than loom can search exhaustively. No other module touches
//! `std::sync`.
//!
//! Loom's [`UnsafeCell`] is used through `with` / `with_mut` closures so that loom can record each
//! access; the `std` side (also used under shuttle, which has no cell of its own) is a thin
//! wrapper with the same signatures.

#[cfg(not(loom))]
pub(crate) use cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom_impl::*;
#[cfg(all(shuttle, not(loom)))]
pub(crate) use shuttle_impl::*;
#[cfg(not(any(loom, shuttle)))]
pub(crate) use std_impl::*;

/// `Arc` as it appears in public signatures (`self: Arc<Self>`). A method receiver must be std's
/// `Arc` in both builds (loom's `Arc` cannot be a receiver), so this one is never swapped; loom
/// still sees every atomic and lock behind it.
pub(crate) use std::sync::Arc as ReceiverArc;

/// std's `Arc` where another crate's API demands one (rustls's configurations for the fetch
/// path's HTTPS): no state of this crate's protocols lives behind it, so it is never swapped.
#[cfg(not(loom))]
pub(crate) use std::sync::Arc as StdArc;

/// An `Arc` of `value` seen as an unsized type `U` (a trait object), in both builds: `coerce` is
/// the unsizing cast on std's `Arc` (`|arc| arc as std::sync::Arc<dyn Trait>`). Loom's `Arc`
/// cannot be cast itself (that needs the unstable `CoerceUnsized`), so under loom the cast is made
/// on a std `Arc` that loom then adopts.
pub(crate) fn arc_dyn<T, U: ?Sized>(
    value: T,
    coerce: impl FnOnce(std::sync::Arc<T>) -> std::sync::Arc<U>,
) -> Arc<U> {
    let arc = coerce(std::sync::Arc::new(value));
    #[cfg(loom)]
    let arc = loom::sync::Arc::from_std(arc);
    arc
}

/// Locks `mutex`, ignoring poisoning.
///
/// The crate never panics while it holds one of its internal locks (they guard plain bookkeeping),
/// so a poisoned lock can only come from a panic in a waker; the state it guards is still
/// consistent, and refusing to go on would turn one panic into a hang for every waiter.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(loom)]
mod loom_impl {
    pub(crate) use loom::cell::UnsafeCell;
    #[allow(unused_imports)] // the later patterns (pool, shutdown) share state through these
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::sync::{Mutex, MutexGuard};
    #[allow(unused_imports)]
    pub(crate) use loom::thread;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    }
}

#[cfg(all(shuttle, not(loom)))]
mod shuttle_impl {
    // Shuttle's `Arc` is std's: its schedules interleave at the locks and atomics below.
    #[allow(unused_imports)]
    pub(crate) use shuttle::sync::Arc;
    pub(crate) use shuttle::sync::{Mutex, MutexGuard};
    #[allow(unused_imports)]
    pub(crate) use shuttle::thread;

    pub(crate) mod atomic {
        pub(crate) use shuttle::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    }
}

#[cfg(not(any(loom, shuttle)))]
mod std_impl {
    #[allow(unused_imports)] // the later patterns (pool, shutdown) share state through these
    pub(crate) use std::sync::Arc;
    pub(crate) use std::sync::{Mutex, MutexGuard};
    #[allow(unused_imports)]
    pub(crate) use std::thread;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    }
}

#[cfg(not(loom))]
mod cell {
    /// `std::cell::UnsafeCell` with loom's closure-based interface.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}
