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
    /// A duration in the quota is so long that instants computed from it would overflow: a
    /// window, or a token bucket's `burst × (per / rate)`, over 100 years (of 365 days).
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
pub enum NotAdmitted {
    /// Not now; [`RateLimited::retry_after`] says how long until the request would fit.
    RateLimited(RateLimited),
    /// The request asks for more admissions at once than the quota ever allows (its
    /// [`capacity`](super::Quota::capacity)); it can never succeed.
    ExceedsCapacity(ExceedsCapacity),
}

impl NotAdmitted {
    /// How long to wait before trying again; `None` if it can never succeed.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotAdmitted::RateLimited(limited) => Some(limited.retry_after()),
            NotAdmitted::ExceedsCapacity(_) => None,
        }
    }
}

impl fmt::Display for NotAdmitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAdmitted::RateLimited(limited) => fmt::Display::fmt(limited, f),
            NotAdmitted::ExceedsCapacity(exceeds) => fmt::Display::fmt(exceeds, f),
        }
    }
}

impl std::error::Error for NotAdmitted {}

impl From<RateLimited> for NotAdmitted {
    fn from(limited: RateLimited) -> Self {
        NotAdmitted::RateLimited(limited)
    }
}

impl From<ExceedsCapacity> for NotAdmitted {
    fn from(exceeds: ExceedsCapacity) -> Self {
        NotAdmitted::ExceedsCapacity(exceeds)
    }
}

/// A request refused for now: it fits the quota after [`retry_after`](Self::retry_after).
///
/// If nobody is queued, waiting that long and trying again succeeds unless someone else is
/// admitted first; if callers are queued in [`acquire`](super::RateLimiter::acquire), it is a
/// lower bound (they go first).
///
/// It keeps the wait as a count of nanoseconds and makes the [`Duration`] only when asked: a
/// refused check is a few nanoseconds, and the division that builds a `Duration` was a tenth of
/// it, paid even by callers that only test `is_err()`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimited {
    nanos: u64,
}

impl RateLimited {
    /// A refusal whose request fits after `nanos` nanoseconds.
    pub(super) fn after_nanos(nanos: u64) -> Self {
        RateLimited { nanos }
    }

    /// A refusal whose request fits after `wait` (saturating at about 584 years, beyond any
    /// quota's 100-year limit).
    pub(super) fn after(wait: Duration) -> Self {
        Self::after_nanos(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX))
    }

    /// How long until this request would fit the quota.
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        Duration::from_nanos(self.nanos)
    }
}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("retry_after", &self.retry_after())
            .finish()
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limited: retry after {:?}", self.retry_after())
    }
}

impl std::error::Error for RateLimited {}

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
