//! Loom models of the shipped [`WorkerPool`]: the drain protocol (submissions and workers racing
//! with `close` / `shutdown`: every accepted job runs and resolves exactly once, every refused job
//! comes back, every worker exits) and a panicking job that leaves its worker running.
//!
//! The pool is built with `build_unspawned`, so no tokio runtime is involved: each worker is a
//! loom thread driving `Worker::run` through the model's `block_on`, and the jobs are async jobs
//! (blocking jobs need tokio's blocking pool). Under `--cfg loom` the pool's queue (the channel on
//! two semaphores), its tally and every job's outcome slot use loom's atomics and mutexes, so these
//! models explore the interleavings of the code that ships. A worker that is never woken, or a
//! handle that never resolves, shows as loom's `deadlock`.
//!
//! The models' own bookkeeping (run counters, the shared `Arc` around the pool) is `std`: only the
//! pool's state is worth interleaving, and every check on it runs after the threads have joined.
//!
//! Bounding: 2 spawned threads + main each, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides
//! it, see `model.rs`). Measured at bound 3 in release: 27k to 233k iterations, 5 to 43 s each on
//! a loaded 2-core machine (the waiting-submit model is the largest).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll};

use async_patterns::pool::{JobError, JobHandle, TrySubmitError, Worker, WorkerPool};
use loom::thread;

use crate::model::{block_on, model};

/// A job that counts its runs and returns `10 * id + 1`. A refused job comes back as this value,
/// so its `id` tells which job it is.
struct CountedJob {
    id: usize,
    runs: Arc<AtomicUsize>,
    panics: bool,
}

/// Every panic a job raises on purpose starts with this; the quiet hook drops its report.
const MARKER: &str = "[loom pool job]";

impl Future for CountedJob {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<usize> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("{MARKER} job {} fails", self.id);
        }
        Poll::Ready(10 * self.id + 1)
    }
}

/// One job's identity and run counter, kept by the model to check it after the threads join.
struct Tracked {
    id: usize,
    runs: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(id: usize) -> Self {
        Tracked {
            id,
            runs: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn job(&self, panics: bool) -> CountedJob {
        CountedJob {
            id: self.id,
            runs: Arc::clone(&self.runs),
            panics,
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// A refused submission must give back this very job, never run.
    fn assert_came_back(&self, back: &CountedJob) {
        assert_eq!(
            back.id, self.id,
            "a refused submission gave back another job"
        );
        assert_eq!(self.runs(), 0, "refused job {} ran", self.id);
    }
}

/// Builds a pool of `workers` whose workers the model runs itself.
fn unspawned(workers: usize, capacity: usize) -> (Arc<WorkerPool>, Vec<Worker>) {
    let (pool, workers) = WorkerPool::builder()
        .workers(workers)
        .queue_capacity(capacity)
        .build_unspawned()
        .expect("a valid configuration");
    (Arc::new(pool), workers)
}

fn spawn_worker(worker: Worker) -> thread::JoinHandle<()> {
    thread::spawn(move || block_on(worker.run()))
}

/// Jobs panic on purpose in `a_panicking_job_leaves_its_worker_running`: keep their reports out of
/// the output (once per interleaving otherwise). Any other panic is reported as usual.
fn quiet_job_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.starts_with(MARKER) {
                previous(info);
            }
        }));
    });
}

/// After every thread has joined: the handle has resolved (without waiting) to the job's value,
/// and the job ran exactly once.
fn assert_ran_once(tracked: &Tracked, handle: JobHandle<usize>) {
    assert!(
        handle.is_finished(),
        "job {}: its handle had not resolved after the workers exited",
        tracked.id
    );
    assert_eq!(
        block_on(handle),
        Ok(10 * tracked.id + 1),
        "job {}",
        tracked.id
    );
    assert_eq!(
        tracked.runs(),
        1,
        "job {} ran {} times",
        tracked.id,
        tracked.runs()
    );
}

/// The report as it stands once everything has joined: it adds up, and counts what the model saw.
fn assert_report(pool: &WorkerPool, accepted: usize, completed: usize, panicked: usize) {
    let report = block_on(pool.shutdown());
    assert_eq!(
        report.accepted,
        report.completed + report.panicked + report.cancelled.len() + report.aborted.len(),
        "the report does not add up: {report:?}"
    );
    assert_eq!(
        (report.accepted, report.completed, report.panicked),
        (accepted, completed, panicked),
        "the report disagrees with the handles: {report:?}"
    );
    assert!(
        report.cancelled.is_empty() && report.aborted.is_empty(),
        "{report:?}"
    );
    assert_eq!(pool.running(), 0, "jobs still counted as running");
    assert_eq!(pool.queued(), 0, "jobs left in the queue");
}

