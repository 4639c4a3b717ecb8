#![cfg(not(any(loom, shuttle)))]
//! Property tests of the rate limiter: random arrival patterns (bursts, gaps, jitter, weighted
//! and impatient callers) in virtual time, checked over every window against the bound the quota
//! states ([`Quota::max_in_any_window`]); and random `try_acquire` sequences on a manual clock,
//! checking the bound and that `retry_after` is exact (the limiter admits as soon as the quota
//! allows, not later).
//!
//! A failing case is printed minimised and saved under `proptest-regressions/rate_model.txt`,
//! which is replayed first on the next run; `PROPTEST_CASES` sets the number of cases.
//!
//! # Edges
//!
//! Quotas are mostly small (counts 1..=6, windows 1..=2000 ms), but one count in six is 0, 1,
//! `u32::MAX - 1` or `u32::MAX`, and one window (or `per`) in six is `Duration::ZERO`, 1 ns, 100
//! years, 100 years and 1 ns, or `Duration::MAX`. An invalid quota must be refused with the typed
//! [`QuotaError`] that names what is wrong ([`refusals`]: a zero count or duration, a rate above
//! one per nanosecond, a span over 100 years), and the case ends there. In the `try_acquire`
//! property one weight in eight is 0, 1, `u32::MAX - 1` or `u32::MAX` (more than the capacity:
//! `ExceedsCapacity`); one clock step in eight is 0 or 1 ns, and one in forty is 100 years or
//! `Duration::MAX` (so that about half the cases go that far).
//!
//! The clock is never taken more than [`HORIZON`] (150 years) past the limiter's origin: a step
//! that would go further stops there, and a retry that would have to wait past it ends the case.
//! Beyond it the limiter breaks — a token bucket panics once its timeline reaches 2^63 ns (292
//! years), a sliding window admits everything at the farthest instant a clock can hold — see the
//! `#[ignore]`d tests at the bottom, which fail until that is fixed.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::rate::{NotAdmitted, Quota, QuotaError, RateLimiter};
use async_patterns::time::{Clock, Instant, ManualClock};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use support::proptest_support::{self, with_edges};
use support::window_checker::max_in_any_window;

/// 100 years of 365 days: the longest window, `per`, or `burst` admissions' worth of a token
/// bucket, that `Quota::validate` accepts (longer is `QuotaError::DurationOverflow`).
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How far past its origin the tests take a limiter's clock (see the module docs).
const HORIZON: Duration = Duration::from_secs(150 * 365 * 24 * 60 * 60);

/// Window lengths the bound is checked over are cut to this: every admission falls within
/// [`HORIZON`] of the first, and this keeps `instant + len` representable.
const LONGEST_CHECKED: Duration = Duration::from_secs(1_000 * 365 * 24 * 60 * 60);

const COUNT_EDGES: [u32; 4] = [0, 1, u32::MAX - 1, u32::MAX];
const WINDOW_EDGES: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    CENTURY,
    CENTURY.saturating_add(Duration::from_nanos(1)),
    Duration::MAX,
];

fn quota() -> impl Strategy<Value = Quota> {
    let count = || with_edges(1u32..=6, &COUNT_EDGES, 6);
    let window = || {
        with_edges(
            (1u64..=2_000).prop_map(Duration::from_millis),
            &WINDOW_EDGES,
            6,
        )
    };
    prop_oneof![
        (count(), window()).prop_map(|(max, window)| Quota::per_window(max, window)),
        (count(), window(), count())
            .prop_map(|(rate, per, burst)| Quota::token_bucket(rate, per, burst)),
    ]
}

