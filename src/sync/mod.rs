//! Synchronization primitives, each a drop-in for its `tokio::sync` namesake, all built on one
//! verified core: the fair [`Semaphore`].
//!
//! | primitive | built as | fairness |
//! |---|---|---|
//! | [`Semaphore`] | atomic fast path + FIFO queue of nodes inside the waiters' futures | FIFO, no barging |
//! | [`Mutex`] | `Semaphore::new(1)` + an `UnsafeCell` | FIFO |
//! | [`RwLock`] | `Semaphore::new(max_readers)`: read takes 1, write takes all | FIFO: a queued writer blocks later readers |

mod mutex;
mod rwlock;
mod semaphore;

pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub(crate) use semaphore::locked;
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
