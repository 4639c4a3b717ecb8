//! What a limiter admits, and the exact bound each kind of quota guarantees.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::time::Duration;

use super::error::QuotaError;

/// What a [`RateLimiter`](super::RateLimiter) admits. Pick by the guarantee you need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// **Strict**: at most `max` admissions in *every* window of length `window`, wherever the
    /// window starts, for any arrival pattern and any scheduling delay. This is what people usually
    /// mean by "N per second". It remembers the times of the last `max` admissions (run-length
    /// encoded), so its memory is O(`max`) in the worst case.
    SlidingWindow {
        /// Admissions allowed in any one window (at least 1).
        max: u32,
        /// The window length (non-zero).
        window: Duration,
    },
    /// **Token bucket** (implemented as GCRA): a steady `rate` per `per`, with bursts of up to
    /// `burst` back to back after a quiet spell. O(1) memory. Its bound over a window of length
    /// `L` is `burst + ceil(L / T) - 1`, where `T = per / rate` (rounded up to a nanosecond): with
    /// `burst = rate`, that is **up to `2 * rate - 1` in some window of length `per`** — the price
    /// of allowing bursts. Use [`SlidingWindow`](Quota::SlidingWindow) if that is too many.
    TokenBucket {
        /// Admissions per `per`, in the long run (at least 1).
        rate: u32,
        /// The period of `rate` (non-zero).
        per: Duration,
        /// Admissions allowed back to back after a quiet spell (at least 1).
        burst: u32,
    },
}

impl Quota {
    /// A strict quota: at most `max` admissions in every window of length `window`.
    #[must_use]
    pub const fn per_window(max: u32, window: Duration) -> Quota {
        Quota::SlidingWindow { max, window }
    }

    /// A token-bucket quota: `rate` per `per` in the long run, bursts of up to `burst`.
    #[must_use]
    pub const fn token_bucket(rate: u32, per: Duration, burst: u32) -> Quota {
        Quota::TokenBucket { rate, per, burst }
    }

    /// The largest `n` that [`acquire_many`](super::RateLimiter::acquire_many) can ever admit at
    /// once: `max` or `burst`.
    #[must_use]
    #[inline]
    pub const fn capacity(&self) -> u32 {
        match *self {
            Quota::SlidingWindow { max, .. } => max,
            Quota::TokenBucket { burst, .. } => burst,
        }
    }

    /// The most admissions this quota lets through in any half-open window of length `len` — the
    /// exact guarantee, which the property tests check over every window and show to be reached.
    ///
    /// - `SlidingWindow`: `max * ceil(len / window)` (so `max` for `len <= window`).
    /// - `TokenBucket`: `burst + ceil(len / T) - 1`, `T = per / rate` rounded up to a nanosecond.
    ///
    /// Returns 0 for `len == 0`. Assumes the quota is valid ([`validate`](Self::validate)).
    #[must_use]
    pub fn max_in_any_window(&self, len: Duration) -> u128 {
        if len.is_zero() {
            return 0;
        }
        // An invalid quota (a zero window or rate) bounds nothing: `u128::MAX`.
        match *self {
            Quota::SlidingWindow { max, window } => len
                .as_nanos()
                .checked_div_ceil_or_max(window.as_nanos())
                .saturating_mul(u128::from(max)),
            Quota::TokenBucket { burst, .. } => {
                let interval = self.emission_interval().as_nanos();
                u128::from(burst)
                    .saturating_add(len.as_nanos().checked_div_ceil_or_max(interval))
                    .saturating_sub(1)
            }
        }
    }

    /// Checks the quota: every count non-zero, every duration non-zero, and the arithmetic the
    /// limiter does with it cannot overflow.
    ///
    /// # Errors
    ///
    /// The [`QuotaError`] that names the bad field.
    pub fn validate(&self) -> Result<(), QuotaError> {
        match *self {
            Quota::SlidingWindow { max, window } => {
                if max == 0 {
                    return Err(QuotaError::ZeroMax);
                }
                if window.is_zero() {
                    return Err(QuotaError::ZeroWindow);
                }
                // The limiter adds `window` to instants; refuse windows no instant can take.
                if window > MAX_SPAN {
                    return Err(QuotaError::DurationOverflow);
                }
            }
            Quota::TokenBucket { rate, per, burst } => {
                if rate == 0 {
                    return Err(QuotaError::ZeroRate);
                }
                if burst == 0 {
                    return Err(QuotaError::ZeroBurst);
                }
                if per.is_zero() {
                    return Err(QuotaError::ZeroWindow);
                }
                if per.as_nanos() < u128::from(rate) {
                    return Err(QuotaError::RateTooHigh);
                }
                // The limiter computes `interval * burst` and adds it to instants.
                match self.emission_interval().checked_mul(burst) {
                    Some(span) if span <= MAX_SPAN => {}
                    _ => return Err(QuotaError::DurationOverflow),
                }
            }
        }
        Ok(())
    }

    /// `T`: the time one admission costs in a token bucket, `per / rate` rounded *up* to a
    /// nanosecond so the long-run rate never exceeds the one asked for.
    pub(super) fn emission_interval(&self) -> Duration {
        match *self {
            // A rate of 0 (refused by `validate`) never emits: the longest interval there is.
            Quota::TokenBucket { rate, per, .. } => {
                duration_from_nanos(per.as_nanos().checked_div_ceil_or_max(u128::from(rate)))
            }
            Quota::SlidingWindow { window, .. } => window,
        }
    }
}

/// The longest span the limiter adds to an instant: 100 years, far beyond any sensible quota and
/// far from where `Instant + Duration` overflows.
const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

/// `div_ceil` that answers `u128::MAX` for a zero divisor (an invalid quota's "unbounded").
trait CheckedDivCeil {
    fn checked_div_ceil_or_max(self, divisor: u128) -> u128;
}

impl CheckedDivCeil for u128 {
    fn checked_div_ceil_or_max(self, divisor: u128) -> u128 {
        if divisor == 0 {
            return u128::MAX;
        }
        self.div_ceil(divisor)
    }
}
