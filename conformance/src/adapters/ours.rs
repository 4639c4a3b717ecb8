//! This project's own primitives (`async-patterns` 0.1).

use std::sync::Arc;

use async_patterns::sync;

use crate::BoxFuture;
use crate::lock::{LockUnderTest, READERS};
use crate::semaphore::{Closed, Operations, SemaphoreUnderTest};

/// `async_patterns::sync::Semaphore`.
#[derive(Debug)]
pub struct Semaphore(Arc<sync::Semaphore>);

impl SemaphoreUnderTest for Semaphore {
    type Permit = sync::OwnedSemaphorePermit;

    fn new(permits: usize) -> Self {
        Semaphore(Arc::new(sync::Semaphore::new(permits)))
    }

    fn acquire(&self, n: u32) -> BoxFuture<Result<Self::Permit, Closed>> {
        let sem = Arc::clone(&self.0);
        Box::pin(async move { sem.acquire_many_owned(n).await.map_err(|_| Closed) })
    }

    fn try_acquire(&self, n: u32) -> Option<Self::Permit> {
        Arc::clone(&self.0).try_acquire_many_owned(n).ok()
    }

    fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }

    fn close(&self) {
        self.0.close();
    }

    fn operations() -> Operations {
        Operations {
            acquire_many: true,
            add_permits: true,
            close: true,
        }
    }
}

/// `async_patterns::sync::Mutex`.
#[derive(Debug)]
pub struct Mutex(Arc<sync::Mutex<()>>);

impl LockUnderTest for Mutex {
    type Shared = ();
    type Exclusive = sync::OwnedMutexGuard<()>;
    const HAS_SHARED: bool = false;

    fn new() -> Self {
        Mutex(Arc::new(sync::Mutex::new(())))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(Arc::clone(&self.0).lock_owned())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        Arc::clone(&self.0).try_lock_owned().ok()
    }
}

/// `async_patterns::sync::RwLock`, with room for [`READERS`] readers.
#[derive(Debug)]
pub struct RwLock(Arc<sync::RwLock<()>>);

impl LockUnderTest for RwLock {
    type Shared = sync::OwnedRwLockReadGuard<()>;
    type Exclusive = sync::OwnedRwLockWriteGuard<()>;
    const HAS_SHARED: bool = true;

    fn new() -> Self {
        RwLock(Arc::new(sync::RwLock::with_max_readers((), READERS)))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(Arc::clone(&self.0).write_owned())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        Arc::clone(&self.0).try_write_owned().ok()
    }

    fn read(&self) -> BoxFuture<Self::Shared> {
        Box::pin(Arc::clone(&self.0).read_owned())
    }

    fn try_read(&self) -> Option<Self::Shared> {
        Arc::clone(&self.0).try_read_owned().ok()
    }
}
