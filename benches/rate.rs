//! The rate limiter against `governor` (direct limiter, its default quanta clock) and
//! `leaky-bucket`, in the same run. Reported time = one check.
//!
//! - `check_allow` / `check_deny`: the non-blocking check (`try_acquire` / governor's `check` /
//!   leaky-bucket's `try_acquire(1)`) on 1 thread and on 2 threads sharing one limiter (`iters`
//!   checks split over both), no runtime. Allow: a quota far above what the loop can use (1e9 per
//!   second, burst 1e6), so every check is admitted. Deny: a quota of 1 per hour, used up first.
//! - `acquire_allow`: the async acquire that is admitted at once, on a current-thread runtime
//!   (ours `acquire`, governor `until_ready`, leaky-bucket `acquire_one`).
//!
//! Ours is measured with both policies: `ours-bucket` (`Quota::token_bucket`, GCRA, the same
//! algorithm as governor) and `ours-window` (`Quota::per_window`, the strict sliding window), with
//! the default `TokioClock`, and `ours-bucket-quanta`: the token bucket on `QuantaClock` (the
//! timestamp-counter clock governor reads by default).
//!
//! The 2-thread allow runs also count refusals: a check that is refused although the quota has
//! room is printed as `spurious refusals` (see benches/README.md).
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod bench {
    use std::hint::black_box;
    use std::num::NonZeroU32;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use criterion::Criterion;

    use super::common::current_thread;
    use async_patterns::rate::{Quota, RateLimiter};
    use async_patterns::time::QuantaClock;

    type Governor = governor::DefaultDirectRateLimiter;

    const HOUR: Duration = Duration::from_secs(3600);

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    fn ours_bucket_allow() -> RateLimiter {
        RateLimiter::new(Quota::token_bucket(
            1_000_000_000,
            Duration::from_secs(1),
            1_000_000,
        ))
        .expect("valid quota")
    }

    fn ours_quanta_allow() -> RateLimiter<QuantaClock> {
        let quota = Quota::token_bucket(1_000_000_000, Duration::from_secs(1), 1_000_000);
        RateLimiter::with_clock(quota, QuantaClock::new()).expect("valid quota")
    }

    fn ours_quanta_deny() -> RateLimiter<QuantaClock> {
        let quota = Quota::token_bucket(1, HOUR, 1);
        let limiter = RateLimiter::with_clock(quota, QuantaClock::new()).expect("valid quota");
        limiter.try_acquire().expect("the first is admitted");
        limiter
    }

    fn ours_window_allow() -> RateLimiter {
        RateLimiter::new(Quota::per_window(1_000_000, Duration::from_millis(1))).expect("valid")
    }

    fn governor_allow() -> Governor {
        Governor::direct(governor::Quota::per_second(nz(1_000_000_000)).allow_burst(nz(1_000_000)))
    }

    fn leaky_allow() -> leaky_bucket::RateLimiter {
        leaky_bucket::RateLimiter::builder()
            .max(1_000_000)
            .initial(1_000_000)
            .refill(1_000_000)
            .interval(Duration::from_millis(1))
            .build()
    }

    fn ours_bucket_deny() -> RateLimiter {
        let limiter = RateLimiter::new(Quota::token_bucket(1, HOUR, 1)).expect("valid quota");
        limiter.try_acquire().expect("the first is admitted");
        limiter
    }

    fn ours_window_deny() -> RateLimiter {
        let limiter = RateLimiter::new(Quota::per_window(1, HOUR)).expect("valid quota");
        limiter.try_acquire().expect("the first is admitted");
        limiter
    }

    fn governor_deny() -> Governor {
        let limiter = Governor::direct(governor::Quota::per_hour(nz(1)));
        limiter.check().expect("the first is admitted");
        limiter
    }

    fn leaky_deny() -> leaky_bucket::RateLimiter {
        leaky_bucket::RateLimiter::builder()
            .max(1)
            .initial(0)
            .refill(1)
            .interval(HOUR)
            .build()
    }

    /// Runs `iters` calls of `check` split over `threads` threads; returns the wall time and how
    /// many calls returned `true` (admitted).
    fn split<F: Fn() -> bool + Sync>(threads: u64, iters: u64, check: F) -> (Duration, u64) {
        let per_thread = iters.div_ceil(threads).max(1);
        let admitted = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut mine = 0;
                    for _ in 0..per_thread {
                        mine += u64::from(black_box(check()));
                    }
                    admitted.fetch_add(mine, Ordering::Relaxed);
                });
            }
        });
        let elapsed = super::common::scale(start.elapsed(), iters, per_thread * threads);
        (elapsed, admitted.into_inner())
    }

    /// Times `iters` calls of `check` on this thread.
    fn alone<F: Fn() -> bool>(iters: u64, check: F) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(check());
        }
        start.elapsed()
    }

    /// Counts, over the whole measurement, checks refused by a limiter that had room.
    #[derive(Default)]
    struct Refusals {
        calls: AtomicU64,
        refused: AtomicU64,
    }

    impl Refusals {
        fn add(&self, calls: u64, admitted: u64) {
            self.calls.fetch_add(calls, Ordering::Relaxed);
            self.refused.fetch_add(calls - admitted, Ordering::Relaxed);
        }

        fn report(&self, what: &str) {
            let calls = self.calls.load(Ordering::Relaxed);
            let refused = self.refused.load(Ordering::Relaxed);
            if calls > 0 {
                println!(
                    "  {what}: spurious refusals {refused} of {calls} checks ({:.3} %)",
                    refused as f64 * 100.0 / calls as f64
                );
            }
        }
    }

    pub fn checks(c: &mut Criterion) {
        for threads in [1u64, 2] {
            let mut g = c.benchmark_group(format!("rate/check_allow_{threads}t"));
            let refusals: [Refusals; 5] = Default::default();
            let measure = |iters: u64, counter: &Refusals, check: &(dyn Fn() -> bool + Sync)| {
                if threads == 1 {
                    alone(iters, check)
                } else {
                    let (elapsed, admitted) = split(threads, iters, check);
                    counter.add(iters.div_ceil(threads).max(1) * threads, admitted);
                    elapsed
                }
            };
            let l = ours_bucket_allow();
            g.bench_function("ours-bucket", |b| {
                b.iter_custom(|n| measure(n, &refusals[0], &|| l.try_acquire().is_ok()))
            });
            let l = ours_quanta_allow();
            g.bench_function("ours-bucket-quanta", |b| {
                b.iter_custom(|n| measure(n, &refusals[1], &|| l.try_acquire().is_ok()))
            });
            let l = ours_window_allow();
            g.bench_function("ours-window", |b| {
                b.iter_custom(|n| measure(n, &refusals[2], &|| l.try_acquire().is_ok()))
            });
            let l = governor_allow();
            g.bench_function("governor", |b| {
                b.iter_custom(|n| measure(n, &refusals[3], &|| l.check().is_ok()))
            });
            let l = leaky_allow();
            g.bench_function("leaky-bucket", |b| {
                b.iter_custom(|n| measure(n, &refusals[4], &|| l.try_acquire(1)))
            });
            g.finish();
            if threads > 1 {
                let names = [
                    "ours-bucket",
                    "ours-bucket-quanta",
                    "ours-window",
                    "governor",
                    "leaky-bucket",
                ];
                for (counter, name) in refusals.iter().zip(names) {
                    counter.report(name);
                }
            }

            let mut g = c.benchmark_group(format!("rate/check_deny_{threads}t"));
            let deny = |iters: u64, check: &(dyn Fn() -> bool + Sync)| {
                if threads == 1 {
                    alone(iters, check)
                } else {
                    let (elapsed, admitted) = split(threads, iters, check);
                    assert_eq!(admitted, 0, "the deny quota is used up");
                    elapsed
                }
            };
            let l = ours_bucket_deny();
            g.bench_function("ours-bucket", |b| {
                b.iter_custom(|n| deny(n, &|| l.try_acquire().is_ok()))
            });
            let l = ours_quanta_deny();
            g.bench_function("ours-bucket-quanta", |b| {
                b.iter_custom(|n| deny(n, &|| l.try_acquire().is_ok()))
            });
            let l = ours_window_deny();
            g.bench_function("ours-window", |b| {
                b.iter_custom(|n| deny(n, &|| l.try_acquire().is_ok()))
            });
            let l = governor_deny();
            g.bench_function("governor", |b| {
                b.iter_custom(|n| deny(n, &|| l.check().is_ok()))
            });
            let l = leaky_deny();
            g.bench_function("leaky-bucket", |b| {
                b.iter_custom(|n| deny(n, &|| l.try_acquire(1)))
            });
            g.finish();
        }
    }

    pub fn acquire(c: &mut Criterion) {
        let rt = current_thread();
        let mut g = c.benchmark_group("rate/acquire_allow");
        macro_rules! timed {
            ($iters:expr, $body:expr) => {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..$iters {
                        black_box($body);
                    }
                    start.elapsed()
                })
            };
        }
        // Built inside the runtime: leaky-bucket reads tokio's clock when it is built.
        let l = rt.block_on(async { ours_bucket_allow() });
        g.bench_function("ours-bucket", |b| {
            b.iter_custom(|n| timed!(n, l.acquire().await))
        });
        let l = ours_quanta_allow();
        g.bench_function("ours-bucket-quanta", |b| {
            b.iter_custom(|n| timed!(n, l.acquire().await))
        });
        let l = rt.block_on(async { ours_window_allow() });
        g.bench_function("ours-window", |b| {
            b.iter_custom(|n| timed!(n, l.acquire().await))
        });
        let l = governor_allow();
        g.bench_function("governor", |b| {
            b.iter_custom(|n| timed!(n, l.until_ready().await))
        });
        let l = rt.block_on(async { leaky_allow() });
        g.bench_function("leaky-bucket", |b| {
            b.iter_custom(|n| timed!(n, l.acquire_one().await))
        });
        g.finish();
    }

    pub fn run(c: &mut Criterion) {
        checks(c);
        acquire(c);
    }
}

fn main() {
    #[cfg(not(loom))]
    {
        let mut c = common::config();
        bench::run(&mut c);
        c.final_summary();
    }
}
