//! The [`WorkerPool`] with more parties than its loom models can afford: four workers, two
//! submitters (one waiting for room with `submit`, one with `try_submit`, each with a job that
//! panics), a `submit` cancelled after one poll, and main shutting the pool down part-way (once
//! the first job is in), over a queue of one.
//!
//! The pool is built with `build_unspawned`: each worker is a shuttle thread driving
//! `Worker::run` with `block_on`, no tokio runtime involved. Its `shutdown` then stops intake and
//! returns the report as it stands; the workers drain the queue and exit on their own.
//!
//! Checked after joining every thread: each accepted job ran exactly once and its handle had
//! resolved (to the job's output, or `Panicked` with its message) before the workers exited;
//! each refused job came back to its submitter and never ran, and every submission made after the
//! shutdown had returned was refused; a cancelled `submit` that had not completed queued nothing;
//! the final report adds up (`accepted == completed + panicked + cancelled + aborted`) and agrees
//! with the handles, and the part-way report never counts an outcome without its acceptance; no
//! job is left running or queued, and every worker exits (one left waiting is shuttle's deadlock).

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Waker};

use async_patterns::pool::{JobError, JobHandle, ShutdownReport, TrySubmitError, WorkerPool};
use shuttle::future::block_on;
use shuttle::sync::mpsc;
use shuttle::thread;

use crate::runner::check_here;

const WORKERS: usize = 4;
const QUEUE: usize = 1;
/// The ids of each submitter's jobs: submitter 0 submits jobs 0 to 2, submitter 1 jobs 3 and 4.
const JOBS: [Range<usize>; 2] = [0..3, 3..5];
const ALL_JOBS: usize = 5;

/// Every panic a job raises on purpose starts with this; the quiet hook drops its report.
const MARKER: &str = "[shuttle pool job]";

/// A job that counts its runs, yields once (its worker is preempted half-way through it), then
/// panics or returns `10 * id + 1`. A refused job comes back as this value, so its `id` tells
/// which job it is.
struct CountedJob {
    id: usize,
    runs: Arc<AtomicUsize>,
    panics: bool,
    yielded: bool,
}

impl Future for CountedJob {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if !self.yielded {
            self.runs.fetch_add(1, Ordering::SeqCst);
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.panics {
            panic!("{MARKER} job {} fails", self.id);
        }
        Poll::Ready(10 * self.id + 1)
    }
}

/// Jobs 1 and 4 panic: one of each submitter's.
fn panics(id: usize) -> bool {
    id == 1 || id == 4
}

/// What became of a submission, as its submitter saw it.
enum Submitted {
    Accepted(JobHandle<usize>),
    /// Refused (full or shut down): the job came back, and is checked at once.
    Refused,
    /// A `submit` dropped before it completed.
    Cancelled,
}

/// Jobs panic on purpose: keep their reports out of the output (once per schedule otherwise).
/// Installed after shuttle's own hook (which reports every panic of a task, caught or not), so
/// that the marked panics do not reach it; every other panic is reported as usual.
fn quiet_job_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Shuttle installs its hook in its first execution: make sure that has happened.
        shuttle::check_random(|| {}, 1);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !crate::hostile::panic_message(info.payload()).starts_with(MARKER) {
                previous(info);
            }
        }));
    });
}

/// Submitter `s` submits its jobs `JOBS[s]`: submitter 0 with `submit` (waiting for room; its
/// last one polled once and dropped), submitter 1 with `try_submit`. Submitter 0 tells main when
/// its first job is in (accepted or refused): main then shuts the pool down.
fn submitter(
    pool: &WorkerPool,
    s: usize,
    runs: &[Arc<AtomicUsize>],
    shut_down: &AtomicBool,
    first_in: &mpsc::Sender<()>,
) -> Vec<Submitted> {
    let mut outcomes = Vec::new();
    for id in JOBS[s].clone() {
        let job = CountedJob {
            id,
            runs: Arc::clone(&runs[id]),
            panics: panics(id),
            yielded: false,
        };
        let after_shutdown = shut_down.load(Ordering::SeqCst);
        let came_back = |back: CountedJob| {
            assert_eq!(back.id, id, "a refused submission gave back another job");
            assert!(!back.yielded, "refused job {id} was polled");
            Submitted::Refused
        };
        let outcome = if s == 0 && id == JOBS[0].end - 1 {
            let mut submit = std::pin::pin!(pool.submit(job));
            match submit
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(Ok(handle)) => Submitted::Accepted(handle),
                Poll::Ready(Err(refused)) => came_back(refused.into_inner()),
                Poll::Pending => Submitted::Cancelled,
            }
        } else if s == 0 {
            match block_on(pool.submit(job)) {
                Ok(handle) => Submitted::Accepted(handle),
                Err(refused) => came_back(refused.into_inner()),
            }
        } else {
            match pool.try_submit(job) {
                Ok(handle) => Submitted::Accepted(handle),
                Err(refused @ TrySubmitError::Full(_)) => {
                    assert!(!after_shutdown, "refused as full after the shutdown");
                    came_back(refused.into_inner())
                }
                Err(TrySubmitError::Closed(back)) => came_back(back),
            }
        };
        if after_shutdown {
            assert!(
                !matches!(outcome, Submitted::Accepted(_)),
                "job {id} accepted after the shutdown had returned"
            );
        }
        outcomes.push(outcome);
        if s == 0 && id == 0 {
            first_in.send(()).unwrap();
        }
    }
    outcomes
}

