//! The fair (FIFO) async semaphore: the core that the crate's locks, limiter and pool stand on.
//!
//! Files: `waiter_queue` (the FIFO queue of nodes kept in the waiters' own futures), `acquire`
//! (the cancel-safe future), `permit`, `wake_list` (wakers woken outside the lock, also the
//! channel's), `error`.

mod acquire;
mod error;
mod permit;
mod waiter_queue;
mod wake_list;

use std::fmt;
use std::task::{Poll, Waker};

use crate::loom::atomic::{AtomicUsize, Ordering};
use crate::loom::{Mutex, MutexGuard, ReceiverArc as Arc, lock};

pub(crate) use acquire::Acquire;
use waiter_queue::{Waiter, WaiterQueue};
pub(crate) use wake_list::WakeList;

pub use error::{AcquireError, TryAcquireError};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};

/// The state word: bit 0 = closed, bit 1 = waiters queued, the rest = available permits.
///
/// Invariant: while `QUEUED` is set, the available count is 0 — every permit released while
/// someone waits is assigned to the queue under the lock — and `QUEUED` is set and cleared only
/// under the lock. So a lock-free fast path that sees `QUEUED` clear and enough permits may take
/// them without overtaking anyone: its compare-and-swap fails if a waiter queued meanwhile.
const CLOSED: usize = 1;
const QUEUED: usize = 2;
const SHIFT: u32 = 2;

