//! [`Tracked`]: a future whose completion a shutdown scope waits for.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::report::TaskId;
use super::scope::TaskGuard;

pin_project! {
    /// A future tracked by a [`Shutdown`](super::Shutdown) scope, from
    /// [`track`](super::Shutdown::track): the scope's [`wait`](super::Shutdown::wait) does not
    /// return while it is live.
    ///
    /// It is live from `track` until it completes (returns `Poll::Ready`) or is dropped,
    /// whichever comes first. Dropping it before completion (cancelling it) ends the tracking
    /// after the inner future has been dropped, so whatever the inner future releases in its
    /// destructor is released before `wait` can return.
    ///
    /// Polling it polls the inner future and nothing else; it adds no cancellation of its own
    /// (select on a [`ShutdownToken`](super::ShutdownToken) for that).
    #[must_use = "futures do nothing unless polled; dropping a Tracked counts its task as finished"]
    pub struct Tracked<F> {
        // Declared first, so dropped before the guard ends the tracking.
        #[pin]
        future: F,
        guard: Option<TaskGuard>,
        id: TaskId,
    }
}

impl<F> Tracked<F> {
    pub(super) fn new(future: F, guard: TaskGuard, id: TaskId) -> Self {
        Tracked {
            future,
            guard: Some(guard),
            id,
        }
    }

    /// The id this task has in the scope's [deadline reports](super::Unfinished).
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.id
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        // Completed: the task is finished now, not when this wrapper is eventually dropped.
        drop(this.guard.take());
        Poll::Ready(output)
    }
}

impl<F> fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("id", &self.id)
            .field("finished", &self.guard.is_none())
            .finish_non_exhaustive()
    }
}
