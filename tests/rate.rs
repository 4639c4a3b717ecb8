#![cfg(not(any(loom, shuttle)))]
//! The rate limiter: its stated bounds checked over every window, the guide's interval-refill
//! limiter caught by the same checker (its three measured failures and its leaked tasks), FIFO
//! waiters, cancel safety and bad input. Random arrival patterns: `rate_model.rs`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_patterns::rate::{ExceedsCapacity, NotAdmitted, Quota, QuotaError, RateLimiter};
use async_patterns::time::{Clock, Instant, ManualClock};
use support::window_checker::{WindowViolation, max_in_any_window};
use tokio::sync::Semaphore as TokioSemaphore;

const SECOND: Duration = Duration::from_secs(1);

/// The guide's limiter, as copy-pasted: a tokio semaphore topped up to `rate` permits by an
/// interval task that is never stopped.
struct GuideRateLimiter {
    semaphore: Arc<TokioSemaphore>,
}

impl GuideRateLimiter {
    fn new(rate: usize, per: Duration) -> Self {
        let semaphore = Arc::new(TokioSemaphore::new(rate));
        let refill = Arc::clone(&semaphore);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(per);
            loop {
                interval.tick().await;
                let available = refill.available_permits();
                if available < rate {
                    refill.add_permits(rate - available);
                }
            }
        });
        GuideRateLimiter { semaphore }
    }

    async fn acquire(&self) {
        self.semaphore.acquire().await.unwrap().forget();
    }
}

/// Something that admits callers one at a time: the guide's limiter or ours.
trait Admit: Send + Sync + 'static {
    fn admit(&self) -> impl std::future::Future<Output = ()> + Send;
}

impl Admit for GuideRateLimiter {
    async fn admit(&self) {
        self.acquire().await;
    }
}

impl Admit for RateLimiter {
    async fn admit(&self) {
        self.acquire().await;
    }
}

/// Spawns one caller per arrival offset (from now); each records the instant it was admitted.
/// Returns the admission times once every caller is through, in paused time.
async fn admissions<L: Admit>(limiter: Arc<L>, arrivals: Vec<Duration>) -> Vec<Instant> {
    let start = Instant::now();
    let callers: Vec<_> = arrivals
        .into_iter()
        .map(|offset| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                tokio::time::sleep_until(start + offset).await;
                limiter.admit().await;
                Instant::now()
            })
        })
        .collect();
    let mut times = Vec::new();
    for caller in callers {
        times.push(caller.await.unwrap());
    }
    times
}

fn at(offset_ms: u64, count: usize) -> Vec<Duration> {
    vec![Duration::from_millis(offset_ms); count]
}

// ---- the guide's limiter: each measured failure, found by the checker -----------------------

#[tokio::test(start_paused = true)]
async fn checker_finds_the_guide_limiter_admitting_20_across_a_fixed_window_boundary() {
    let guide = Arc::new(GuideRateLimiter::new(10, SECOND));
    let mut arrivals = at(500, 10);
    arrivals.extend(at(1_000, 10));
    let times = admissions(guide, arrivals).await;
    let found = max_in_any_window(&times, SECOND);
    assert_eq!(
        found.count, 20,
        "the checker must see all 20 in one window: {found:?}"
    );
    assert!(found.exceeds(10));
}

#[tokio::test(start_paused = true)]
async fn checker_finds_the_guide_limiter_admitting_20_at_time_zero() {
    let guide = GuideRateLimiter::new(10, SECOND);
    let start = Instant::now();
    // The task that made the limiter uses it at once: it takes the initial 10 before the refill
    // task has run, and the interval's first tick is immediate, so it tops up 10 more at t = 0.
    let mut times = Vec::new();
    for _ in 0..30 {
        guide.acquire().await;
        times.push(Instant::now());
    }
    let found = max_in_any_window(&times, SECOND);
    assert_eq!(found.count, 20, "{found:?}");
    assert_eq!(found.window_start, start);
}

#[tokio::test(start_paused = true)]
async fn checker_finds_the_guide_limiter_bursting_after_a_stall() {
    let guide = Arc::new(GuideRateLimiter::new(5, SECOND));
    let waiting = tokio::spawn(admissions(Arc::clone(&guide), at(0, 40)));
    tokio::task::yield_now().await;
    // The runtime is busy elsewhere for 5 s: the interval has missed five ticks, and by default
    // (`MissedTickBehavior::Burst`) it fires them back to back.
    tokio::time::advance(Duration::from_secs(5)).await;
    let times = waiting.await.unwrap();
    let found = max_in_any_window(&times, SECOND);
    assert_eq!(found.count, 25, "{found:?}");
}