/// A counting semaphore whose permits are granted in FIFO order, a drop-in for
/// [`tokio::sync::Semaphore`](https://docs.rs/tokio/1/tokio/sync/struct.Semaphore.html).
///
/// The same method names, signatures and error types as tokio's, so switching is a change of
/// import.
///
/// # Guarantees
///
/// - **At most the permits there are.** Permits out (held by [`SemaphorePermit`]s and
///   [`OwnedSemaphorePermit`]s) plus permits available always equal the permits the semaphore was
///   created with, plus those added by [`add_permits`](Semaphore::add_permits), minus those
///   forgotten ([`forget_permits`](Semaphore::forget_permits), [`SemaphorePermit::forget`]).
/// - **FIFO.** Waiters are granted in the order they first polled their `acquire*` future. A
///   newcomer never overtakes a queued waiter: while anyone waits, [`try_acquire`](Semaphore::try_acquire)
///   fails with [`TryAcquireError::NoPermits`] and a new `acquire` queues at the back.
/// - **`acquire_many` at the head blocks the queue.** Released permits are assigned to the head of
///   the queue until it has all it asked for, even when smaller requests behind it could be served
///   at once. This is what makes large requests starvation-free; the price is that one large
///   request can hold up small ones. The permits assigned to a head that is still waiting are not
///   [available](Semaphore::available_permits); they go back (and on to the next waiters) if that
///   waiter is cancelled.
/// - **Cancel safety.** Dropping an `acquire*` future at any point loses nothing: permits already
///   assigned to it — part of its request, or all of it when it was granted but never polled again
///   — are handed on to the next waiters or made available, and those waiters are woken.
/// - **Close.** [`close`](Semaphore::close) wakes every waiter with an [`AcquireError`]; later
///   acquires fail at once. Permits are still counted: dropping a permit after close still makes it
///   available, and permits assigned to waiters that were closed out become available.
/// - **No lock on the fast path, no allocation ever.** When nobody waits, acquiring and releasing
///   are a single compare-and-swap on one atomic word. A waiter's place in the queue is a node
///   inside its own future, so queueing allocates nothing, and a woken waiter learns that it was
///   granted from that node without taking the lock.
/// - **Wakers that misbehave.** A waker's `clone`, `wake` and drop are the caller's code: none
///   runs under the semaphore's lock, so one that calls back into the semaphore does not
///   deadlock. One that panics in `clone` panics the `acquire` that cloned it and changes
///   nothing; in `wake`, the operation that woke it (a release, a close, a cancelled acquire
///   handing its permits on) still wakes every other waiter and hands out every permit, then
///   raises the panic in its own caller.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::sync::Semaphore;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn run() {
/// // At most two downloads at a time.
/// let semaphore = Arc::new(Semaphore::new(2));
/// let mut tasks = Vec::new();
/// for i in 0..5 {
///     let permit = semaphore.clone().acquire_owned().await.unwrap();
///     tasks.push(tokio::spawn(async move {
///         let _permit = permit; // released when the task ends
///         i * 2
///     }));
/// }
/// let mut total = 0;
/// for task in tasks {
///     total += task.await.unwrap();
/// }
/// assert_eq!(total, 20);
/// assert_eq!(semaphore.available_permits(), 2);
/// # }
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<WaiterQueue>,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold: `usize::MAX >> 3`, as in tokio.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Creates a semaphore with `permits` available permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS) (as tokio does: it is a programming
    /// error, not a run-time condition).
    #[must_use]
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS ({}) permits ({permits} requested)",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaiterQueue::new()),
        }
    }

    /// Creates a semaphore in a `const` context (for a `static`).
    ///
    /// Not available under `--cfg loom`, whose primitives cannot be built in `const` context.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS) (at compile time in a `static`).
    #[cfg(not(loom))]
    #[must_use]
    pub const fn const_new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaiterQueue::new()),
        }
    }

    /// Creates a closed semaphore with no permits: every acquire fails at once.
    #[must_use]
    pub fn new_closed() -> Self {
        Semaphore {
            state: AtomicUsize::new(CLOSED),
            waiters: Mutex::new(WaiterQueue::new()),
        }
    }

    /// The number of permits that can be acquired right now.
    ///
    /// Permits already assigned to a queued waiter (see the type docs on `acquire_many`) are not
    /// counted.
    #[must_use]
    pub fn available_permits(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// Adds `n` permits, handing them to queued waiters first (in FIFO order).
    ///
    /// Permits may be added after [`close`](Self::close): they are counted, but no one can
    /// acquire them.
    ///
    /// # Panics
    ///
    /// If the available permits would exceed [`MAX_PERMITS`](Self::MAX_PERMITS). (Held permits
    /// given back are always counted, even past `MAX_PERMITS`; `add_permits` then refuses any
    /// `n > 0` until they are taken or forgotten again.)
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        let available = self.available_permits();
        // Saturating: held permits given back after the semaphore was filled to the maximum
        // may leave more than `MAX_PERMITS` available (the state word has room for them).
        assert!(
            n <= Self::MAX_PERMITS.saturating_sub(available),
            "adding {n} permits to {available} would exceed MAX_PERMITS ({})",
            Self::MAX_PERMITS
        );
        self.release(n);
    }

    /// Removes up to `n` available permits for good and returns how many were removed.
    ///
    /// Only available permits are removed; permits that are held, or assigned to a queued waiter,
    /// are not touched (forget those with [`SemaphorePermit::forget`]).
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let removed = (current >> SHIFT).min(n);
            if removed == 0 {
                return 0;
            }
            match self.state.compare_exchange_weak(
                current,
                current - (removed << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return removed,
                Err(actual) => current = actual,
            }
        }
    }

    /// Closes the semaphore: every queued waiter wakes with an [`AcquireError`], and every later
    /// acquire fails at once. Idempotent.
    ///
    /// Permits stay counted: those held are given back as usual when dropped, and those that had
    /// been assigned to waiters become available.
    pub fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        // One list for every batch: a waker that panics is raised only once all are woken.
        let mut wakers: WakeList = WakeList::new();
        let mut waiters = lock(&self.waiters);
        loop {
            let returned = waiters.close(&mut wakers);
            self.add_available(returned, waiters.is_empty());
            if waiters.is_empty() {
                drop(waiters);
                wakers.wake_all();
                return;
            }
            drop(waiters);
            wakers.wake_all();
            waiters = lock(&self.waiters);
        }
    }

    /// Whether [`close`](Self::close) has been called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives back any permit assigned to it and keeps its place
    /// for no one; a waiter that is re-created queues at the back.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, 1).await?;
        Ok(SemaphorePermit::new(self, 1))
    }

    /// The future behind every `acquire*`, unwrapped: resolves once `n` permits belong to the
    /// caller, who keeps them without a permit object (the crate's locks, whose guards give them
    /// back). One state machine fewer to poll than `acquire_many(n)` awaited inside another
    /// `async fn`: the locks' `lock`/`read`/`write` await this directly.
    pub(crate) fn acquire_unwrapped(&self, n: u32) -> Acquire<'_> {
        Acquire::new(self, n as usize)
    }

    /// Waits for `n` permits at once. See the type docs for how a large request at the head of
    /// the queue holds up smaller ones behind it. `n == 0` succeeds at once unless closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: permits assigned to it before it was dropped are handed on.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed, or (32-bit targets only) if `n`
    /// exceeds [`MAX_PERMITS`](Self::MAX_PERMITS) and so could never be granted.
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        let n = n as usize;
        Acquire::new(self, n).await?;
        Ok(SemaphorePermit::new(self, n))
    }

    /// Takes one permit if one is available and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] or [`TryAcquireError::NoPermits`].
    #[inline]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if that many are available and nobody is queued. `n == 0` succeeds
    /// unless the semaphore is closed (taking nothing overtakes no one), as in tokio.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] or [`TryAcquireError::NoPermits`].
    #[inline]
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let n = n as usize;
        self.try_take(n)?;
        Ok(SemaphorePermit::new(self, n))
    }

    /// [`acquire`](Self::acquire) for an `Arc<Semaphore>`: the permit owns a clone of the `Arc`
    /// and so can move into a spawned task.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self, 1).await?;
        Ok(OwnedSemaphorePermit::new(self, 1))
    }

    /// [`acquire_many`](Self::acquire_many) for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](Self::acquire_many).
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let n = n as usize;
        Acquire::new(&self, n).await?;
        Ok(OwnedSemaphorePermit::new(self, n))
    }

    /// [`try_acquire`](Self::try_acquire) for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Self::try_acquire_many) for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire_many`](Self::try_acquire_many).
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let n = n as usize;
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit::new(self, n))
    }

    /// [`acquire`](Self::acquire) from synchronous code: parks the calling thread until a permit
    /// is granted (FIFO with the async waiters).
    ///
    /// Not available under `--cfg loom` or `--cfg shuttle` (it parks a real thread).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Panics
    ///
    /// When called on a thread that drives asynchronous tasks (inside a tokio runtime, as tokio's
    /// does): parking it would stop the very tasks that release permits. Call it from a plain
    /// thread or from `tokio::task::spawn_blocking`.
    ///
    /// ```
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// use std::sync::Arc;
    /// use async_patterns::sync::Semaphore;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let held = semaphore.try_acquire().unwrap();
    /// let worker = std::thread::spawn({
    ///     let semaphore = Arc::clone(&semaphore);
    ///     move || semaphore.blocking_acquire().unwrap().num_permits()
    /// });
    /// drop(held);
    /// assert_eq!(worker.join().unwrap(), 1);
    /// ```
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::sync::blocking::block_on(self.acquire())
    }

    /// [`acquire_many`](Self::acquire_many) from synchronous code; see
    /// [`blocking_acquire`](Self::blocking_acquire).
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Panics
    ///
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::sync::blocking::block_on(self.acquire_many(n))
    }

    /// [`acquire_owned`](Self::acquire_owned) from synchronous code; see
    /// [`blocking_acquire`](Self::blocking_acquire).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Panics
    ///
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::sync::blocking::block_on(self.acquire_owned())
    }

    /// [`acquire_many_owned`](Self::acquire_many_owned) from synchronous code; see
    /// [`blocking_acquire`](Self::blocking_acquire).
    ///
    /// # Errors
    ///
    /// As [`acquire_many`](Self::acquire_many).
    ///
    /// # Panics
    ///
    /// As [`blocking_acquire`](Self::blocking_acquire).
    #[cfg(not(any(loom, shuttle)))]
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::sync::blocking::block_on(self.acquire_many_owned(n))
    }

    /// Lock-free attempt: takes `n` permits if nobody is queued and enough are available.
    #[inline]
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            // `QUEUED` implies 0 available, so this also refuses to overtake a queued waiter.
            if n > current >> SHIFT {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                current,
                current - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Slow path of an acquire, under the lock: takes the node's permits if they are there and
    /// nobody waits, or takes what is available (only when first in line) and queues the node
    /// for the rest (`Pending`; the node keeps `waker`). When the node is not queued it is
    /// completed in place — granted, or closed out — and `waker` comes back unused (`Ready`):
    /// the caller drops it, and a drop that panics (user code) then finds a node whose outcome
    /// tells the future's `Drop` what to give back.
    ///
    /// # Safety
    ///
    /// `waiter` is not queued and stays pinned and alive until the queue completes it or its owner
    /// removes it under the lock (the `Acquire` future's `Drop`).
    unsafe fn take_or_enqueue(&self, waiter: &Waiter, waker: Waker) -> Poll<Waker> {
        let needed = waiter.needed();
        // `waker` was cloned by the caller before anything changed, so a clone that panics
        // leaves nothing half-done.
        let mut waiters = lock(&self.waiters);
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & CLOSED != 0 {
                waiter.complete_unqueued(false);
                return Poll::Ready(waker);
            }
            if current & QUEUED != 0 {
                // Others are queued, so nothing is available: wait behind them.
                debug_assert_eq!(current >> SHIFT, 0);
                // SAFETY: the caller's contract.
                unsafe { waiters.push_back(waiter, 0, waker) };
                return Poll::Pending;
            }
            let available = current >> SHIFT;
            let (next, granted) = if available >= needed {
                (current - (needed << SHIFT), true)
            } else {
                // First in line: keep what there is, and mark the queue non-empty in the same step.
                ((current & CLOSED) | QUEUED, false)
            };
            match self
                .state
                .compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if granted => {
                    waiter.complete_unqueued(true);
                    return Poll::Ready(waker);
                }
                Ok(_) => {
                    // SAFETY: the caller's contract.
                    unsafe { waiters.push_back(waiter, available, waker) };
                    return Poll::Pending;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives `n` permits back: lock-free when nobody waits, else through the queue.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut current = self.state.load(Ordering::Acquire);
        while current & QUEUED == 0 {
            let next = current
                .checked_add(n << SHIFT)
                .expect("permit count overflowed the semaphore's state word");
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
        self.release_locked(n, lock(&self.waiters));
    }

    /// Hands `n` permits to the queue in FIFO order, makes the rest available, and wakes the
    /// waiters that were completed — outside the lock, in batches.
    fn release_locked<'a>(&'a self, mut n: usize, mut waiters: MutexGuard<'a, WaiterQueue>) {
        // One list for every batch: a waker that panics is raised only once all permits are
        // handed out.
        let mut wakers: WakeList = WakeList::new();
        loop {
            n = waiters.assign(n, &mut wakers);
            let drained = waiters.is_empty();
            if drained || n == 0 {
                self.add_available(n, drained);
                drop(waiters);
                wakers.wake_all();
                return;
            }
            // The wake batch filled up with permits left to hand out: wake this batch unlocked.
            drop(waiters);
            wakers.wake_all();
            waiters = lock(&self.waiters);
        }
    }

    /// Under the lock: adds `n` available permits, clearing `QUEUED` when the queue is empty.
    fn add_available(&self, n: usize, queue_empty: bool) {
        if n == 0 && !queue_empty {
            return;
        }
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let mut next = current
                .checked_add(n << SHIFT)
                .expect("permit count overflowed the semaphore's state word");
            if queue_empty {
                next &= !QUEUED;
            }
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Default for Semaphore {
    /// A semaphore with no permits.
    fn default() -> Self {
        Semaphore::new(0)
    }
}

impl fmt::Debug for Semaphore {
    /// Shows the available permits, whether it is closed and how many wait; takes the internal
    /// lock only briefly (never waits for a permit).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Acquire);
        f.debug_struct("Semaphore")
            .field("available_permits", &(state >> SHIFT))
            .field("closed", &(state & CLOSED != 0))
            .field("waiters", &lock(&self.waiters).len())
            .finish()
    }
}
