#![cfg(not(any(loom, shuttle)))]
//! The worker pool: the guide's pool replayed beside ours (heartbeat stalled by blocking jobs,
//! workers killed by panics, accepted jobs never run), the exactly-once checker with teeth, the
//! concurrency limit, backpressure, cancel safety and both shutdowns. Random job sets:
//! `pool_model.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::pool::{BuildError, JobError, JobId, WorkerPool};

type GuideJob = Box<dyn FnOnce() + Send + 'static>;

/// The guide's pool with its minimal compile fix (the receiver behind an `Arc<Mutex<_>>` instead
/// of cloned): workers run synchronous jobs inline on async worker threads, a panic kills the
/// worker, and there is no way to wait for the jobs.
struct GuidePool {
    sender: tokio::sync::mpsc::Sender<GuideJob>,
}

impl GuidePool {
    fn new(workers: usize) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel::<GuideJob>(100);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..workers {
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                loop {
                    let job = receiver.lock().await.recv().await;
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                }
            });
        }
        GuidePool { sender }
    }

    async fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.sender.send(Box::new(job)).await.unwrap();
    }
}

/// The exactly-once check: every accepted job id must have exactly one outcome.
fn resolved_exactly_once(accepted: &[JobId], outcomes: &[JobId]) -> Result<(), String> {
    let mut seen: HashMap<JobId, usize> = HashMap::new();
    for id in outcomes {
        *seen.entry(*id).or_default() += 1;
    }
    let missing: Vec<_> = accepted
        .iter()
        .filter(|id| !seen.contains_key(id))
        .collect();
    let repeated: Vec<_> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    if missing.is_empty() && repeated.is_empty() && seen.len() == accepted.len() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} accepted jobs never resolved, {} resolved more than once",
            missing.len(),
            accepted.len(),
            repeated.len()
        ))
    }
}

// ---- the guide's pool, replayed: each failure found ------------------------------------------

#[test]
fn guide_pool_runs_blocking_jobs_on_the_runtime_thread_and_stalls_the_heartbeat() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let stalled = runtime.block_on(async {
        let beats = Arc::new(AtomicUsize::new(0));
        let heartbeat = tokio::spawn(heartbeat(Arc::clone(&beats)));
        let pool = GuidePool::new(2);
        let during = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..4 {
            let (beats, during) = (Arc::clone(&beats), Arc::clone(&during));
            pool.execute(move || {
                let before = beats.load(Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                during
                    .lock()
                    .unwrap()
                    .push(beats.load(Ordering::SeqCst) - before);
            })
            .await;
        }
        while during.lock().unwrap().len() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        heartbeat.abort();
        during.lock().unwrap().clone()
    });
    // The job blocked the only runtime thread: not one heartbeat while each ran.
    assert_eq!(stalled, [0, 0, 0, 0]);
}

#[test]
fn our_blocking_jobs_leave_the_heartbeat_ticking() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let during = runtime.block_on(async {
        let beats = Arc::new(AtomicUsize::new(0));
        let heartbeat = tokio::spawn(heartbeat(Arc::clone(&beats)));
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(8)
            .build()
            .unwrap();
        let mut handles = Vec::new();
        for _ in 0..4 {
            let beats = Arc::clone(&beats);
            let job = move || {
                let before = beats.load(Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                beats.load(Ordering::SeqCst) - before
            };
            handles.push(pool.submit_blocking(job).await.unwrap());
        }
        let mut during = Vec::new();
        for handle in handles {
            during.push(handle.await.unwrap());
        }
        heartbeat.abort();
        during
    });
    // On the single runtime thread the heartbeat kept running while every job slept.
    assert!(
        during.iter().all(|beats| *beats > 0),
        "heartbeats during each job: {during:?}"
    );
}

