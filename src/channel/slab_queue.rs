//! A FIFO queue of waiters kept in a slab of reusable slots, linked into a doubly linked list by
//! index: the storage of the channel's [`TurnQueue`](super::turns::TurnQueue).
//!
//! The [`Semaphore`](crate::sync::Semaphore) keeps its waiters in their own futures instead (its
//! `waiter_queue`), so that a woken waiter needs no lock to learn its grant. A channel's waiter
//! takes the channel's lock anyway to move its value, so this simpler queue costs it nothing.
//!
//! Safe code only. A waiter is named by a [`WaitKey`] (slot index + generation), so a stale key
//! can never touch a slot that was freed and reused. Slots are kept after use, so once the slab has
//! grown to the largest number of simultaneous waiters, queueing allocates nothing.
//!
//! Every method runs under the owner's lock. Only the head of the queue ever holds permits
//! that were assigned to it while it still waits (a *partial* assignment): permits are handed out
//! strictly in queue order, so a waiter behind the head gets nothing until the head is satisfied.

use std::task::Waker;

use crate::sync::WakeList;

/// Names one waiter's slot; held only by the future that queued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaitKey {
    index: u32,
    generation: u32,
}

/// [`SlabQueue::poll`] needs a clone of the waker, made with the lock released.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NeedWaker;

/// What a queued waiter finds when it is polled again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WaitState {
    /// Still queued; the waker has been updated.
    Waiting,
    /// Its permits were all assigned; they now belong to the caller. The slot is freed.
    Granted,
    /// The semaphore was closed while it waited. The slot is freed.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free { next_free: Option<u32> },
    Waiting,
    Granted,
    Closed,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    state: SlotState,
    needed: usize,
    assigned: usize,
    waker: Option<Waker>,
    prev: Option<u32>,
    next: Option<u32>,
}

#[derive(Debug, Default)]
pub(super) struct SlabQueue {
    slots: Vec<Slot>,
    free_head: Option<u32>,
    head: Option<u32>,
    tail: Option<u32>,
}

