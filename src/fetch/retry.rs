//! When to try again, and how long to wait first.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::fmt;
use std::time::Duration;

use super::error::{FetchError, Phase};

/// How a [`Client`](super::Client) retries.
///
/// - At most [`max_attempts`](Self::max_attempts) attempts (at least 1).
/// - Between attempts, exponential backoff with full jitter: before retry `k` (0-based) it waits
///   a duration drawn uniformly from `[0, min(cap, base * 2^k)]` by a seedable generator, so a
///   seed gives the same waits every run. A server's `Retry-After` (in seconds) raises the wait
///   to at least that long.
/// - No wait, and no attempt, starts that could not finish before the call's deadline: the call
///   ends with [`FetchError::Timeout`] in [`Phase::Backoff`] instead, carrying the last failure.
/// - Only what is safe is retried: a failed connect (nothing was sent); for idempotent methods
///   (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) also a 5xx, 408 or 429 status, a broken exchange
///   and an attempt that hit [`attempt_timeout`](Self::attempt_timeout). A non-idempotent
///   request (POST, PATCH) is never sent twice once its bytes may have gone out. Other 4xx
///   statuses, oversized bodies and decode errors are final.
#[derive(Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    attempt_timeout: Option<Duration>,
    seed: u64,
}

impl RetryPolicy {
    /// Up to `max_attempts` attempts (0 is treated as 1: a call makes at least one attempt),
    /// backoff base 100 ms and cap 5 s, no per-attempt limit, and a jitter seed that differs
    /// between processes.
    #[must_use]
    pub fn new(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            attempt_timeout: None,
            seed: process_seed(),
        }
    }

    /// One attempt, no retries.
    #[must_use]
    pub fn no_retries() -> Self {
        Self::new(1)
    }

    /// The backoff before retry `k` is drawn from `[0, min(cap, base * 2^k)]`.
    #[must_use]
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.base = base;
        self.cap = cap;
        self
    }

    /// Limits each attempt to `limit` (within the call's deadline), so that a hung attempt —
    /// a connect that never completes, a response that never comes — leaves time to retry.
    /// `Duration::MAX` (or any limit past what an `Instant` can hold) means no per-attempt limit.
    #[must_use]
    pub fn attempt_timeout(mut self, limit: Duration) -> Self {
        self.attempt_timeout = Some(limit);
        self
    }

    /// Seeds the jitter: the same seed gives the same sequence of waits.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The most attempts a call makes.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The per-attempt limit, if any.
    #[must_use]
    pub fn attempt_limit(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The upper end of the wait before retry `k` (0-based): `min(cap, base * 2^k)`.
    #[must_use]
    pub fn max_backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The jitter source of call number `call`: the seed's sequence, offset per call so that
    /// concurrent calls of one client do not back off in step.
    pub(super) fn jitter(&self, call: u64) -> Jitter {
        Jitter(SplitMix64(
            self.seed ^ call.wrapping_mul(0xa076_1d64_78bd_642f),
        ))
    }
}

impl Default for RetryPolicy {
    /// Three attempts.
    fn default() -> Self {
        RetryPolicy::new(3)
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

/// A seed that differs between processes, so that clients that were not given one do not all
/// back off in step. (Simulations and tests pass their own.)
fn process_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
}

/// The jitter source of one call: full jitter over the policy's backoff ranges.
#[derive(Debug)]
pub(super) struct Jitter(SplitMix64);

impl Jitter {
    /// A wait drawn uniformly from `[0, max]`.
    pub(super) fn draw(&mut self, max: Duration) -> Duration {
        let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        let nanos = match max_nanos.checked_add(1) {
            // `span` is at least 1.
            Some(span) => self.0.next().checked_rem(span).unwrap_or(0),
            None => self.0.next(),
        };
        Duration::from_nanos(nanos)
    }
}

/// SplitMix64: tiny, fast, and good enough for jitter; fully determined by its seed.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Whether a failed attempt may be retried, and the least wait the server asked for.
pub(super) fn retryable(error: &FetchError, idempotent: bool) -> Option<Option<Duration>> {
    match error {
        // Nothing was sent: safe for every method.
        FetchError::Connect { .. } => Some(None),
        FetchError::Timeout {
            phase: Phase::Connect | Phase::Tls,
            ..
        } => Some(None),
        // The request may have reached the server: only idempotent requests go again.
        FetchError::Timeout { .. } | FetchError::Http { .. } if idempotent => Some(None),
        FetchError::Status {
            status,
            retry_after,
        } if idempotent && (*status >= 500 || *status == 408 || *status == 429) => {
            Some(*retry_after)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clients not given a seed must not back off in step: each draws its own.
    #[test]
    fn unseeded_policies_do_not_share_a_seed() {
        assert_ne!(process_seed(), process_seed());
    }

    /// A seed names one sequence of waits for good: a failure reported with its seed replays the
    /// same backoffs in a later build. The values below were drawn once and are kept as they are.
    #[test]
    fn a_seed_replays_the_same_waits() {
        let policy = RetryPolicy::new(5)
            .backoff(Duration::from_millis(100), Duration::from_secs(10))
            .jitter_seed(7);
        let mut jitter = policy.jitter(3);
        let waits: Vec<u128> = (0..4)
            .map(|retry| jitter.draw(policy.max_backoff(retry)).as_nanos())
            .collect();
        assert_eq!(waits, [27_292_190, 124_929_310, 325_890_644, 649_091_294]);
    }

    #[test]
    fn no_retries_means_one_attempt() {
        assert_eq!(RetryPolicy::no_retries().max_attempts(), 1);
        assert_ne!(RetryPolicy::default().max_attempts(), 1);
    }
}