/// The drain: two workers wait for jobs while main queues one and closes the pool. The push, the
/// workers' receives (queued on the items semaphore, or taking the job at once) and the close
/// interleave every way: the job must run exactly once and resolve its handle, and both workers
/// must see the closed, empty queue and exit (a worker left waiting is loom's deadlock).
#[test]
fn close_drains_the_accepted_job_and_both_workers_exit() {
    model(|| {
        let (pool, workers) = unspawned(2, 1);
        let job = Tracked::new(0);
        let handle = pool
            .try_submit(job.job(false))
            .unwrap_or_else(|_| panic!("room for the job in an empty queue"));
        let threads: Vec<_> = workers.into_iter().map(spawn_worker).collect();
        assert!(pool.close());

        for thread in threads {
            thread.join().unwrap();
        }
        assert_ran_once(&job, handle);
        assert!(
            matches!(pool.try_submit(async { 0 }), Err(TrySubmitError::Closed(_))),
            "accepted after close"
        );
        assert_report(&pool, 1, 1, 0);
    });
}

/// Spawns the pool's only worker and a thread that closes the pool.
fn spawn_worker_and_closer(
    pool: &Arc<WorkerPool>,
    workers: Vec<Worker>,
) -> [thread::JoinHandle<()>; 2] {
    let mut workers = workers.into_iter();
    let worker = spawn_worker(workers.next().expect("one worker"));
    let closer = {
        let pool = Arc::clone(pool);
        thread::spawn(move || assert!(pool.close(), "only this thread closes the pool"))
    };
    [worker, closer]
}

/// `try_submit` racing with `close` from another thread while the worker waits for jobs: the job
/// is either refused as `Closed` and comes back unrun, or accepted, run exactly once and resolved
/// (a push that slips in before the close must still reach the worker, which then sees the
/// closed, empty queue and exits).
#[test]
fn try_submit_racing_with_close_runs_once_or_gives_the_job_back() {
    model(|| {
        let (pool, workers) = unspawned(1, 1);
        let threads = spawn_worker_and_closer(&pool, workers);

        let job = Tracked::new(0);
        let accepted = match pool.try_submit(job.job(false)) {
            Ok(handle) => Some(handle),
            Err(TrySubmitError::Closed(back)) => {
                job.assert_came_back(&back);
                None
            }
            Err(TrySubmitError::Full(_)) => panic!("the queue of 1 was empty"),
        };

        for thread in threads {
            thread.join().unwrap();
        }
        let count = usize::from(accepted.is_some());
        if let Some(handle) = accepted {
            assert_ran_once(&job, handle);
        }
        assert_report(&pool, count, count, 0);
    });
}

/// A `submit` waiting for room racing with `close`: the queue of 1 holds job 0 when main submits
/// job 1, so `submit` waits until the worker takes job 0 — or is woken by the close from another
/// thread. Either job 1 is accepted, runs exactly once and resolves, or it comes back unrun; job 0
/// (accepted before the race) runs exactly once either way, and the worker exits.
#[test]
fn a_waiting_submit_racing_with_close_runs_once_or_gives_the_job_back() {
    model(|| {
        let (pool, workers) = unspawned(1, 1);
        let jobs = [Tracked::new(0), Tracked::new(1)];
        let first = pool
            .try_submit(jobs[0].job(false))
            .unwrap_or_else(|_| panic!("room for job 0"));
        let threads = spawn_worker_and_closer(&pool, workers);

        let second = match block_on(pool.submit(jobs[1].job(false))) {
            Ok(handle) => Some(handle),
            Err(refused) => {
                jobs[1].assert_came_back(&refused.into_inner());
                None
            }
        };

        for thread in threads {
            thread.join().unwrap();
        }
        assert_ran_once(&jobs[0], first);
        let count = 1 + usize::from(second.is_some());
        if let Some(handle) = second {
            assert_ran_once(&jobs[1], handle);
        }
        assert_report(&pool, count, count, 0);
    });
}