#[tokio::test(start_paused = true)]
async fn guide_limiter_leaves_a_task_per_dropped_limiter_and_ours_leaves_none() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    for _ in 0..1_000 {
        drop(GuideRateLimiter::new(10, SECOND));
    }
    tokio::task::yield_now().await;
    assert_eq!(metrics.num_alive_tasks() - before, 1_000);

    let before = metrics.num_alive_tasks();
    for _ in 0..1_000 {
        drop(RateLimiter::new(Quota::per_window(10, SECOND)).unwrap());
    }
    assert_eq!(metrics.num_alive_tasks(), before);
}

// ---- ours, under the same arrival patterns ---------------------------------------------------

#[tokio::test(start_paused = true)]
async fn sliding_window_holds_its_bound_where_the_guide_limiter_failed() {
    let quota = Quota::per_window(10, SECOND);
    let limiter = Arc::new(RateLimiter::new(quota).unwrap());
    let mut arrivals = at(500, 10);
    arrivals.extend(at(1_000, 10));
    arrivals.extend(at(0, 30));
    let times = admissions(Arc::clone(&limiter), arrivals).await;
    assert_eq!(times.len(), 50);
    let found = max_in_any_window(&times, SECOND);
    assert_eq!(found.count, 10, "{found:?}");

    let stalled = Arc::new(RateLimiter::new(Quota::per_window(5, SECOND)).unwrap());
    let waiting = tokio::spawn(admissions(Arc::clone(&stalled), at(0, 40)));
    tokio::task::yield_now().await;
    tokio::time::advance(Duration::from_secs(5)).await;
    let times = waiting.await.unwrap();
    assert_eq!(max_in_any_window(&times, SECOND).count, 5);
}

#[tokio::test(start_paused = true)]
async fn token_bucket_admits_up_to_its_documented_bound_and_no_more() {
    // burst = rate = 10 per second: up to 2 * 10 - 1 = 19 in some one-second window.
    let quota = Quota::token_bucket(10, SECOND, 10);
    assert_eq!(quota.max_in_any_window(SECOND), 19);
    let limiter = Arc::new(RateLimiter::new(quota).unwrap());
    let times = admissions(limiter, at(0, 60)).await;
    let found = max_in_any_window(&times, SECOND);
    assert_eq!(
        found.count, 19,
        "the bound is reached, so it is exact: {found:?}"
    );
    // In the long run: 10 per second after the first burst.
    let last = *times.iter().max().unwrap();
    assert_eq!(last - times[0], Duration::from_millis(100) * 50);
}

#[tokio::test(start_paused = true)]
async fn sliding_window_bound_is_reached_over_longer_windows() {
    let quota = Quota::per_window(3, SECOND);
    let limiter = Arc::new(RateLimiter::new(quota).unwrap());
    let times = admissions(limiter, at(0, 12)).await;
    for len in [SECOND / 2, SECOND, SECOND * 3 / 2, SECOND * 3] {
        assert_eq!(
            max_in_any_window(&times, len).count as u128,
            quota.max_in_any_window(len).min(12),
            "window {len:?}"
        );
    }
}

// ---- waiting: FIFO, cancel safety ------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn waiting_callers_are_admitted_in_arrival_order() {
    let limiter = Arc::new(RateLimiter::new(Quota::per_window(2, SECOND)).unwrap());
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut callers = Vec::new();
    for id in 0..10 {
        let limiter = Arc::clone(&limiter);
        let order = Arc::clone(&order);
        callers.push(tokio::spawn(async move {
            limiter.acquire().await;
            order.lock().unwrap().push(id);
        }));
        tokio::task::yield_now().await; // arrival order = id order
    }
    for caller in callers {
        caller.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
}

