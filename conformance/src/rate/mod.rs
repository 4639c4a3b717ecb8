//! Rate limiters, and the checker of their guarantees.
//!
//! Every case runs on a current-thread tokio runtime with paused time, so waits are exact and a
//! case replays identically. A limiter with its own clock (governor's fake clock) is advanced
//! with tokio's through [`RateLimiterUnderTest::advance`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use async_patterns_conformance::{BoxFuture, Config};
//! use async_patterns_conformance::rate::{self, RateLimiterUnderTest};
//!
//! /// A fixed-window limiter, as often written by hand: up to `max` per window, counted from the
//! /// window's start. Two windows' worth can pass in one `per`: across the boundary.
//! struct FixedWindow {
//!     max: u32,
//!     per: Duration,
//!     state: std::sync::Mutex<(tokio::time::Instant, u32)>,
//! }
//!
//! impl RateLimiterUnderTest for FixedWindow {
//!     fn new(max: u32, per: Duration) -> Self {
//!         let start = tokio::time::Instant::now();
//!         FixedWindow { max, per, state: std::sync::Mutex::new((start, 0)) }
//!     }
//!     fn try_acquire(&self) -> Result<(), Option<Duration>> {
//!         let mut state = self.state.lock().unwrap();
//!         let now = tokio::time::Instant::now();
//!         while now >= state.0 + self.per {
//!             *state = (state.0 + self.per, 0);
//!         }
//!         if state.1 < self.max {
//!             state.1 += 1;
//!             Ok(())
//!         } else {
//!             Err(Some(state.0 + self.per - now))
//!         }
//!     }
//!     /// What it would promise, as a "max per window" limiter.
//!     fn bound(max: u32, _per: Duration, _window: Duration) -> u64 {
//!         u64::from(max)
//!     }
//! }
//!
//! let report = rate::check::<FixedWindow>("fixed window", &Config::quick());
//! assert!(!report.findings[0].verdict.holds()); // twice the rate across a boundary
//! ```

mod machine;

use std::time::Duration;

use crate::verdict::{Claim, Finding, Report};
use crate::{BoxFuture, Config};

/// The smallest surface a rate limiter must expose to be checked.
pub trait RateLimiterUnderTest: Send + Sync + 'static {
    /// A limiter for `max` admissions per `per` — whatever its crate's quota for that is (a
    /// strict window, or a bucket of `max` refilled over `per`); [`bound`](Self::bound) says what
    /// it promises. Called inside the checker's runtime, with tokio's clock paused.
    fn new(max: u32, per: Duration) -> Self;

    /// Admits one now, or refuses, with how long until it would be admitted if the
    /// implementation says (`Err(None)` if it gives no hint).
    fn try_acquire(&self) -> Result<(), Option<Duration>>;

    /// Waits until admitted, if the implementation can wait on tokio's clock; `None` if not
    /// (then its patient-caller rows are left out).
    fn acquire(&self) -> Option<BoxFuture<()>> {
        None
    }

    /// Moves the implementation's own clock by `by`, for one that does not read tokio's; the
    /// checker advances tokio's paused clock by the same amount. Nothing, unless overridden.
    fn advance(&self, by: Duration) {
        let _ = by;
    }

    /// The most admissions its documentation allows in any half-open window of length `window`,
    /// for a limiter made by `new(max, per)`.
    fn bound(max: u32, per: Duration, window: Duration) -> u64;

    /// Whether its [`try_acquire`](Self::try_acquire) gives retry hints (so the exactness row
    /// applies). Yes, unless overridden.
    fn gives_hints() -> bool {
        true
    }

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the rate checker checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// No window of length `per` holds more admissions than the stated bound.
    WindowBound,
    /// After an idle spell, no instant (a window of one nanosecond) admits more than the stated
    /// bound: no extra cell saved up while idle.
    NoBurstAfterIdle,
    /// A refusal's hint is exact: retrying a millisecond before it is refused, retrying at it is
    /// admitted (while nobody else is admitted or waiting).
    RetryHintExact,
    /// Patient callers (`acquire`) are admitted in the order they called.
    FifoPatient,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 4] = [
        Guarantee::WindowBound,
        Guarantee::NoBurstAfterIdle,
        Guarantee::RetryHintExact,
        Guarantee::FifoPatient,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::WindowBound => "window_bound",
            Guarantee::NoBurstAfterIdle => "no_burst_after_idle",
            Guarantee::RetryHintExact => "retry_hint_exact",
            Guarantee::FifoPatient => "fifo_patient",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::WindowBound => "no window of length `per` holds more than its stated bound",
            Guarantee::NoBurstAfterIdle => "after idling, no instant admits more than the bound",
            Guarantee::RetryHintExact => "refused 1 ms before the hint, admitted at it",
            Guarantee::FifoPatient => "waiting callers are admitted in the order they called",
        }
    }
}

/// Checks every guarantee of the rate limiter `R` that applies to it.
#[must_use]
pub fn check<R: RateLimiterUnderTest>(implementation: &str, config: &Config) -> Report {
    let waits = machine::can_wait::<R>();
    let findings = Guarantee::ALL
        .iter()
        .filter(|&&g| match g {
            Guarantee::RetryHintExact => R::gives_hints(),
            Guarantee::FifoPatient => waits,
            _ => true,
        })
        .map(|&g| Finding {
            guarantee: g.name(),
            meaning: g.meaning(),
            claim: R::claim(g),
            verdict: crate::run::check(&machine::Machine::<R>::new(g, waits), config),
        });
    Report {
        pattern: "rate",
        implementation: implementation.to_string(),
        findings: findings.collect(),
    }
}
