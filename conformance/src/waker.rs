//! Hand-polling: a future polled with a waker that counts its wakes, so a checker knows whether
//! the implementation woke it before it could make progress.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it (or any clone of it) was woken.
#[derive(Debug, Clone, Default)]
pub struct CountingWaker {
    wakes: Arc<Counter>,
}

#[derive(Debug, Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    /// A new waker, never woken.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A [`Waker`] whose wakes this counts.
    #[must_use]
    pub fn waker(&self) -> Waker {
        Waker::from(Arc::clone(&self.wakes))
    }

    /// Wakes so far.
    #[must_use]
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

/// A boxed future and the counting waker it is polled with.
pub struct Polled<T> {
    future: Pin<Box<dyn Future<Output = T> + Send>>,
    waker: CountingWaker,
    /// The waker's count when the future was last polled.
    seen: usize,
    /// Whether it was last polled with a different waker than before.
    moved: bool,
}

impl<T> std::fmt::Debug for Polled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polled")
            .field("woken", &self.is_woken())
            .field("moved", &self.moved)
            .finish_non_exhaustive()
    }
}

impl<T> Polled<T> {
    /// A future not yet polled.
    pub fn new(future: Pin<Box<dyn Future<Output = T> + Send>>) -> Self {
        Polled {
            future,
            waker: CountingWaker::new(),
            seen: 0,
            moved: false,
        }
    }

    /// Whether its current waker was woken since it was last polled.
    #[must_use]
    pub fn is_woken(&self) -> bool {
        self.waker.wakes() > self.seen
    }

    /// Whether its last poll used a new waker (the future moved to another task).
    #[must_use]
    pub fn moved(&self) -> bool {
        self.moved
    }

    /// Polls it with its current waker.
    pub fn poll(&mut self) -> Poll<T> {
        self.seen = self.waker.wakes();
        let waker = self.waker.waker();
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// Polls it with a new waker, as when a future moves to another task (`select!` in a loop,
    /// a `JoinSet`): from now on only the new waker counts.
    pub fn poll_with_new_waker(&mut self) -> Poll<T> {
        self.waker = CountingWaker::new();
        self.moved = true;
        self.poll()
    }
}
