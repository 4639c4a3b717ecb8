//! What every criterion bench shares: the configuration (sized for a 2-core machine and a run of a
//! few minutes) and the runtimes each scenario runs on.
//!
//! Every measurement is an `iter_custom` loop that times `iters` operations inside one `block_on`
//! (or one pair of threads), so what is reported is the cost of one operation — never the cost of
//! entering the runtime.

#![allow(dead_code)] // each bench binary uses its own part of this

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tokio::runtime::{Builder, Runtime};

/// Short warm-up and measurement, modest samples: the whole suite runs in a few minutes.
/// Command-line flags (`--measurement-time`, `--sample-size`, a filter) still override these.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
        .nresamples(10_000)
        .without_plots()
        .configure_from_args()
}

/// A current-thread runtime: the uncontended scenarios.
pub fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime")
}

/// A multi-thread runtime with 2 workers (one per core here): the contended scenarios. The
/// measuring thread only waits in `block_on`; the tasks run on the two workers.
pub fn two_workers() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("multi-thread runtime")
}

/// Runs about `iters` operations split over `tasks` spawned tasks on `rt` and returns the time
/// for exactly `iters` of them (scaled when `iters` does not divide evenly). `task(shared, index,
/// ops)` is one task's whole loop.
pub fn spawn_split<T, F, Fut>(
    rt: &Runtime,
    shared: &Arc<T>,
    tasks: u64,
    iters: u64,
    task: F,
) -> Duration
where
    T: Send + Sync + 'static,
    F: Fn(Arc<T>, u64, u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let per_task = iters.div_ceil(tasks).max(1);
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|index| tokio::spawn(task(Arc::clone(shared), index, per_task)))
            .collect();
        for handle in handles {
            handle.await.expect("bench task panicked");
        }
        start.elapsed()
    });
    scale(elapsed, iters, per_task * tasks)
}

/// `elapsed` for `done` operations, scaled to `wanted` of them.
pub fn scale(elapsed: Duration, wanted: u64, done: u64) -> Duration {
    if wanted == done {
        elapsed
    } else {
        elapsed.mul_f64(wanted as f64 / done as f64)
    }
}

/// The worker pool's job scenario (`pool.rs`, and `modes.rs`'s `pool/job_mt`): start `BATCH`
/// trivial jobs, then await every output, with ours and with each peer.
/// Whether operation `i` of task `task` reads, for a read share of `reads_in_10` tenths (the
/// RwLock's mixed scenarios). Tasks start at different offsets so that their writes do not line up.
pub fn is_read(task: u64, i: u64, reads_in_10: u64) -> bool {
    (i + task * 3) % 10 < reads_in_10
}

pub mod jobs {
    use std::hint::black_box;

    use async_patterns::pool::WorkerPool;
    use tokio::task::JoinSet;

    /// Jobs started before the first is awaited, and the pool's queue capacity.
    pub const BATCH: u64 = 64;

    /// The pool the scenario submits to: 2 workers, a queue of `BATCH`. Build it inside the
    /// runtime it will run on.
    pub fn pool() -> WorkerPool {
        WorkerPool::builder()
            .workers(2)
            .queue_capacity(BATCH as usize)
            .build()
            .expect("pool")
    }

    /// Jobs `first..first + BATCH` through `pool.submit` and their `JobHandle`s.
    pub async fn ours(pool: &WorkerPool, first: u64) {
        let mut handles = Vec::with_capacity(BATCH as usize);
        for i in first..first + BATCH {
            let handle = pool.submit(async move { black_box(i) }).await;
            handles.push(handle.expect("pool open"));
        }
        for handle in handles {
            black_box(handle.await.expect("job ran"));
        }
    }

    /// The same jobs through `tokio::spawn` and their `JoinHandle`s.
    pub async fn tokio_spawn(first: u64) {
        let mut handles = Vec::with_capacity(BATCH as usize);
        for i in first..first + BATCH {
            handles.push(tokio::spawn(async move { black_box(i) }));
        }
        for handle in handles {
            black_box(handle.await.expect("task ran"));
        }
    }

    /// The same jobs through a `JoinSet`.
    pub async fn joinset(first: u64) {
        let mut set = JoinSet::new();
        for i in first..first + BATCH {
            set.spawn(async move { black_box(i) });
        }
        while let Some(output) = set.join_next().await {
            black_box(output.expect("task ran"));
        }
    }
}
