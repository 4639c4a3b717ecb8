//! [`ConcurrencyLimiter`]: N slots, taken in FIFO order, each held for a future's whole life.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::error::{Busy, LimitError};
use super::map::BoundedMap;
use super::spawned::SpawnedBoundedMap;
use crate::loom::ReceiverArc as Arc;
use crate::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// At most `limit` futures in flight at once, across every clone of the limiter.
///
/// A thin layer over the crate's fair [`Semaphore`]: one permit per slot. The semaphore is private
/// to the limiter (and its clones), so nobody can close it, add permits or forget them: the slots
/// taken plus the slots free are always exactly `limit`.
///
/// Three ways to use the slots, all sharing them:
/// - [`run`](Self::run) one future you already have, waiting in line for a slot;
/// - [`try_run`](Self::try_run): admit it now or get it back;
/// - [`bounded_map`](Self::bounded_map) / [`spawn_bounded_map`](Self::spawn_bounded_map) over many
///   inputs, creating each future only when a slot is free.
///
/// # Guarantees
///
/// - **At most `limit` in flight.** A future is polled for the first time only once it holds a
///   slot, and the slot is released only after the future has been dropped (completed or not).
/// - **FIFO.** Waiters get slots in the order they started waiting (first poll of `run`), as the
///   semaphore grants permits; `try_run` never overtakes a waiter.
/// - **Cancel safe.** Dropping a `run` future while it waits gives up its place in line (and a
///   slot granted to it but not yet used is handed on); dropping it while the future runs drops
///   the future and frees the slot.
/// - **Panics free the slot.** A future that panics inside `run` unwinds through the slot's guard,
///   which gives the slot back; the panic itself continues to the caller.
///
/// Do not wait for a slot of a limiter while holding one of the same limiter (nesting `run` calls
/// on one limiter): with all slots held by such callers, nobody can make progress.
///
/// # Example
///
/// ```
/// use async_patterns::concurrency::ConcurrencyLimiter;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn run() {
/// let limiter = ConcurrencyLimiter::new(2).expect("2 is a valid limit");
/// let tasks: Vec<_> = (0..10u64)
///     // `run` does not borrow the limiter: its future can be spawned.
///     .map(|i| tokio::spawn(limiter.run(async move { i * i })))
///     .collect();
/// let mut total = 0;
/// for task in tasks {
///     total += task.await.unwrap();
/// }
/// assert_eq!(total, 285);
/// assert_eq!(limiter.in_flight(), 0);
/// # }
/// ```
///
/// Spawning one task per input, as above, is fine for ten inputs; for many, use
/// [`bounded_map`](Self::bounded_map), which does not create a future before it can run.
#[derive(Clone)]
pub struct ConcurrencyLimiter {
    semaphore: Arc<Semaphore>,
    limit: usize,
}

/// A queued request for a slot, kept by a map between polls. Boxed because the semaphore's
/// acquire future is the unnameable type of an `async fn`; a map allocates one only when it has to
/// wait, not for slots that are free when asked for.
pub(super) type QueuedSlot = Pin<Box<dyn Future<Output = OwnedSemaphorePermit> + Send + Sync>>;

impl ConcurrencyLimiter {
    /// A limiter with `limit` slots.
    ///
    /// # Errors
    ///
    /// [`LimitError::Zero`] for 0 (nothing could ever run), [`LimitError::TooLarge`] above
    /// [`Semaphore::MAX_PERMITS`].
    pub fn new(limit: usize) -> Result<Self, LimitError> {
        if limit == 0 {
            return Err(LimitError::Zero);
        }
        if limit > Semaphore::MAX_PERMITS {
            return Err(LimitError::too_large(limit));
        }
        Ok(ConcurrencyLimiter {
            semaphore: Arc::new(Semaphore::new(limit)),
            limit,
        })
    }

