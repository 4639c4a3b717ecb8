//! [`SpawnedBoundedMap`]: the bounded map with each future on its own tokio task.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};
use tokio::task::{Id, JoinError, JoinSet};

use super::ConcurrencyLimiter;
use super::feed::Feed;
use super::limiter::Admitted;
use super::map::in_input_order;
use crate::Panicked;

/// Why a task of a [`SpawnedBoundedMap`] produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The future panicked; tokio caught the panic and the message is kept.
    Panicked(Panicked),
    /// The task was cancelled before it finished: the runtime shut down under it. (The map
    /// itself never aborts a task while it exists; dropping the map aborts them, but then no one
    /// is left to report to.)
    Cancelled,
}

impl TaskError {
    fn from_join_error(error: JoinError) -> Self {
        if error.is_panic() {
            TaskError::Panicked(Panicked::from_payload(error.into_panic()))
        } else {
            TaskError::Cancelled
        }
    }

    /// The panic, if the task panicked.
    #[must_use]
    pub fn as_panicked(&self) -> Option<&Panicked> {
        match self {
            TaskError::Panicked(panicked) => Some(panicked),
            TaskError::Cancelled => None,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The panic and its message are the `source`.
            TaskError::Panicked(_) => f.write_str("the task panicked"),
            TaskError::Cancelled => f.write_str("the task was cancelled before it finished"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Panicked(panicked) => Some(panicked),
            TaskError::Cancelled => None,
        }
    }
}

/// [`BoundedMap`](super::BoundedMap) with each future spawned as a tokio task, from
/// [`ConcurrencyLimiter::spawn_bounded_map`]: the futures run in parallel on a multi-thread
/// runtime, and at most [`limit`](ConcurrencyLimiter::limit) tasks exist at once. A [`Stream`] of
/// `(input, result)`.
///
/// The tasks live in a [`JoinSet`]; the inputs stay in the map (they need not be `Send`), keyed
/// by task id, and come back with the results.
///
/// # Guarantees
///
/// - **Never more than `limit` tasks exist.** A task is spawned only when the map holds a free
///   slot of its limiter *and* fewer than `limit` of its tasks are unjoined; the next input is
///   pulled from the iterator, and its future created, only then. A task's slot moves into the
///   task and is freed when the task's future is dropped (completed, panicked or aborted), so the
///   slots count running futures exactly even across the map's drop.
/// - **Each input answered exactly once**: `(input, Ok(output))`, or `(input, Err(TaskError))`
///   when the task panicked (with its message) or was cancelled by a runtime shutdown.
/// - **A panic loses nothing else**: it ends only its own task.
/// - **Completion order**; [`collect_in_input_order`](Self::collect_in_input_order) gives input
///   order instead.
/// - **Slots are shared and FIFO**, as for [`BoundedMap`](super::BoundedMap).
/// - **Progress only while polled**: tasks already spawned run on their own, but new ones are
///   spawned, and finished ones joined, only when the map is polled.
/// - **Dropping the map aborts its tasks** (as dropping a `JoinSet` does). A task that is in the
///   middle of a poll on another thread stops at its next `.await`; its slot is freed then.
///
/// # Panics
///
/// Polling the map spawns tasks, which panics outside a tokio runtime (as `tokio::spawn` does).
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
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn run() {
/// let limiter = ConcurrencyLimiter::new(4).expect("4 is a valid limit");
/// let mut squares = limiter.spawn_bounded_map(0..100u64, |&n| async move { n * n });
/// let mut sum = 0;
/// while let Some((_n, square)) = squares.next().await {
///     sum += square.expect("squaring does not panic");
/// }
/// assert_eq!(sum, 328_350);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct SpawnedBoundedMap<I: Iterator, F, Fut: Future> {
    feed: Feed<I, F>,
    tasks: JoinSet<Fut::Output>,
    /// Each unjoined task's input and its position among the inputs.
    inputs_by_task: HashMap<Id, (usize, I::Item)>,
}

/// An input's position, the input, and its task's outcome.
type Indexed<T, O> = (usize, T, Result<O, TaskError>);

// Nothing is pinned in place through `Pin<&mut Self>` (the tasks live on the runtime), so the map
// can move between polls whatever its type parameters are.
impl<I: Iterator, F, Fut: Future> Unpin for SpawnedBoundedMap<I, F, Fut> {}

impl<I, F, Fut> SpawnedBoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    pub(super) fn new(limiter: ConcurrencyLimiter, inputs: I, make_future: F) -> Self {
        SpawnedBoundedMap {
            feed: Feed::new(limiter, inputs, make_future),
            tasks: JoinSet::new(),
            inputs_by_task: HashMap::new(),
        }
    }

