//! The limiter's errors: a bad limit at construction, and a full limiter for `try_run`.

use std::fmt;

use crate::sync::Semaphore;

/// Why [`ConcurrencyLimiter::new`](super::ConcurrencyLimiter::new) refused a limit.
///
/// A limit is a programming decision, so a bad one is reported at construction instead of turning
/// into a limiter that never admits anything (0) or a panic deep inside the semaphore (too large).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// A limit of 0: nothing could ever run, every caller would wait forever.
    Zero,
    /// More than the semaphore can count ([`Semaphore::MAX_PERMITS`]).
    TooLarge {
        /// The limit that was asked for.
        requested: usize,
        /// The largest limit allowed, [`Semaphore::MAX_PERMITS`].
        max: usize,
    },
}

impl LimitError {
    pub(super) fn too_large(requested: usize) -> Self {
        LimitError::TooLarge {
            requested,
            max: Semaphore::MAX_PERMITS,
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::Zero => {
                f.write_str("a concurrency limit of 0 would never let anything run")
            }
            LimitError::TooLarge { requested, max } => write!(
                f,
                "a concurrency limit of {requested} is above the largest allowed ({max})"
            ),
        }
    }
}

impl std::error::Error for LimitError {}

/// [`ConcurrencyLimiter::try_run`](super::ConcurrencyLimiter::try_run) found no free slot (or
/// found others already queued for one); the future is handed back, never polled.
///
/// `Debug` and `Display` do not require anything of `F`, so `Busy<F>` is an [`Error`] for any
/// future and works with `?`.
///
/// [`Error`]: std::error::Error
pub struct Busy<F> {
    future: F,
}

impl<F> Busy<F> {
    pub(super) fn new(future: F) -> Self {
        Busy { future }
    }

    /// The future that was not admitted, untouched: run it later, or through
    /// [`run`](super::ConcurrencyLimiter::run) to wait for a slot.
    #[must_use = "dropping the future returned by `into_inner` cancels the work"]
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F> fmt::Debug for Busy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Busy").finish_non_exhaustive()
    }
}

impl<F> fmt::Display for Busy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every slot of the concurrency limiter is taken or queued for")
    }
}

impl<F> std::error::Error for Busy<F> {}
