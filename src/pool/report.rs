//! What a pool did: live counters, and the report its shutdown returns.

use std::time::Duration;

use super::outcome::{JobError, JobId};
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, lock};

/// What happened to every job the pool accepted, as returned by
/// [`WorkerPool::shutdown`](super::WorkerPool::shutdown) and
/// [`shutdown_within`](super::WorkerPool::shutdown_within).
///
/// `accepted == completed + panicked + cancelled.len() + aborted.len()` once the shutdown has
/// returned (blocking jobs counted as aborted may still be running on tokio's blocking pool).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs accepted by `submit*` over the pool's life.
    pub accepted: usize,
    /// Jobs that ran to completion and returned their output.
    pub completed: usize,
    /// Jobs that panicked (their handles got [`JobError::Panicked`]).
    pub panicked: usize,
    /// Jobs that never started because the deadline passed (handles got
    /// [`JobError::Cancelled`]), by id.
    pub cancelled: Vec<JobId>,
    /// Jobs that were running at the deadline and were aborted (handles got
    /// [`JobError::Aborted`]), by id.
    pub aborted: Vec<JobId>,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

/// Live counters, updated as each job is accepted and as its outcome is recorded.
///
/// One lock over all of them, so a report is a consistent cut: a submission counts its job as
/// accepted under this lock in the same step as it queues it ([`Tally::accept`]), so no report
/// can see a job's outcome without its acceptance, or an acceptance of a job that was refused.
#[derive(Debug, Default)]
pub(super) struct Tally {
    counts: Mutex<Counts>,
    running: AtomicUsize,
}

#[derive(Debug, Default)]
struct Counts {
    accepted: usize,
    completed: usize,
    panicked: usize,
    cancelled: Vec<JobId>,
    aborted: Vec<JobId>,
}

impl Tally {
    /// Runs `enqueue` (which queues a job, or fails and hands it back) and counts the job as
    /// accepted if it was queued — both under the lock.
    pub(super) fn accept<E>(&self, enqueue: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut counts = lock(&self.counts);
        enqueue()?;
        counts.accepted += 1;
        Ok(())
    }

    pub(super) fn started(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Records how job `id` ended: `failure` is `None` if it completed.
    pub(super) fn record(&self, id: JobId, started: bool, failure: Option<&JobError>) {
        if started {
            self.running.fetch_sub(1, Ordering::Relaxed);
        }
        let mut counts = lock(&self.counts);
        match failure {
            None => counts.completed += 1,
            Some(JobError::Panicked(_)) => counts.panicked += 1,
            Some(JobError::Cancelled) => counts.cancelled.push(id),
            Some(JobError::Aborted) => counts.aborted.push(id),
        }
    }

    pub(super) fn report(&self, elapsed: Duration) -> ShutdownReport {
        let counts = lock(&self.counts);
        let mut cancelled = counts.cancelled.clone();
        let mut aborted = counts.aborted.clone();
        cancelled.sort_unstable();
        aborted.sort_unstable();
        ShutdownReport {
            accepted: counts.accepted,
            completed: counts.completed,
            panicked: counts.panicked,
            cancelled,
            aborted,
            elapsed,
        }
    }
}
