//! [`BoundedMap`]: a concurrent map over an iterator that never has more than N futures alive.

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};
use futures_util::stream::FuturesUnordered;
use pin_project_lite::pin_project;

use super::ConcurrencyLimiter;
use super::feed::Feed;
use crate::Panicked;
use crate::sync::OwnedSemaphorePermit;

/// A map over an iterator with at most [`limit`](ConcurrencyLimiter::limit) futures alive at once,
/// from [`ConcurrencyLimiter::bounded_map`]. A [`Stream`] of `(input, result)`.
///
/// All the futures run inside the task that polls the map, concurrently (like
/// `futures::stream::FuturesUnordered`), not in parallel: to use several threads, see
/// [`SpawnedBoundedMap`](super::SpawnedBoundedMap).
///
/// # Guarantees
///
/// - **Never more than `limit` futures exist.** The map takes a slot of its limiter *before* it
///   pulls the next input from the iterator and calls `make_future` on it, and frees the slot
///   only after that future has been dropped. So with 200 000 inputs and a limit of 8, at most 8
///   futures (and 8 inputs held by them) exist at any instant, not 200 000 waiting ones.
/// - **Each input answered exactly once**, as `(input, Ok(output))`, or `(input, Err(Panicked))`
///   if its future panicked; the input is handed back either way.
/// - **A panic loses nothing else.** Each poll of a mapped future runs inside
///   [`catch_unwind`]; a future that panics is dropped (freeing its slot) and reported with its
///   message, and the map goes on with the others. (The panicked future's captured state is never
///   touched again, which is why asserting unwind safety is sound here; state it *shares* with
///   others may be left half-updated by the panic, as after any caught panic.)
/// - **Completion order**; [`collect_in_input_order`](Self::collect_in_input_order) gives input
///   order instead.
/// - **Slots are shared and FIFO.** The limit is the limiter's: its other users (clones,
///   [`run`](ConcurrencyLimiter::run), other maps) count against it too, and when no slot is free
///   the map waits in the same FIFO line as they do.
/// - **Progress only while polled.** Like every stream, the map does nothing between polls: a
///   slot freed by a completed future is refilled at the next poll.
/// - **Dropping the map** drops every future it holds and frees their slots (and its place in
///   line); inputs not yet pulled stay in the iterator, which is dropped too.
///
/// Do not make the mapped futures wait for a slot of the same limiter: with every slot held by
/// the map's futures, they would wait forever.
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
/// let limiter = ConcurrencyLimiter::new(3).expect("3 is a valid limit");
/// let results = limiter
///     .bounded_map(1..=5u32, |&n| async move {
///         if n == 4 {
///             panic!("no fours");
///         }
///         n * 10
///     })
///     .collect_in_input_order()
///     .await;
///
/// let outputs: Vec<_> = results
///     .iter()
///     .map(|(n, result)| (*n, result.as_ref().map_err(|panicked| panicked.message())))
///     .collect();
/// assert_eq!(
///     outputs,
///     [(1, Ok(&10)), (2, Ok(&20)), (3, Ok(&30)), (4, Err(Some("no fours"))), (5, Ok(&50))]
/// );
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct BoundedMap<I: Iterator, F, Fut> {
    feed: Feed<I, F>,
    running: FuturesUnordered<Entry<I::Item, Fut>>,
}

/// An input's position, the input, and its future's outcome.
type Indexed<T, O> = (usize, T, Result<O, Panicked>);

// The map never pins `inputs`, `make_future` or the entries' futures in place through
// `Pin<&mut Self>`: each entry is pinned in its own allocation inside `FuturesUnordered`. So the
// map can be moved between polls whatever its type parameters are.
impl<I: Iterator, F, Fut> Unpin for BoundedMap<I, F, Fut> {}

impl<I, F, Fut> BoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future,
{
    pub(super) fn new(limiter: ConcurrencyLimiter, inputs: I, make_future: F) -> Self {
        BoundedMap {
            feed: Feed::new(limiter, inputs, make_future),
            running: FuturesUnordered::new(),
        }
    }

