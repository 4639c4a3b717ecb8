//! The pool's errors. Every error that refuses a job gives it back.

use std::fmt;

/// [`Builder::build`](super::Builder::build) was given an impossible configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Zero workers: no job could ever run.
    ZeroWorkers,
    /// A queue capacity of zero: no job could ever be accepted.
    ZeroQueueCapacity,
    /// A queue capacity above [`channel::MAX_CAPACITY`](crate::channel::MAX_CAPACITY) (the
    /// queue is a channel, whose slots are allocated up front).
    QueueTooLarge,
    /// More workers than [`MAX_WORKERS`](super::MAX_WORKERS).
    TooManyWorkers,
    /// `build` was called outside a tokio runtime, so the workers cannot be spawned.
    NoRuntime,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildError::ZeroWorkers => "a worker pool needs at least one worker",
            BuildError::ZeroQueueCapacity => "a worker pool needs a queue capacity of at least 1",
            BuildError::QueueTooLarge => "queue capacity exceeds channel::MAX_CAPACITY",
            BuildError::TooManyWorkers => "worker count exceeds pool::MAX_WORKERS",
            BuildError::NoRuntime => "a worker pool must be built inside a tokio runtime",
        })
    }
}

impl std::error::Error for BuildError {}

/// [`submit`](super::WorkerPool::submit) refused the job because the pool is shut down; the job
/// is given back, not run.
#[derive(Clone, PartialEq, Eq)]
pub struct SubmitError<J>(pub J);

impl<J> SubmitError<J> {
    /// The job that was not accepted.
    pub fn into_inner(self) -> J {
        self.0
    }
}

/// [`try_submit`](super::WorkerPool::try_submit) refused the job; it is given back, not run.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySubmitError<J> {
    /// The queue is full (or submitters are waiting for room ahead of this one).
    Full(J),
    /// The pool is shut down.
    Closed(J),
}

impl<J> TrySubmitError<J> {
    /// The job that was not accepted.
    pub fn into_inner(self) -> J {
        match self {
            TrySubmitError::Full(job) | TrySubmitError::Closed(job) => job,
        }
    }

    /// Whether the queue was full (as opposed to the pool being shut down).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySubmitError::Full(_))
    }
}

impl<J> fmt::Debug for SubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubmitError(..)")
    }
}

impl<J> fmt::Display for SubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the worker pool is shut down; the job was not accepted")
    }
}

impl<J> std::error::Error for SubmitError<J> {}

impl<J> fmt::Debug for TrySubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySubmitError::Full(_) => "Full(..)",
            TrySubmitError::Closed(_) => "Closed(..)",
        })
    }
}

impl<J> fmt::Display for TrySubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySubmitError::Full(_) => "the worker pool's queue is full; the job was not accepted",
            TrySubmitError::Closed(_) => "the worker pool is shut down; the job was not accepted",
        })
    }
}

impl<J> std::error::Error for TrySubmitError<J> {}