/// What building a limiter with `quota` must refuse, as documented; any of them when several
/// apply (which one is reported first is not documented). Empty for a valid quota.
fn refusals(quota: Quota) -> Vec<QuotaError> {
    let mut refusals = Vec::new();
    match quota {
        Quota::SlidingWindow { max, window } => {
            if max == 0 {
                refusals.push(QuotaError::ZeroMax);
            }
            if window.is_zero() {
                refusals.push(QuotaError::ZeroWindow);
            }
            if window > CENTURY {
                refusals.push(QuotaError::DurationOverflow);
            }
        }
        Quota::TokenBucket { rate, per, burst } => {
            if rate == 0 {
                refusals.push(QuotaError::ZeroRate);
            }
            if burst == 0 {
                refusals.push(QuotaError::ZeroBurst);
            }
            if per.is_zero() {
                refusals.push(QuotaError::ZeroWindow);
            }
            if per.as_nanos() < u128::from(rate) {
                refusals.push(QuotaError::RateTooHigh);
            }
            // One admission costs `per / rate`, rounded up to a nanosecond; a burst of them
            // must fit in a century.
            if rate > 0
                && u128::from(burst) * per.as_nanos().div_ceil(u128::from(rate))
                    > CENTURY.as_nanos()
            {
                refusals.push(QuotaError::DurationOverflow);
            }
        }
    }
    refusals
}

/// Builds the limiter with `build`, checking it against [`refusals`]: `Ok(None)` when it was
/// refused as it must be.
fn build_checked<L>(
    quota: Quota,
    build: impl FnOnce(Quota) -> Result<L, QuotaError>,
) -> Result<Option<L>, TestCaseError> {
    let refusals = refusals(quota);
    match build(quota) {
        Ok(limiter) if refusals.is_empty() => Ok(Some(limiter)),
        Err(error) if refusals.contains(&error) => Ok(None),
        Ok(_) => Err(TestCaseError::fail(format!(
            "{quota:?} was accepted; it must be refused with one of {refusals:?}"
        ))),
        Err(error) => Err(TestCaseError::fail(format!(
            "{quota:?} was refused with {error:?}; expected {}",
            if refusals.is_empty() {
                "a limiter".to_owned()
            } else {
                format!("one of {refusals:?}")
            }
        ))),
    }
}

/// A token bucket's `T`, the time one admission costs: `per / rate` rounded up to a nanosecond.
fn emission_interval(quota: Quota) -> Duration {
    match quota {
        Quota::SlidingWindow { window, .. } => window,
        Quota::TokenBucket { rate, per, .. } => {
            let nanos = per.as_nanos().div_ceil(u128::from(rate));
            Duration::from_nanos(
                u64::try_from(nanos).expect("a valid quota's T is under a century"),
            )
        }
    }
}

/// The window lengths the bound is checked over: fractions and multiples of the quota's window,
/// none empty, none longer than [`LONGEST_CHECKED`].
fn lengths(quota: Quota, of_window: &[(u32, u32)]) -> Vec<Duration> {
    let window = match quota {
        Quota::SlidingWindow { window, .. } => window,
        Quota::TokenBucket { per, .. } => per,
    };
    of_window
        .iter()
        .map(|&(times, over)| (window.saturating_mul(times) / over).min(LONGEST_CHECKED))
        .filter(|len| !len.is_zero())
        .collect()
}

