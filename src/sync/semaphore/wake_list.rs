//! A fixed-size batch of wakers, woken after the semaphore's lock is released.
//!
//! Waking under the lock would make every woken task contend for that lock at once; collecting
//! wakers in a fixed array keeps the release path allocation-free. When more than
//! [`WakeList::CAPACITY`] waiters become ready in one release, the caller wakes a full batch with
//! the lock released and takes the lock again for the rest.

use std::task::Waker;

pub(super) struct WakeList {
    wakers: [Option<Waker>; Self::CAPACITY],
    len: usize,
}

impl WakeList {
    pub(super) const CAPACITY: usize = 32;

    pub(super) fn new() -> Self {
        WakeList {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// Adds a waker; the caller checks [`is_full`](Self::is_full) first.
    pub(super) fn push(&mut self, waker: Waker) {
        debug_assert!(!self.is_full());
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    /// Wakes every collected waker, in the order they were pushed (FIFO).
    pub(super) fn wake_all(mut self) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(waker) = slot.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}
