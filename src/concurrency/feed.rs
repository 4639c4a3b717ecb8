//! The input side both bounded maps share: the next input is pulled, and its future created, only
//! once one of the limiter's slots is held.

use std::fmt;
use std::task::{Context, Poll};

use super::ConcurrencyLimiter;
use super::limiter::QueuedSlot;
use crate::sync::OwnedSemaphorePermit;

/// An input ready to run: its position, the input, its future, and the slot it runs under.
pub(super) type Job<T, Fut> = (usize, T, Fut, OwnedSemaphorePermit);

pub(super) struct Feed<I: Iterator, F> {
    limiter: ConcurrencyLimiter,
    inputs: I,
    /// Set once `inputs` returned `None`; the iterator is not asked again (it may not be fused).
    exhausted: bool,
    make_future: F,
    /// Position of the next input, so that results can be put back in input order.
    next_index: usize,
    /// The map's place in the limiter's line while it waits for a slot.
    queued: Option<QueuedSlot>,
}

impl<I: Iterator, F> Feed<I, F> {
    pub(super) fn new(limiter: ConcurrencyLimiter, inputs: I, make_future: F) -> Self {
        Feed {
            limiter,
            inputs,
            exhausted: false,
            make_future,
            next_index: 0,
            queued: None,
        }
    }

    /// Slot first, input second: `Pending` while no slot is free (the limiter keeps our place in
    /// line and registers `cx`'s waker), `Ready(None)` once the inputs are exhausted (a slot taken
    /// for nothing is dropped, unused).
    pub(super) fn poll_next_job<Fut>(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Job<I::Item, Fut>>>
    where
        F: FnMut(&I::Item) -> Fut,
    {
        if self.exhausted {
            return Poll::Ready(None);
        }
        let Poll::Ready(slot) = self.limiter.poll_slot(&mut self.queued, cx) else {
            return Poll::Pending;
        };
        let Some(input) = self.inputs.next() else {
            self.exhausted = true;
            return Poll::Ready(None);
        };
        let future = (self.make_future)(&input);
        let index = self.next_index;
        self.next_index += 1;
        Poll::Ready(Some((index, input, future, slot)))
    }

    pub(super) fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    pub(super) fn limit(&self) -> usize {
        self.limiter.limit()
    }

    /// A map's `size_hint`: the results still owed — those in flight, plus the inputs not yet
    /// pulled (none once the iterator is exhausted).
    pub(super) fn size_hint(&self, in_flight: usize) -> (usize, Option<usize>) {
        if self.exhausted {
            return (in_flight, Some(in_flight));
        }
        let (low, high) = self.inputs.size_hint();
        (
            in_flight.saturating_add(low),
            high.and_then(|high| high.checked_add(in_flight)),
        )
    }

    /// A map's `Debug`: the feed's state around the map's own count of what is in flight.
    pub(super) fn debug_map(
        &self,
        f: &mut fmt::Formatter<'_>,
        map: &str,
        in_flight_label: &str,
        in_flight: usize,
    ) -> fmt::Result {
        f.debug_struct(map)
            .field("limiter", &self.limiter)
            .field(in_flight_label, &in_flight)
            .field("inputs_pulled", &self.next_index)
            .field("exhausted", &self.exhausted)
            .field("waiting_for_slot", &self.queued.is_some())
            .finish_non_exhaustive()
    }
}
