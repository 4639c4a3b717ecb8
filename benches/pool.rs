//! The worker pool's cost per job against running the same job with `tokio::spawn` + its
//! `JoinHandle`, and with a `JoinSet`, in the same run. Reported time = one job (submit or spawn,
//! run a trivial async job, receive its output).
//!
//! Jobs go in batches of 64 (then all 64 outputs are awaited) so the measurement neither holds
//! millions of handles nor degenerates into one-job-at-a-time latency. The pool has 2 workers and a
//! queue of 64. Runs on a current-thread runtime (`ct`) and on a 2-worker runtime (`mt`, where the
//! submitting loop is the `block_on` thread and the jobs run on the workers).
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod bench {
    use std::time::{Duration, Instant};

    use criterion::Criterion;
    use tokio::runtime::Runtime;

    use super::common::jobs::{self, BATCH};
    use super::common::{current_thread, scale, two_workers};

    fn batches<F, Fut>(rt: &Runtime, iters: u64, mut batch: F) -> Duration
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let rounds = iters.div_ceil(BATCH).max(1);
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            for round in 0..rounds {
                batch(round * BATCH).await;
            }
            start.elapsed()
        });
        scale(elapsed, iters, rounds * BATCH)
    }

    pub fn overhead(c: &mut Criterion) {
        let mt = two_workers();
        let ct = current_thread();
        for (name, rt) in [("ct", &ct), ("mt", &mt)] {
            let mut g = c.benchmark_group(format!("pool/job_{name}"));
            let pool = rt.block_on(async { jobs::pool() });
            g.bench_function("ours", |b| {
                b.iter_custom(|n| batches(rt, n, |first| jobs::ours(&pool, first)))
            });
            g.bench_function("tokio-spawn", |b| {
                b.iter_custom(|n| batches(rt, n, jobs::tokio_spawn))
            });
            g.bench_function("joinset", |b| {
                b.iter_custom(|n| batches(rt, n, jobs::joinset))
            });
            g.finish();
            rt.block_on(pool.shutdown());
        }
    }
}

fn main() {
    #[cfg(not(loom))]
    {
        let mut c = common::config();
        bench::overhead(&mut c);
        c.final_summary();
    }
}
