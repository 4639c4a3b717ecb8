//! `leaky-bucket` 1.x: a bucket of `max` tokens, full at the start, refilled by one every
//! `per / max` on tokio's clock (builds with 1.1.0 through 1.1.2; 1.0 has no `try_acquire`).

use std::sync::Arc;
use std::time::Duration;

use crate::rate::{Guarantee, RateLimiterUnderTest};
use crate::{BoxFuture, Claim};

/// `leaky_bucket::RateLimiter` with `max(max)`, `initial(max)`, `refill(1)`,
/// `interval(per / max)`, fair (its default).
#[derive(Debug)]
pub struct RateLimiter(Arc<leaky_bucket::RateLimiter>);

impl RateLimiterUnderTest for RateLimiter {
    fn new(max: u32, per: Duration) -> Self {
        let limiter = leaky_bucket::RateLimiter::builder()
            .max(max as usize)
            .initial(max as usize)
            .refill(1)
            .interval(per / max)
            .build();
        RateLimiter(Arc::new(limiter))
    }

    fn try_acquire(&self) -> Result<(), Option<Duration>> {
        if self.0.try_acquire(1) {
            Ok(())
        } else {
            Err(None)
        }
    }

    fn acquire(&self) -> Option<BoxFuture<()>> {
        Some(Box::pin(Arc::clone(&self.0).acquire_owned(1)))
    }

    /// The bucket holds at most `max` (its docs: "the maximum number of tokens that can be
    /// stored"), and a window of length `L` sees at most `ceil(L / interval)` refills of one.
    fn bound(max: u32, per: Duration, window: Duration) -> u64 {
        let interval = (per / max).as_nanos();
        u64::from(max) + u64::try_from(window.as_nanos().div_ceil(interval)).unwrap_or(u64::MAX)
    }

    fn gives_hints() -> bool {
        false
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::FifoPatient => Claim::NotClaimed(
                "leaky-bucket's fair scheduler \"ensures that the core task makes progress even \
                 if there are many tasks waiting\"; it promises no arrival order \
                 (docs.rs/leaky-bucket/1, Fairness)",
            ),
            _ => Claim::Claimed,
        }
    }
}
