//! The semaphore's FIFO queue of waiters: nodes that live inside their own `Acquire` futures,
//! linked by pointer (an *intrusive* list).
//!
//! Why intrusive: a woken waiter must learn whether it was granted. When its grant sat in a slot
//! of a shared slab, it had to take the semaphore's lock to read it — a third lock acquisition per
//! contended acquire and release, paid on the hottest contended path (semaphore(4) with 128 tasks
//! on 2 workers: 1.18-1.26x tokio). Here the grant is an atomic in the waiter's own node, which the
//! waiter reads without the lock; the node's memory is pinned in its future, so it neither moves nor
//! needs an allocation: queueing never allocates.
//!
//! # The protocol (what makes the `unsafe` below sound)
//!
//! - A node is linked into the queue only by its owning future, under the lock, after the future
//!   was pinned; its memory then stays put until the future's `Drop` runs (the `Pin` contract).
//! - The node's links and waker are read and written only under the semaphore's lock.
//! - `remaining` is written only under the lock. When the lock holder completes a node (granted
//!   or closed out) it unlinks it, takes its waker, and only then stores the final `remaining`
//!   with `Release`: that store is its last access to the node. The owner, seeing the final value
//!   with `Acquire`, may then free the node without taking the lock.
//! - The owner's `Drop`, if it has not seen a final value, takes the lock and unlinks its node
//!   itself (or finds, under the lock, that it was completed meanwhile), so the queue never holds
//!   a pointer to freed memory.
//! - The owner reaches its node through `Pin<&mut Acquire>` while the lock holder may read it
//!   through the queue's pointer. Every field the lock holder touches is an atomic or a cell (or
//!   `needed`, written before the node is shared), and the node is `!Unpin` (`PhantomPinned`),
//!   which is what exempts a `&mut` to it from being assumed unique — the contract tokio's
//!   intrusive lists rely on, and what Miri checks when it runs the lock tests.

use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

use super::wake_list::WakeList;
use crate::loom::UnsafeCell;
use crate::loom::atomic::{AtomicUsize, Ordering};

/// `remaining` once the semaphore closed the waiter out: above any request (`MAX_PERMITS` is
/// `usize::MAX >> 3`), so it cannot be mistaken for a count.
const CLOSED_OUT: usize = usize::MAX;

/// What a queued waiter's node says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Still queued, waiting for this many more permits.
    Waiting(usize),
    /// All its permits were assigned: they belong to the owner now. Unlinked.
    Granted,
    /// The semaphore closed while it waited; permits assigned to it went back. Unlinked.
    Closed,
}

impl Outcome {
    fn from_remaining(remaining: usize) -> Self {
        match remaining {
            0 => Outcome::Granted,
            CLOSED_OUT => Outcome::Closed,
            n => Outcome::Waiting(n),
        }
    }
}

#[derive(Debug, Default)]
struct Links {
    prev: Option<NonNull<Waiter>>,
    next: Option<NonNull<Waiter>>,
}

/// One waiter's node, embedded in its `Acquire` future.
#[derive(Debug)]
pub(super) struct Waiter {
    /// Permits asked for; set when the future is made, before the node can be shared.
    needed: usize,
    /// Permits still to assign; 0 = granted, [`CLOSED_OUT`] = closed out. Written under the lock
    /// only; read by the owner without it.
    remaining: AtomicUsize,
    /// Under the lock only.
    waker: UnsafeCell<Option<Waker>>,
    /// Under the lock only.
    links: UnsafeCell<Links>,
    /// Other nodes point at this one while it is queued.
    _pinned: PhantomPinned,
}

// The raw pointers in `links` make `Waiter` neither `Send` nor `Sync` by default. They are only
// followed under the semaphore's lock, and every node they reach is kept alive by the protocol in
// the module docs; `waker` is likewise only touched under the lock, and `Waker` is `Send + Sync`;
// `remaining` is atomic, and `needed` is never written after the node is shared.
// SAFETY: for those reasons, moving a node to another thread shares nothing unsynchronised.
unsafe impl Send for Waiter {}
// SAFETY: as for `Send`: shared access goes through the lock or the atomic.
unsafe impl Sync for Waiter {}

