//! A future raced against a [`Clock`]'s deadline, with the future polled first: the one timeout
//! of the crate (the connection pool's phases, the fetch path's phases, the shutdown's deadline).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Clock, Instant};

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

/// Runs `future` until `deadline` on `clock` (`None`: no deadline). The future is polled before
/// the clock on every poll, so one that is ready at once wins even against a deadline already
/// passed.
pub(crate) fn timeout_at<'c, C: Clock, F: Future>(
    clock: &'c C,
    deadline: Option<Instant>,
    future: F,
) -> TimeoutAt<F, impl Future<Output = ()> + Send + 'c> {
    TimeoutAt {
        future,
        sleep: deadline.map(|deadline| clock.sleep_until(deadline)),
    }
}

pin_project! {
    pub(crate) struct TimeoutAt<F, S> {
        #[pin]
        future: F,
        #[pin]
        sleep: Option<S>,
    }
}

impl<F: Future, S: Future<Output = ()>> Future for TimeoutAt<F, S> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|()| Err(Elapsed)),
            None => Poll::Pending,
        }
    }
}
