#![cfg(not(any(loom, shuttle)))]
//! Property tests of the rate limiter: random arrival patterns (bursts, gaps, jitter, weighted
//! and impatient callers) in virtual time, checked over every window against the bound the quota
//! states ([`Quota::max_in_any_window`]); and random `try_acquire` sequences on a manual clock,
//! checking the bound and that `retry_after` is exact (the limiter admits as soon as the quota
//! allows, not later).
//!
//! A failing case is printed minimised and saved under `proptest-regressions/rate_model.txt`,
//! which is replayed first on the next run; `PROPTEST_CASES` sets the number of cases.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::rate::{Quota, RateLimiter, TryAcquireError};
use async_patterns::time::{Clock, Instant, ManualClock};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use support::window_checker::max_in_any_window;

fn quota() -> impl Strategy<Value = Quota> {
    prop_oneof![
        (1u32..=6, 1u64..=2_000)
            .prop_map(|(max, ms)| Quota::per_window(max, Duration::from_millis(ms))),
        (1u32..=6, 1u64..=2_000, 1u32..=6).prop_map(|(rate, ms, burst)| Quota::token_bucket(
            rate,
            Duration::from_millis(ms),
            burst
        )),
    ]
}

/// One caller: when it arrives, how many admissions it asks for, and whether it gives up.
#[derive(Debug, Clone)]
struct Caller {
    arrival_ms: u64,
    weight: u32,
    /// Waits at most this long (`None`: as long as it takes).
    patience_ms: Option<u64>,
    /// Uses `try_acquire_many` once instead of waiting.
    tries_once: bool,
}

/// Bursts (many callers at one instant), gaps (long silences) and jitter (spread arrivals).
fn arrivals() -> impl Strategy<Value = Vec<Caller>> {
    let burst = (0u64..3_000, 1usize..12).prop_map(|(at, n)| vec![at; n]);
    let jitter = (0u64..3_000, prop::collection::vec(0u64..50, 1..8))
        .prop_map(|(at, offsets)| offsets.into_iter().map(|o| at + o).collect::<Vec<_>>());
    let group = prop_oneof![burst, jitter];
    (
        prop::collection::vec(group, 1..5),
        prop::collection::vec(
            (
                1u32..=6,
                prop::option::weighted(0.2, 1u64..1_500),
                prop::bool::weighted(0.2),
            ),
            60,
        ),
    )
        .prop_map(|(groups, traits)| {
            groups
                .into_iter()
                .flatten()
                .zip(traits)
                .map(|(arrival_ms, (weight, patience_ms, tries_once))| Caller {
                    arrival_ms,
                    weight,
                    patience_ms,
                    tries_once,
                })
                .collect()
        })
}

/// Runs the callers against `limiter` in paused time; returns every admission's time (a weighted
/// admission counts `weight` times). Checks on the way that patient callers are admitted in the
/// order they arrived (FIFO) and that every one of them is admitted.
fn run_arrivals(limiter: RateLimiter, callers: &[Caller]) -> Vec<Instant> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let limiter = Arc::new(limiter);
        let capacity = limiter.quota().capacity();
        let admitted = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let tasks: Vec<_> = callers
            .iter()
            .cloned()
            .map(|caller| {
                let limiter = Arc::clone(&limiter);
                let admitted = Arc::clone(&admitted);
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + Duration::from_millis(caller.arrival_ms))
                        .await;
                    let weight = caller.weight.min(capacity);
                    let patient = !caller.tries_once && caller.patience_ms.is_none();
                    let ok = if caller.tries_once {
                        limiter.try_acquire_many(weight).is_ok()
                    } else if let Some(patience) = caller.patience_ms {
                        tokio::time::timeout(
                            Duration::from_millis(patience),
                            limiter.acquire_many(weight),
                        )
                        .await
                        .is_ok()
                    } else {
                        limiter.acquire_many(weight).await.unwrap();
                        true
                    };
                    let now = Instant::now();
                    if ok {
                        admitted
                            .lock()
                            .unwrap()
                            .extend(std::iter::repeat_n(now, weight as usize));
                    }
                    patient.then_some((caller.arrival_ms, now))
                })
            })
            .collect();
        let mut patient = Vec::new();
        for task in tasks {
            patient.extend(task.await.unwrap());
        }
        patient.sort();
        for pair in patient.windows(2) {
            let ((arrived_a, admitted_a), (arrived_b, admitted_b)) = (pair[0], pair[1]);
            assert!(
                arrived_a == arrived_b || admitted_a <= admitted_b,
                "FIFO: a caller arriving at {arrived_b} ms was admitted before one arriving at {arrived_a} ms"
            );
        }
        admitted.lock().unwrap().clone()
    })
}