    /// The next `(input, result)` to complete, or `None` once every input has been answered.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping this future loses no result; the tasks keep running and the next
    /// call picks up where this one stopped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (see the type docs).
    pub async fn next(&mut self) -> Option<(I::Item, Result<Fut::Output, TaskError>)> {
        poll_fn(|cx| self.poll_next_indexed(cx))
            .await
            .map(|(_, input, result)| (input, result))
    }

    /// Runs the map to the end and returns every `(input, result)` in the order the inputs came
    /// from the iterator (results already taken with [`next`](Self::next) are not included).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping this future drops the map, which aborts its tasks, and the
    /// results gathered so far.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (see the type docs).
    pub async fn collect_in_input_order(
        mut self,
    ) -> Vec<(I::Item, Result<Fut::Output, TaskError>)> {
        let mut results = Vec::new();
        while let Some(result) = poll_fn(|cx| self.poll_next_indexed(cx)).await {
            results.push(result);
        }
        in_input_order(results)
    }

    /// How many of the map's tasks exist right now, finished-but-not-yet-yielded ones included
    /// (at most the limit).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    fn poll_next_indexed(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Indexed<I::Item, Fut::Output>>> {
        // A task is spawned only with a slot, and only while fewer than `limit` tasks are
        // unjoined: the slot bounds the futures running (shared with the limiter's other users),
        // the count bounds the tasks that exist, output included.
        while self.tasks.len() < self.feed.limit() {
            let Poll::Ready(Some((index, input, future, slot))) = self.feed.poll_next_job(cx)
            else {
                break;
            };
            let task = self.tasks.spawn(Admitted::new(future, slot));
            self.inputs_by_task.insert(task.id(), (index, input));
        }
        let (id, result) = match self.tasks.poll_join_next_with_id(cx) {
            Poll::Ready(Some(Ok((id, output)))) => (id, Ok(output)),
            Poll::Ready(Some(Err(error))) => (error.id(), Err(TaskError::from_join_error(error))),
            Poll::Ready(None) if self.feed.is_exhausted() => return Poll::Ready(None),
            // No task: waiting for a slot (the waker is registered with the queued acquire).
            Poll::Ready(None) | Poll::Pending => return Poll::Pending,
        };
        let (index, input) = self
            .inputs_by_task
            .remove(&id)
            .expect("every spawned task's input is recorded under its id until it is joined");
        Poll::Ready(Some((index, input, result)))
    }
}

impl<I, F, Fut> Stream for SpawnedBoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    type Item = (I::Item, Result<Fut::Output, TaskError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_next_indexed(cx)
            .map(|done| done.map(|(_, input, result)| (input, result)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint(self.tasks.len())
    }
}

impl<I, F, Fut> FusedStream for SpawnedBoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn is_terminated(&self) -> bool {
        self.feed.is_exhausted() && self.tasks.is_empty()
    }
}

impl<I: Iterator, F, Fut: Future> fmt::Debug for SpawnedBoundedMap<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.feed
            .debug_map(f, "SpawnedBoundedMap", "tasks", self.tasks.len())
    }
}
