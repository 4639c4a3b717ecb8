//! A FIFO queue of waiters for one permit each, whose permits are counted elsewhere, for a
//! structure that keeps it under its own lock.
//!
//! The channel queues its waiting senders and receivers this way: its ring of slots says whether
//! there is room or a value, and its lock holder hands them to the queue's head in arrival order
//! ([`grant_one`](WaitQueue::grant_one)). Waiting keeps the semaphore's guarantees, from the same
//! [`Waitlist`]: FIFO grants, and a cancelled waiter reports what it was granted so it can be
//! passed on.

use std::task::Waker;

use super::waitlist::Waitlist;
pub(crate) use super::waitlist::{NeedWaker, WaitKey, WaitState};
pub(crate) use super::wake_list::WakeList;

#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    waiters: Waitlist,
}

impl WaitQueue {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            waiters: Waitlist::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Queues a waiter behind everyone queued.
    pub(crate) fn enqueue(&mut self, waker: Waker) -> WaitKey {
        self.waiters.push_back(1, 0, waker)
    }

    /// A queued waiter's state; frees its place once it is granted or closed. No user code runs:
    /// see [`Waitlist::poll`] for `spare` and `NeedWaker`.
    pub(crate) fn poll(
        &mut self,
        key: WaitKey,
        waker: &Waker,
        spare: &mut Option<Waker>,
    ) -> Result<WaitState, NeedWaker> {
        self.waiters.poll(key, waker, spare)
    }

    /// Grants one permit to the head of the queue (its waker goes into `wakers`, which must have
    /// room, to be woken once the lock is released). `false` if nobody waits.
    pub(crate) fn grant_one<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> bool {
        debug_assert!(
            !wakers.is_full(),
            "no room in `wakers` for the waiter to wake"
        );
        self.waiters.assign(1, wakers) == 0
    }

    /// Removes a waiter whose future was dropped; returns whether it had been granted its permit
    /// (which the caller then passes on), and its waker, to drop once the lock is released.
    pub(crate) fn cancel(&mut self, key: WaitKey) -> (bool, Option<Waker>) {
        let (returned, waker) = self.waiters.cancel(key);
        (returned > 0, waker)
    }

    /// Marks queued waiters closed, in queue order, collecting their wakers; returns whether the
    /// queue is now empty (else `wakers` filled up: wake them outside the lock and call again).
    /// Waiters already granted keep their permit.
    pub(crate) fn close<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> bool {
        let returned = self.waiters.close(wakers);
        // Only a waiter for more than one permit is ever granted part of its request.
        debug_assert_eq!(returned, 0, "a one-permit waiter held a partial grant");
        self.waiters.is_empty()
    }
}
