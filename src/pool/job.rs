//! A job as the pool keeps it: **one allocation** per job, a [`JobCell`] holding the caller's
//! future (or closure) beside the slot its outcome goes to, shared by the queue entry
//! ([`QueuedJob`]), which runs it, and the [`JobHandle`](super::JobHandle), which reads the slot.
//! (Before, a boxed job and a separately allocated slot: two allocations per job, where
//! `tokio::spawn` makes one.)
//!
//! The queue entry is the job's only runner: it alone touches the future, and only through
//! `&mut self`, so the future needs no lock; the handle touches only the slot, which has its own.
//! Whatever happens to the entry, the handle resolves once: when the job ends, with its outcome;
//! when the entry is dropped first (a shutdown deadline, an aborted worker), with `Cancelled`
//! (never started) or `Aborted` (started) — and the future is dropped then, in place, not when
//! the handle goes.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use pin_project_lite::pin_project;
use tokio::task::JoinHandle;

use super::outcome::{JobError, JobId, OutcomeSlot};
use super::report::Tally;
use crate::Panicked;
use crate::loom::{Arc, UnsafeCell, arc_dyn};

/// What the queue entry needs of a job, whatever its output type.
///
/// # Safety (of the `unsafe` methods)
///
/// They touch the job's future, which has no lock: only the job's one [`QueuedJob`] may call
/// them, from `&mut self` (so never two at once), in the order each states.
pub(super) trait Job: Send + Sync + 'static {
    /// Runs the job one step; `first` on its first step, which counts it as running. Once it
    /// has ended, its outcome is recorded in the pool's report and put in the slot, the future
    /// is dropped, and the handle's waker is returned, to be woken by the entry once it has
    /// noted that the job ended.
    ///
    /// # Safety
    ///
    /// Called by the job's entry only (see the trait), and not after it said the job ended.
    unsafe fn poll_run(&self, cx: &mut Context<'_>, first: bool) -> Poll<Option<Waker>>;

    /// Drops the job's future in place, and records and resolves it as `Aborted` if it
    /// `started`, else `Cancelled`: its queue entry is gone before the job ended.
    ///
    /// # Safety
    ///
    /// Called by the job's entry only (see the trait), once, and not after `poll_run` said
    /// the job ended. Returns the handle's waker, to wake.
    unsafe fn abandon(&self, started: bool) -> Option<Waker>;

    /// Takes the caller's future or closure back out of a job that was never queued (boxed: a
    /// refusal is rare).
    ///
    /// # Safety
    ///
    /// Called by the job's entry only (see the trait), once, before any `poll_run`.
    unsafe fn take_input(&self) -> Box<dyn Any>;

    /// The slot, an [`OutcomeSlot<T>`] for the job's output type `T` (for the handle, which
    /// knows `T`, to downcast).
    fn slot(&self) -> &dyn Any;
}

/// What a job does, step by step, until it has an outcome.
pub(super) trait Work: Send + 'static {
    type Output: Send + 'static;
    /// What [`Job::take_input`] gives back: the caller's future or closure.
    type Input: 'static;

    fn poll_work(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Output, JobError>>;

    fn into_input(self) -> Self::Input;
}

/// One job: its work (until it ends or is abandoned), the slot for its outcome, and what the
/// pool's report needs to record it.
pub(super) struct JobCell<W: Work> {
    slot: OutcomeSlot<W::Output>,
    /// `None` once the job ended, was abandoned, or had its input taken back.
    work: UnsafeCell<Option<W>>,
    id: JobId,
    tally: Arc<Tally>,
}

// Shared between threads, a `JobCell` is reached in two ways. The handle reaches only `slot`, a
// mutex (Sync when the output is Send), and the plain `id` and `tally`. `work` is reached only
// through the `unsafe` methods of `Job`, whose contract is that only the job's one `QueuedJob`
// calls them, from `&mut self` (`run`, `Drop`, `into_input`): never two at once, and each ends
// its access before it returns.
// SAFETY: so `work` is never accessed concurrently, and it is `Send` (moving a job between
// threads is what the queue does); the other fields are `Sync`.
unsafe impl<W: Work> Sync for JobCell<W> {}

