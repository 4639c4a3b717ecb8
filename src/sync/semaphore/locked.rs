//! The semaphore's count and FIFO queue without a lock or atomics of their own, for a structure
//! that keeps them beside its other state under its one lock.
//!
//! The channel counts its free room and its ready values this way: a send or a receive then takes
//! one lock, where two [`Semaphore`](super::Semaphore)s and a queue lock took three, and the
//! producer and consumer bounce one cache line between cores instead of three. Waiting keeps the
//! semaphore's guarantees, from the same [`Waitlist`]: FIFO grants, and a cancelled waiter hands
//! back what it was granted so it can be passed on.
//!
//! Every request is for one permit. Invariant (as in the semaphore): while anyone waits, nothing is
//! available — a release goes to the head of the queue first — so [`try_take`](LockedSemaphore::try_take)
//! never overtakes a waiter.

use std::task::Waker;

use super::waitlist::Waitlist;
pub(crate) use super::waitlist::{WaitKey, WaitState};
pub(crate) use super::wake_list::WakeList;

#[derive(Debug)]
pub(crate) struct LockedSemaphore {
    available: usize,
    waiters: Waitlist,
}

impl LockedSemaphore {
    pub(crate) const fn new(permits: usize) -> Self {
        LockedSemaphore {
            available: permits,
            waiters: Waitlist::new(),
        }
    }

    /// Takes a permit if one is available (none is while anyone waits).
    pub(crate) fn try_take(&mut self) -> bool {
        if self.available == 0 {
            return false;
        }
        self.available -= 1;
        true
    }

    /// Queues a waiter for one permit, behind everyone queued.
    pub(crate) fn enqueue(&mut self, waker: &Waker) -> WaitKey {
        debug_assert_eq!(self.available, 0, "enqueue while a permit is available");
        self.waiters.push_back(1, 0, waker.clone())
    }

    /// A queued waiter's state; frees its place once it is granted or closed.
    pub(crate) fn poll(&mut self, key: WaitKey, waker: &Waker) -> WaitState {
        self.waiters.poll(key, waker)
    }

    /// Gives one permit back: to the head of the queue (its waker goes into `wakers`, to be woken
    /// once the lock is released) or, if nobody waits, to the available count.
    pub(crate) fn release_one<const N: usize>(&mut self, wakers: &mut WakeList<N>) {
        debug_assert!(
            !wakers.is_full(),
            "no room in `wakers` for the waiter to wake"
        );
        self.available += self.waiters.assign(1, wakers);
    }

    /// Removes a waiter whose future was dropped and passes on the permit it had been granted,
    /// if any (to the next waiter, whose waker goes into `wakers`).
    pub(crate) fn cancel<const N: usize>(&mut self, key: WaitKey, wakers: &mut WakeList<N>) {
        if self.waiters.cancel(key) > 0 {
            self.release_one(wakers);
        }
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
