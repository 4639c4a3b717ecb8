//! The one future behind every `acquire*` method: it joins the queue, and undoes that on drop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Semaphore;
use super::error::AcquireError;
use super::waitlist::{WaitKey, WaitState};
use crate::loom::lock;

/// Resolves to `Ok(())` once `needed` permits belong to the caller (who must then wrap them in a
/// permit that gives them back), or to the close error.
///
/// Cancel safety: dropping it before it resolves gives back every permit that was assigned to it —
/// a partial assignment at the head of the queue, or a full grant it never observed — and passes
/// them straight on to the next waiters, so no permit and no wakeup is lost.
#[derive(Debug)]
pub(crate) struct Acquire<'a> {
    semaphore: &'a Semaphore,
    needed: usize,
    /// `Some` while queued.
    key: Option<WaitKey>,
}

impl<'a> Acquire<'a> {
    pub(super) fn new(semaphore: &'a Semaphore, needed: usize) -> Self {
        Acquire {
            semaphore,
            needed,
            key: None,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let semaphore = this.semaphore;
        match this.key {
            None => {
                if this.needed > Semaphore::MAX_PERMITS {
                    return Poll::Ready(Err(AcquireError::too_many()));
                }
                match semaphore.try_take(this.needed) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(super::TryAcquireError::Closed) => {
                        return Poll::Ready(Err(AcquireError::closed()));
                    }
                    Err(super::TryAcquireError::NoPermits) => {}
                }
                match semaphore.take_or_enqueue(this.needed, cx.waker()) {
                    Ok(None) => Poll::Ready(Ok(())),
                    Ok(Some(key)) => {
                        this.key = Some(key);
                        Poll::Pending
                    }
                    Err(closed) => Poll::Ready(Err(closed)),
                }
            }
            Some(key) => {
                let state = lock(&semaphore.waiters).poll(key, cx.waker());
                match state {
                    WaitState::Waiting => Poll::Pending,
                    WaitState::Granted => {
                        this.key = None;
                        Poll::Ready(Ok(()))
                    }
                    WaitState::Closed => {
                        this.key = None;
                        Poll::Ready(Err(AcquireError::closed()))
                    }
                }
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut waiters = lock(&self.semaphore.waiters);
            let returned = waiters.cancel(key);
            self.semaphore.release_locked(returned, waiters);
        }
    }
}