/// Once counting what is settled, a report can never count an outcome without its acceptance.
fn assert_consistent(report: &ShutdownReport) {
    assert!(
        report.completed + report.panicked + report.cancelled.len() + report.aborted.len()
            <= report.accepted,
        "a report counts outcomes of jobs it does not count as accepted: {report:?}"
    );
}

fn many_parties() {
    let (pool, workers) = WorkerPool::builder()
        .workers(WORKERS)
        .queue_capacity(QUEUE)
        .build_unspawned()
        .expect("a valid configuration");
    let pool = Arc::new(pool);
    let runs: Arc<Vec<Arc<AtomicUsize>>> = Arc::new(
        (0..ALL_JOBS)
            .map(|_| Arc::new(AtomicUsize::new(0)))
            .collect(),
    );
    let shut_down = Arc::new(AtomicBool::new(false));
    let (first_in, first_in_seen) = mpsc::channel();

    let workers: Vec<_> = workers
        .into_iter()
        .map(|worker| thread::spawn(move || block_on(worker.run())))
        .collect();
    let submitters: Vec<_> = (0..JOBS.len())
        .map(|s| {
            let (pool, runs, shut_down) =
                (Arc::clone(&pool), Arc::clone(&runs), Arc::clone(&shut_down));
            let first_in = first_in.clone();
            thread::spawn(move || submitter(&pool, s, &runs, &shut_down, &first_in))
        })
        .collect();
    drop(first_in);

    // Main shuts the pool down part-way: once submitter 0's first job is in.
    first_in_seen.recv().unwrap();
    let partway = block_on(pool.shutdown());
    shut_down.store(true, Ordering::SeqCst);
    assert!(pool.is_shut_down());
    assert_consistent(&partway);

    let outcomes: Vec<Submitted> = submitters
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }

    let (mut accepted, mut completed, mut panicked) = (0, 0, 0);
    for (id, outcome) in outcomes.into_iter().enumerate() {
        let ran = runs[id].load(Ordering::SeqCst);
        match outcome {
            Submitted::Accepted(handle) => {
                accepted += 1;
                assert_eq!(ran, 1, "accepted job {id} ran {ran} times");
                assert!(
                    handle.is_finished(),
                    "job {id}: its handle had not resolved after the workers exited"
                );
                let expected = if panics(id) {
                    panicked += 1;
                    Err(JobError::Panicked(
                        format!("{MARKER} job {id} fails").into(),
                    ))
                } else {
                    completed += 1;
                    Ok(10 * id + 1)
                };
                assert_eq!(block_on(handle), expected, "job {id}");
            }
            Submitted::Refused | Submitted::Cancelled => {
                assert_eq!(ran, 0, "job {id}, never accepted, ran {ran} times");
            }
        }
    }

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
        "nothing is cancelled or aborted without a deadline: {report:?}"
    );
    assert!(
        partway.accepted <= report.accepted,
        "{partway:?} then {report:?}"
    );
    assert_eq!(pool.running(), 0, "jobs still counted as running");
    assert_eq!(pool.queued(), 0, "jobs left in the queue");
}

/// Measured at the default budget in release: 2.8 to 3.6 s per scheduler (random, PCT), 5.5 to
/// 7 s in all, on a 2-core machine shared with other builds — above the ~5 s aimed at. The four
/// workers are the cost: four of them waiting on the empty queue, closed and joined, with no job
/// at all, take 1.4 to 1.5 s per scheduler; fewer jobs, no yield in the jobs and no panics were
/// each measured and saved nothing noticeable, so the parties the test is about stay.
#[test]
fn pool_many_parties_resolve_every_accepted_job_once() {
    quiet_job_panics();
    check_here(many_parties);
}
