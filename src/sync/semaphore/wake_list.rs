//! A fixed-size batch of wakers, woken after the semaphore's lock is released.
//!
//! Waking under the lock would make every woken task contend for that lock at once; collecting
//! wakers in a fixed array keeps the release path allocation-free. When more than
//! `N` (32 in the semaphore) waiters become ready in one release, the caller wakes a full batch with
//! the lock released and takes the lock again for the rest.
//!
//! Free to make: the slots are uninitialized until a waker is pushed, so making a list costs no
//! stores at all, where an array of `Option<Waker>` set to `None` cost a 512-byte `memset` on every
//! release that went through the lock. Callgrind, semaphore(4) with 128 tasks holding a permit
//! across `yield_now` on a current-thread runtime: 1476 -> 1444 instructions per acquire and
//! release, scheduler included (tokio's semaphore, whose list is built the same way: 1444). The
//! price is the `unsafe` below: two uses, each on slots below `len`, which `push` wrote; the
//! unit tests below and the lock-guard tests run under Miri (`cargo xtask miri`).

use std::mem::MaybeUninit;
use std::task::Waker;

use crate::unwind::Panics;

/// Wakers collected under a lock, woken in FIFO order once it is released.
///
/// `N` is the batch size: 32 for the semaphore; 1 where one operation wakes at most one waiter
/// (a channel's send or receive), which keeps the list to one slot to fill and check.
///
/// A waker is user code, and its `wake` may panic. That must not cost the other waiters their
/// wakeup, nor the operation that woke them its remaining work (a release with permits still to
/// hand out, a close with waiters still queued): so every waker is woken whatever the others do,
/// and the first panic is kept and raised again when the list is dropped — at the end of the
/// operation, which therefore declares its list before it takes the lock and reuses it for every
/// batch. The panic reaches the caller that ran the waker, once its operation is complete.
pub(crate) struct WakeList<const N: usize = 32> {
    /// Slots `..len` hold wakers (written by `push`, not yet taken); slots `len..` are
    /// uninitialized or were already taken.
    wakers: [MaybeUninit<Waker>; N],
    len: usize,
    /// The first panic of a waker this list woke, raised again when the list is dropped.
    panics: Panics,
}

impl<const N: usize> WakeList<N> {
    #[inline]
    pub(crate) fn new() -> Self {
        WakeList {
            wakers: [const { MaybeUninit::uninit() }; N],
            len: 0,
            panics: Panics::default(),
        }
    }

    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds a waker; the caller checks [`is_full`](Self::is_full) first.
    #[inline]
    pub(crate) fn push(&mut self, waker: Waker) {
        debug_assert!(!self.is_full());
        self.wakers[self.len].write(waker);
        self.len += 1;
    }

    /// Wakes every collected waker, in the order they were pushed (FIFO), and empties the list.
    /// A waker that panics does not stop the others: its panic is raised when the list is
    /// dropped.
    #[inline]
    pub(crate) fn wake_all(&mut self) {
        // Most operations wake nobody: keep that path to one comparison, inlined.
        if self.len == 0 {
            return;
        }
        self.wake_pending();
    }

    fn wake_pending(&mut self) {
        // The slots `..len` are read below, each once; `len` is 0 before any waker runs, so
        // `WakeList::drop` never drops one a second time.
        let len = std::mem::replace(&mut self.len, 0);
        for slot in &self.wakers[..len] {
            // SAFETY: slots below the old `len` were written by `push` and not taken since; this
            // loop reads each exactly once, and with `len` now 0 nothing reads them after.
            let waker = unsafe { slot.assume_init_read() };
            // `wake` consumes the waker, so a panic in it leaves nothing behind to drop.
            self.panics.run(|| waker.wake());
        }
    }
}

impl<const N: usize> Drop for WakeList<N> {
    /// Drops the wakers pushed but never woken (a release that panicked between collecting and
    /// waking), then raises the first panic of a waker it woke — unless the thread is already
    /// unwinding, when raising it would abort the process.
    #[inline]
    fn drop(&mut self) {
        for slot in &mut self.wakers[..self.len] {
            // SAFETY: slots below `len` hold wakers written by `push` and not yet taken
            // (`wake_all` sets `len` to 0 before it takes any); each is dropped once.
            unsafe { slot.assume_init_drop() };
        }
        std::mem::take(&mut self.panics).resume();
    }
}

// Plain std types on purpose: the probes below are test equipment, not shared state of the crate,
// and the list under test uses no synchronisation of its own.
#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::WakeList;

    /// Counts wakes and drops of the wakers made from it.
    #[derive(Default)]
    struct Probe {
        woken: AtomicUsize,
        panic_on_wake: bool,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.woken.fetch_add(1, Ordering::SeqCst);
            assert!(!self.panic_on_wake, "waker panicked on purpose");
        }
    }

    fn waker(probe: &Arc<Probe>) -> Waker {
        Waker::from(Arc::clone(probe))
    }

    #[test]
    fn wakes_each_pushed_waker_once_and_empties() {
        let probe = Arc::new(Probe::default());
        let mut list: WakeList<4> = WakeList::new();
        for _ in 0..4 {
            list.push(waker(&probe));
        }
        assert!(list.is_full());
        list.wake_all();
        assert_eq!(probe.woken.load(Ordering::SeqCst), 4);
        assert!(!list.is_full());
        list.push(waker(&probe));
        drop(list);
        // The waker pushed after the wake was dropped, not woken, and not leaked.
        assert_eq!(probe.woken.load(Ordering::SeqCst), 4);
        assert_eq!(Arc::strong_count(&probe), 1);
    }

    #[test]
    fn a_panicking_waker_wakes_the_rest_and_panics_when_the_list_is_dropped() {
        let calm = Arc::new(Probe::default());
        let panicky = Arc::new(Probe {
            panic_on_wake: true,
            ..Probe::default()
        });
        let mut list: WakeList<4> = WakeList::new();
        list.push(waker(&calm));
        list.push(waker(&panicky));
        list.push(waker(&calm));
        list.wake_all();
        assert_eq!(
            calm.woken.load(Ordering::SeqCst),
            2,
            "both calm wakers were woken"
        );
        assert_eq!(panicky.woken.load(Ordering::SeqCst), 1);
        // Reused for a second batch, as a release that wakes in batches does.
        list.push(waker(&calm));
        list.wake_all();
        assert_eq!(calm.woken.load(Ordering::SeqCst), 3);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(list)));
        assert!(unwound.is_err(), "the waker's panic is raised at the end");
        assert_eq!(Arc::strong_count(&calm), 1, "a waker leaked");
        assert_eq!(Arc::strong_count(&panicky), 1, "a waker leaked");
    }
}
