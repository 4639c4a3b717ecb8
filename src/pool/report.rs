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

/// Live counters, updated as each job's outcome is recorded.
#[derive(Debug, Default)]
pub(super) struct Tally {
    accepted: AtomicUsize,
    running: AtomicUsize,
    completed: AtomicUsize,
    panicked: AtomicUsize,
    lost: Mutex<Lost>,
}

#[derive(Debug, Default)]
struct Lost {
    cancelled: Vec<JobId>,
    aborted: Vec<JobId>,
}

impl Tally {
    pub(super) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn started(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    pub(super) fn record<T>(&self, id: JobId, started: bool, outcome: &Result<T, JobError>) {
        if started {
            self.running.fetch_sub(1, Ordering::Relaxed);
        }
        match outcome {
            Ok(_) => {
                self.completed.fetch_add(1, Ordering::Relaxed);
            }
            Err(JobError::Panicked(_)) => {
                self.panicked.fetch_add(1, Ordering::Relaxed);
            }
            Err(JobError::Cancelled) => lock(&self.lost).cancelled.push(id),
            Err(JobError::Aborted) => lock(&self.lost).aborted.push(id),
        }
    }

    pub(super) fn report(&self, elapsed: Duration) -> ShutdownReport {
        let lost = lock(&self.lost);
        let mut cancelled = lost.cancelled.clone();
        let mut aborted = lost.aborted.clone();
        cancelled.sort_unstable();
        aborted.sort_unstable();
        ShutdownReport {
            accepted: self.accepted.load(Ordering::Acquire),
            completed: self.completed.load(Ordering::Acquire),
            panicked: self.panicked.load(Ordering::Acquire),
            cancelled,
            aborted,
            elapsed,
        }
    }
}