impl<W: Work> JobCell<W> {
    /// A job ready to queue, shared (one allocation).
    pub(super) fn shared(work: W, id: JobId, tally: Arc<Tally>) -> Arc<dyn Job> {
        arc_dyn(
            JobCell {
                slot: OutcomeSlot::new(),
                work: UnsafeCell::new(Some(work)),
                id,
                tally,
            },
            |cell| cell as std::sync::Arc<dyn Job>,
        )
    }

    /// The work, pinned where it lies.
    ///
    /// # Safety
    ///
    /// As the `Job` methods: the caller is the job's `QueuedJob`, acting from `&mut self`.
    unsafe fn with_work<R>(&self, f: impl FnOnce(Pin<&mut Option<W>>) -> R) -> R {
        self.work.with_mut(|work| {
            // SAFETY: no other access to `work` is live (the caller's contract), and the cell
            // lives in an `Arc` allocation that never moves, so the pinned `Option<W>` stays
            // where it is until it is dropped in place (`Pin::set(None)`).
            f(unsafe { Pin::new_unchecked(&mut *work) })
        })
    }
}

impl<W: Work> Job for JobCell<W> {
    unsafe fn poll_run(&self, cx: &mut Context<'_>, first: bool) -> Poll<Option<Waker>> {
        if first {
            self.tally.started();
        }
        // SAFETY: our caller is the job's entry (this method's contract).
        let outcome = ready!(unsafe {
            self.with_work(|mut work| {
                let Some(running) = work.as_mut().as_pin_mut() else {
                    unreachable!("a job polled after it ended");
                };
                let outcome = ready!(running.poll_work(cx));
                // Drop the future now, not when the handle goes: it may hold resources.
                work.set(None);
                Poll::Ready(outcome)
            })
        });
        // Recorded before the handle can see it, so a report taken after a handle resolved
        // counts that job.
        self.tally.record(self.id, true, outcome.as_ref().err());
        Poll::Ready(self.slot.resolve(outcome))
    }

    unsafe fn abandon(&self, started: bool) -> Option<Waker> {
        // SAFETY: our caller is the job's entry (this method's contract).
        unsafe { self.with_work(|mut work| work.set(None)) };
        let error = if started {
            JobError::Aborted
        } else {
            JobError::Cancelled
        };
        self.tally.record(self.id, started, Some(&error));
        self.slot.resolve(Err(error))
    }

    unsafe fn take_input(&self) -> Box<dyn Any> {
        // SAFETY: our caller is the job's entry, before any `poll_run` (this method's contract):
        // no other access is live, and the work was never polled (so never pinned), so moving it
        // out is allowed.
        let work = self.work.with_mut(|work| unsafe { (*work).take() });
        Box::new(
            work.expect("a refused job still holds its input")
                .into_input(),
        )
    }

    fn slot(&self) -> &dyn Any {
        &self.slot
    }
}

/// The queue's entry for a job: the job's only runner. Dropped before the job ended, it
/// resolves the handle (`Cancelled` or `Aborted`). Small (24 bytes), as the queue moves it.
pub(super) struct QueuedJob {
    job: Arc<dyn Job>,
    started: bool,
    /// The job ended (its outcome recorded) or its input was taken back.
    finished: bool,
}

impl QueuedJob {
    pub(super) fn new(job: Arc<dyn Job>) -> Self {
        QueuedJob {
            job,
            started: false,
            finished: false,
        }
    }

