//! Jobs as the queue carries them: type-erased, each owning the sender of its outcome.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::outcome::{JobError, OutcomeSender};

/// A queued job. Running it never panics: a panic inside the job becomes its outcome.
pub(super) trait Job: Send + 'static {
    /// The future a worker awaits to run the job to its end.
    fn run(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// The job as `Any`, so that a refused submission can hand the caller's job back.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

pin_project! {
    /// An async job: polls the caller's future on a worker task, catching panics.
    pub(super) struct AsyncJob<F: Future> {
        #[pin]
        future: F,
        outcome: Option<OutcomeSender<F::Output>>,
    }
}

impl<F: Future> AsyncJob<F> {
    pub(super) fn new(future: F, outcome: OutcomeSender<F::Output>) -> Self {
        AsyncJob {
            future,
            outcome: Some(outcome),
        }
    }

    /// Takes the caller's future back out of a job that was never queued.
    pub(super) fn into_future(self) -> F {
        if let Some(outcome) = self.outcome {
            outcome.disarm();
        }
        self.future
    }
}

impl<F> Future for AsyncJob<F>
where
    F: Future,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let Some(outcome) = this.outcome.as_mut() else {
            return Poll::Ready(());
        };
        outcome.start();
        let future = this.future;
        // The future is never polled again after a panic, so a broken invariant inside it
        // cannot be observed: asserting unwind safety is sound.
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(JobError::Panicked(panic_message(payload.as_ref()))),
        };
        if let Some(outcome) = this.outcome.take() {
            outcome.resolve(result);
        }
        Poll::Ready(())
    }
}

impl<F> Job for AsyncJob<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn run(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::into_pin(self)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A blocking job: its closure runs on tokio's blocking pool while a worker waits for it, so it
/// counts against the pool's limit but never blocks an async worker thread.
pub(super) struct BlockingJob<C, T> {
    closure: C,
    outcome: OutcomeSender<T>,
}

impl<C, T> BlockingJob<C, T> {
    pub(super) fn new(closure: C, outcome: OutcomeSender<T>) -> Self {
        BlockingJob { closure, outcome }
    }

    /// Takes the caller's closure back out of a job that was never queued.
    pub(super) fn into_closure(self) -> C {
        self.outcome.disarm();
        self.closure
    }
}

impl<C, T> Job for BlockingJob<C, T>
where
    C: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let BlockingJob {
            closure,
            mut outcome,
        } = *self;
        Box::pin(async move {
            outcome.start();
            let result = match tokio::task::spawn_blocking(closure).await {
                Ok(output) => Ok(output),
                Err(error) if error.is_panic() => Err(JobError::Panicked(panic_message(
                    error.into_panic().as_ref(),
                ))),
                // The runtime is shutting down and cancelled the blocking task.
                Err(_) => Err(JobError::Aborted),
            };
            outcome.resolve(result);
        })
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The message of a panic payload (`panic!` with a literal or a formatted string).
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        String::from("<panic payload is not a string>")
    }
}
