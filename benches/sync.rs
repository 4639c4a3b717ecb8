//! Semaphore, Mutex and RwLock against `tokio::sync` and `async-lock`, each scenario measuring all
//! of them in the same run. Reported time = one operation (acquire + release, lock + unlock).
//!
//! - `uncontended`: one task on a current-thread runtime, acquire then release, `iters` times.
//! - `try`: the non-blocking paths, no runtime (success, and for the semaphore the refusal).
//! - `contended`: 16 or 128 tasks on a 2-worker runtime, holding nothing (`hold0`) or holding
//!   across one `yield_now` (`yield`); `iters` operations split over the tasks.
//! - `rwlock_mix`: the same with 90 % or 50 % reads.
//! - `acquire_many`: 4 of 16 permits uncontended; 1–4 of 8 permits contended (no `async-lock`
//!   peer: its semaphore has no `acquire_many`).
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod bench {
    use std::hint::black_box;
    use std::sync::Arc;
    use std::time::Instant;

    use criterion::Criterion;
    use tokio::task::yield_now;

    use super::common::{current_thread, is_read, spawn_split, two_workers};
    use async_patterns::sync as ours;

    /// Times `$iters` runs of `$body` inside one `block_on` on `$rt`.
    macro_rules! local {
        ($rt:expr, $iters:expr, $body:expr) => {
            $rt.block_on(async {
                let start = Instant::now();
                for _ in 0..$iters {
                    $body;
                }
                start.elapsed()
            })
        };
    }

    /// Times `$iters` runs of `$body` on this thread, no runtime.
    macro_rules! plain {
        ($iters:expr, $body:expr) => {{
            let start = Instant::now();
            for _ in 0..$iters {
                $body;
            }
            start.elapsed()
        }};
    }

    pub fn uncontended(c: &mut Criterion) {
        let rt = current_thread();

        let mut g = c.benchmark_group("semaphore/acquire_release");
        let s = ours::Semaphore::new(1);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire().await.unwrap()))))
        });
        let s = tokio::sync::Semaphore::new(1);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire().await.unwrap()))))
        });
        let s = async_lock::Semaphore::new(1);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire().await))))
        });
        g.finish();

        let mut g = c.benchmark_group("semaphore/acquire_owned");
        let s = Arc::new(ours::Semaphore::new(1));
        g.bench_function("ours", |b| {
            b.iter_custom(|n| {
                local!(
                    rt,
                    n,
                    drop(black_box(s.clone().acquire_owned().await.unwrap()))
                )
            })
        });
        let s = Arc::new(tokio::sync::Semaphore::new(1));
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| {
                local!(
                    rt,
                    n,
                    drop(black_box(s.clone().acquire_owned().await.unwrap()))
                )
            })
        });
        let s = Arc::new(async_lock::Semaphore::new(1));
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire_arc().await))))
        });
        g.finish();

        let mut g = c.benchmark_group("semaphore/acquire_many_4_of_16");
        let s = ours::Semaphore::new(16);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire_many(4).await.unwrap()))))
        });
        let s = tokio::sync::Semaphore::new(16);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| local!(rt, n, drop(black_box(s.acquire_many(4).await.unwrap()))))
        });
        g.finish();

        let mut g = c.benchmark_group("mutex/lock_unlock");
        let m = ours::Mutex::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| local!(rt, n, *m.lock().await += 1))
        });
        let m = tokio::sync::Mutex::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| local!(rt, n, *m.lock().await += 1))
        });
        let m = async_lock::Mutex::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| local!(rt, n, *m.lock().await += 1))
        });
        g.finish();

        let mut g = c.benchmark_group("rwlock/read");
        let l = ours::RwLock::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| local!(rt, n, black_box(*l.read().await)))
        });
        let l = tokio::sync::RwLock::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| local!(rt, n, black_box(*l.read().await)))
        });
        let l = async_lock::RwLock::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| local!(rt, n, black_box(*l.read().await)))
        });
        g.finish();

        let mut g = c.benchmark_group("rwlock/write");
        let l = ours::RwLock::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| local!(rt, n, *l.write().await += 1))
        });
        let l = tokio::sync::RwLock::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| local!(rt, n, *l.write().await += 1))
        });
        let l = async_lock::RwLock::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| local!(rt, n, *l.write().await += 1))
        });
        g.finish();
    }

    pub fn try_paths(c: &mut Criterion) {
        let mut g = c.benchmark_group("semaphore/try_acquire");
        let s = ours::Semaphore::new(1);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| plain!(n, drop(black_box(s.try_acquire().unwrap()))))
        });
        let s = tokio::sync::Semaphore::new(1);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| plain!(n, drop(black_box(s.try_acquire().unwrap()))))
        });
        let s = async_lock::Semaphore::new(1);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| plain!(n, drop(black_box(s.try_acquire().unwrap()))))
        });
        g.finish();

        let mut g = c.benchmark_group("semaphore/try_acquire_refused");
        let s = ours::Semaphore::new(0);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| plain!(n, black_box(s.try_acquire().is_err())))
        });
        let s = tokio::sync::Semaphore::new(0);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| plain!(n, black_box(s.try_acquire().is_err())))
        });
        let s = async_lock::Semaphore::new(0);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| plain!(n, black_box(s.try_acquire().is_none())))
        });
        g.finish();

        let mut g = c.benchmark_group("mutex/try_lock");
        let m = ours::Mutex::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| plain!(n, *m.try_lock().unwrap() += 1))
        });
        let m = tokio::sync::Mutex::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| plain!(n, *m.try_lock().unwrap() += 1))
        });
        let m = async_lock::Mutex::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| plain!(n, *m.try_lock().unwrap() += 1))
        });
        g.finish();

        let mut g = c.benchmark_group("rwlock/try_read");
        let l = ours::RwLock::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| plain!(n, black_box(*l.try_read().unwrap())))
        });
        let l = tokio::sync::RwLock::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| plain!(n, black_box(*l.try_read().unwrap())))
        });
        let l = async_lock::RwLock::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| plain!(n, black_box(*l.try_read().unwrap())))
        });
        g.finish();

        let mut g = c.benchmark_group("rwlock/try_write");
        let l = ours::RwLock::new(0u64);
        g.bench_function("ours", |b| {
            b.iter_custom(|n| plain!(n, *l.try_write().unwrap() += 1))
        });
        let l = tokio::sync::RwLock::new(0u64);
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| plain!(n, *l.try_write().unwrap() += 1))
        });
        let l = async_lock::RwLock::new(0u64);
        g.bench_function("async-lock", |b| {
            b.iter_custom(|n| plain!(n, *l.try_write().unwrap() += 1))
        });
        g.finish();
    }

    /// Permits of the contended semaphore: fewer than the tasks, more than the workers.
    const SEMAPHORE_PERMITS: usize = 4;

    /// Whether the contended scenarios hold the permit or lock across one `yield_now`.
    #[derive(Clone, Copy)]
    enum Hold {
        Nothing,
        Yield,
    }

    impl Hold {
        fn name(self) -> &'static str {
            match self {
                Hold::Nothing => "hold0",
                Hold::Yield => "yield",
            }
        }

        async fn inside(self) {
            if let Hold::Yield = self {
                yield_now().await;
            }
        }
    }

    pub fn contended(c: &mut Criterion) {
        let rt = two_workers();
        for hold in [Hold::Nothing, Hold::Yield] {
            for tasks in [16u64, 128] {
                let mut g =
                    c.benchmark_group(format!("semaphore/contended_{tasks}_{}", hold.name()));
                let s = Arc::new(ours::Semaphore::new(SEMAPHORE_PERMITS));
                g.bench_function("ours", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &s, tasks, n, move |s, _, ops| async move {
                            for _ in 0..ops {
                                let _p = s.acquire().await.unwrap();
                                hold.inside().await;
                            }
                        })
                    })
                });
                let s = Arc::new(tokio::sync::Semaphore::new(SEMAPHORE_PERMITS));
                g.bench_function("tokio", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &s, tasks, n, move |s, _, ops| async move {
                            for _ in 0..ops {
                                let _p = s.acquire().await.unwrap();
                                hold.inside().await;
                            }
                        })
                    })
                });
                let s = Arc::new(async_lock::Semaphore::new(SEMAPHORE_PERMITS));
                g.bench_function("async-lock", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &s, tasks, n, move |s, _, ops| async move {
                            for _ in 0..ops {
                                let _p = s.acquire().await;
                                hold.inside().await;
                            }
                        })
                    })
                });
                g.finish();

                let mut g = c.benchmark_group(format!("mutex/contended_{tasks}_{}", hold.name()));
                let m = Arc::new(ours::Mutex::new(0u64));
                g.bench_function("ours", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &m, tasks, n, move |m, _, ops| async move {
                            for _ in 0..ops {
                                let mut guard = m.lock().await;
                                *guard += 1;
                                hold.inside().await;
                            }
                        })
                    })
                });
                let m = Arc::new(tokio::sync::Mutex::new(0u64));
                g.bench_function("tokio", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &m, tasks, n, move |m, _, ops| async move {
                            for _ in 0..ops {
                                let mut guard = m.lock().await;
                                *guard += 1;
                                hold.inside().await;
                            }
                        })
                    })
                });
                let m = Arc::new(async_lock::Mutex::new(0u64));
                g.bench_function("async-lock", |b| {
                    b.iter_custom(|n| {
                        spawn_split(&rt, &m, tasks, n, move |m, _, ops| async move {
                            for _ in 0..ops {
                                let mut guard = m.lock().await;
                                *guard += 1;
                                hold.inside().await;
                            }
                        })
                    })
                });
                g.finish();
            }
        }
    }

    pub fn rwlock_mix(c: &mut Criterion) {
        let rt = two_workers();
        for reads in [9u64, 5] {
            for hold in [Hold::Nothing, Hold::Yield] {
                for tasks in [16u64, 128] {
                    let name = format!("rwlock/reads{}0_{tasks}_{}", reads, hold.name());
                    let mut g = c.benchmark_group(name);
                    let l = Arc::new(ours::RwLock::new(0u64));
                    g.bench_function("ours", |b| {
                        b.iter_custom(|n| {
                            spawn_split(&rt, &l, tasks, n, move |l, task, ops| async move {
                                for i in 0..ops {
                                    if is_read(task, i, reads) {
                                        let guard = l.read().await;
                                        black_box(*guard);
                                        hold.inside().await;
                                    } else {
                                        let mut guard = l.write().await;
                                        *guard += 1;
                                        hold.inside().await;
                                    }
                                }
                            })
                        })
                    });
                    let l = Arc::new(tokio::sync::RwLock::new(0u64));
                    g.bench_function("tokio", |b| {
                        b.iter_custom(|n| {
                            spawn_split(&rt, &l, tasks, n, move |l, task, ops| async move {
                                for i in 0..ops {
                                    if is_read(task, i, reads) {
                                        let guard = l.read().await;
                                        black_box(*guard);
                                        hold.inside().await;
                                    } else {
                                        let mut guard = l.write().await;
                                        *guard += 1;
                                        hold.inside().await;
                                    }
                                }
                            })
                        })
                    });
                    let l = Arc::new(async_lock::RwLock::new(0u64));
                    g.bench_function("async-lock", |b| {
                        b.iter_custom(|n| {
                            spawn_split(&rt, &l, tasks, n, move |l, task, ops| async move {
                                for i in 0..ops {
                                    if is_read(task, i, reads) {
                                        let guard = l.read().await;
                                        black_box(*guard);
                                        hold.inside().await;
                                    } else {
                                        let mut guard = l.write().await;
                                        *guard += 1;
                                        hold.inside().await;
                                    }
                                }
                            })
                        })
                    });
                    g.finish();
                }
            }
        }
    }

    pub fn acquire_many_contended(c: &mut Criterion) {
        let rt = two_workers();
        let tasks = 16;
        let mut g = c.benchmark_group("semaphore/acquire_many_contended_16_yield");
        let s = Arc::new(ours::Semaphore::new(8));
        g.bench_function("ours", |b| {
            b.iter_custom(|n| {
                spawn_split(&rt, &s, tasks, n, |s, task, ops| async move {
                    for i in 0..ops {
                        let _p = s.acquire_many(1 + ((task + i) % 4) as u32).await.unwrap();
                        yield_now().await;
                    }
                })
            })
        });
        let s = Arc::new(tokio::sync::Semaphore::new(8));
        g.bench_function("tokio", |b| {
            b.iter_custom(|n| {
                spawn_split(&rt, &s, tasks, n, |s, task, ops| async move {
                    for i in 0..ops {
                        let _p = s.acquire_many(1 + ((task + i) % 4) as u32).await.unwrap();
                        yield_now().await;
                    }
                })
            })
        });
        g.finish();
    }

    pub fn run(c: &mut Criterion) {
        uncontended(c);
        try_paths(c);
        contended(c);
        rwlock_mix(c);
        acquire_many_contended(c);
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
