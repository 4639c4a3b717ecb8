//! `async-lock` 3.x: `Semaphore`, `Mutex`, `RwLock` (the `Arc` guard API and
//! `Semaphore::add_permits` used here build with 3.0.0 through 3.5.0).

use std::sync::Arc;

use crate::lock::LockUnderTest;
use crate::semaphore::{Closed, Guarantee, Operations, SemaphoreUnderTest};
use crate::{BoxFuture, Claim};

/// `async_lock::Semaphore`: one permit per acquire, no close.
#[derive(Debug)]
pub struct Semaphore(Arc<async_lock::Semaphore>);

impl SemaphoreUnderTest for Semaphore {
    type Permit = async_lock::SemaphoreGuardArc;

    fn new(permits: usize) -> Self {
        Semaphore(Arc::new(async_lock::Semaphore::new(permits)))
    }

    fn acquire(&self, _: u32) -> BoxFuture<Result<Self::Permit, Closed>> {
        let sem = Arc::clone(&self.0);
        Box::pin(async move { Ok(sem.acquire_arc().await) })
    }

    fn try_acquire(&self, _: u32) -> Option<Self::Permit> {
        self.0.try_acquire_arc()
    }

    fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }

    fn operations() -> Operations {
        Operations {
            acquire_many: false,
            add_permits: true,
            close: false,
        }
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::Fifo => Claim::NotClaimed(
                "async_lock::Semaphore's docs promise no order among waiters \
                 (docs.rs/async-lock/3/async_lock/struct.Semaphore.html)",
            ),
            _ => Claim::Claimed,
        }
    }
}

/// `async_lock::Mutex`.
#[derive(Debug)]
pub struct Mutex(Arc<async_lock::Mutex<()>>);

impl LockUnderTest for Mutex {
    type Shared = ();
    type Exclusive = async_lock::MutexGuardArc<()>;
    const HAS_SHARED: bool = false;

    fn new() -> Self {
        Mutex(Arc::new(async_lock::Mutex::new(())))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(self.0.lock_arc())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        self.0.try_lock_arc()
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::Fifo => Claim::NotClaimed(
                "async_lock::Mutex promises eventual fairness: \"fair on average\", a fair lock \
                 only once a waiter has starved for 0.5 ms \
                 (docs.rs/async-lock/3/async_lock/struct.Mutex.html)",
            ),
            _ => Claim::Claimed,
        }
    }
}

/// `async_lock::RwLock`.
#[derive(Debug)]
pub struct RwLock(Arc<async_lock::RwLock<()>>);

impl LockUnderTest for RwLock {
    type Shared = async_lock::RwLockReadGuardArc<()>;
    type Exclusive = async_lock::RwLockWriteGuardArc<()>;
    const HAS_SHARED: bool = true;

    fn new() -> Self {
        RwLock(Arc::new(async_lock::RwLock::new(())))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        let lock = Arc::clone(&self.0);
        Box::pin(async move { lock.write_arc().await })
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        self.0.try_write_arc()
    }

    fn read(&self) -> BoxFuture<Self::Shared> {
        let lock = Arc::clone(&self.0);
        Box::pin(async move { lock.read_arc().await })
    }

    fn try_read(&self) -> Option<Self::Shared> {
        self.0.try_read_arc()
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::Fifo => Claim::NotClaimed(
                "async_lock::RwLock is \"write-preferring, which means writers are never \
                 starved\"; it promises no arrival order among waiters \
                 (docs.rs/async-lock/3/async_lock/struct.RwLock.html)",
            ),
            _ => Claim::Claimed,
        }
    }
}
