//! Heap allocations per operation, ours beside the peers: a counting global allocator around the
//! system one, a warm-up, then runs of `OPS` and `2 * OPS` operations; the difference of their
//! allocations (on every thread, runtime workers included), divided by `OPS`, is the steady-state
//! cost of one operation. Prints a table; not a criterion measurement.
//!
//! `cargo bench --bench allocs`
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The system allocator, counting allocations (a `realloc` counts as one) and bytes asked for.
    pub struct Counting;

    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
    static BYTES: AtomicU64 = AtomicU64::new(0);

    fn count(size: usize) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }

    /// (allocations, bytes) so far.
    pub fn snapshot() -> (u64, u64) {
        (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        )
    }

    // SAFETY: every method forwards to `System` with the caller's arguments unchanged, so it
    // upholds `GlobalAlloc`'s contract exactly as `System` does; counting touches only atomics.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count(new_size);
            // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[cfg(not(loom))]
#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

#[cfg(not(loom))]
mod bench {
    use std::future::Future;
    use std::hint::black_box;
    use std::sync::Arc;

    use tokio::runtime::{Builder, Runtime};
    use tokio::task::{JoinSet, yield_now};

    use super::counting::snapshot;
    use async_patterns::channel as ours_channel;
    use async_patterns::pool::WorkerPool;
    use async_patterns::sync as ours;

    /// Operations measured per row (after a warm-up of as many).
    const OPS: u64 = 100_000;

    struct Row {
        scenario: &'static str,
        who: &'static str,
        allocations: f64,
        bytes: f64,
    }

    #[derive(Default)]
    struct Table {
        rows: Vec<Row>,
    }

    impl Table {
        /// Runs `run(OPS)` as a warm-up that lets slabs, queues and runtimes grow, then `run(OPS)`
        /// and `run(2 * OPS)`: the difference of the two counted runs is `OPS` operations in the
        /// steady state, without the fixed cost of a run (spawning its tasks, making its channel).
        fn measure(&mut self, scenario: &'static str, who: &'static str, mut run: impl FnMut(u64)) {
            run(OPS);
            let (a0, b0) = snapshot();
            run(OPS);
            let (a1, b1) = snapshot();
            run(2 * OPS);
            let (a2, b2) = snapshot();
            let per_op =
                |x0: u64, x1: u64, x2: u64| ((x2 - x1) as f64 - (x1 - x0) as f64) / OPS as f64;
            self.rows.push(Row {
                scenario,
                who,
                allocations: per_op(a0, a1, a2),
                bytes: per_op(b0, b1, b2),
            });
        }

        fn print(&self) {
            println!("| scenario | implementation | allocations / op | bytes / op |");
            println!("|---|---|---:|---:|");
            for row in &self.rows {
                println!(
                    "| {} | {} | {:.4} | {:.1} |",
                    row.scenario, row.who, row.allocations, row.bytes
                );
            }
        }
    }

