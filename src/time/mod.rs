//! Injected time: everything in the crate that reads a clock or sleeps takes a [`Clock`].
//!
//! - [`TokioClock`] (the default) reads [`tokio::time::Instant`] and sleeps with
//!   [`tokio::time::sleep_until`], so `#[tokio::test(start_paused = true)]` and turmoil's simulated
//!   time apply to it. (`std::time::Instant` is never read on a tested path: nothing simulates it.)
//! - [`ManualClock`] only moves when told to ([`advance`](ManualClock::advance)); it needs no
//!   runtime, so loom models and proptest drive time-dependent code with it.
//! - [`QuantaClock`](struct.QuantaClock.html) (feature `quanta`, on by default) reads the CPU's timestamp counter: the
//!   cheap clock for a rate limiter on a hot path; not simulated.

mod manual;
#[cfg(all(feature = "quanta", not(loom)))]
mod quanta;
mod timeout;

use std::future::Future;
use std::time::Duration;

pub use manual::ManualClock;
#[cfg(all(feature = "quanta", not(loom)))]
pub use quanta::QuantaClock;
// The fetch path (not in the loom build) names the timeout's error; the others only match it.
#[cfg(not(loom))]
pub(crate) use timeout::Elapsed;
pub(crate) use timeout::timeout_at;
pub use tokio::time::Instant;

/// A source of the current time and of sleeps, injected so tests can control time.
pub trait Clock: Send + Sync + 'static {
    /// The current time. Must never go backwards.
    fn now(&self) -> Instant;

    /// Completes once [`now`](Self::now) has reached `deadline`.
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + '_;

    /// For a clock that counts nanoseconds natively (cheaper than building an [`Instant`]): the
    /// instant it counts from. `None` (the default) for clocks that only tell [`now`](Self::now).
    /// A clock that returns `Some` must also implement
    /// [`nanos_since_epoch`](Self::nanos_since_epoch).
    fn epoch(&self) -> Option<Instant> {
        None
    }

    /// Whole nanoseconds from [`epoch`](Self::epoch) to now, agreeing with `now()`: the token
    /// bucket's reading on every check. Only called when `epoch()` is `Some`.
    ///
    /// # Panics
    ///
    /// The default panics: it is reached only by a clock that returns an epoch without counting
    /// from it, which would otherwise freeze every token bucket on that clock.
    fn nanos_since_epoch(&self) -> u64 {
        panic!("a Clock that returns Some(epoch) must implement nanos_since_epoch")
    }
}

/// The production clock: tokio's [`Instant`] and [`tokio::time::sleep_until`].
///
/// [`now`](Clock::now) works outside a runtime; sleeping needs a tokio runtime with time enabled.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + '_ {
        tokio::time::sleep_until(deadline)
    }
}

/// `now + by`, or the farthest instant past `now` that an [`Instant`] can hold: for sums of a
/// caller's durations (`Duration::MAX` meaning "no limit") that must never panic or wrap.
pub(crate) fn saturating_add(now: Instant, by: Duration) -> Instant {
    if let Some(later) = now.checked_add(by) {
        return later;
    }
    // `lo` fits and `hi` does not: halve the gap (at most about 100 steps for 2^64 s). Each
    // difference below is of `hi > lo`, and each sum of `lo` with half that difference.
    let (mut lo, mut hi) = (Duration::ZERO, by);
    while hi.saturating_sub(lo) > Duration::from_nanos(1) {
        let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
        if now.checked_add(mid).is_some() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    now.checked_add(lo).unwrap_or(now)
}
