//! The three waits of the channel: for room to send a value (`SendValue`), for room to hold
//! (`Reserve`), and for a value (`Recv`), each queued FIFO under the channel's lock once the ring
//! had nothing ready. Dropping one leaves the queue and passes on a promise it was granted but
//! had not used, so no room and no value is lost to a cancelled future; the value itself moves
//! only when its own future claims its slot.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ring::Side;
use super::shared::{Shared, Turn};
use super::turns::WaitKey;
use super::{ChannelClosed, SendError};

/// One step of a `reserve`: `Ready(true)` once room is promised to the caller, `Ready(false)`
/// once the channel is closed, `Pending` while queued.
///
/// In all three waits, `key` names the caller's place in the queue and stays in the future for
/// as long as the place exists: the channel sets it when the caller queues and clears it when
/// the place is freed, so a future that unwinds from a panic (user code: a waker, a value's
/// drop) leaves its place through its `Drop` — never twice, never not at all.
fn poll_reserve<T>(shared: &Shared<T>, key: &mut Option<WaitKey>, cx: &Context<'_>) -> Poll<bool> {
    let turn = match key {
        None => shared.wait(Side::Send, cx.waker(), key),
        Some(_) => shared.poll_wait(Side::Send, key, cx.waker()),
    };
    match turn {
        Turn::Promised => Poll::Ready(true),
        Turn::Queued => Poll::Pending,
        Turn::Closed => Poll::Ready(false),
    }
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
        poll_reserve(this.shared, &mut this.key, cx)
            .map(|promised| promised.then_some(()).ok_or(ChannelClosed))
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel(Side::Send, key);
        }
    }
}

/// Sends one value, waiting (FIFO among senders) for room: created once the ring was full (or
/// senders were queued). It takes the lock to queue itself and once more when woken with its
/// promise, then claims its slot without the lock.
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
        if this.key.is_some() {
            return this
                .shared
                .poll_queued_send(&mut this.key, cx.waker(), &mut this.value)
                .map_err(SendError);
        }
        assert!(this.value.is_some(), "SendValue polled after it completed");
        match this.shared.wait(Side::Send, cx.waker(), &mut this.key) {
            Turn::Promised => {
                let value = this.value.take().expect("checked above");
                Poll::Ready(this.shared.push_promised(value).map_err(|value| {
                    this.shared.pass_on(Side::Send);
                    SendError(value)
                }))
            }
            Turn::Queued => Poll::Pending,
            Turn::Closed => Poll::Ready(Err(SendError(this.value.take().expect("checked above")))),
        }
    }
}

impl<T> Drop for SendValue<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel(Side::Send, key);
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
        if this.key.is_some() {
            return this.shared.poll_queued_recv(&mut this.key, cx.waker());
        }
        match this.shared.wait(Side::Recv, cx.waker(), &mut this.key) {
            Turn::Promised => Poll::Ready(this.shared.pop_promised()),
            Turn::Queued => Poll::Pending,
            // Closed: take what is left, in no particular order among receivers.
            Turn::Closed => Poll::Ready(this.shared.drain_one()),
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.cancel(Side::Recv, key);
        }
    }
}