/// The busiest half-open window of length `len` over weighted admissions `(time, count)`:
/// [`max_in_any_window`] without one entry per admission (a weight may be `u32::MAX`).
fn max_weighted_in_any_window(admissions: &[(Instant, u32)], len: Duration) -> u128 {
    let mut sorted = admissions.to_vec();
    sorted.sort();
    let (mut best, mut inside, mut end) = (0u128, 0u128, 0);
    for &(a, count) in &sorted {
        while end < sorted.len() && sorted[end].0 < a + len {
            inside += u128::from(sorted[end].1);
            end += 1;
        }
        best = best.max(inside);
        inside -= u128::from(count);
    }
    best
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
    for len in lengths(claimed, &[(1, 3), (1, 2), (1, 1), (3, 2), (2, 1), (5, 1)]) {
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

/// Weights at the edges; past the quota's capacity a request can never fit.
const WEIGHT_EDGES: [u32; 4] = [0, 1, u32::MAX - 1, u32::MAX];

/// A `try_acquire` step: how far the clock moves first, and the weight asked for.
fn steps() -> impl Strategy<Value = Vec<(Duration, u32)>> {
    // Far steps are rarer: two of them take the clock to the horizon, where most cases end.
    let advance = with_edges(
        with_edges(
            (0u64..700).prop_map(Duration::from_millis),
            &[Duration::ZERO, Duration::from_nanos(1)],
            8,
        ),
        &[CENTURY, Duration::MAX],
        40,
    );
    let weight = with_edges(1u32..=6, &WEIGHT_EDGES, 8);
    prop::collection::vec((advance, weight), 1..60)
}

/// The clock of the `try_acquire` property, kept within [`HORIZON`] of its start.
struct Bounded {
    clock: ManualClock,
    start: Instant,
}

impl Bounded {
    /// Moves the clock on by `by`, or to the horizon if that is nearer.
    fn advance_up_to(&self, by: Duration) {
        let left = HORIZON - (self.clock.now() - self.start);
        self.clock.advance(by.min(left));
    }

    /// Moves the clock on by `by` if that stays within the horizon; says whether it did.
    fn advance_within(&self, by: Duration) -> bool {
        let fits = self.clock.now() - self.start + by <= HORIZON;
        if fits {
            self.clock.advance(by);
        }
        fits
    }
}

/// The arrivals property: the bound over every window, for a quota drawn with its edges.
fn check_arrivals(quota: Quota, mut callers: Vec<Caller>) -> Result<(), TestCaseError> {
    let Some(limiter) = build_checked(quota, RateLimiter::new)? else {
        return Ok(());
    };
    if let Quota::TokenBucket { .. } = quota {
        // Keep the bucket within the horizon: at worst every admission waits its `T`, after the
        // arrivals (all within 3.05 s); the callers that could take it further are left out (only
        // with a `T` of years).
        let interval = emission_interval(quota);
        let mut span = Duration::from_secs(4);
        let within = callers
            .iter()
            .take_while(|caller| {
                let weight = caller.weight.min(quota.capacity());
                span = span.saturating_add(interval.saturating_mul(weight));
                span <= HORIZON
            })
            .count();
        callers.truncate(within);
        if callers.is_empty() {
            return Ok(());
        }
    }
    check_bound(limiter, quota, &callers)
}

/// The `try_acquire` property: each step's answer (admitted, over the capacity, or rate limited
/// with a `retry_after` that is exact), and the bound over the admissions.
fn check_try_acquire(quota: Quota, steps: Vec<(Duration, u32)>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let with_clock = |quota| RateLimiter::with_clock(quota, clock.clone());
    let Some(limiter) = build_checked(quota, with_clock)? else {
        return Ok(());
    };
    let bounded = Bounded {
        start: clock.now(),
        clock,
    };
    let capacity = quota.capacity();
    let mut admitted = Vec::new();
    for (advance, weight) in steps {
        bounded.advance_up_to(advance);
        let now = bounded.clock.now();
        // Small weights are asked for as far as the quota allows; edge weights as they are.
        let weight = if weight <= 6 {
            weight.min(capacity)
        } else {
            weight
        };
        let outcome = limiter.try_acquire_many(weight);
        // Not documented, but the only sensible answer: a request for nothing fits any quota.
        prop_assert!(
            weight > 0 || outcome.is_ok(),
            "try_acquire_many(0) gave {outcome:?}"
        );
        match outcome {
            Ok(()) => {
                prop_assert!(
                    weight <= capacity,
                    "admitted {weight}, over the capacity {capacity}"
                );
                admitted.push((now, weight));
            }
            Err(NotAdmitted::ExceedsCapacity(exceeds)) => {
                prop_assert!(
                    weight > capacity,
                    "{weight} refused as over the capacity {capacity}"
                );
                prop_assert_eq!((exceeds.requested, exceeds.capacity), (weight, capacity));
            }
            Err(NotAdmitted::RateLimited(limited)) => {
                prop_assert!(
                    weight <= capacity,
                    "{weight}, over the capacity {capacity}, refused as rate limited"
                );
                let retry_after = limited.retry_after();
                prop_assert!(!retry_after.is_zero());
                // One nanosecond early is still too early ...
                if !bounded.advance_within(retry_after - Duration::from_nanos(1)) {
                    break; // it would fit only past the horizon
                }
                prop_assert!(
                    limiter.try_acquire_many(weight).is_err(),
                    "admitted before retry_after"
                );
                // ... and at retry_after it fits: the limiter is exact, not just safe.
                if !bounded.advance_within(Duration::from_nanos(1)) {
                    break;
                }
                prop_assert_eq!(
                    limiter.try_acquire_many(weight),
                    Ok(()),
                    "refused at retry_after"
                );
                admitted.push((bounded.clock.now(), weight));
            }
        }
    }
    for len in lengths(quota, &[(1, 2), (1, 1), (2, 1)]) {
        let found = max_weighted_in_any_window(&admitted, len);
        let bound = quota.max_in_any_window(len);
        prop_assert!(
            found <= bound,
            "{found} admitted in a window of {len:?}; {quota:?} allows {bound}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_support::persisted("rate_model.txt"))]

    #[test]
    fn every_window_holds_the_stated_bound(quota in quota(), callers in arrivals()) {
        check_arrivals(quota, callers)?;
    }

    #[test]
    fn try_acquire_bound_holds_and_retry_after_is_exact(quota in quota(), steps in steps()) {
        check_try_acquire(quota, steps)?;
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

/// A token bucket keeps its state — the instant it is full again (TAT), in nanoseconds from the
/// limiter's origin — in a `u64` whose top bit is the "callers queued" flag, so the TAT must stay
/// below 2^63 ns (292 years). Found by these extremes: an admission whose TAT reached that bit set
/// the flag, and the next check panicked on a queue that was empty. Now, just under the limit the
/// bucket works as at any age (one per second, the second refused with a 1 s hint), and past it
/// every request is refused — never a panic, never more than the quota.
#[test]
fn token_bucket_292_years_past_its_origin_does_not_panic() {
    let clock = ManualClock::new();
    let quota = Quota::token_bucket(1, Duration::from_secs(1), 1);
    let limiter = RateLimiter::with_clock(quota, clock.clone()).unwrap();
    // The admission's TAT is the reading plus 1 s: 2^63 ns - 2 s; the next one's, 1 s more,
    // still fits below the flag.
    clock.advance(Duration::from_nanos(1 << 63) - Duration::from_secs(3));
    assert_eq!(limiter.try_acquire(), Ok(()));
    match catch_unwind(AssertUnwindSafe(|| limiter.try_acquire())) {
        Ok(Err(NotAdmitted::RateLimited(limited))) => {
            assert_eq!(limited.retry_after(), Duration::from_secs(1));
        }
        Ok(other) => panic!("a second admission within the second gave {other:?}"),
        Err(_) => panic!("try_acquire panicked just under 2^63 ns past the limiter's origin"),
    }
    // Past the limit: refused, whatever the clock does.
    for step in [
        Duration::from_secs(2),
        Duration::from_secs(3600),
        Duration::MAX,
    ] {
        clock.advance(step);
        match catch_unwind(AssertUnwindSafe(|| limiter.try_acquire())) {
            Ok(Err(NotAdmitted::RateLimited(_))) => {}
            Ok(other) => panic!("past 2^63 ns: {other:?}"),
            Err(_) => panic!("try_acquire panicked past 2^63 ns"),
        }
    }
}

/// At the farthest instant an `Instant` can hold (where `ManualClock::advance(Duration::MAX)`
/// stops) an admission can never leave the window: its end is past what an `Instant` holds. The
/// next request is then over `max` for good — refused with the longest hint there is. (Found by
/// these extremes: the window's end used to saturate to that farthest instant, which is now, and
/// every request was admitted.)
#[test]
fn sliding_window_at_the_farthest_instant_holds_its_bound() {
    let clock = ManualClock::new();
    let quota = Quota::per_window(1, Duration::from_secs(1));
    let limiter = RateLimiter::with_clock(quota, clock.clone()).unwrap();
    clock.advance(Duration::MAX);
    assert_eq!(limiter.try_acquire(), Ok(()));
    let admitted = 1 + (0..2).filter(|_| limiter.try_acquire().is_ok()).count();
    assert_eq!(
        admitted, 1,
        "{admitted} admitted at one instant; {quota:?} allows 1"
    );
    match limiter.try_acquire() {
        Err(NotAdmitted::RateLimited(limited)) => {
            // "Never": the longest hint a refusal carries (584 years of nanoseconds).
            assert!(limited.retry_after() > Duration::from_secs(500 * 365 * 24 * 3600));
        }
        other => panic!("{other:?}"),
    }
}