async fn heartbeat(beats: Arc<AtomicUsize>) {
    let mut interval = tokio::time::interval(Duration::from_millis(10));
    loop {
        interval.tick().await;
        beats.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn checker_finds_the_guide_pool_losing_jobs_after_panics_kill_its_workers() {
    let pool = GuidePool::new(2);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let accepted: Vec<JobId> = (0..7).collect();
    for id in accepted.iter().copied() {
        let ran = Arc::clone(&ran);
        pool.execute(move || {
            if id < 2 {
                panic!("job {id} fails");
            }
            ran.lock().unwrap().push(id);
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ran = ran.lock().unwrap().clone();
    assert!(ran.is_empty(), "both workers died on the panics: {ran:?}");
    let verdict = resolved_exactly_once(&accepted, &ran);
    assert_eq!(
        verdict.unwrap_err(),
        "7 of 7 accepted jobs never resolved, 0 resolved more than once"
    );
}

#[tokio::test(start_paused = true)]
async fn panics_do_not_reduce_our_capacity_and_every_job_resolves_once() {
    let pool = WorkerPool::builder()
        .workers(2)
        .queue_capacity(16)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for id in 0..7u64 {
        handles.push(
            pool.submit(async move {
                assert!(id >= 2, "job {id} fails");
                id
            })
            .await
            .unwrap(),
        );
    }
    let mut accepted = Vec::new();
    let mut outcomes = Vec::new();
    for handle in handles {
        accepted.push(handle.id());
        let id = handle.id();
        match handle.await {
            Ok(value) => assert_eq!(value, id),
            Err(JobError::Panicked(panicked)) => {
                assert_eq!(panicked.message(), Some(format!("job {id} fails").as_str()));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
        outcomes.push(id);
    }
    resolved_exactly_once(&accepted, &outcomes).unwrap();
    // Both workers survived: two jobs still run at once.
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(
            pool.submit(track_concurrency(&running, &peak))
                .await
                .unwrap(),
        );
    }
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    let report = pool.shutdown().await;
    assert_eq!(
        (report.accepted, report.completed, report.panicked),
        (11, 9, 2)
    );
}

#[test]
fn guide_pool_runs_none_of_20_accepted_jobs_before_main_returns_and_ours_runs_all() {
    let ran = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = GuidePool::new(4);
        for _ in 0..20 {
            let ran = Arc::clone(&ran);
            pool.execute(move || {
                std::thread::sleep(Duration::from_millis(5));
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .await;
        }
        // "main" returns here: the guide offers nothing to wait on.
        ran.load(Ordering::SeqCst)
    });
    let guide_ran_before_return = ran.load(Ordering::SeqCst);
    drop(runtime);

    let ours = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(async {
        let pool = WorkerPool::builder()
            .workers(4)
            .queue_capacity(32)
            .build()
            .unwrap();
        for _ in 0..20 {
            let ours = Arc::clone(&ours);
            let _detached = pool
                .submit_blocking(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    ours.fetch_add(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
        }
        pool.shutdown().await
    });
    assert!(
        guide_ran_before_return < 20,
        "guide: {guide_ran_before_return} of 20"
    );
    assert_eq!(ours.load(Ordering::SeqCst), 20);
    assert_eq!((report.accepted, report.completed), (20, 20));
}

// ---- ours: limits, backpressure, cancel safety, shutdown -------------------------------------

fn track_concurrency(
    running: &Arc<AtomicUsize>,
    peak: &Arc<AtomicUsize>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (running, peak) = (Arc::clone(running), Arc::clone(peak));
    async move {
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        running.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn never_more_than_the_workers_at_once() {
    let pool = WorkerPool::builder()
        .workers(3)
        .queue_capacity(4)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..40 {
        if i % 4 == 0 {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            handles.push(
                pool.submit_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap(),
            );
        } else {
            handles.push(
                pool.submit(track_concurrency(&running, &peak))
                    .await
                    .unwrap(),
            );
        }
    }
    for handle in handles {
        handle.await.unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(pool.shutdown().await.completed, 40);
}

#[tokio::test(flavor = "current_thread")]
async fn at_most_workers_jobs_run_at_once_current_thread() {
    never_more_than_the_workers_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_workers_jobs_run_at_once_multi_thread() {
    never_more_than_the_workers_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_applies_backpressure_and_try_submit_gives_the_job_back() {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let gate = Arc::new(tokio::sync::Notify::new());
    let blocker = {
        let gate = Arc::clone(&gate);
        pool.submit(async move { gate.notified().await })
            .await
            .unwrap()
    };
    tokio::task::yield_now().await; // the worker takes the blocker; the queue is empty again
    let queued = pool.try_submit(async { 1 }).unwrap();
    let refused = pool.try_submit(async { 2 }).unwrap_err();
    assert!(refused.is_full());
    assert_eq!(
        refused.into_inner().await,
        2,
        "the refused job comes back intact"
    );
    // A submit that waits for room and is cancelled enqueues nothing.
    let waited = tokio::time::timeout(Duration::from_millis(10), pool.submit(async { 3 })).await;
    assert!(waited.is_err());
    assert_eq!(pool.queued(), 1);
    gate.notify_one();
    blocker.await.unwrap();
    assert_eq!(queued.await, Ok(1));
    let report = pool.shutdown().await;
    assert_eq!((report.accepted, report.completed), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn shutdown_runs_everything_accepted_then_refuses_new_jobs() {
    let pool = WorkerPool::builder()
        .workers(2)
        .queue_capacity(64)
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let done = Arc::clone(&done);
        let _detached = pool
            .submit(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
    }
    let report = pool.shutdown().await;
    assert_eq!(done.load(Ordering::SeqCst), 50);
    assert_eq!((report.accepted, report.completed), (50, 50));
    assert_eq!(report.elapsed, Duration::from_millis(100) * 25);
    assert!(pool.is_shut_down());
    let refused = pool.submit(async { 7 }).await.unwrap_err();
    assert_eq!(refused.into_inner().await, 7);
    assert!(pool.try_submit_blocking(|| 8).unwrap_err().into_inner()() == 8);
}

#[tokio::test(start_paused = true)]
async fn shutdown_within_aborts_running_cancels_queued_and_reports_which() {
    let pool = WorkerPool::builder()
        .workers(2)
        .queue_capacity(8)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    // Every job's future holds a clone: once each is dropped, only this one is left.
    let held = Arc::new(());
    for i in 0..6u64 {
        // Jobs 0 and 1 are quick; 2 and 3 run past the deadline; 4 and 5 never start.
        let length = if i < 2 { 10 } else { 1_000 };
        let held = Arc::clone(&held);
        handles.push(
            pool.submit(async move {
                let _held = held;
                tokio::time::sleep(Duration::from_millis(length)).await;
                i
            })
            .await
            .unwrap(),
        );
    }
    let report = pool.shutdown_within(Duration::from_millis(500)).await;
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "an aborted or cancelled job's future outlived the shutdown (its handle is still held)"
    );
    assert_eq!(report.completed, 2);
    assert_eq!(report.aborted, [2, 3]);
    assert_eq!(report.cancelled, [4, 5]);
    assert_eq!(report.elapsed, Duration::from_millis(500));
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await);
    }
    assert_eq!(
        outcomes,
        [
            Ok(0),
            Ok(1),
            Err(JobError::Aborted),
            Err(JobError::Aborted),
            Err(JobError::Cancelled),
            Err(JobError::Cancelled)
        ]
    );
    assert_eq!(
        report.accepted,
        report.completed + report.panicked + report.cancelled.len() + report.aborted.len()
    );
}

/// A future that is ready at once and keeps its `Arc` until it is dropped.
struct ReadyHolding(#[expect(dead_code, reason = "held only to be dropped")] Arc<()>);

impl std::future::Future for ReadyHolding {
    type Output = u32;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        std::task::Poll::Ready(7)
    }
}

#[tokio::test]
async fn is_finished_says_whether_awaiting_the_handle_would_wait() {
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let mut handle = pool
        .submit(async move {
            released.await.unwrap();
            5
        })
        .await
        .unwrap();
    tokio::task::yield_now().await; // the worker starts the job, which waits
    assert!(!handle.is_finished(), "a waiting job reported finished");
    release.send(()).unwrap();
    assert_eq!((&mut handle).await, Ok(5));
    assert!(handle.is_finished());
    pool.shutdown().await;
}

#[tokio::test]
async fn a_finished_job_drops_its_future_while_its_handle_is_still_held() {
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let held = Arc::new(());
    let mut handle = pool.submit(ReadyHolding(Arc::clone(&held))).await.unwrap();
    assert_eq!((&mut handle).await, Ok(7));
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "the job's future lives on with its handle (whatever it holds stays held)"
    );
    drop(handle);
    pool.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_within_that_is_long_enough_loses_nothing() {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(8)
        .build()
        .unwrap();
    for _ in 0..5 {
        let _detached = pool
            .submit(tokio::time::sleep(Duration::from_millis(10)))
            .await
            .unwrap();
    }
    let report = pool.shutdown_within(Duration::from_secs(1)).await;
    assert_eq!(
        (
            report.completed,
            report.cancelled.len(),
            report.aborted.len()
        ),
        (5, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_pool_still_runs_accepted_jobs() {
    let done = Arc::new(AtomicUsize::new(0));
    let pool = WorkerPool::builder()
        .workers(2)
        .queue_capacity(8)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..6 {
        let done = Arc::clone(&done);
        handles.push(
            pool.submit(async move { done.fetch_add(1, Ordering::SeqCst) })
                .await
                .unwrap(),
        );
    }
    drop(pool);
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 6);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let zero_workers = WorkerPool::builder().workers(0).build().unwrap_err();
        assert_eq!(zero_workers, BuildError::ZeroWorkers);
        let zero_queue = WorkerPool::builder().queue_capacity(0).build().unwrap_err();
        assert_eq!(zero_queue, BuildError::ZeroQueueCapacity);
        let huge = WorkerPool::builder()
            .queue_capacity(usize::MAX)
            .build()
            .unwrap_err();
        assert_eq!(huge, BuildError::QueueTooLarge);
    });
    assert_eq!(
        WorkerPool::builder().build().unwrap_err(),
        BuildError::NoRuntime
    );
    assert_eq!(
        BuildError::NoRuntime.to_string(),
        "a worker pool must be built inside a tokio runtime"
    );
}

#[tokio::test]
async fn debug_and_errors_read_well() {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(2)
        .build()
        .unwrap();
    assert_eq!(
        format!("{pool:?}"),
        "WorkerPool { workers: 1, running: 0, queued: 0, shut_down: false }"
    );
    let handle = pool.submit(async {}).await.unwrap();
    assert!(format!("{handle:?}").starts_with("JobHandle { id: 0"));
    handle.await.unwrap();
    assert!(pool.shutdown().await.completed == 1);
    assert_eq!(
        JobError::Panicked("boom".into()).to_string(),
        "job panicked: boom"
    );
}

/// `running()` counts a job while it runs, `close()` says whether it was the call that closed,
/// and a refused submission says why.
#[tokio::test]
async fn running_close_and_a_refused_submission_report_what_happened() {
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = pool
        .submit(async move {
            started_tx.send(()).unwrap();
            finish_rx.await.unwrap();
        })
        .await
        .unwrap();
    started_rx.await.unwrap();
    assert_eq!(pool.running(), 1);
    assert!(pool.close(), "the first close closes");
    assert!(!pool.close(), "a second close is a no-op");
    let refused = pool.submit(async {}).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the worker pool is shut down; the job was not accepted"
    );
    let refused = pool.try_submit(async {}).unwrap_err();
    assert!(!refused.is_full());
    assert_eq!(
        refused.to_string(),
        "the worker pool is shut down; the job was not accepted"
    );
    finish_tx.send(()).unwrap();
    handle.await.unwrap();
    assert_eq!(pool.running(), 0);
    // Refused jobs were never accepted: the report counts the one job that ran, and nothing was
    // cancelled on their account.
    let report = pool.shutdown().await;
    assert_eq!((report.accepted, report.completed), (1, 1));
    assert!(report.cancelled.is_empty(), "{report:?}");
}

#[tokio::test]
async fn a_full_queue_refuses_a_try_submit_and_says_so() {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let running = pool
        .try_submit(async move {
            started_tx.send(()).unwrap();
            finish_rx.await.unwrap();
        })
        .unwrap();
    started_rx.await.unwrap();
    let queued = pool.try_submit(async {}).unwrap();
    let refused = pool.try_submit(async {}).unwrap_err();
    assert!(refused.is_full());
    assert_eq!(
        refused.to_string(),
        "the worker pool's queue is full; the job was not accepted"
    );
    finish_tx.send(()).unwrap();
    running.await.unwrap();
    queued.await.unwrap();
    let report = pool.shutdown().await;
    assert_eq!((report.accepted, report.completed), (2, 2));
    assert!(report.cancelled.is_empty(), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_pool_tied_to_a_shutdown_drains_before_the_shutdown_wait_returns() {
    use async_patterns::shutdown::Shutdown;
    let shutdown = Shutdown::new();
    let pool = Arc::new(
        WorkerPool::builder()
            .workers(2)
            .queue_capacity(16)
            .build()
            .unwrap(),
    );
    let drained = {
        let (pool, token) = (Arc::clone(&pool), shutdown.token());
        shutdown
            .spawn(async move { pool.shutdown_when_triggered(&token).await })
            .unwrap()
    };
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let done = Arc::clone(&done);
        let _detached = pool
            .submit(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                done.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .unwrap();
    }
    assert!(!pool.is_shut_down());
    shutdown.trigger();
    shutdown.wait().await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "every accepted job ran before wait returned"
    );
    assert!(pool.is_shut_down());
    let report = drained.await.unwrap();
    assert_eq!((report.accepted, report.completed), (10, 10));
}

#[tokio::test]
async fn workers_reports_the_configured_number() {
    for workers in [1, 3] {
        let pool = WorkerPool::builder().workers(workers).build().unwrap();
        assert_eq!(pool.workers(), workers);
        pool.shutdown().await;
    }
}

/// A `shutdown` future dropped part-way (a `select!` that gave up on it) keeps the workers'
/// handles in the pool: a later `shutdown_within` aborts the job still running and reports it.
#[tokio::test(start_paused = true)]
async fn a_dropped_shutdown_leaves_the_workers_to_a_later_shutdown_within() {
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let stuck = pool.submit(std::future::pending::<()>()).await.unwrap();
    tokio::task::yield_now().await;
    let gave_up = tokio::time::timeout(Duration::from_secs(1), pool.shutdown()).await;
    assert!(gave_up.is_err(), "the job never ends: the shutdown cannot");
    let report = pool.shutdown_within(Duration::from_secs(1)).await;
    assert_eq!(report.aborted.len(), 1, "{report:?}");
    assert_eq!(stuck.await, Err(JobError::Aborted));
}

/// `shutdown_within` at the ends of its range: `Duration::MAX` is no deadline (the shutdown
/// drains everything), `Duration::ZERO` aborts at once what is running.
#[tokio::test(start_paused = true)]
async fn shutdown_within_zero_and_duration_max() {
    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let quick = pool.submit(async { 1 }).await.unwrap();
    let report = pool.shutdown_within(Duration::MAX).await;
    assert_eq!(quick.await, Ok(1));
    assert_eq!((report.completed, report.aborted.len()), (1, 0));

    let pool = WorkerPool::builder().workers(1).build().unwrap();
    let stuck = pool.submit(std::future::pending::<()>()).await.unwrap();
    tokio::task::yield_now().await;
    let report = pool.shutdown_within(Duration::ZERO).await;
    assert_eq!(report.aborted.len(), 1, "{report:?}");
    assert_eq!(stuck.await, Err(JobError::Aborted));
}
