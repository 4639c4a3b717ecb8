//! The two waits of the channel: for room (`Reserve`) and for a value (`Recv`), each queued FIFO
//! in its count's waitlist under the channel's lock. Dropping one leaves the queue and hands on
//! whatever it had been granted but not yet seen, so no room and no value is lost to a
//! cancelled future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::shared::{Shared, State, WakeOne};
use super::{ChannelClosed, SendError};
use crate::loom::{MutexGuard, lock};
use crate::sync::locked::{LockedSemaphore, WaitKey, WaitState};

/// One step of a wait on `count`: `Ready(true)` once granted, `Ready(false)` once closed,
/// `Pending` while queued (the first step takes at once if nobody waits and there is some).
fn poll_wait(
    count: &mut LockedSemaphore,
    closed: bool,
    key: &mut Option<WaitKey>,
    cx: &Context<'_>,
) -> Poll<bool> {
    let Some(queued) = *key else {
        if closed {
            return Poll::Ready(false);
        }
        if count.try_take() {
            return Poll::Ready(true);
        }
        *key = Some(count.enqueue(cx.waker()));
        return Poll::Pending;
    };
    match count.poll(queued, cx.waker()) {
        WaitState::Waiting => Poll::Pending,
        WaitState::Granted => {
            *key = None;
            Poll::Ready(true)
        }
        WaitState::Closed => {
            *key = None;
            Poll::Ready(false)
        }
    }
}

/// Leaves the queue of `count` (chosen in the locked state) for a wait dropped while queued, or
/// granted but not yet told: what it was granted goes to the next waiter.
fn cancel<T>(shared: &Shared<T>, key: WaitKey, count: fn(&mut State<T>) -> &mut LockedSemaphore) {
    let mut wakers = WakeOne::new();
    let mut state = lock(&shared.state);
    count(&mut state).cancel(key, &mut wakers);
    drop(state);
    wakers.wake_all();
}

/// Waits (FIFO among senders) for room for one value; resolves once the room is the caller's.
pub(super) struct Reserve<'a, T> {
    shared: &'a Shared<T>,
    key: Option<WaitKey>,
}

impl<'a, T> Reserve<'a, T> {
    pub(super) fn new(shared: &'a Shared<T>) -> Self {
        Reserve { shared, key: None }
    }
}

impl<T> Future for Reserve<'_, T> {
    type Output = Result<(), ChannelClosed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state: MutexGuard<'_, State<T>> = lock(&this.shared.state);
        let closed = state.closed;
        poll_wait(&mut state.room, closed, &mut this.key, cx)
            .map(|granted| granted.then_some(()).ok_or(ChannelClosed))
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            cancel(self.shared, key, |state| &mut state.room);
        }
    }
}

/// Sends one value, waiting (FIFO among senders) for room: the value is queued under the same
/// lock that takes the room, so this future takes the lock once when there is room and twice when
/// it waits (to queue itself, and once woken with its grant), never more.
pub(super) struct SendValue<'a, T> {
    shared: &'a Shared<T>,
    value: Option<T>,
    key: Option<WaitKey>,
}

impl<'a, T> SendValue<'a, T> {
    pub(super) fn new(shared: &'a Shared<T>, value: T) -> Self {
        SendValue {
            shared,
            value: Some(value),
            key: None,
        }
    }
}

// Nothing in it is pinned: the value is moved out by value, never borrowed across a poll.
impl<T> Unpin for SendValue<'_, T> {}

impl<T> Future for SendValue<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut wakers = WakeOne::new();
        let mut state: MutexGuard<'_, State<T>> = lock(&this.shared.state);
        let closed = state.closed;
        let granted = std::task::ready!(poll_wait(&mut state.room, closed, &mut this.key, cx));
        let value = this
            .value
            .take()
            .expect("SendValue polled after it completed");
        if !granted {
            return Poll::Ready(Err(SendError(value)));
        }
        let sent = if closed {
            // Granted before the close, woken after it: a closed channel takes no more values
            // (receivers that saw it drained must never be wrong), so the room goes back.
            state.room.release_one(&mut wakers);
            Err(SendError(value))
        } else {
            state.enqueue(value, &mut wakers);
            Ok(())
        };
        drop(state);
        wakers.wake_all();
        Poll::Ready(sent)
    }
}

impl<T> Drop for SendValue<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            cancel(self.shared, key, |state| &mut state.room);
        }
    }
}

/// Waits (FIFO among receivers) for a value; resolves to it, or to `None` once the channel is
/// closed and drained.
pub(super) struct Recv<'a, T> {
    shared: &'a Shared<T>,
    key: Option<WaitKey>,
}

impl<'a, T> Recv<'a, T> {
    pub(super) fn new(shared: &'a Shared<T>) -> Self {
        Recv { shared, key: None }
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let mut wakers = WakeOne::new();
        let mut state: MutexGuard<'_, State<T>> = lock(&this.shared.state);
        let closed = state.closed;
        let granted = std::task::ready!(poll_wait(&mut state.ready, closed, &mut this.key, cx));
        let value = if granted {
            state.dequeue(&mut wakers)
        } else {
            // Closed: drain what is left, granted to nobody in particular.
            state.values.pop_front()
        };
        drop(state);
        wakers.wake_all();
        Poll::Ready(value)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            cancel(self.shared, key, |state| &mut state.ready);
        }
    }
}