/// The property: in every window of several lengths, at most what `claimed` states.
fn check_bound(
    limiter: RateLimiter,
    claimed: Quota,
    callers: &[Caller],
) -> Result<(), TestCaseError> {
    let times = run_arrivals(limiter, callers);
    prop_assert!(!times.is_empty(), "the first caller always fits");
    let window = match claimed {
        Quota::SlidingWindow { window, .. } => window,
        Quota::TokenBucket { per, .. } => per,
    };
    for len in [
        window / 3,
        window / 2,
        window,
        window * 3 / 2,
        window * 2,
        window * 5,
    ] {
        if len.is_zero() {
            continue;
        }
        let found = max_in_any_window(&times, len);
        let bound = claimed.max_in_any_window(len);
        prop_assert!(
            found.count as u128 <= bound,
            "{} admissions in a window of {len:?} starting {:?} after the first; {claimed:?} allows {bound}",
            found.count,
            found.window_start - times.iter().min().copied().unwrap(),
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_window_holds_the_stated_bound(quota in quota(), callers in arrivals()) {
        check_bound(RateLimiter::new(quota).unwrap(), quota, &callers)?;
    }

    #[test]
    fn try_acquire_bound_holds_and_retry_after_is_exact(
        quota in quota(),
        steps in prop::collection::vec((0u64..700, 1u32..=6), 1..60),
    ) {
        let clock = ManualClock::new();
        let limiter = RateLimiter::with_clock(quota, clock.clone()).unwrap();
        let mut times = Vec::new();
        for (advance_ms, weight) in steps {
            clock.advance(Duration::from_millis(advance_ms));
            let weight = weight.min(quota.capacity());
            match limiter.try_acquire_many(weight) {
                Ok(()) => times.extend(std::iter::repeat_n(clock.now(), weight as usize)),
                Err(TryAcquireError::RateLimited(limited)) => {
                    let retry_after = limited.retry_after();
                    prop_assert!(!retry_after.is_zero());
                    // One nanosecond early is still too early ...
                    clock.advance(retry_after - Duration::from_nanos(1));
                    prop_assert!(limiter.try_acquire_many(weight).is_err(), "admitted before retry_after");
                    // ... and at retry_after it fits: the limiter is exact, not just safe.
                    clock.advance(Duration::from_nanos(1));
                    prop_assert_eq!(limiter.try_acquire_many(weight), Ok(()), "refused at retry_after");
                    times.extend(std::iter::repeat_n(clock.now(), weight as usize));
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        let window = match quota {
            Quota::SlidingWindow { window, .. } => window,
            Quota::TokenBucket { per, .. } => per,
        };
        for len in [window / 2, window, window * 2] {
            if len.is_zero() { continue; }
            let found = max_in_any_window(&times, len);
            prop_assert!(found.count as u128 <= quota.max_in_any_window(len));
        }
    }
}

/// The checker has teeth: a token bucket sold as a strict "N per window" limiter lets up to
/// 2N - 1 through in some window, and the property finds it.
#[test]
fn checker_catches_a_token_bucket_claimed_as_a_strict_window() {
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        cases: 256,
        ..Config::default()
    });
    let result = runner.run(&((2u32..=6), arrivals()), |(n, callers)| {
        let second = Duration::from_secs(1);
        let bucket = RateLimiter::new(Quota::token_bucket(n, second, n)).unwrap();
        check_bound(bucket, Quota::per_window(n, second), &callers)
    });
    match result {
        Err(TestError::Fail(reason, (n, callers))) => {
            eprintln!("found with n = {n}, {} callers: {reason}", callers.len());
        }
        other => panic!("the window checker missed the token bucket's bursts: {other:?}"),
    }
}