    /// Runs the job to its end on the calling worker.
    pub(super) async fn run(mut self) {
        std::future::poll_fn(|cx| {
            let first = !std::mem::replace(&mut self.started, true);
            // SAFETY: this entry is the job's only one, acting from `&mut self`; `finished` is
            // set below once the job ended, and `run` consumes the entry, so it is not polled
            // after that.
            let waker = ready!(unsafe { self.job.poll_run(cx, first) });
            // Noted before the handle's waker (user code) runs: if it panics, this entry's drop
            // must not resolve the job a second time.
            self.finished = true;
            if let Some(waker) = waker {
                waker.wake();
            }
            Poll::Ready(())
        })
        .await;
    }

    /// Takes the caller's input back out of a job that was refused (never accepted): nothing is
    /// recorded, and its handle was never given out.
    pub(super) fn into_input<I: 'static>(mut self) -> I {
        self.finished = true;
        // SAFETY: this entry is the job's only one, acting from `self`; a refused job was never
        // run, and `finished` keeps `Drop` from touching it again.
        match unsafe { self.job.take_input() }.downcast::<I>() {
            Ok(input) => *input,
            Err(_) => unreachable!("a refused job holds the input just submitted"),
        }
    }
}

impl Drop for QueuedJob {
    fn drop(&mut self) {
        if !self.finished {
            // SAFETY: this entry is the job's only one, acting from `&mut self`, once (it is
            // being dropped), and the job has not ended (`finished` is false).
            let waker = unsafe { self.job.abandon(self.started) };
            if let Some(waker) = waker {
                if std::thread::panicking() {
                    // Already unwinding (a panic in the job's own drop): a second panic here
                    // would abort the process; the handle is woken all the same.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
                } else {
                    waker.wake();
                }
            }
        }
    }
}

pin_project! {
    /// An async job: polls the caller's future, catching panics.
    pub(super) struct AsyncWork<F> {
        #[pin]
        future: F,
    }
}

impl<F> AsyncWork<F> {
    pub(super) fn new(future: F) -> Self {
        AsyncWork { future }
    }
}

impl<F> Work for AsyncWork<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;
    type Input = F;

    fn poll_work(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<F::Output, JobError>> {
        let future = self.project().future;
        // The future is never polled again after a panic (it is dropped at once), so a broken
        // invariant inside it cannot be observed: asserting unwind safety is sound.
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(JobError::Panicked(Panicked::from_payload(payload)))),
        }
    }

    fn into_input(self) -> F {
        self.future
    }
}

/// A blocking job: its closure runs on tokio's blocking pool while a worker waits for it, so it
/// counts against the pool's limit but never blocks an async worker thread.
pub(super) struct BlockingWork<C, T> {
    /// Until the first poll.
    closure: Option<C>,
    /// From the first poll.
    running: Option<JoinHandle<T>>,
}

impl<C, T> BlockingWork<C, T> {
    pub(super) fn new(closure: C) -> Self {
        BlockingWork {
            closure: Some(closure),
            running: None,
        }
    }
}

// Nothing in it is pinned: the closure is moved out by value, and a `JoinHandle` is `Unpin`.
impl<C, T> Unpin for BlockingWork<C, T> {}

impl<C, T> Work for BlockingWork<C, T>
where
    C: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = T;
    type Input = C;

    fn poll_work(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, JobError>> {
        let this = self.get_mut();
        if let Some(closure) = this.closure.take() {
            this.running = Some(tokio::task::spawn_blocking(closure));
        }
        let running = this
            .running
            .as_mut()
            .expect("a blocking job has started once its closure is taken");
        Poll::Ready(match ready!(Pin::new(running).poll(cx)) {
            Ok(output) => Ok(output),
            Err(error) if error.is_panic() => Err(JobError::Panicked(Panicked::from_payload(
                error.into_panic(),
            ))),
            // The runtime is shutting down and cancelled the blocking task.
            Err(_) => Err(JobError::Aborted),
        })
    }

    fn into_input(self) -> C {
        self.closure
            .expect("a blocking job's closure is taken only when it starts")
    }
}
