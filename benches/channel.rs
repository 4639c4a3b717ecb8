//! The bounded MPMC channel against `async-channel` (bounded, MPMC) and `tokio::sync::mpsc`
//! (bounded, one consumer), in the same run. Reported time = one message (send + recv), from the
//! first send to the last receive.
//!
//! - `mt_{P}p{C}c_cap{N}`: P producers and C consumers as tasks on a 2-worker runtime, capacities
//!   1, 64 and 1024; `iters` messages split over the producers, consumers receive until the channel
//!   closes. tokio's mpsc has one consumer, so it sits out the 2-consumer runs.
//! - `ct_1p1c_cap{N}`: one producer and one consumer on a current-thread runtime.
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod bench {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use criterion::Criterion;
    use tokio::runtime::Runtime;
    use tokio::task::JoinHandle;

    use super::common::{current_thread, scale, two_workers};
    use async_patterns::channel as ours;

    /// Spawns the producers and consumers `spawn_all` returns, waits for all, and times it.
    fn run<F>(rt: &Runtime, iters: u64, producers: u64, spawn_all: F) -> Duration
    where
        F: FnOnce(u64) -> Vec<JoinHandle<()>>,
    {
        let per_producer = iters.div_ceil(producers).max(1);
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            for handle in spawn_all(per_producer) {
                handle.await.expect("bench task panicked");
            }
            start.elapsed()
        });
        scale(elapsed, iters, per_producer * producers)
    }

    fn ours(rt: &Runtime, iters: u64, cap: usize, producers: u64, consumers: u64) -> Duration {
        run(rt, iters, producers, |per| {
            let (tx, rx) = ours::bounded::<u64>(cap).expect("capacity");
            let mut handles = Vec::new();
            for _ in 0..producers {
                let tx = tx.clone();
                handles.push(tokio::spawn(async move {
                    for i in 0..per {
                        tx.send(i).await.expect("open");
                    }
                }));
            }
            for _ in 0..consumers {
                let rx = rx.clone();
                handles.push(tokio::spawn(async move {
                    while let Some(value) = rx.recv().await {
                        black_box(value);
                    }
                }));
            }
            handles
        })
    }

    fn async_channel(
        rt: &Runtime,
        iters: u64,
        cap: usize,
        producers: u64,
        consumers: u64,
    ) -> Duration {
        run(rt, iters, producers, |per| {
            let (tx, rx) = async_channel::bounded::<u64>(cap);
            let mut handles = Vec::new();
            for _ in 0..producers {
                let tx = tx.clone();
                handles.push(tokio::spawn(async move {
                    for i in 0..per {
                        tx.send(i).await.expect("open");
                    }
                }));
            }
            for _ in 0..consumers {
                let rx = rx.clone();
                handles.push(tokio::spawn(async move {
                    while let Ok(value) = rx.recv().await {
                        black_box(value);
                    }
                }));
            }
            handles
        })
    }

    fn tokio_mpsc(rt: &Runtime, iters: u64, cap: usize, producers: u64) -> Duration {
        run(rt, iters, producers, |per| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(cap);
            let mut handles = Vec::new();
            for _ in 0..producers {
                let tx = tx.clone();
                handles.push(tokio::spawn(async move {
                    for i in 0..per {
                        tx.send(i).await.expect("open");
                    }
                }));
            }
            drop(tx);
            handles.push(tokio::spawn(async move {
                while let Some(value) = rx.recv().await {
                    black_box(value);
                }
            }));
            handles
        })
    }

    pub fn throughput(c: &mut Criterion) {
        let mt = two_workers();
        let ct = current_thread();
        let shapes: [(&str, &Runtime, u64, u64); 4] = [
            ("mt_1p1c", &mt, 1, 1),
            ("mt_2p1c", &mt, 2, 1),
            ("mt_2p2c", &mt, 2, 2),
            ("ct_1p1c", &ct, 1, 1),
        ];
        for (shape, rt, producers, consumers) in shapes {
            for cap in [1usize, 64, 1024] {
                let mut g = c.benchmark_group(format!("channel/{shape}_cap{cap}"));
                g.bench_function("ours", |b| {
                    b.iter_custom(|n| ours(rt, n, cap, producers, consumers))
                });
                g.bench_function("async-channel", |b| {
                    b.iter_custom(|n| async_channel(rt, n, cap, producers, consumers))
                });
                if consumers == 1 {
                    g.bench_function("tokio-mpsc", |b| {
                        b.iter_custom(|n| tokio_mpsc(rt, n, cap, producers))
                    });
                }
                g.finish();
            }
        }
    }
}

fn main() {
    #[cfg(not(loom))]
    {
        let mut c = common::config();
        bench::throughput(&mut c);
        c.final_summary();
    }
}