/// Capacity 4 with 3 used: one admission would fit now, but the head of the queue (4) waits until
/// all 4 fit; a newcomer's `try_acquire` must not take the one.
async fn large_request_at_the_head_is_not_overtaken(quota: Quota, head_waits: Duration) {
    let limiter = Arc::new(RateLimiter::new(quota).unwrap());
    limiter.try_acquire_many(3).unwrap();
    let big = tokio::spawn({
        let limiter = Arc::clone(&limiter);
        async move {
            limiter.acquire_many(4).await.unwrap();
            Instant::now()
        }
    });
    tokio::task::yield_now().await;
    // The estimate counts the head's request first: here, exactly when the head gets in.
    let retry = limiter.try_acquire().unwrap_err().retry_after().unwrap();
    assert_eq!(retry, head_waits);
    let start = Instant::now();
    let admitted = big.await.unwrap();
    assert_eq!(admitted - start, head_waits);
}

#[tokio::test(start_paused = true)]
async fn a_large_request_at_the_head_is_not_overtaken_by_small_ones() {
    large_request_at_the_head_is_not_overtaken(Quota::per_window(4, SECOND), SECOND).await;
}

#[tokio::test(start_paused = true)]
async fn a_large_request_at_the_head_of_a_token_bucket_is_not_overtaken_by_small_ones() {
    // 4 per second, burst 4: after 3, the bucket refills one per 250 ms; 4 fit at 750 ms.
    let quota = Quota::token_bucket(4, SECOND, 4);
    large_request_at_the_head_is_not_overtaken(quota, SECOND * 3 / 4).await;
}

#[tokio::test(start_paused = true)]
async fn acquire_cancelled_by_timeout_gives_up_its_place_without_consuming_budget() {
    let limiter = Arc::new(RateLimiter::new(Quota::per_window(1, SECOND)).unwrap());
    limiter.acquire().await;
    let start = Instant::now();
    // Waits for the window, gives up half-way.
    assert!(
        tokio::time::timeout(SECOND / 2, limiter.acquire())
            .await
            .is_err()
    );
    // The cancelled caller consumed nothing: the next one gets the slot at exactly t = 1 s.
    limiter.acquire().await;
    assert_eq!(Instant::now() - start, SECOND);
    assert!(limiter.try_acquire().is_err());
}

