//! The state both ends share: two semaphores and the queue.
//!
//! `slots` counts free capacity and `items` counts values ready to receive, so both directions
//! wait in the semaphore's FIFO queues and inherit its cancel safety: a `send` dropped while it
//! waits for space holds no slot, and a `recv` dropped after a value's permit was assigned to it
//! gives the permit back to the next receiver — the value itself never left the queue.
//!
//! Invariant: `items` permits never exceed the queue's length (a sender pushes, then adds the
//! permit; a receiver takes the permit, then pops), so a receiver holding a permit finds a value,
//! unless the channel was closed and a drainer took it (then the queue is empty for good).

use std::collections::VecDeque;

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, lock};
use crate::sync::Semaphore;

pub(super) struct Shared<T> {
    pub(super) slots: Semaphore,
    pub(super) items: Semaphore,
    queue: Mutex<Queue<T>>,
    pub(super) capacity: usize,
    pub(super) senders: AtomicUsize,
    pub(super) receivers: AtomicUsize,
}

struct Queue<T> {
    values: VecDeque<T>,
    closed: bool,
}

impl<T> Shared<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Shared {
            slots: Semaphore::new(capacity),
            items: Semaphore::new(0),
            queue: Mutex::new(Queue {
                values: VecDeque::new(),
                closed: false,
            }),
            capacity,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Enqueues `value` for a sender that holds a slot (which it then gives up to the value).
    /// Refuses, giving the value back, if the channel closed while the slot was being acquired.
    pub(super) fn push(&self, value: T) -> Result<(), T> {
        let mut queue = lock(&self.queue);
        if queue.closed {
            return Err(value);
        }
        queue.values.push_back(value);
        drop(queue);
        self.items.add_permits(1);
        Ok(())
    }

    /// Dequeues for a receiver that holds an item permit (`had_permit`) or found the channel
    /// closed. A dequeued value frees its slot.
    pub(super) fn pop(&self, had_permit: bool) -> Option<T> {
        let value = lock(&self.queue).values.pop_front();
        if value.is_some() && had_permit {
            self.slots.add_permits(1);
        }
        value
    }

    /// Closes both directions; values already queued stay for the receivers. Idempotent;
    /// returns whether this call closed it.
    pub(super) fn close(&self) -> bool {
        let was_open = !std::mem::replace(&mut lock(&self.queue).closed, true);
        self.slots.close();
        self.items.close();
        was_open
    }

    /// Closes and drops every queued value (the last receiver is gone).
    pub(super) fn close_and_drain(&self) {
        self.close();
        let values = std::mem::take(&mut lock(&self.queue).values);
        drop(values);
    }

    pub(super) fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }

    pub(super) fn len(&self) -> usize {
        lock(&self.queue).values.len()
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
