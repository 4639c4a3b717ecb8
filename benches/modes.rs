//! The contended scenarios that hold a permit across `yield_now` are **bimodal** on 2 workers:
//! from one measurement to the next, an implementation lands near ~250 ns or near ~600-800 ns per
//! operation, by how the runtime happens to spread the tasks over its workers. One criterion
//! measurement per implementation (as in `sync.rs`) catches one mode each, so a single ratio can
//! compare ours in one mode with tokio in the other (a run here gave 2.99 one way; the mirror
//! image happens too). This bench runs ours, tokio and async-lock in **interleaved trials**
//! (rotating their order), many of each, and prints the spread of each: compare the
//! distributions, not one draw.
//!
//! `rwlock/reads50_16_yield` is among them too, and `semaphore/contended_128_hold0` (nothing held,
//! 128 tasks) is bimodal the same way: a lock
//! convoy or not, by how the tasks land.
//!
//! The worker pool's job overhead on 2 workers (`pool.rs`'s `job_mt`) moves between runs in the
//! same way, for ours and for `tokio::spawn` alike (ratios 0.76-1.27 over five full runs), so it
//! is measured here too, beside `tokio::spawn` + `JoinHandle` (the "tokio" of the ratio column)
//! and `JoinSet`.
//!
//! `cargo bench --bench modes` (`TRIALS=N` for N trials per implementation, default 30; about
//! 2 s per 10 trials and scenario). Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod bench {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use async_patterns::sync as ours;
    use tokio::task::yield_now;

    use crate::common::jobs::{self, BATCH};
    use crate::common::{is_read, spawn_split, two_workers};

    /// Operations per trial, split over the tasks.
    const OPS: u64 = 40_000;
    /// The contended semaphore's permits, as in `sync.rs`.
    const PERMITS: usize = 4;

    type Trial = Box<dyn Fn(&tokio::runtime::Runtime, u64) -> Duration>;

    /// One implementation of one scenario: a fresh primitive per trial. `hold`: the permit is held
    /// across a `yield_now` (`contended_N_yield`), else released at once (`contended_N_hold0`).
    fn semaphore_trials(tasks: u64, hold: bool) -> Vec<(&'static str, Trial)> {
        vec![
            (
                "ours",
                Box::new(move |rt, tasks_ops| {
                    let s = Arc::new(ours::Semaphore::new(PERMITS));
                    spawn_split(rt, &s, tasks, tasks_ops, |s, _, ops| async move {
                        for _ in 0..ops {
                            let _p = s.acquire().await.unwrap();
                            if hold {
                                yield_now().await;
                            }
                        }
                    })
                }),
            ),
            (
                "tokio",
                Box::new(move |rt, tasks_ops| {
                    let s = Arc::new(tokio::sync::Semaphore::new(PERMITS));
                    spawn_split(rt, &s, tasks, tasks_ops, |s, _, ops| async move {
                        for _ in 0..ops {
                            let _p = s.acquire().await.unwrap();
                            if hold {
                                yield_now().await;
                            }
                        }
                    })
                }),
            ),
            (
                "async-lock",
                Box::new(move |rt, tasks_ops| {
                    let s = Arc::new(async_lock::Semaphore::new(PERMITS));
                    spawn_split(rt, &s, tasks, tasks_ops, |s, _, ops| async move {
                        for _ in 0..ops {
                            let _p = s.acquire().await;
                            if hold {
                                yield_now().await;
                            }
                        }
                    })
                }),
            ),
        ]
    }

    fn mutex_trials(tasks: u64) -> Vec<(&'static str, Trial)> {
        vec![
            (
                "ours",
                Box::new(move |rt, tasks_ops| {
                    let m = Arc::new(ours::Mutex::new(0u64));
                    spawn_split(rt, &m, tasks, tasks_ops, |m, _, ops| async move {
                        for _ in 0..ops {
                            let mut guard = m.lock().await;
                            *guard += 1;
                            yield_now().await;
                        }
                    })
                }),
            ),
            (
                "tokio",
                Box::new(move |rt, tasks_ops| {
                    let m = Arc::new(tokio::sync::Mutex::new(0u64));
                    spawn_split(rt, &m, tasks, tasks_ops, |m, _, ops| async move {
                        for _ in 0..ops {
                            let mut guard = m.lock().await;
                            *guard += 1;
                            yield_now().await;
                        }
                    })
                }),
            ),
            (
                "async-lock",
                Box::new(move |rt, tasks_ops| {
                    let m = Arc::new(async_lock::Mutex::new(0u64));
                    spawn_split(rt, &m, tasks, tasks_ops, |m, _, ops| async move {
                        for _ in 0..ops {
                            let mut guard = m.lock().await;
                            *guard += 1;
                            yield_now().await;
                        }
                    })
                }),
            ),
        ]
    }

    /// The RwLock with `reads_in_10` tenths of reads, each lock held across a `yield_now`.
    fn rwlock_trials(tasks: u64, reads_in_10: u64) -> Vec<(&'static str, Trial)> {
        macro_rules! trial {
            ($lock:expr) => {
                Box::new(move |rt: &tokio::runtime::Runtime, tasks_ops| {
                    let l = Arc::new($lock);
                    spawn_split(rt, &l, tasks, tasks_ops, move |l, task, ops| async move {
                        for i in 0..ops {
                            if is_read(task, i, reads_in_10) {
                                let guard = l.read().await;
                                std::hint::black_box(*guard);
                                yield_now().await;
                            } else {
                                *l.write().await += 1;
                                yield_now().await;
                            }
                        }
                    })
                }) as Trial
            };
        }
        vec![
            ("ours", trial!(ours::RwLock::new(0u64))),
            ("tokio", trial!(tokio::sync::RwLock::new(0u64))),
            ("async-lock", trial!(async_lock::RwLock::new(0u64))),
        ]
    }

    /// Runs `ops` jobs, `BATCH` at a time, on `rt`, timing only the jobs.
    fn timed_batches<F, Fut>(rt: &tokio::runtime::Runtime, ops: u64, batch: F) -> Duration
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = ()>,
    {
        rt.block_on(async {
            let start = Instant::now();
            for round in 0..ops.div_ceil(BATCH) {
                batch(round * BATCH).await;
            }
            start.elapsed()
        })
    }

    /// A job's overhead on 2 workers (`pool.rs`'s `job_mt`), which moves between runs for ours
    /// and for `tokio::spawn` alike.
    fn pool_trials() -> Vec<(&'static str, Trial)> {
        vec![
            (
                "ours",
                Box::new(|rt, ops| {
                    let pool = rt.block_on(async { jobs::pool() });
                    let elapsed = timed_batches(rt, ops, |first| jobs::ours(&pool, first));
                    rt.block_on(pool.shutdown());
                    elapsed
                }),
            ),
            (
                "tokio-spawn",
                Box::new(|rt, ops| timed_batches(rt, ops, jobs::tokio_spawn)),
            ),
            (
                "joinset",
                Box::new(|rt, ops| timed_batches(rt, ops, jobs::joinset)),
            ),
        ]
    }

    /// `p`-th percentile (nearest rank) of sorted `v`.
    fn percentile(v: &[f64], p: usize) -> f64 {
        v[(v.len() - 1) * p / 100]
    }

    pub fn run() {
        let trials: usize = std::env::var("TRIALS")
            .ok()
            .and_then(|t| t.parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(30);
        let rt = two_workers();
        println!(
            "{trials} interleaved trials of {OPS} operations per implementation; ns per operation"
        );
        println!();
        println!(
            "| scenario | implementation | p10 | p25 | median | p75 | p90 | median / tokio's |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        let scenarios: Vec<(String, Vec<(&'static str, Trial)>)> = vec![
            (
                "semaphore/contended_16_yield".into(),
                semaphore_trials(16, true),
            ),
            (
                "semaphore/contended_128_yield".into(),
                semaphore_trials(128, true),
            ),
            (
                "semaphore/contended_128_hold0".into(),
                semaphore_trials(128, false),
            ),
            ("mutex/contended_16_yield".into(), mutex_trials(16)),
            ("mutex/contended_128_yield".into(), mutex_trials(128)),
            ("rwlock/reads50_16_yield".into(), rwlock_trials(16, 5)),
            ("pool/job_mt".into(), pool_trials()),
        ];
        for (name, implementations) in scenarios {
            // Warm-up: one trial each, not counted.
            for (_, trial) in &implementations {
                trial(&rt, OPS);
            }
            let mut times = vec![Vec::with_capacity(trials); implementations.len()];
            for round in 0..trials {
                // Rotate who goes first, so no implementation always follows the same one.
                for k in 0..implementations.len() {
                    let i = (k + round) % implementations.len();
                    let elapsed = (implementations[i].1)(&rt, OPS);
                    times[i].push(elapsed.as_nanos() as f64 / OPS as f64);
                }
            }
            for t in &mut times {
                t.sort_by(f64::total_cmp);
            }
            let tokio_median = percentile(&times[1], 50);
            for ((label, _), t) in implementations.iter().zip(&times) {
                println!(
                    "| `{name}` | {label} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | **{:.2}** |",
                    percentile(t, 10),
                    percentile(t, 25),
                    percentile(t, 50),
                    percentile(t, 75),
                    percentile(t, 90),
                    percentile(t, 50) / tokio_median,
                );
            }
        }
    }
}

fn main() {
    #[cfg(not(loom))]
    bench::run();
}
