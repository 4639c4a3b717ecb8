//! The rate limiter's errors.

use std::fmt;
use std::time::Duration;

/// A [`Quota`](super::Quota) that cannot be enforced, refused when the limiter is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaError {
    /// `max` was 0: nothing could ever be admitted.
    ZeroMax,
    /// `rate` was 0: nothing could ever be admitted after the first burst.
    ZeroRate,
    /// `burst` was 0: nothing could ever be admitted.
    ZeroBurst,
    /// The window (or `per`) was zero: a rate over no time is meaningless.
    ZeroWindow,
    /// `rate` exceeds one per nanosecond of `per`, finer than time can be measured here.
    RateTooHigh,
    /// A duration in the quota is so long that instants computed from it would overflow.
    DurationOverflow,
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaError::ZeroMax => "invalid quota: max admissions per window is 0",
            QuotaError::ZeroRate => "invalid quota: rate is 0",
            QuotaError::ZeroBurst => "invalid quota: burst is 0",
            QuotaError::ZeroWindow => "invalid quota: the window is zero-length",
            QuotaError::RateTooHigh => "invalid quota: more than one admission per nanosecond",
            QuotaError::DurationOverflow => {
                "invalid quota: a duration is too long to add to an instant"
            }
        })
    }
}

impl std::error::Error for QuotaError {}

/// Why [`try_acquire`](super::RateLimiter::try_acquire) did not admit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not now. If nobody is queued, waiting `retry_after` and trying again will succeed unless
    /// someone else is admitted first; if callers are queued in
    /// [`acquire`](super::RateLimiter::acquire), it is a lower bound (they go first).
    RateLimited {
        /// How long until this request would fit the quota.
        retry_after: Duration,
    },
    /// The request asks for more admissions at once than the quota ever allows (its
    /// [`capacity`](super::Quota::capacity)); it can never succeed.
    ExceedsCapacity(ExceedsCapacity),
}

impl TryAcquireError {
    /// How long to wait before trying again; `None` if it can never succeed.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TryAcquireError::RateLimited { retry_after } => Some(*retry_after),
            TryAcquireError::ExceedsCapacity(_) => None,
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::RateLimited { retry_after } => {
                write!(f, "rate limited: retry after {retry_after:?}")
            }
            TryAcquireError::ExceedsCapacity(exceeds) => fmt::Display::fmt(exceeds, f),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<ExceedsCapacity> for TryAcquireError {
    fn from(exceeds: ExceedsCapacity) -> Self {
        TryAcquireError::ExceedsCapacity(exceeds)
    }
}

/// [`acquire_many`](super::RateLimiter::acquire_many) asked for more admissions at once than the
/// quota ever allows; it fails at once instead of waiting forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceedsCapacity {
    /// The admissions asked for.
    pub requested: u32,
    /// The most the quota admits at once.
    pub capacity: u32,
}

impl fmt::Display for ExceedsCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} admissions requested at once, but the quota admits at most {}",
            self.requested, self.capacity
        )
    }
}

impl std::error::Error for ExceedsCapacity {}