/// A caller that gives up while queued must leave nothing behind: once there is room again, a
/// `try_acquire` is admitted (a leftover "someone is waiting" count would refuse it forever).
async fn cancelled_acquire_leaves_room_for_tries(quota: Quota) {
    let limiter = RateLimiter::new(quota).unwrap();
    limiter.try_acquire().unwrap();
    assert!(
        tokio::time::timeout(SECOND / 2, limiter.acquire())
            .await
            .is_err()
    );
    tokio::time::sleep(SECOND).await;
    assert_eq!(limiter.try_acquire(), Ok(()));
    assert!(limiter.try_acquire().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_acquire_leaves_room_for_later_tries_in_a_window() {
    cancelled_acquire_leaves_room_for_tries(Quota::per_window(1, SECOND)).await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_acquire_leaves_room_for_later_tries_in_a_token_bucket() {
    cancelled_acquire_leaves_room_for_tries(Quota::token_bucket(1, SECOND, 1)).await;
}

// ---- no runtime, manual clock, bad input -----------------------------------------------------

#[test]
fn try_acquire_works_outside_a_runtime_and_says_how_long_to_wait() {
    let clock = ManualClock::new();
    let limiter = RateLimiter::with_clock(Quota::per_window(2, SECOND), clock.clone()).unwrap();
    limiter.try_acquire().unwrap();
    clock.advance(Duration::from_millis(300));
    limiter.try_acquire().unwrap();
    let err = limiter.try_acquire().unwrap_err();
    let NotAdmitted::RateLimited(limited) = err else {
        panic!("refused for another reason: {err:?}");
    };
    assert_eq!(limited.retry_after(), Duration::from_millis(700));
    assert_eq!(
        format!("{err:?}"),
        "RateLimited(RateLimited { retry_after: 700ms })"
    );
    assert_eq!(err.to_string(), "rate limited: retry after 700ms");
    clock.advance(Duration::from_millis(700));
    limiter.try_acquire().unwrap();
    assert!(limiter.try_acquire().is_err());

    let plain = RateLimiter::new(Quota::token_bucket(5, SECOND, 1)).unwrap();
    plain.try_acquire().unwrap();
    assert!(plain.try_acquire().unwrap_err().retry_after().unwrap() <= Duration::from_millis(200));
}

/// While a caller waits in `acquire`, a try is refused even when the budget would admit it now
/// (the queued caller goes first), and is told to wait a little — never "retry after 0".
#[test]
fn a_try_behind_a_queued_caller_is_refused_with_a_nonzero_wait() {
    use tokio_test::{assert_pending, task::spawn};
    let clock = ManualClock::new();
    let limiter =
        RateLimiter::with_clock(Quota::token_bucket(1, SECOND, 1), clock.clone()).unwrap();
    limiter.try_acquire().unwrap();
    let mut queued = spawn(limiter.acquire());
    assert_pending!(queued.poll());
    // The head's admission fits now, but the head has not run yet.
    clock.advance(SECOND);
    let retry_after = limiter.try_acquire().unwrap_err().retry_after().unwrap();
    assert!(
        retry_after > Duration::ZERO,
        "a try behind a queued caller was told to retry at once"
    );
}

#[test]
fn a_request_that_can_never_fit_fails_at_once() {
    let limiter =
        RateLimiter::with_clock(Quota::token_bucket(10, SECOND, 3), ManualClock::new()).unwrap();
    let err = limiter.try_acquire_many(4).unwrap_err();
    assert_eq!(
        err,
        NotAdmitted::ExceedsCapacity(ExceedsCapacity {
            requested: 4,
            capacity: 3
        })
    );
    assert_eq!(err.retry_after(), None);
    assert_eq!(
        err.to_string(),
        "4 admissions requested at once, but the quota admits at most 3"
    );
    let waited = futures::executor::block_on(limiter.acquire_many(4));
    assert_eq!(
        waited,
        Err(ExceedsCapacity {
            requested: 4,
            capacity: 3
        })
    );
    limiter.try_acquire_many(3).unwrap();
}

/// The limits are inclusive: exactly 100 years of span, exactly one admission per nanosecond.
#[test]
fn quotas_at_the_limits_are_accepted_and_one_step_beyond_refused() {
    let span = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    let nano = Duration::from_nanos(1);
    assert!(RateLimiter::new(Quota::per_window(1, span)).is_ok());
    assert_eq!(
        RateLimiter::new(Quota::per_window(1, span + nano)).unwrap_err(),
        QuotaError::DurationOverflow
    );
    assert!(RateLimiter::new(Quota::token_bucket(1, span, 1)).is_ok());
    assert_eq!(
        RateLimiter::new(Quota::token_bucket(1, span + nano, 1)).unwrap_err(),
        QuotaError::DurationOverflow
    );
    assert!(RateLimiter::new(Quota::token_bucket(1000, nano * 1000, 1)).is_ok());
    assert_eq!(
        RateLimiter::new(Quota::token_bucket(1001, nano * 1000, 1)).unwrap_err(),
        QuotaError::RateTooHigh
    );
}

#[test]
fn invalid_quotas_are_refused_with_a_typed_error() {
    let cases = [
        (Quota::per_window(0, SECOND), QuotaError::ZeroMax),
        (Quota::per_window(1, Duration::ZERO), QuotaError::ZeroWindow),
        (
            Quota::per_window(1, Duration::MAX),
            QuotaError::DurationOverflow,
        ),
        (Quota::token_bucket(0, SECOND, 1), QuotaError::ZeroRate),
        (Quota::token_bucket(1, SECOND, 0), QuotaError::ZeroBurst),
        (
            Quota::token_bucket(1, Duration::ZERO, 1),
            QuotaError::ZeroWindow,
        ),
        (
            Quota::token_bucket(2_000_000_000, SECOND, 1),
            QuotaError::RateTooHigh,
        ),
        (
            Quota::token_bucket(1, Duration::MAX, 2),
            QuotaError::DurationOverflow,
        ),
        (
            Quota::token_bucket(1, Duration::from_secs(1 << 40), u32::MAX),
            QuotaError::DurationOverflow,
        ),
    ];
    for (quota, expected) in cases {
        assert_eq!(RateLimiter::new(quota).unwrap_err(), expected, "{quota:?}");
        assert!(!expected.to_string().is_empty());
    }
}

#[test]
fn the_manual_clock_wakes_a_sleeper_only_when_its_deadline_is_reached() {
    use tokio_test::{assert_pending, assert_ready, task::spawn};
    let clock = ManualClock::new();
    let deadline = clock.now() + SECOND;
    let mut sleep = spawn(clock.sleep_until(deadline));
    assert_pending!(sleep.poll());
    clock.advance(SECOND / 2);
    assert!(!sleep.is_woken());
    clock.advance(SECOND / 2);
    assert!(sleep.is_woken());
    assert_ready!(sleep.poll());
}

#[test]
fn a_dropped_manual_sleep_unregisters_itself() {
    use tokio_test::{assert_pending, task::spawn};
    let clock = ManualClock::new();
    let mut sleep = spawn(clock.sleep_until(clock.now() + SECOND));
    assert_pending!(sleep.poll());
    assert!(format!("{clock:?}").ends_with("sleepers: 1 }"), "{clock:?}");
    drop(sleep);
    assert!(format!("{clock:?}").ends_with("sleepers: 0 }"), "{clock:?}");
}

/// A manual sleep polled again with another waker (its task moved, or a `select!` re-polled it)
/// wakes that new waker when the clock reaches its deadline, not the old one.
#[test]
fn a_manual_sleep_wakes_the_waker_it_was_last_polled_with() {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (first, second) = (
        Arc::new(Count(AtomicUsize::new(0))),
        Arc::new(Count(AtomicUsize::new(0))),
    );
    let clock = ManualClock::new();
    let mut sleep = Box::pin(clock.sleep_until(clock.now() + SECOND));
    let waker = Waker::from(Arc::clone(&first));
    assert!(
        sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    let waker = Waker::from(Arc::clone(&second));
    assert!(
        sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    clock.advance(SECOND);
    assert_eq!(
        (
            first.0.load(Ordering::SeqCst),
            second.0.load(Ordering::SeqCst)
        ),
        (0, 1),
        "the deadline woke the stale waker"
    );
    assert!(
        sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
    );
}

#[test]
fn the_window_checker_counts_half_open_windows() {
    let t0 = Instant::now();
    let times = [t0, t0 + SECOND, t0 + SECOND, t0 + SECOND * 2];
    // [t0, t0 + 1 s) holds one; [t0 + 1 s, t0 + 2 s) holds two.
    let found: WindowViolation = max_in_any_window(&times, SECOND);
    assert_eq!(found.count, 2);
    assert_eq!(found.window_start, t0 + SECOND);
}

// ---- the timestamp-counter clock --------------------------------------------------------------

#[tokio::test]
async fn quanta_clock_sleeps_until_its_own_reading_reaches_the_deadline() {
    use async_patterns::time::QuantaClock;
    let clock = QuantaClock::new();
    let start = clock.now();
    let deadline = start + Duration::from_millis(20);
    clock.sleep_until(deadline).await;
    assert!(
        clock.now() >= deadline,
        "woke before the deadline on its own clock"
    );
    // A deadline already passed returns at once (no sleep, no busy loop).
    clock.sleep_until(start).await;
    // Its nanosecond count (the token bucket's reading) agrees with `now()`.
    let epoch = clock
        .epoch()
        .expect("the quanta clock counts from an epoch");
    let before = clock.nanos_since_epoch();
    let now = clock.now();
    let after = clock.nanos_since_epoch();
    assert!(epoch + Duration::from_nanos(before) <= now);
    assert!(now <= epoch + Duration::from_nanos(after));
    assert!(
        before >= 20_000_000,
        "{before} ns since the epoch, after a 20 ms sleep"
    );
}

#[test]
fn a_token_bucket_on_the_quanta_clock_admits_its_burst_then_refuses() {
    use async_patterns::time::QuantaClock;
    let quota = Quota::token_bucket(1, Duration::from_secs(3600), 3);
    let limiter = RateLimiter::with_clock(quota, QuantaClock::new()).unwrap();
    for _ in 0..3 {
        limiter.try_acquire().unwrap();
    }
    let retry = limiter.try_acquire().unwrap_err().retry_after().unwrap();
    assert!(retry > Duration::from_secs(3590), "{retry:?}");
}

/// The strict window's count at the top of `u32`: a budget of 3e9 a second (bytes, say) and two
/// requests of 2.5e9 in one window. The second must be refused — their sum does not fit a
/// `u32`, and a wrapped sum (about 0.7e9) would admit 5e9 in a window of 3e9 in a release build.
/// Then one window later the budget is whole again, and `max` itself fits exactly.
#[test]
fn sliding_window_counts_at_the_top_of_u32_without_wrapping() {
    let clock = ManualClock::new();
    let limiter =
        RateLimiter::with_clock(Quota::per_window(3_000_000_000, SECOND), clock.clone()).unwrap();
    limiter.try_acquire_many(2_500_000_000).unwrap();
    assert!(matches!(
        limiter.try_acquire_many(2_500_000_000),
        Err(NotAdmitted::RateLimited { .. })
    ));
    limiter.try_acquire_many(500_000_000).unwrap();
    assert!(limiter.try_acquire_many(1).is_err(), "the window is full");
    clock.advance(SECOND);
    limiter.try_acquire_many(3_000_000_000).unwrap();
    assert!(limiter.try_acquire_many(1).is_err());

    let limiter =
        RateLimiter::with_clock(Quota::per_window(u32::MAX, SECOND), clock.clone()).unwrap();
    limiter.try_acquire_many(u32::MAX - 1).unwrap();
    limiter.try_acquire_many(1).unwrap();
    assert!(limiter.try_acquire_many(u32::MAX).is_err());
    assert!(limiter.try_acquire_many(1).is_err());
}

/// The manual clock at the limit: `advance(Duration::MAX)` stops at the farthest instant it can
/// hold (no panic, no wrap) and wakes every sleeper.
#[tokio::test]
async fn manual_clock_advance_by_duration_max_saturates_and_wakes_sleepers() {
    let clock = ManualClock::new();
    let start = clock.now();
    let mut sleep = Box::pin(clock.sleep_until(start + Duration::from_secs(3600)));
    assert!(futures::poll!(sleep.as_mut()).is_pending());
    clock.advance(Duration::MAX);
    assert!(clock.now() > start + Duration::from_secs(3600));
    assert!(futures::poll!(sleep.as_mut()).is_ready());
    let end = clock.now();
    clock.advance(Duration::MAX);
    assert_eq!(clock.now(), end, "time stays at the farthest instant");
    clock.advance(Duration::ZERO);
    assert_eq!(clock.now(), end);
}

/// The strict window's edge: an admission at `t` leaves the window at exactly `t + window` (a
/// window is half-open), so a limit of 1 per second admits at `t + 1 s` and not a nanosecond
/// before, and a refusal's wait is exactly what is left.
#[test]
fn sliding_window_admits_again_exactly_one_window_later() {
    let clock = ManualClock::new();
    let limiter = RateLimiter::with_clock(Quota::per_window(1, SECOND), clock.clone()).unwrap();
    limiter.try_acquire().unwrap();
    clock.advance(SECOND - Duration::from_nanos(1));
    match limiter.try_acquire() {
        Err(NotAdmitted::RateLimited(limited)) => {
            assert_eq!(limited.retry_after(), Duration::from_nanos(1));
        }
        other => panic!("admitted 1 ns early: {other:?}"),
    }
    clock.advance(Duration::from_nanos(1));
    limiter
        .try_acquire()
        .expect("the first admission has left the window");
    assert!(limiter.try_acquire().is_err());
}

/// `Quota::max_in_any_window` on every quota, valid or not, and every length at the extremes:
/// never a panic (an invalid quota, with a zero window or rate, bounds nothing: `u128::MAX`), and
/// the stated bounds at the top of the numbers.
#[test]
fn max_in_any_window_at_the_extremes_never_panics() {
    let durations = [
        Duration::ZERO,
        Duration::from_nanos(1),
        SECOND,
        Duration::MAX,
    ];
    let counts = [0, 1, u32::MAX - 1, u32::MAX];
    for &count in &counts {
        for &span in &durations {
            for quota in [
                Quota::per_window(count, span),
                Quota::token_bucket(count, span, count),
                Quota::token_bucket(1, span, count),
            ] {
                for &len in &durations {
                    let bound = quota.max_in_any_window(len);
                    if len.is_zero() {
                        assert_eq!(bound, 0);
                    } else if span.is_zero() && count > 0 {
                        // A zero window or period bounds nothing.
                        assert!(bound >= u128::MAX - u128::from(u32::MAX), "{quota:?}");
                    }
                }
            }
        }
    }
    assert_eq!(
        Quota::per_window(u32::MAX, SECOND).max_in_any_window(Duration::MAX),
        u128::from(u32::MAX) * u128::from(u64::MAX).saturating_add(1),
        "u32::MAX per second over Duration::MAX: every started second counts"
    );
}
