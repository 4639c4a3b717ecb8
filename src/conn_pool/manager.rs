//! What the pool asks of the thing it pools.

use std::future::Future;

/// Creates, validates and discards the objects a [`Pool`](super::Pool) hands out.
///
/// The pool never holds its internal lock while it calls into the manager, and calls
/// [`create`](Manager::create) and [`recycle`](Manager::recycle) only while the caller of
/// [`get`](super::Pool::get) holds one of the pool's slots: at most `max_size` of them run at once.
///
/// `create` and `recycle` return `Send` futures, so `get()` can run inside spawned tasks. Either
/// may be dropped before it completes (the `get()` that drives it was cancelled, or its phase
/// timed out): then the pool forgets the object being created, and discards the object being
/// recycled, so both must be safe to drop at any `.await`.
pub trait Manager: Send + Sync + 'static {
    /// What the pool hands out (a connection).
    type Object: Send + 'static;
    /// Why a [`create`](Manager::create) or [`recycle`](Manager::recycle) failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Makes a new object. Runs under the pool's create timeout.
    fn create(&self) -> impl Future<Output = Result<Self::Object, Self::Error>> + Send;

    /// Checks that an idle object can be handed out again (for a database connection: a cheap
    /// query). Runs under the pool's recycle timeout, each time an idle object is checked out.
    /// An error discards the object, and `get()` goes on with the next idle object or a new one.
    fn recycle(
        &self,
        object: &mut Self::Object,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A cheap check, without waiting, made when an object is returned: `true` discards it
    /// instead of keeping it idle (for a connection: its socket is known to be closed). The default
    /// says no object is ever known to be broken.
    fn is_broken(&self, object: &Self::Object) -> bool {
        let _ = object;
        false
    }

    /// Gets rid of an object the pool no longer keeps: returned broken or by a panicking holder,
    /// failed its recycle, left half-recycled by a cancelled `get()`, returned or idle after
    /// [`close`](super::Pool::close). The default drops it.
    ///
    /// Synchronous on purpose: it runs where nothing can be awaited (in `Drop`, in `close`). A
    /// manager that needs an async goodbye can spawn it from here.
    fn discard(&self, object: Self::Object) {
        drop(object);
    }
}
