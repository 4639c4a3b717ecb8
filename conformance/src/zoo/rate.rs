//! Naive rate limiters on tokio's clock — one bug per variant. The correct one keeps a log of
//! the last `max` admissions (a strict sliding window) and queues patient callers behind a FIFO
//! turnstile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::BoxFuture;
use crate::rate::RateLimiterUnderTest;

/// Which bug a [`NaiveRateLimiter`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checker must accept it.
    None,
    /// Counts per fixed window from the start: twice `max` can pass across a window boundary.
    FixedWindow,
    /// A token bucket that keeps saving tokens while idle, with no cap.
    UncappedBucket,
    /// Its retry hint is half the real wait.
    HalfHint,
    /// Patient callers retry on their own timers, the latest first.
    Lifo,
}

/// A naive limiter with the bug `BUG` (a [`Bug`] as a number).
#[derive(Debug)]
pub struct NaiveRateLimiter<const BUG: u8>(Arc<Inner>);

/// The correct naive limiter.
pub type Correct = NaiveRateLimiter<{ Bug::None as u8 }>;
/// Twice the rate across a window boundary.
pub type FixedWindow = NaiveRateLimiter<{ Bug::FixedWindow as u8 }>;
/// A burst after idling as large as the idle spell.
pub type UncappedBucket = NaiveRateLimiter<{ Bug::UncappedBucket as u8 }>;
/// Hints half the wait.
pub type HalfHint = NaiveRateLimiter<{ Bug::HalfHint as u8 }>;
/// Serves patient callers latest first.
pub type Lifo = NaiveRateLimiter<{ Bug::Lifo as u8 }>;

#[derive(Debug)]
struct Inner {
    max: u32,
    per: Duration,
    start: Instant,
    /// Admission times (the log), or for the bucket variant (tokens, last refill) in `bucket`.
    log: Mutex<VecDeque<Instant>>,
    bucket: Mutex<(u64, Instant)>,
    turnstile: tokio::sync::Mutex<()>,
    callers: AtomicU64,
}

impl<const BUG: u8> NaiveRateLimiter<BUG> {
    fn check(inner: &Inner) -> Result<(), Duration> {
        let now = Instant::now();
        if BUG == Bug::UncappedBucket as u8 {
            let mut bucket = inner.bucket.lock().unwrap_or_else(|e| e.into_inner());
            let interval = inner.per / inner.max;
            let refills = (now - bucket.1).as_nanos() / interval.as_nanos();
            bucket.0 += refills as u64; // the bug: no cap at `max`
            bucket.1 += interval * refills as u32;
            if bucket.0 > 0 {
                bucket.0 -= 1;
                return Ok(());
            }
            return Err(bucket.1 + interval - now);
        }
        if BUG == Bug::FixedWindow as u8 {
            let mut log = inner.log.lock().unwrap_or_else(|e| e.into_inner());
            let windows = (now - inner.start).as_nanos() / inner.per.as_nanos();
            let window_start = inner.start + inner.per * windows as u32;
            log.retain(|&t| t >= window_start);
            if log.len() < inner.max as usize {
                log.push_back(now);
                return Ok(());
            }
            return Err(window_start + inner.per - now);
        }
        let mut log = inner.log.lock().unwrap_or_else(|e| e.into_inner());
        while log.front().is_some_and(|&t| t + inner.per <= now) {
            log.pop_front();
        }
        if log.len() < inner.max as usize {
            log.push_back(now);
            return Ok(());
        }
        let wait = log[0] + inner.per - now;
        Err(if BUG == Bug::HalfHint as u8 {
            wait / 2
        } else {
            wait
        })
    }
}

impl<const BUG: u8> RateLimiterUnderTest for NaiveRateLimiter<BUG> {
    fn new(max: u32, per: Duration) -> Self {
        let now = Instant::now();
        NaiveRateLimiter(Arc::new(Inner {
            max,
            per,
            start: now,
            log: Mutex::default(),
            bucket: Mutex::new((u64::from(max), now)),
            turnstile: tokio::sync::Mutex::new(()),
            callers: AtomicU64::new(0),
        }))
    }

    fn try_acquire(&self) -> Result<(), Option<Duration>> {
        Self::check(&self.0).map_err(Some)
    }

    fn acquire(&self) -> Option<BoxFuture<()>> {
        let inner = Arc::clone(&self.0);
        let caller = inner.callers.fetch_add(1, Ordering::SeqCst);
        Some(Box::pin(async move {
            if BUG == Bug::Lifo as u8 {
                // Each caller on its own timer, later callers sooner.
                loop {
                    match Self::check(&inner) {
                        Ok(()) => return,
                        Err(wait) => {
                            let interval = inner.per / inner.max;
                            let behind = 8 - caller.min(7) as u32;
                            tokio::time::sleep(wait + interval * behind / 8).await;
                        }
                    }
                }
            }
            let _turn = inner.turnstile.lock().await;
            while let Err(wait) = Self::check(&inner) {
                tokio::time::sleep(wait).await;
            }
        }))
    }

    fn bound(max: u32, _per: Duration, _window: Duration) -> u64 {
        u64::from(max)
    }
}