impl Waiter {
    pub(super) fn new(needed: usize) -> Self {
        Waiter {
            needed,
            remaining: AtomicUsize::new(needed),
            waker: UnsafeCell::new(None),
            links: UnsafeCell::new(Links::default()),
            _pinned: PhantomPinned,
        }
    }

    pub(super) fn needed(&self) -> usize {
        self.needed
    }

    /// The owner's look at its node, lock-free. A final outcome (granted or closed) is stable and
    /// the queue no longer touches the node; `Waiting` may be stale — confirm it under the lock.
    pub(super) fn outcome(&self) -> Outcome {
        Outcome::from_remaining(self.remaining.load(Ordering::Acquire))
    }

    /// A node that was never queued, completed by its own future's slow path: granted (the
    /// permits are the owner's) or closed out. Nobody else has seen the node.
    pub(super) fn complete_unqueued(&self, granted: bool) {
        let remaining = if granted { 0 } else { CLOSED_OUT };
        self.remaining.store(remaining, Ordering::Relaxed);
    }

    /// Under the lock (the `&WaiterQueue` proves it): the node's state, final or not.
    pub(super) fn outcome_locked(&self, _queue: &WaiterQueue) -> Outcome {
        self.outcome()
    }

    /// Under the lock: makes the stored waker one that wakes the same task as `waker`. Runs no
    /// user code: if the stored one will not do, `clone` (made by the caller from `waker`
    /// before it took the lock) takes its place, and the replaced waker is returned, for the
    /// caller to drop once the lock is released (`Ok(None)`: nothing to drop). `Err(())` if a
    /// clone is needed and none was given.
    pub(super) fn update_waker(
        &self,
        _queue: &mut WaiterQueue,
        waker: &Waker,
        clone: Option<Waker>,
    ) -> Result<Option<Waker>, ()> {
        self.waker.with_mut(|slot| {
            // SAFETY: the waker is only touched under the lock, which `_queue` proves is held.
            let slot = unsafe { &mut *slot };
            if slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                // `clone` (if any) is dropped by the caller with the lock released.
                return Ok(clone);
            }
            let clone = clone.ok_or(())?;
            Ok(slot.replace(clone))
        })
    }
}

impl Drop for Waiter {
    /// Drops the waker, and clears the links, through their cells rather than as plain drop glue,
    /// so that under loom these last writes are checked against the queue's accesses: a queue that
    /// touched the node after publishing its outcome would race with them, and the models would
    /// say so. (Without loom the cells are plain and this is the drop glue's work.)
    fn drop(&mut self) {
        // SAFETY: `&mut self`: the node is out of the queue (the owner's `Drop` saw to that).
        drop(self.waker.with_mut(|slot| unsafe { (*slot).take() }));
        // SAFETY: as above.
        self.links
            .with_mut(|links| unsafe { *links = Links::default() });
    }
}

/// The FIFO list of queued nodes. Lives under the semaphore's lock.
#[derive(Debug, Default)]
pub(super) struct WaiterQueue {
    head: Option<NonNull<Waiter>>,
    tail: Option<NonNull<Waiter>>,
}

// SAFETY: the queue holds pointers to nodes that are `Sync` and outlive their membership (module
// docs); it is only ever used under the semaphore's lock.
unsafe impl Send for WaiterQueue {}

