//! The channel's queue of turns: a FIFO queue of waiters for one turn each (a slot to send into,
//! or a value to take), kept under the channel's lock.
//!
//! The ring of slots says whether there is room or a value; whoever holds the lock hands turns to
//! the queue's head in arrival order ([`grant_one`](TurnQueue::grant_one)). Waiting keeps the
//! semaphore's guarantees: FIFO grants, and a cancelled waiter reports whether it was granted its
//! turn so that the turn can be passed on.

use std::task::Waker;

use super::slab_queue::SlabQueue;
pub(super) use super::slab_queue::{NeedWaker, WaitKey, WaitState};
use crate::sync::WakeList;

#[derive(Debug, Default)]
pub(super) struct TurnQueue {
    waiters: SlabQueue,
}

impl TurnQueue {
    pub(super) const fn new() -> Self {
        TurnQueue {
            waiters: SlabQueue::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Queues a waiter behind everyone queued.
    pub(super) fn enqueue(&mut self, waker: Waker) -> WaitKey {
        self.waiters.push_back(1, 0, waker)
    }

    /// A queued waiter's state; frees its place once it is granted or closed. No user code runs:
    /// see [`SlabQueue::poll`] for `spare` and `NeedWaker`.
    pub(super) fn poll(
        &mut self,
        key: WaitKey,
        waker: &Waker,
        spare: &mut Option<Waker>,
    ) -> Result<WaitState, NeedWaker> {
        self.waiters.poll(key, waker, spare)
    }

    /// Grants one permit to the head of the queue (its waker goes into `wakers`, which must have
    /// room, to be woken once the lock is released). `false` if nobody waits.
    pub(super) fn grant_one<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> bool {
        debug_assert!(
            !wakers.is_full(),
            "no room in `wakers` for the waiter to wake"
        );
        self.waiters.assign(1, wakers) == 0
    }

    /// Removes a waiter whose future was dropped; returns whether it had been granted its permit
    /// (which the caller then passes on), and its waker, to drop once the lock is released.
    pub(super) fn cancel(&mut self, key: WaitKey) -> (bool, Option<Waker>) {
        let (returned, waker) = self.waiters.cancel(key);
        (returned > 0, waker)
    }

    /// Marks queued waiters closed, in queue order, collecting their wakers; returns whether the
    /// queue is now empty (else `wakers` filled up: wake them outside the lock and call again).
    /// Waiters already granted keep their permit.
    pub(super) fn close<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> bool {
        let returned = self.waiters.close(wakers);
        // Only a waiter for more than one permit is ever granted part of its request.
        debug_assert_eq!(returned, 0, "a one-permit waiter held a partial grant");
        self.waiters.is_empty()
    }
}
