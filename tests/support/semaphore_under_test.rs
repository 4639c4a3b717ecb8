//! The interface the semaphore checkers drive: implemented by the shipped
//! [`async_patterns::sync::Semaphore`] and by the deliberately naive [`NaiveSemaphore`]s of
//! `naive_semaphore.rs`, so that every checker can be shown to reject the naive versions.
//!
//! Shared by `tests/` (std build) and `loom-tests/` (loom build) through `#[path]`.

#![allow(dead_code)] // each test binary uses part of it

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_patterns::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A pending acquire, boxed so that implementations with different future types fit one checker.
pub type AcquireFuture<P> = Pin<Box<dyn Future<Output = Result<P, Closed>> + Send>>;

/// The acquire failed because the semaphore is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

pub trait SemaphoreUnderTest: Send + Sync + 'static {
    /// Held permits; dropping it gives them back.
    type Permit: Send + 'static;

    /// Whether it promises to survive user code that panics inside it (a waker's clone or wake),
    /// so the checkers may hand it hostile wakers.
    const CONTAINS_USER_PANICS: bool = false;

    fn with_permits(permits: usize) -> Arc<Self>;
    fn acquire_many(this: &Arc<Self>, n: u32) -> AcquireFuture<Self::Permit>;
    fn try_acquire_many(this: &Arc<Self>, n: u32) -> Result<Self::Permit, TryAcquireError>;
    fn available_permits(&self) -> usize;
    fn add_permits(&self, n: usize);
    fn forget_permits(&self, n: usize) -> usize;
    fn close(&self);
    /// Forgets a held permit (it is not given back).
    fn forget(permit: Self::Permit);
}

impl SemaphoreUnderTest for Semaphore {
    type Permit = OwnedSemaphorePermit;

    const CONTAINS_USER_PANICS: bool = true;

    fn with_permits(permits: usize) -> Arc<Self> {
        Arc::new(Semaphore::new(permits))
    }

    fn acquire_many(this: &Arc<Self>, n: u32) -> AcquireFuture<Self::Permit> {
        let this = Arc::clone(this);
        Box::pin(async move { this.acquire_many_owned(n).await.map_err(|_| Closed) })
    }

    fn try_acquire_many(this: &Arc<Self>, n: u32) -> Result<Self::Permit, TryAcquireError> {
        Arc::clone(this).try_acquire_many_owned(n)
    }

    fn available_permits(&self) -> usize {
        Semaphore::available_permits(self)
    }

    fn add_permits(&self, n: usize) {
        Semaphore::add_permits(self, n);
    }

    fn forget_permits(&self, n: usize) -> usize {
        Semaphore::forget_permits(self, n)
    }

    fn close(&self) {
        Semaphore::close(self);
    }

    fn forget(permit: Self::Permit) {
        permit.forget();
    }
}
