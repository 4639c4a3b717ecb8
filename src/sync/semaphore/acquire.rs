//! The one future behind every `acquire*` method: it joins the queue, and undoes that on drop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Semaphore;
use super::error::AcquireError;
use super::waiter_queue::{Outcome, Waiter};
use crate::loom::lock;
use crate::sync::coop;

/// Resolves to `Ok(())` once `needed` permits belong to the caller (who must then wrap them in a
/// permit that gives them back), or to the close error.
///
/// Its queue node lives inside it (see `waiter_queue`), so it is `!Unpin`: it is awaited in
/// place, which is all the crate does with it. The node is only made when the lock-free attempt
/// fails: an uncontended acquire writes none of it and has nothing to drop.
///
/// Cooperative scheduling: once the permits are its, it spends a unit of the task's tokio budget
/// (`sync::coop`); with the budget spent it keeps the permits (`held`) and yields, and the next
/// poll hands them over.
///
/// Cancel safety: dropping it before it resolves gives back every permit that was assigned to it —
/// a partial assignment at the head of the queue, a full grant it never observed, or permits it
/// held while yielding for the budget — and passes them straight on to the next waiters, so no
/// permit and no wakeup is lost.
#[derive(Debug)]
pub(crate) struct Acquire<'a> {
    semaphore: &'a Semaphore,
    needed: usize,
    /// The queue node: `Some` while it is in the queue, or was completed there with an outcome
    /// this future has not yet reported. Made on the slow path, dropped once the outcome is seen.
    waiter: Option<Waiter>,
    /// The `needed` permits are this future's, out of the queue, but not yet handed to the caller
    /// (the task's budget was spent, or handing over is under way). `Drop` gives them back.
    held: bool,
}

impl<'a> Acquire<'a> {
    pub(super) fn new(semaphore: &'a Semaphore, needed: usize) -> Self {
        Acquire {
            semaphore,
            needed,
            waiter: None,
            held: false,
        }
    }

    /// Hands the permits, which are this future's, to the caller if the task's budget allows;
    /// otherwise keeps them for the next poll. `held` is set first: the budget check registers the
    /// waker (user code), and if that panics, `Drop` gives the permits back.
    fn hand_over(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        self.held = true;
        let budget = std::task::ready!(coop::poll_proceed(cx));
        budget.made_progress();
        self.held = false;
        Poll::Ready(Ok(()))
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of the future; its node stays where it is until `drop`.
        let this = unsafe { self.get_unchecked_mut() };
        let semaphore = this.semaphore;
        if this.held {
            return this.hand_over(cx);
        }
        if this.waiter.is_none() {
            let needed = this.needed;
            if needed > Semaphore::MAX_PERMITS {
                return Poll::Ready(Err(AcquireError::too_many()));
            }
            match semaphore.try_take(needed) {
                Ok(()) => return this.hand_over(cx),
                Err(super::TryAcquireError::Closed) => {
                    return Poll::Ready(Err(AcquireError::closed()));
                }
                Err(super::TryAcquireError::NoPermits) => {}
            }
            // Cloned before the node exists: the clone is user code, and if it panics the future
            // must not be left with a node that reads as queued but is not linked (its `Drop`
            // would then unlink it from a queue it is not in). Nothing has changed yet.
            let waker = cx.waker().clone();
            let waiter = this.waiter.insert(Waiter::new(needed));
            // SAFETY: the future is pinned (we are in `poll`), so the node stays put until `drop`,
            // which takes it out of the queue if it is still there; a node that was not queued
            // is completed in place, and removed from the future below.
            match unsafe { semaphore.take_or_enqueue(waiter, waker) } {
                Poll::Pending => return Poll::Pending,
                // Not queued, and completed: the waker's drop is user code, and if it panics,
                // `Drop` gives back what the node's outcome says is ours.
                Poll::Ready(unused) => drop(unused),
            }
        }
        let waiter = this
            .waiter
            .as_ref()
            .expect("set above or kept while waiting");
        // Woken by a grant (or close): the node says so without the lock.
        let mut outcome = waiter.outcome();
        // Polled before the outcome: confirm under the lock and leave the current waker. A waker
        // is user code (its clone and its drop may panic or call back into the semaphore), so
        // neither runs under the lock: a new waker is cloned with the lock released, and the one
        // it replaces is dropped after the lock is.
        let mut spare: Option<std::task::Waker> = None;
        while let Outcome::Waiting(_) = outcome {
            let mut queue = lock(&semaphore.waiters);
            outcome = waiter.outcome_locked(&queue);
            if let Outcome::Waiting(_) = outcome {
                match waiter.update_waker(&mut queue, cx.waker(), spare.take()) {
                    Ok(replaced) => {
                        drop(queue);
                        drop(replaced);
                        return Poll::Pending;
                    }
                    Err(()) => {
                        drop(queue);
                        spare = Some(cx.waker().clone());
                        outcome = waiter.outcome();
                    }
                }
            }
        }
        // Still holding the node: if this drop (user code) panics, `Drop` sees the outcome and
        // gives back a grant nobody will see.
        drop(spare);
        this.waiter = None;
        match outcome {
            Outcome::Granted => this.hand_over(cx),
            Outcome::Closed => Poll::Ready(Err(AcquireError::closed())),
            Outcome::Waiting(_) => unreachable!("handled above"),
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.held {
            // Out of the queue already (`waiter` is `None`): plain permits to give back.
            self.semaphore.release(self.needed);
            return;
        }
        let Some(waiter) = &self.waiter else {
            return;
        };
        let semaphore = self.semaphore;
        match waiter.outcome() {
            // Granted but never polled again: the permits are ours to give back.
            Outcome::Granted => semaphore.release(self.needed),
            Outcome::Closed => {}
            Outcome::Waiting(_) => {
                let mut queue = lock(&semaphore.waiters);
                let returned = match waiter.outcome_locked(&queue) {
                    Outcome::Granted => self.needed,
                    Outcome::Closed => 0,
                    // SAFETY: under the lock, the node says it is still queued.
                    Outcome::Waiting(_) => unsafe { queue.remove(waiter) },
                };
                // Even with nothing to hand on, this clears `QUEUED` if the queue is now empty.
                semaphore.release_locked(returned, queue);
            }
        }
    }
}
