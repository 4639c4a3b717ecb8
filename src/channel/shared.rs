//! The state both ends share: the queue, and two counts with their FIFO queues of waiters, all
//! under one lock.
//!
//! `room` counts free capacity and `ready` counts values no receiver has been granted yet. They
//! are the semaphore's count and waitlist ([`LockedSemaphore`]) kept beside the queue, so a send
//! or a receive takes the lock once: a send takes room, pushes and grants a ready value (to the
//! first waiting receiver, else to the count); a receive takes a ready value, pops and gives room
//! back (to the first waiting sender, else to the count). Waiters are woken after the lock is
//! released.
//!
//! Invariants, while the channel is open:
//! - room: `room` available + room granted to senders not yet used + reserved permits + queued
//!   values = capacity;
//! - values: `ready` available + values granted to receivers not yet taken = queued values. So a
//!   receiver granted a value finds one, unless the channel was closed and another receiver took
//!   it (receivers drain a closed channel without a grant), and then the queue is empty for good.
//!
//! Waiting is in `wait.rs`. Cancel safety follows from the waitlist: a waiter dropped after its
//! grant hands it to the next waiter or back to the count — the value itself never left the queue.

use std::collections::VecDeque;

use super::TryReserveError;
use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, lock};
use crate::sync::locked::{LockedSemaphore, WakeList};

/// The waiter one send or receive may wake (there is at most one).
pub(super) type WakeOne = WakeList<1>;

pub(super) struct Shared<T> {
    pub(super) state: Mutex<State<T>>,
    pub(super) capacity: usize,
    pub(super) senders: AtomicUsize,
    pub(super) receivers: AtomicUsize,
}

pub(super) struct State<T> {
    pub(super) values: VecDeque<T>,
    pub(super) closed: bool,
    pub(super) room: LockedSemaphore,
    pub(super) ready: LockedSemaphore,
}

/// What a non-waiting send found.
pub(super) enum TrySend<T> {
    Sent,
    Full(T),
    Closed(T),
}

/// What a non-waiting receive found.
pub(super) enum TryRecv<T> {
    Value(T),
    Empty,
    /// Closed and drained.
    Closed,
}

impl<T> Shared<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Shared {
            state: Mutex::new(State {
                values: VecDeque::new(),
                closed: false,
                room: LockedSemaphore::new(capacity),
                ready: LockedSemaphore::new(0),
            }),
            capacity,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Sends `value` if there is room now and no sender waits for room: one lock.
    pub(super) fn try_send(&self, value: T) -> TrySend<T> {
        let mut wakers = WakeOne::new();
        let mut state = lock(&self.state);
        if state.closed {
            return TrySend::Closed(value);
        }
        if !state.room.try_take() {
            return TrySend::Full(value);
        }
        state.enqueue(value, &mut wakers);
        drop(state);
        wakers.wake_all();
        TrySend::Sent
    }

    /// Takes room for one value if there is some now and no sender waits for room.
    pub(super) fn try_reserve(&self) -> Result<(), TryReserveError> {
        let mut state = lock(&self.state);
        if state.closed {
            Err(TryReserveError::Closed)
        } else if state.room.try_take() {
            Ok(())
        } else {
            Err(TryReserveError::Full)
        }
    }

    /// Enqueues `value` for a sender that holds room (which then belongs to the value). Refuses,
    /// giving the value back, if the channel is closed; the room is then still the caller's.
    pub(super) fn push(&self, value: T) -> Result<(), T> {
        let mut wakers = WakeOne::new();
        let mut state = lock(&self.state);
        if state.closed {
            return Err(value);
        }
        state.enqueue(value, &mut wakers);
        drop(state);
        wakers.wake_all();
        Ok(())
    }

    /// Gives back room a sender held and did not use.
    pub(super) fn release_room(&self) {
        let mut wakers = WakeOne::new();
        lock(&self.state).room.release_one(&mut wakers);
        wakers.wake_all();
    }

    /// Receives a value if one is ready now and no receiver waits ahead: one lock.
    pub(super) fn try_recv(&self) -> TryRecv<T> {
        let mut wakers = WakeOne::new();
        let mut state = lock(&self.state);
        let value = if state.closed {
            state.values.pop_front()
        } else if state.ready.try_take() {
            state.dequeue(&mut wakers)
        } else {
            return TryRecv::Empty;
        };
        drop(state);
        wakers.wake_all();
        value.map_or(TryRecv::Closed, TryRecv::Value)
    }

    /// Closes both directions; values already queued stay for the receivers. Idempotent;
    /// returns whether this call closed it.
    pub(super) fn close(&self) -> bool {
        self.close_with(|_| ()).0
    }

    /// Closes and drops every queued value (the last receiver is gone). The values are dropped
    /// after the lock is released: their `Drop` may run any code.
    pub(super) fn close_and_drain(&self) {
        let (_, values) = self.close_with(|state| std::mem::take(&mut state.values));
        drop(values);
    }

    /// Closes, runs `also` under the lock, and wakes every waiter (in batches, outside the lock).
    fn close_with<R>(&self, also: impl FnOnce(&mut State<T>) -> R) -> (bool, R) {
        let mut wakers: WakeList = WakeList::new();
        let mut state = lock(&self.state);
        let was_open = !std::mem::replace(&mut state.closed, true);
        let result = also(&mut state);
        loop {
            let done = state.room.close(&mut wakers) && state.ready.close(&mut wakers);
            drop(state);
            wakers.wake_all();
            if done {
                return (was_open, result);
            }
            state = lock(&self.state);
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.state).values.len()
    }

    /// Counts a new handle of one side.
    pub(super) fn clone_handle(count: &AtomicUsize) {
        count.fetch_add(1, Ordering::Relaxed);
    }

    /// Uncounts a handle; true if it was the last of its side.
    pub(super) fn drop_handle(count: &AtomicUsize) -> bool {
        count.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

impl<T> State<T> {
    /// Queues a value whose room is already taken, and grants it to the first waiting receiver
    /// (else counts it ready).
    pub(super) fn enqueue(&mut self, value: T, wakers: &mut WakeOne) {
        self.values.push_back(value);
        self.ready.release_one(wakers);
    }

    /// Takes the front value for a receiver granted one, and gives its room to the first waiting
    /// sender (else counts it free). `None` only once closed and drained.
    pub(super) fn dequeue(&mut self, wakers: &mut WakeOne) -> Option<T> {
        let value = self.values.pop_front();
        if value.is_some() {
            self.room.release_one(wakers);
        }
        value
    }
}
