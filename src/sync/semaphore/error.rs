//! The semaphore's errors, shaped like `tokio::sync`'s so code can switch by changing an import.

use std::fmt;

/// Error from [`Semaphore::acquire`](super::Semaphore::acquire) and its variants: the semaphore
/// was closed before (or while) the caller waited, so no permit will ever be granted.
///
/// Opaque, as in tokio. On targets where `u32` exceeds [`Semaphore::MAX_PERMITS`](super::Semaphore::MAX_PERMITS)
/// (32-bit), `acquire_many` with more than `MAX_PERMITS` also returns this error, at once, instead
/// of waiting forever; its message then says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(AcquireErrorKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcquireErrorKind {
    Closed,
    TooMany,
}

impl AcquireError {
    pub(super) const fn closed() -> Self {
        AcquireError(AcquireErrorKind::Closed)
    }

    pub(super) const fn too_many() -> Self {
        AcquireError(AcquireErrorKind::TooMany)
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AcquireErrorKind::Closed => f.write_str("semaphore closed"),
            AcquireErrorKind::TooMany => {
                f.write_str("requested more permits than Semaphore::MAX_PERMITS")
            }
        }
    }
}

impl std::error::Error for AcquireError {}

/// Error from [`Semaphore::try_acquire`](super::Semaphore::try_acquire) and its variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore has been [closed](super::Semaphore::close) and will grant no more permits.
    Closed,
    /// Not enough permits are available right now, or other callers are queued ahead
    /// (a `try_acquire` never overtakes a queued waiter).
    NoPermits,
}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were not enough permits.
    #[must_use]
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}