    /// The next `(input, result)` to complete, or `None` once every input has been answered.
    /// The same as [`StreamExt::next`](https://docs.rs/futures/0.3/futures/stream/trait.StreamExt.html#method.next),
    /// without the import.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping this future loses no result; the futures in flight stay in the map
    /// and the next call picks up where this one stopped.
    pub async fn next(&mut self) -> Option<(I::Item, Result<Fut::Output, Panicked>)> {
        poll_fn(|cx| self.poll_next_indexed(cx))
            .await
            .map(|(_, input, result)| (input, result))
    }

    /// Runs the map to the end and returns every `(input, result)` in the order the inputs came
    /// from the iterator (results already taken with [`next`](Self::next) are not included).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping this future drops the map, its futures in flight and the results
    /// gathered so far.
    pub async fn collect_in_input_order(mut self) -> Vec<(I::Item, Result<Fut::Output, Panicked>)> {
        let mut results = Vec::new();
        while let Some(result) = poll_fn(|cx| self.poll_next_indexed(cx)).await {
            results.push(result);
        }
        in_input_order(results)
    }

    /// How many of the map's futures are alive right now (at most the limit).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.running.len()
    }

    /// The heart of the map: fill free slots from the iterator, then report one completion.
    fn poll_next_indexed(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Indexed<I::Item, Fut::Output>>> {
        // Slot first, input second (see `Feed`): an input is never pulled, nor its future
        // created, before it can run. A completion below frees a slot and wakes us through it.
        while let Poll::Ready(Some((index, input, future, slot))) = self.feed.poll_next_job(cx) {
            self.running.push(Entry {
                future,
                input: Some(input),
                index,
                _slot: slot,
            });
        }
        match Pin::new(&mut self.running).poll_next(cx) {
            Poll::Ready(Some(done)) => Poll::Ready(Some(done)),
            // Nothing runs: finished if the iterator is, else waiting for a slot (the waker is
            // registered with the queued acquire).
            Poll::Ready(None) if self.feed.is_exhausted() => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// Sorts `(index, input, result)` by index and drops the index.
pub(super) fn in_input_order<T, R>(mut results: Vec<(usize, T, R)>) -> Vec<(T, R)> {
    results.sort_unstable_by_key(|(index, _, _)| *index);
    results
        .into_iter()
        .map(|(_, input, result)| (input, result))
        .collect()
}

impl<I, F, Fut> Stream for BoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future,
{
    type Item = (I::Item, Result<Fut::Output, Panicked>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_next_indexed(cx)
            .map(|done| done.map(|(_, input, result)| (input, result)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint(self.running.len())
    }
}

impl<I, F, Fut> FusedStream for BoundedMap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(&I::Item) -> Fut,
    Fut: Future,
{
    fn is_terminated(&self) -> bool {
        self.feed.is_exhausted() && self.running.is_empty()
    }
}

impl<I: Iterator, F, Fut> fmt::Debug for BoundedMap<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.feed
            .debug_map(f, "BoundedMap", "in_flight", self.running.len())
    }
}

pin_project! {
    /// One mapped future with its input and slot.
    struct Entry<T, Fut> {
        // Fields drop in declaration order: the future before the slot, so a slot is freed
        // only once its future is gone.
        #[pin]
        future: Fut,
        input: Option<T>,
        index: usize,
        _slot: OwnedSemaphorePermit,
    }
}

impl<T, Fut: Future> Future for Entry<T, Fut> {
    type Output = Indexed<T, Fut::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut future = this.future;
        // Sound to assert: after a panic the future is never polled again (it is dropped by
        // `FuturesUnordered` as soon as this returns `Ready`). See the type docs for shared state.
        let result = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(Panicked::from_payload(payload)),
        };
        let input = this
            .input
            .take()
            .expect("FuturesUnordered never polls an entry again after it completed");
        Poll::Ready((*this.index, input, result))
    }
}
