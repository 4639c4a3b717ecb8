//! The one-shot slot through which a job's outcome reaches its [`JobHandle`], exactly once.
//!
//! The job side holds an [`OutcomeSender`]. It resolves the slot when the job finishes (output or
//! panic); if it is dropped unresolved — the job was dropped from the queue at shutdown, or its
//! worker was aborted — its `Drop` resolves the slot as `Cancelled` (never started) or `Aborted`
//! (started). So every accepted job's handle resolves once, whatever happens to the job.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::report::Tally;
use crate::loom::{Arc, Mutex, lock};

/// How a job ended without producing its output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobError {
    /// The job panicked; the payload's message (if it was a string) is kept. The worker that ran
    /// it carries on: a panic never reduces the pool's capacity.
    Panicked(String),
    /// The job never started: the pool was shut down with a deadline that passed while the job
    /// was still queued.
    Cancelled,
    /// The job had started and was aborted when a shutdown deadline passed. (A blocking job cannot
    /// be stopped: its closure runs to completion on tokio's blocking pool, but its output is
    /// discarded.)
    Aborted,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Panicked(message) => write!(f, "job panicked: {message}"),
            JobError::Cancelled => f.write_str("job cancelled before it started (pool shut down)"),
            JobError::Aborted => f.write_str("job aborted at the shutdown deadline"),
        }
    }
}

impl std::error::Error for JobError {}

/// A job's identity within its pool, in submission order.
pub type JobId = u64;

enum Slot<T> {
    Waiting(Option<Waker>),
    Ready(Result<T, JobError>),
    Taken,
}

/// Creates a connected sender and handle for job `id`.
pub(super) fn channel<T>(id: JobId, tally: Arc<Tally>) -> (OutcomeSender<T>, JobHandle<T>) {
    let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
    (
        OutcomeSender {
            slot: Arc::clone(&slot),
            id,
            tally,
            started: false,
            resolved: false,
        },
        JobHandle { slot, id },
    )
}

/// The job side: resolves the handle once; its `Drop` resolves it if the job never did.
pub(super) struct OutcomeSender<T> {
    slot: Arc<Mutex<Slot<T>>>,
    id: JobId,
    tally: Arc<Tally>,
    started: bool,
    resolved: bool,
}

impl<T> OutcomeSender<T> {
    /// Marks the job as running (idempotent): from now on an unresolved drop means `Aborted`.
    pub(super) fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.tally.started();
        }
    }

    /// Drops the sender of a job that was refused (never accepted): nothing is recorded, and
    /// its handle was never given out.
    pub(super) fn disarm(mut self) {
        self.resolved = true;
    }

    pub(super) fn resolve(mut self, outcome: Result<T, JobError>) {
        self.resolve_once(outcome);
    }

    fn resolve_once(&mut self, outcome: Result<T, JobError>) {
        self.resolved = true;
        self.tally.record(self.id, self.started, &outcome);
        let previous = std::mem::replace(&mut *lock(&self.slot), Slot::Ready(outcome));
        if let Slot::Waiting(Some(waker)) = previous {
            waker.wake();
        }
    }
}

impl<T> Drop for OutcomeSender<T> {
    fn drop(&mut self) {
        if !self.resolved {
            let error = if self.started {
                JobError::Aborted
            } else {
                JobError::Cancelled
            };
            self.resolve_once(Err(error));
        }
    }
}

/// Resolves to the job's output, or the [`JobError`] that says why there is none. Resolves
/// exactly once for every accepted job.
///
/// Dropping the handle does not cancel the job: it runs anyway and its output is dropped.
#[must_use = "a job's handle is the only way to learn its output or that it panicked"]
pub struct JobHandle<T> {
    slot: Arc<Mutex<Slot<T>>>,
    id: JobId,
}

impl<T> JobHandle<T> {
    /// The job's id, as listed in a [`ShutdownReport`](super::ShutdownReport).
    #[must_use]
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Whether the outcome is ready (awaiting the handle will not wait).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        !matches!(*lock(&self.slot), Slot::Waiting(_))
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.slot);
        match &mut *slot {
            Slot::Waiting(waker) => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Slot::Ready(_) => match std::mem::replace(&mut *slot, Slot::Taken) {
                Slot::Ready(outcome) => Poll::Ready(outcome),
                _ => unreachable!(),
            },
            Slot::Taken => panic!("JobHandle polled after it resolved"),
        }
    }
}

impl<T> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