    /// The number of slots, as given to [`new`](Self::new).
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The number of slots taken right now: futures in flight, plus slots granted to a waiter that
    /// has not resumed yet. A snapshot: other threads may change it at once.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.limit - self.semaphore.available_permits()
    }

    /// Runs `future` once a slot is free, holding the slot until the future is dropped.
    ///
    /// `future` is not polled before the slot is taken. Waiters are served in FIFO order. The
    /// returned future does not borrow the limiter (it holds a clone of the shared semaphore), so
    /// it can be spawned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropped while waiting: it leaves the queue, and a slot already granted to it is
    /// passed to the next waiter; `future` is dropped unpolled. Dropped while running: `future` is
    /// dropped first, then the slot is freed.
    ///
    /// # Panics
    ///
    /// If `future` panics, the panic propagates; the slot is freed during unwinding.
    pub fn run<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        let semaphore = Arc::clone(&self.semaphore);
        async move {
            let slot = never_closed(semaphore.acquire_owned().await);
            Admitted::new(future, slot).await
        }
    }

    /// Admits `future` if a slot is free and nobody is waiting for one; otherwise hands it back.
    ///
    /// The returned [`Admitted`] already holds its slot: await it (or spawn it) to run the future.
    ///
    /// # Errors
    ///
    /// [`Busy`], carrying `future` untouched, when every slot is taken or others are queued (a
    /// `try_run` never overtakes a waiter of [`run`](Self::run)).
    pub fn try_run<F: Future>(&self, future: F) -> Result<Admitted<F>, Busy<F>> {
        match Arc::clone(&self.semaphore).try_acquire_owned() {
            Ok(slot) => Ok(Admitted::new(future, slot)),
            Err(TryAcquireError::NoPermits) => Err(Busy::new(future)),
            Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
        }
    }

    /// Maps `inputs` through `make_future` with at most [`limit`](Self::limit) futures alive at
    /// once, yielding `(input, result)` in completion order. See [`BoundedMap`].
    ///
    /// Nothing happens until the map is polled: it pulls the next input from the iterator, and
    /// creates its future, only when it holds a free slot. The slots are this limiter's, shared with
    /// every other user of it.
    pub fn bounded_map<I, F, Fut>(
        &self,
        inputs: I,
        make_future: F,
    ) -> BoundedMap<I::IntoIter, F, Fut>
    where
        I: IntoIterator,
        F: FnMut(&I::Item) -> Fut,
        Fut: Future,
    {
        BoundedMap::new(self.clone(), inputs.into_iter(), make_future)
    }

    /// As [`bounded_map`](Self::bounded_map), but each future runs as a tokio task (so the
    /// futures run in parallel on a multi-thread runtime): at most [`limit`](Self::limit) tasks
    /// exist at once. See [`SpawnedBoundedMap`].
    pub fn spawn_bounded_map<I, F, Fut>(
        &self,
        inputs: I,
        make_future: F,
    ) -> SpawnedBoundedMap<I::IntoIter, F, Fut>
    where
        I: IntoIterator,
        F: FnMut(&I::Item) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        SpawnedBoundedMap::new(self.clone(), inputs.into_iter(), make_future)
    }

    /// Takes a slot for a map: at once when one is free and nobody is queued, else by queueing
    /// (FIFO, with every other user of the limiter) through `queued`, which the map keeps across
    /// polls and which registers `cx`'s waker.
    pub(super) fn poll_slot(
        &self,
        queued: &mut Option<QueuedSlot>,
        cx: &mut Context<'_>,
    ) -> Poll<OwnedSemaphorePermit> {
        let waiting = match queued {
            Some(waiting) => waiting,
            None => match Arc::clone(&self.semaphore).try_acquire_owned() {
                Ok(slot) => return Poll::Ready(slot),
                Err(TryAcquireError::NoPermits) => {
                    let semaphore = Arc::clone(&self.semaphore);
                    queued.insert(Box::pin(async move {
                        never_closed(semaphore.acquire_owned().await)
                    }))
                }
                Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
            },
        };
        let slot = ready!(waiting.as_mut().poll(cx));
        *queued = None;
        Poll::Ready(slot)
    }
}

impl fmt::Debug for ConcurrencyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimiter")
            .field("limit", &self.limit)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

const NEVER_CLOSED: &str =
    "the limiter's semaphore is private to it and never closed, so acquiring cannot fail";

fn never_closed<T>(acquired: Result<T, AcquireError>) -> T {
    acquired.unwrap_or_else(|_| unreachable!("{NEVER_CLOSED}"))
}

pin_project! {
    /// A future that holds a slot of its [`ConcurrencyLimiter`], from
    /// [`try_run`](ConcurrencyLimiter::try_run): polling it polls the admitted future.
    ///
    /// The slot is freed when the `Admitted` is dropped, after the future inside it (so a
    /// future's destructor also runs inside its slot); `.await` drops it as soon as it completes.
    /// It is `'static` when the future is, so it can be spawned.
    #[must_use = "futures do nothing unless polled; dropping it frees the slot unused"]
    pub struct Admitted<F> {
        // Fields drop in declaration order: the future before the slot.
        #[pin]
        future: F,
        slot: OwnedSemaphorePermit,
    }
}

impl<F> Admitted<F> {
    pub(super) fn new(future: F, slot: OwnedSemaphorePermit) -> Self {
        Admitted { future, slot }
    }
}

impl<F: Future> Future for Admitted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

impl<F> fmt::Debug for Admitted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admitted")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}
