//! A future raced against the injected clock, with the future polled first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::time::{Clock, Instant};

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Elapsed;

/// `start + timeout`, or `None` (no deadline) when that is past what an `Instant` can hold.
pub(super) fn deadline_after(start: Instant, timeout: Duration) -> Option<Instant> {
    start.checked_add(timeout)
}

/// Runs `future` until `deadline` on `clock`. The future is polled before the clock on every
/// poll, so one that is ready at once wins even against a deadline already passed.
pub(super) fn within<'c, C: Clock, F: Future>(
    clock: &'c C,
    deadline: Option<Instant>,
    future: F,
) -> Within<F, impl Future<Output = ()> + Send + 'c> {
    Within {
        future,
        sleep: deadline.map(|deadline| clock.sleep_until(deadline)),
    }
}

pin_project! {
    pub(super) struct Within<F, S> {
        #[pin]
        future: F,
        #[pin]
        sleep: Option<S>,
    }
}

impl<F: Future, S: Future<Output = ()>> Future for Within<F, S> {
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
