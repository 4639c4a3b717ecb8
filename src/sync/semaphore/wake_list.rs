//! A fixed-size batch of wakers, woken after the semaphore's lock is released.
//!
//! Waking under the lock would make every woken task contend for that lock at once; collecting
//! wakers in a fixed array keeps the release path allocation-free. When more than
//! `N` (32 in the semaphore) waiters become ready in one release, the caller wakes a full batch with
//! the lock released and takes the lock again for the rest.
//!
//! Cheap when it holds one waker or none, the usual case: the array is filled with a constant
//! (a `memset`), never moved (`wake_all` takes `&mut self`), and dropping it touches only the
//! slots in use (the array is in a `ManuallyDrop`, and `Drop` drops the first `len` slots; the
//! others are never filled, so nothing is leaked).

use std::mem::ManuallyDrop;
use std::task::Waker;

///
/// `N` is the batch size: 32 for the semaphore; 1 where one operation wakes at most one waiter
/// (a channel's send or receive), which keeps the list to one slot to fill and check.
pub(crate) struct WakeList<const N: usize = 32> {
    /// Slots `..len` may hold wakers; slots `len..` are always `None`.
    wakers: ManuallyDrop<[Option<Waker>; N]>,
    len: usize,
}

impl<const N: usize> WakeList<N> {
    pub(crate) fn new() -> Self {
        WakeList {
            wakers: ManuallyDrop::new([const { None }; N]),
            len: 0,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds a waker; the caller checks [`is_full`](Self::is_full) first.
    pub(super) fn push(&mut self, waker: Waker) {
        debug_assert!(!self.is_full());
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    /// Wakes every collected waker, in the order they were pushed (FIFO), and empties the list.
    pub(crate) fn wake_all(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(waker) = slot.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

impl<const N: usize> Drop for WakeList<N> {
    /// Drops the wakers not woken (there are some only if a waker panicked in `wake_all`); the
    /// slots past `len` are `None`, so skipping their drop leaks nothing.
    fn drop(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            drop(slot.take());
        }
    }
}