/// A panic does not cost the pool its worker: the only worker runs job 0, which panics, and must
/// then run job 1, while main queues both and closes the pool. (The panic is caught by the pool's
/// `catch_unwind`, inside the loom thread.)
#[test]
fn a_panicking_job_leaves_its_worker_running() {
    quiet_job_panics();
    model(|| {
        let (pool, workers) = unspawned(1, 2);
        let mut workers = workers.into_iter();
        let worker = spawn_worker(workers.next().expect("one worker"));

        let jobs = [Tracked::new(0), Tracked::new(1)];
        let failing = pool
            .try_submit(jobs[0].job(true))
            .unwrap_or_else(|_| panic!("room for job 0"));
        let next = pool
            .try_submit(jobs[1].job(false))
            .unwrap_or_else(|_| panic!("room for job 1"));
        assert!(pool.close());

        assert_eq!(
            block_on(next),
            Ok(11),
            "the job after the panic did not run"
        );
        assert_eq!(
            block_on(failing),
            Err(JobError::Panicked(format!("{MARKER} job 0 fails").into()))
        );
        worker.join().unwrap();
        assert_eq!((jobs[0].runs(), jobs[1].runs()), (1, 1));
        assert_report(&pool, 2, 1, 1);
    });
}

/// Regression (found by this model): the pool counted a job as accepted only after `submit` /
/// `try_submit` had pushed it, so a shutdown that ran between the push and the count — here main
/// closes the pool, waits for its worker (which runs the job) and takes the report while the
/// submitting thread is still inside `try_submit` — reported `accepted: 0, completed: 1`, against
/// the documented `accepted == completed + panicked + cancelled + aborted` once the shutdown has
/// returned. The count and the push now happen under one lock.
#[test]
fn the_report_adds_up_while_a_submission_races_with_shutdown() {
    model(|| {
        let (pool, workers) = unspawned(1, 1);
        let mut workers = workers.into_iter();
        let worker = spawn_worker(workers.next().expect("one worker"));
        let job = Tracked::new(0);
        let submitter = {
            let pool = Arc::clone(&pool);
            let job = job.job(false);
            thread::spawn(move || pool.try_submit(job).is_ok())
        };

        assert!(pool.close());
        worker.join().unwrap();
        let report = block_on(pool.shutdown());
        assert_eq!(
            report.accepted,
            report.completed + report.panicked + report.cancelled.len() + report.aborted.len(),
            "the report does not add up: {report:?}"
        );
        let accepted = submitter.join().unwrap();
        assert_eq!(job.runs(), usize::from(accepted));
    });
}

/// `shutdown()` racing a submission and a running job: one worker runs a job accepted before,
/// a thread submits a second, and main shuts the pool down. Every accepted job runs exactly once
/// and resolves, a refused one comes back without running, the worker exits, and once it has,
/// the report adds up (accepted = completed + panicked + cancelled + aborted). (A pool built
/// unspawned cannot wait for its workers: its `shutdown` stops intake and reports as things
/// stand, so the report is read again after the worker is joined.)
#[test]
fn shutdown_racing_a_submission_and_a_running_job_loses_nothing() {
    model(|| {
        let (pool, workers) = unspawned(1, 1);
        let first = Tracked::new(0);
        let handle = pool.try_submit(first.job(false)).expect("room for one");
        let worker = spawn_worker(workers.into_iter().next().expect("one worker"));
        let second = Tracked::new(1);
        let submitter = {
            let pool = Arc::clone(&pool);
            let job = second.job(false);
            thread::spawn(move || match pool.try_submit(job) {
                Ok(handle) => Some(block_on(handle)),
                Err(TrySubmitError::Full(back) | TrySubmitError::Closed(back)) => {
                    assert_eq!(back.id, 1, "a refused submission gave back another job");
                    None
                }
            })
        };
        drop(block_on(pool.shutdown()));
        worker.join().unwrap();
        assert_eq!(block_on(handle), Ok(1), "the running job's handle");
        let outcome = submitter.join().unwrap();
        let accepted = 1 + usize::from(outcome.is_some());
        assert_eq!(first.runs(), 1);
        match outcome {
            Some(result) => {
                assert_eq!(result, Ok(11), "an accepted job must run to its output");
                assert_eq!(second.runs(), 1);
            }
            None => assert_eq!(second.runs(), 0, "a refused job ran"),
        }
        let report = block_on(pool.shutdown());
        assert_eq!(
            report.accepted,
            report.completed + report.panicked + report.cancelled.len() + report.aborted.len(),
            "the report does not add up: {report:?}"
        );
        assert_eq!(report.accepted, accepted);
    });
}
