//! A clock read from the CPU's timestamp counter, for rate limiters on a hot path.

use std::fmt;
use std::time::Duration;

use super::{Clock, Instant};

/// A [`Clock`] that reads the CPU's timestamp counter through the [`quanta`] crate (the source
/// `governor` uses by default), falling back to the OS clock where the counter is missing or
/// unreliable. On the 2-core benchmark machine a reading costs ~7 ns against ~35 ns for
/// [`Instant::now`]: for a token-bucket [`RateLimiter`](crate::rate::RateLimiter) checked on
/// every request, the clock is most of the cost (see `benches/README.md`).
///
/// Readings are [`Instant`]s: the instant the clock was created plus the counter's elapsed time
/// since then. Sleeps use tokio's timer for the remaining time on this clock, again until this
/// clock reaches the deadline, so a small drift between the counter and tokio's clock delays a
/// wake-up by at most one more short sleep and never busy-waits.
///
/// Not simulated: paused tokio time and turmoil do not move it. Use the default
/// [`TokioClock`](super::TokioClock) in tests that control time. Available with the `quanta`
/// feature (on by default).
///
/// ```
/// use std::time::Duration;
/// use async_patterns::rate::{Quota, RateLimiter};
/// use async_patterns::time::QuantaClock;
///
/// # // Under `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// let quota = Quota::token_bucket(1000, Duration::from_secs(1), 100);
/// let limiter = RateLimiter::with_clock(quota, QuantaClock::new()).unwrap();
/// assert!(limiter.try_acquire().is_ok());
/// ```
#[derive(Clone)]
pub struct QuantaClock {
    clock: quanta::Clock,
    /// The counter's raw value and tokio's instant at creation: a reading is `start` plus the
    /// counter's time since `raw_start`.
    raw_start: u64,
    start: Instant,
}

impl QuantaClock {
    /// A clock starting now (calibrates the counter on first use in the process, which can take
    /// a few milliseconds).
    #[must_use]
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let raw_start = clock.raw();
        QuantaClock {
            clock,
            raw_start,
            start: Instant::now(),
        }
    }

    /// Nanoseconds since `start` (0 for a counter read on another core a hair behind
    /// `raw_start`).
    #[inline]
    fn elapsed_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.raw_start, self.clock.raw())
    }
}

impl Default for QuantaClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for QuantaClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuantaClock")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Clock for QuantaClock {
    #[inline]
    fn now(&self) -> Instant {
        self.start + Duration::from_nanos(self.elapsed_nanos())
    }

    fn epoch(&self) -> Option<Instant> {
        Some(self.start)
    }

    /// One counter read and one scaling, no `Instant` arithmetic.
    #[inline]
    fn nanos_since_epoch(&self) -> u64 {
        self.elapsed_nanos()
    }

    async fn sleep_until(&self, deadline: Instant) {
        loop {
            let remaining = deadline.saturating_duration_since(self.now());
            if remaining == Duration::ZERO {
                return;
            }
            tokio::time::sleep(remaining).await;
        }
    }
}
