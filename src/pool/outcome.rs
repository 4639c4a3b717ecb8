//! The one-shot slot through which a job's outcome reaches its [`JobHandle`], exactly once.
//!
//! The slot lives in the job's own allocation (`job.rs`). The job's queue entry resolves it when
//! the job finishes (output or panic); if the entry is dropped first — the job was dropped from
//! the queue at shutdown, or its worker was aborted — its `Drop` resolves the slot as `Cancelled`
//! (never started) or `Aborted` (started). So every accepted job's handle resolves once, whatever
//! happens to the job.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::job::Job;
use crate::Panicked;
use crate::loom::{Arc, Mutex, lock};

/// How a job ended without producing its output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobError {
    /// The job panicked; the payload's message (if it was a string) is kept. The worker that ran
    /// it carries on: a panic never reduces the pool's capacity.
    Panicked(Panicked),
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
            JobError::Panicked(panicked) => match panicked.message() {
                Some(message) => write!(f, "job panicked: {message}"),
                None => f.write_str("job panicked with a non-string payload"),
            },
            JobError::Cancelled => f.write_str("job cancelled before it started (pool shut down)"),
            JobError::Aborted => f.write_str("job aborted at the shutdown deadline"),
        }
    }
}

impl std::error::Error for JobError {}

/// A job's identity within its pool, in submission order.
pub type JobId = u64;

enum SlotState<T> {
    Waiting(Option<Waker>),
    Ready(Result<T, JobError>),
    Taken,
}

/// Where a job's outcome waits for its handle (inside the job's [`JobCell`](super::job::JobCell)).
pub(super) struct OutcomeSlot<T>(Mutex<SlotState<T>>);

impl<T> OutcomeSlot<T> {
    pub(super) fn new() -> Self {
        OutcomeSlot(Mutex::new(SlotState::Waiting(None)))
    }

    /// Stores the outcome; returns the handle's waker, for the caller to wake once it has
    /// recorded that the job is resolved (a waker is user code: if its `wake` panics, nothing
    /// may be left to resolve the job a second time). Called once per job (by its queue entry).
    #[must_use = "the handle's waker must be woken"]
    pub(super) fn resolve(&self, outcome: Result<T, JobError>) -> Option<Waker> {
        let previous = std::mem::replace(&mut *lock(&self.0), SlotState::Ready(outcome));
        debug_assert!(
            matches!(previous, SlotState::Waiting(_)),
            "a job's outcome was resolved twice"
        );
        match previous {
            SlotState::Waiting(waker) => waker,
            _ => None,
        }
    }
}

/// Resolves to the job's output, or the [`JobError`] that says why there is none. Resolves
/// exactly once for every accepted job.
///
/// Dropping the handle does not cancel the job: it runs anyway and its output is dropped.
#[must_use = "a job's handle is the only way to learn its output or that it panicked"]
pub struct JobHandle<T> {
    /// The job itself (one allocation with its outcome slot): an `OutcomeSlot<T>` inside.
    job: Arc<dyn Job>,
    id: JobId,
    output: PhantomData<fn() -> T>,
}

impl<T: 'static> JobHandle<T> {
    pub(super) fn new(job: Arc<dyn Job>, id: JobId) -> Self {
        JobHandle {
            job,
            id,
            output: PhantomData,
        }
    }

    fn slot(&self) -> &OutcomeSlot<T> {
        self.job
            .slot()
            .downcast_ref()
            .expect("a handle's type is its job's output type")
    }
}

impl<T: 'static> JobHandle<T> {
    /// The job's id, as listed in a [`ShutdownReport`](super::ShutdownReport).
    #[must_use]
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Whether the outcome is ready (awaiting the handle will not wait).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        !matches!(*lock(&self.slot().0), SlotState::Waiting(_))
    }
}

impl<T: 'static> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A waker is user code: it is cloned with the lock released (only when the stored one
        // would not wake this task), and the one it replaces is dropped after the lock is.
        let mut clone: Option<Waker> = None;
        loop {
            let mut slot = lock(&self.slot().0);
            match &mut *slot {
                SlotState::Waiting(waker) => {
                    if waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        drop(slot);
                        drop(clone);
                        return Poll::Pending;
                    }
                    if let Some(new) = clone.take() {
                        let replaced = waker.replace(new);
                        drop(slot);
                        drop(replaced);
                        return Poll::Pending;
                    }
                }
                SlotState::Ready(_) => match std::mem::replace(&mut *slot, SlotState::Taken) {
                    SlotState::Ready(outcome) => return Poll::Ready(outcome),
                    _ => unreachable!(),
                },
                SlotState::Taken => panic!("JobHandle polled after it resolved"),
            }
            drop(slot);
            clone = Some(cx.waker().clone());
        }
    }
}

impl<T: 'static> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