    fn current_thread() -> Runtime {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn two_workers() -> Runtime {
        Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// `tasks` tasks on `rt`, `ops` operations in all; `task(shared, ops)` is one task's loop.
    fn spawn_split<T, F, Fut>(rt: &Runtime, shared: &Arc<T>, tasks: u64, ops: u64, task: F)
    where
        T: Send + Sync + 'static,
        F: Fn(Arc<T>, u64) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        rt.block_on(async {
            let handles: Vec<_> = (0..tasks)
                .map(|_| tokio::spawn(task(Arc::clone(shared), ops / tasks)))
                .collect();
            for handle in handles {
                handle.await.expect("task");
            }
        });
    }

    fn uncontended(t: &mut Table) {
        let rt = current_thread();
        let s = ours::Semaphore::new(1);
        t.measure("semaphore acquire+release, uncontended", "ours", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    drop(black_box(s.acquire().await.unwrap()));
                }
            })
        });
        let s = tokio::sync::Semaphore::new(1);
        t.measure("semaphore acquire+release, uncontended", "tokio", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    drop(black_box(s.acquire().await.unwrap()));
                }
            })
        });
        let s = async_lock::Semaphore::new(1);
        t.measure(
            "semaphore acquire+release, uncontended",
            "async-lock",
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        drop(black_box(s.acquire().await));
                    }
                })
            },
        );
        let m = ours::Mutex::new(0u64);
        t.measure("mutex lock+unlock, uncontended", "ours", |n| {
            rt.block_on(async {
                for _ in 0..n {
                    *m.lock().await += 1;
                }
            })
        });
        let l = ours::RwLock::new(0u64);
        t.measure("rwlock read+write, uncontended", "ours", |n| {
            rt.block_on(async {
                for _ in 0..n / 2 {
                    black_box(*l.read().await);
                    *l.write().await += 1;
                }
            })
        });
        let s = ours::Semaphore::new(1);
        t.measure("semaphore try_acquire", "ours", |n| {
            for _ in 0..n {
                drop(black_box(s.try_acquire().unwrap()));
            }
        });
    }

    fn contended(t: &mut Table) {
        let rt = two_workers();
        let scenario = "semaphore(4) acquire, 16 tasks holding across yield_now, 2 workers";
        let s = Arc::new(ours::Semaphore::new(4));
        t.measure(scenario, "ours", |n| {
            spawn_split(&rt, &s, 16, n, |s, ops| async move {
                for _ in 0..ops {
                    let _p = s.acquire().await.unwrap();
                    yield_now().await;
                }
            })
        });
        let s = Arc::new(tokio::sync::Semaphore::new(4));
        t.measure(scenario, "tokio", |n| {
            spawn_split(&rt, &s, 16, n, |s, ops| async move {
                for _ in 0..ops {
                    let _p = s.acquire().await.unwrap();
                    yield_now().await;
                }
            })
        });
        let s = Arc::new(async_lock::Semaphore::new(4));
        t.measure(scenario, "async-lock", |n| {
            spawn_split(&rt, &s, 16, n, |s, ops| async move {
                for _ in 0..ops {
                    let _p = s.acquire().await;
                    yield_now().await;
                }
            })
        });
        let scenario = "mutex lock, 128 tasks holding across yield_now, 2 workers";
        let m = Arc::new(ours::Mutex::new(0u64));
        t.measure(scenario, "ours", |n| {
            spawn_split(&rt, &m, 128, n, |m, ops| async move {
                for _ in 0..ops {
                    let mut guard = m.lock().await;
                    *guard += 1;
                    yield_now().await;
                }
            })
        });
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        t.measure(scenario, "tokio", |n| {
            spawn_split(&rt, &m, 128, n, |m, ops| async move {
                for _ in 0..ops {
                    let mut guard = m.lock().await;
                    *guard += 1;
                    yield_now().await;
                }
            })
        });
        let m = Arc::new(async_lock::Mutex::new(0u64));
        t.measure(scenario, "async-lock", |n| {
            spawn_split(&rt, &m, 128, n, |m, ops| async move {
                for _ in 0..ops {
                    let mut guard = m.lock().await;
                    *guard += 1;
                    yield_now().await;
                }
            })
        });
    }

    /// Producers and consumers as tasks; the channel and tasks are made anew in each run (a fixed
    /// cost that [`Table::measure`] cancels out).
    fn channel(t: &mut Table) {
        for (scenario, rt) in [
            (
                "channel send+recv, cap 64, 1p1c, current-thread",
                current_thread(),
            ),
            ("channel send+recv, cap 64, 2p2c, 2 workers", two_workers()),
        ] {
            let pairs: u64 = if scenario.contains("2p2c") { 2 } else { 1 };
            t.measure(scenario, "ours", |n| {
                rt.block_on(async {
                    let (tx, rx) = ours_channel::bounded::<u64>(64).unwrap();
                    let mut handles = Vec::new();
                    for _ in 0..pairs {
                        let tx = tx.clone();
                        handles.push(tokio::spawn(async move {
                            for i in 0..n / pairs {
                                tx.send(i).await.unwrap();
                            }
                        }));
                        let rx = rx.clone();
                        handles.push(tokio::spawn(async move {
                            while let Some(v) = rx.recv().await {
                                black_box(v);
                            }
                        }));
                    }
                    drop((tx, rx));
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            });
            t.measure(scenario, "async-channel", |n| {
                rt.block_on(async {
                    let (tx, rx) = async_channel::bounded::<u64>(64);
                    let mut handles = Vec::new();
                    for _ in 0..pairs {
                        let tx = tx.clone();
                        handles.push(tokio::spawn(async move {
                            for i in 0..n / pairs {
                                tx.send(i).await.unwrap();
                            }
                        }));
                        let rx = rx.clone();
                        handles.push(tokio::spawn(async move {
                            while let Ok(v) = rx.recv().await {
                                black_box(v);
                            }
                        }));
                    }
                    drop((tx, rx));
                    for handle in handles {
                        handle.await.unwrap();
                    }
                })
            });
            if pairs == 1 {
                t.measure(scenario, "tokio-mpsc", |n| {
                    rt.block_on(async {
                        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(64);
                        let producer = tokio::spawn(async move {
                            for i in 0..n {
                                tx.send(i).await.unwrap();
                            }
                        });
                        let consumer = tokio::spawn(async move {
                            while let Some(v) = rx.recv().await {
                                black_box(v);
                            }
                        });
                        producer.await.unwrap();
                        consumer.await.unwrap();
                    })
                });
            }
        }
    }

    /// Submit (or spawn) a trivial job and take its output, in batches of 64, on 2 workers.
    fn pool(t: &mut Table) {
        let rt = two_workers();
        let scenario = "job: submit/spawn + await output, 2 workers";
        let pool = rt.block_on(async {
            WorkerPool::builder()
                .workers(2)
                .queue_capacity(64)
                .build()
                .unwrap()
        });
        t.measure(scenario, "ours (pool.submit)", |n| {
            rt.block_on(async {
                let mut handles = Vec::with_capacity(64);
                for batch in 0..n / 64 {
                    for i in 0..64 {
                        handles.push(
                            pool.submit(async move { black_box(batch + i) })
                                .await
                                .unwrap(),
                        );
                    }
                    for handle in handles.drain(..) {
                        black_box(handle.await.unwrap());
                    }
                }
            })
        });
        t.measure(scenario, "tokio::spawn + JoinHandle", |n| {
            rt.block_on(async {
                let mut handles = Vec::with_capacity(64);
                for batch in 0..n / 64 {
                    for i in 0..64 {
                        handles.push(tokio::spawn(async move { black_box(batch + i) }));
                    }
                    for handle in handles.drain(..) {
                        black_box(handle.await.unwrap());
                    }
                }
            })
        });
        t.measure(scenario, "JoinSet", |n| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                for batch in 0..n / 64 {
                    for i in 0..64 {
                        set.spawn(async move { black_box(batch + i) });
                    }
                    while let Some(output) = set.join_next().await {
                        black_box(output.unwrap());
                    }
                }
            })
        });
        rt.block_on(pool.shutdown());
    }

    pub fn run() {
        let mut table = Table::default();
        uncontended(&mut table);
        contended(&mut table);
        channel(&mut table);
        pool(&mut table);
        table.print();
    }
}

fn main() {
    #[cfg(not(loom))]
    bench::run();
}
