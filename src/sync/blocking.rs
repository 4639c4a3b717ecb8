//! Waiting from synchronous code: the `blocking_*` methods park the calling thread until their
//! future is ready.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Runs `future` to completion on the calling thread, parking it while the future waits.
///
/// # Panics
///
/// On a thread that drives asynchronous tasks (inside a tokio runtime), with tokio's own message:
/// parking there would stop every task on that worker, the holder of the lock among them. A thread
/// of `spawn_blocking`, or any thread outside a runtime, may block.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    forbid_in_async_context();
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake before this park leaves the token set, so the park returns at once; a spurious
        // return only costs one more poll.
        thread::park();
    }
}

/// Panics where tokio's `blocking_*` methods panic. tokio offers no public query for "this thread
/// drives async tasks" (`Handle::try_current` is also true on `spawn_blocking` threads, where
/// blocking is right), but its own blocking receive makes exactly that check before it looks at
/// the channel: a receive from a filled channel returns at once where blocking is allowed and
/// panics, with tokio's message, where it is not.
fn forbid_in_async_context() {
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    let _ = sender.send(());
    let _ = receiver.blocking_recv();
}

/// Wakes the parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}
