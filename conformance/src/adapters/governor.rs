//! `governor`: the direct (unkeyed) GCRA limiter on its `FakeRelativeClock`, which the checker
//! advances with tokio's paused clock. Written against the API that 0.7 through 0.10 share
//! (`Quota::with_period`, `allow_burst`, `direct_with_clock` taking the clock by value,
//! `NotUntil::wait_time_from`). Its async `until_ready` waits on real timers, not tokio's, so the
//! patient-caller rows are left out.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, FakeRelativeClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};

type NoOp = NoOpMiddleware<<FakeRelativeClock as Clock>::Instant>;

/// `governor::RateLimiter`, direct, with a quota of one cell per `per / max` and bursts of `max`.
#[derive(Debug)]
pub struct RateLimiter {
    limiter: governor::RateLimiter<NotKeyed, InMemoryState, FakeRelativeClock, NoOp>,
    clock: FakeRelativeClock,
}

impl crate::rate::RateLimiterUnderTest for RateLimiter {
    fn new(max: u32, per: Duration) -> Self {
        let burst = NonZeroU32::new(max).expect("max is at least 1");
        let quota = governor::Quota::with_period(per / max)
            .expect("a non-zero period")
            .allow_burst(burst);
        let clock = FakeRelativeClock::default();
        RateLimiter {
            limiter: governor::RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    fn try_acquire(&self) -> Result<(), Option<Duration>> {
        self.limiter
            .check()
            .map_err(|not_until| Some(not_until.wait_time_from(self.clock.now())))
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// GCRA's bound: a burst, then one per emission interval `T = per / max`: in a window of
    /// length `L`, `burst + ceil(L / T) - 1` (governor's docs: a quota "allows a burst of
    /// max_burst cells, then replenishes one cell per period").
    fn bound(max: u32, per: Duration, window: Duration) -> u64 {
        let t = (per / max).as_nanos();
        u64::from(max) + u64::try_from(window.as_nanos().div_ceil(t)).unwrap_or(u64::MAX) - 1
    }
}