impl SlabQueue {
    pub(super) const fn new() -> Self {
        SlabQueue {
            slots: Vec::new(),
            free_head: None,
            head: None,
            tail: None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Appends a waiter that still needs `needed - assigned` permits.
    pub(super) fn push_back(&mut self, needed: usize, assigned: usize, waker: Waker) -> WaitKey {
        debug_assert!(assigned < needed);
        let index = match self.free_head {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                let SlotState::Free { next_free } = slot.state else {
                    unreachable!("free list points at a slot in use");
                };
                self.free_head = next_free;
                index
            }
            None => {
                let index = u32::try_from(self.slots.len())
                    .expect("more than u32::MAX simultaneous waiters on one semaphore");
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free { next_free: None },
                    needed: 0,
                    assigned: 0,
                    waker: None,
                    prev: None,
                    next: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.state = SlotState::Waiting;
        slot.needed = needed;
        slot.assigned = assigned;
        slot.waker = Some(waker);
        slot.prev = self.tail;
        slot.next = None;
        let generation = slot.generation;
        match self.tail {
            Some(tail) => self.slots[tail as usize].next = Some(index),
            None => self.head = Some(index),
        }
        self.tail = Some(index);
        WaitKey { index, generation }
    }

    /// Hands up to `permits` to the waiters in queue order; returns the permits left over.
    ///
    /// Stops early, with permits possibly left, only when `wakers` is full: the caller wakes that
    /// batch outside the lock and calls again.
    pub(super) fn assign<const N: usize>(
        &mut self,
        mut permits: usize,
        wakers: &mut WakeList<N>,
    ) -> usize {
        while permits > 0 && !wakers.is_full() {
            let Some(index) = self.head else { break };
            let slot = &mut self.slots[index as usize];
            let given = permits.min(slot.needed - slot.assigned);
            slot.assigned += given;
            permits -= given;
            if slot.assigned < slot.needed {
                break;
            }
            slot.state = SlotState::Granted;
            if let Some(waker) = slot.waker.take() {
                wakers.push(waker);
            }
            self.unlink(index);
        }
        permits
    }

    /// Marks queued waiters closed, in queue order, collecting their wakers; returns the permits
    /// that had been assigned to them (they go back to the semaphore). Stops early when `wakers` is
    /// full; the caller wakes that batch and calls again until the queue is empty.
    pub(super) fn close<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> usize {
        let mut returned = 0;
        while !wakers.is_full() {
            let Some(index) = self.head else { break };
            let slot = &mut self.slots[index as usize];
            returned += std::mem::take(&mut slot.assigned);
            slot.state = SlotState::Closed;
            if let Some(waker) = slot.waker.take() {
                wakers.push(waker);
            }
            self.unlink(index);
        }
        returned
    }

    /// Called when the waiter's future is polled again: reports its state, making the stored
    /// waker one that wakes the same task as `waker` while it waits, and freeing the slot once it
    /// is granted or closed.
    ///
    /// Runs no user code (the owner's lock is held): if the stored waker will not do, `spare` —
    /// a clone of `waker` the caller made with the lock released — takes its place, and the
    /// replaced waker is left in `spare` for the caller to drop once the lock is released.
    /// `Err(NeedWaker)` if a clone is needed and `spare` is empty.
    pub(super) fn poll(
        &mut self,
        key: WaitKey,
        waker: &Waker,
        spare: &mut Option<Waker>,
    ) -> Result<WaitState, NeedWaker> {
        let slot = self.slot_mut(key);
        match slot.state {
            SlotState::Waiting => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    let clone = spare.take().ok_or(NeedWaker)?;
                    *spare = slot.waker.replace(clone);
                }
                Ok(WaitState::Waiting)
            }
            SlotState::Granted => {
                self.free(key.index);
                Ok(WaitState::Granted)
            }
            SlotState::Closed => {
                self.free(key.index);
                Ok(WaitState::Closed)
            }
            SlotState::Free { .. } => unreachable!("a live WaitKey names a free slot"),
        }
    }

    /// Called when the waiter's future is dropped before it saw the outcome: removes it and returns
    /// the permits it held — partially assigned ones if it was still queued, all of them if it had
    /// been granted but never polled again — so the caller can pass them on, and its waker, for
    /// the caller to drop once the lock is released (a waker's drop is user code).
    pub(super) fn cancel(&mut self, key: WaitKey) -> (usize, Option<Waker>) {
        let slot = self.slot_mut(key);
        let waker = slot.waker.take();
        let returned = match slot.state {
            SlotState::Waiting => {
                let assigned = slot.assigned;
                self.unlink(key.index);
                assigned
            }
            SlotState::Granted => slot.needed,
            SlotState::Closed => 0,
            SlotState::Free { .. } => unreachable!("a live WaitKey names a free slot"),
        };
        self.free(key.index);
        (returned, waker)
    }

    fn slot_mut(&mut self, key: WaitKey) -> &mut Slot {
        let slot = &mut self.slots[key.index as usize];
        assert_eq!(slot.generation, key.generation, "stale WaitKey");
        slot
    }

    fn unlink(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        let (prev, next) = (slot.prev.take(), slot.next.take());
        match prev {
            Some(prev) => self.slots[prev as usize].next = next,
            None => self.head = next,
        }
        match next {
            Some(next) => self.slots[next as usize].prev = prev,
            None => self.tail = prev,
        }
    }

    fn free(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.state = SlotState::Free {
            next_free: self.free_head,
        };
        // Taken by the grant, the close or the cancel: a waker's drop never runs here.
        debug_assert!(slot.waker.is_none(), "a freed slot still held a waker");
        slot.needed = 0;
        slot.assigned = 0;
        self.free_head = Some(index);
    }
}