impl WaiterQueue {
    pub(super) const fn new() -> Self {
        WaiterQueue {
            head: None,
            tail: None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Number of queued waiters (walks the queue: diagnostics only).
    pub(super) fn len(&self) -> usize {
        let mut n = 0;
        let mut at = self.head;
        while let Some(node) = at {
            n += 1;
            // SAFETY: a queued node is alive (module docs) and its links are read under the lock.
            at = unsafe { node.as_ref() }
                .links
                .with(|links| unsafe { (*links).next });
        }
        n
    }

    /// Appends `waiter`, which already holds `assigned` of its permits (only when it is first in
    /// line) and will be woken through `waker`.
    ///
    /// # Safety
    ///
    /// `waiter` is not queued, and stays pinned and alive until it is completed by this queue or
    /// removed with [`remove`](Self::remove).
    pub(super) unsafe fn push_back(&mut self, waiter: &Waiter, assigned: usize, waker: Waker) {
        debug_assert!(assigned < waiter.needed);
        waiter
            .remaining
            .store(waiter.needed - assigned, Ordering::Relaxed);
        waiter.waker.with_mut(|slot| {
            // SAFETY: under the lock (`&mut self`), and the node is not shared with anyone else yet.
            unsafe { *slot = Some(waker) }
        });
        let node = NonNull::from(waiter);
        waiter.links.with_mut(|links| {
            // SAFETY: as above.
            unsafe {
                *links = Links {
                    prev: self.tail,
                    next: None,
                }
            }
        });
        match self.tail {
            // SAFETY: the tail is a live queued node; its links are ours under the lock.
            Some(tail) => unsafe { tail.as_ref() }
                .links
                .with_mut(|links| unsafe { (*links).next = Some(node) }),
            None => self.head = Some(node),
        }
        self.tail = Some(node);
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
            let Some(head) = self.head else { break };
            // SAFETY: a queued node is alive until it is completed here or removed by its owner,
            // both under the lock we hold.
            let waiter = unsafe { head.as_ref() };
            let remaining = waiter.remaining.load(Ordering::Relaxed);
            if permits < remaining {
                waiter
                    .remaining
                    .store(remaining - permits, Ordering::Relaxed);
                return 0;
            }
            permits -= remaining;
            self.complete_head(waiter, 0, wakers);
        }
        permits
    }

    /// Closes out queued waiters, in queue order, collecting their wakers; returns the permits that
    /// had been assigned to them (they go back to the semaphore). Stops early when `wakers` is
    /// full; the caller wakes that batch and calls again until the queue is empty.
    pub(super) fn close<const N: usize>(&mut self, wakers: &mut WakeList<N>) -> usize {
        let mut returned = 0;
        while !wakers.is_full() {
            let Some(head) = self.head else { break };
            // SAFETY: as in `assign`.
            let waiter = unsafe { head.as_ref() };
            returned += waiter.needed - waiter.remaining.load(Ordering::Relaxed);
            self.complete_head(waiter, CLOSED_OUT, wakers);
        }
        returned
    }

    /// Unlinks the head `waiter`, moves its waker to `wakers`, and publishes its final
    /// `remaining` — the last access to the node, after which its owner may free it.
    fn complete_head<const N: usize>(
        &mut self,
        waiter: &Waiter,
        remaining: usize,
        wakers: &mut WakeList<N>,
    ) {
        // SAFETY: `waiter` is the head of this queue.
        unsafe { self.unlink(waiter) };
        // SAFETY: under the lock; the node is alive until the store below.
        if let Some(waker) = waiter.waker.with_mut(|slot| unsafe { (*slot).take() }) {
            wakers.push(waker);
        }
        waiter.remaining.store(remaining, Ordering::Release);
    }

    /// Removes a waiter whose future is being dropped while it still waits; returns the permits
    /// that had been assigned to it, which the caller passes on.
    ///
    /// # Safety
    ///
    /// `waiter` is in this queue (its outcome, read under the lock, is `Waiting`).
    pub(super) unsafe fn remove(&mut self, waiter: &Waiter) -> usize {
        let remaining = waiter.remaining.load(Ordering::Relaxed);
        debug_assert!(remaining != 0 && remaining != CLOSED_OUT);
        // SAFETY: the caller's contract: the node is queued here. Its waker stays in it, to be
        // dropped with the node by its owner, after the lock is released.
        unsafe { self.unlink(waiter) };
        waiter.needed - remaining
    }

    /// Takes `waiter` out of the list, joining its neighbours.
    ///
    /// # Safety
    ///
    /// `waiter` is in this queue (else its stale links would be followed, and `head` or `tail`
    /// overwritten).
    unsafe fn unlink(&mut self, waiter: &Waiter) {
        // SAFETY: under the lock (`&mut self`); the node and its neighbours are queued, so alive.
        let Links { prev, next } = waiter
            .links
            .with_mut(|links| unsafe { std::mem::take(&mut *links) });
        match prev {
            // SAFETY: as above.
            Some(prev) => unsafe { prev.as_ref() }
                .links
                .with_mut(|links| unsafe { (*links).next = next }),
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { next.as_ref() }
                .links
                .with_mut(|links| unsafe { (*links).prev = prev }),
            None => self.tail = prev,
        }
    }
}
