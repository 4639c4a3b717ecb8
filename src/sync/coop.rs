//! Cooperative scheduling: an acquire that is ready spends a unit of the task's tokio budget, and
//! once the budget is spent it yields instead, as tokio's own primitives do. Without it, a task
//! that loops on an always-free lock never returns to the scheduler and starves every other task
//! on its worker.
//!
//! Under `--cfg loom` and `--cfg shuttle` the hook always proceeds: the models run no tokio
//! runtime, so there is no budget to spend.

use std::task::{Context, Poll};

/// Proof that the task may proceed: call [`Budget::made_progress`] when the operation completes,
/// or drop it to give the unit back.
pub(crate) struct Budget {
    #[cfg(not(any(loom, shuttle)))]
    restore: tokio::task::coop::RestoreOnPending,
}

impl Budget {
    /// Keeps the unit spent: the operation completed.
    #[inline]
    pub(crate) fn made_progress(self) {
        #[cfg(not(any(loom, shuttle)))]
        self.restore.made_progress();
    }
}

/// `Ready` with a unit of budget, or `Pending` with the task's waker registered to run again once
/// the scheduler has had its turn. Outside a tokio runtime there is no budget and it always
/// proceeds.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<Budget> {
    #[cfg(not(any(loom, shuttle)))]
    {
        tokio::task::coop::poll_proceed(cx).map(|restore| Budget { restore })
    }
    #[cfg(any(loom, shuttle))]
    {
        let _ = cx;
        Poll::Ready(Budget {})
    }
}
