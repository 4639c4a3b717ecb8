//! A bounded multi-producer multi-consumer channel.
//!
//! [`bounded`] returns a cloneable [`Sender`] and a cloneable [`Receiver`]. Values live in a ring
//! of `capacity` slots that a send or a receive claims without a lock when it need not wait;
//! callers that must wait queue FIFO under a lock, and are handed slots in order, as the
//! semaphore core hands out permits. So:
//!
//! - **FIFO waiting**: senders waiting for space are let in in arrival order, and so are receivers
//!   waiting for a value; while anyone waits on a side, newcomers on that side queue behind them.
//!   Values come out of the queue in the order they went in. Being let in fixes the order of
//!   turns, not which value: a receiver that is let in is promised *a* value, and takes the front
//!   one when its future is next polled, so two receivers let in in order and then polled in the
//!   opposite order get the values in the opposite order. Likewise a waiting sender's value enters
//!   the queue when its future is next polled, not when it is let in. (Fixing the value at the
//!   grant would move it into the waiter's future under the lock; with tasks polled in the order
//!   they are woken, as executors do, the two are the same.)
//! - **Cancel safety**: a dropped [`send`](Sender::send) future enqueues nothing (its value is
//!   dropped with it; it never reached the channel). A dropped [`recv`](Receiver::recv) future never
//!   swallows a value: a value assigned to a receiver that is then dropped goes to the next
//!   receiver, or stays queued.
//! - **Close**: [`close`](Sender::close) (or dropping every sender) stops new sends; receivers
//!   still get every value that was sent, then `None`. Dropping every receiver closes the channel
//!   and drops what is queued; senders get their value back in the error.
//! - **Nothing refused is lost**: every error that refuses a value carries it back.
//! - **Bad input**: capacity 0 is a typed [`CapacityError`] (there is no rendezvous mode), and so
//!   is one above [`MAX_CAPACITY`].
//! - **Memory**: the slots are allocated when the channel is made, `capacity` of them, each a
//!   `T` and an 8-byte stamp; sending and receiving allocate nothing, and neither does waiting
//!   once the wait queues have grown to the most callers that ever waited at once.
//! - **User code that panics**: a waker's `clone`, `wake` and drop and a value's `Drop` never
//!   run under the channel's lock. A waker that panics when woken does not stop the others; the
//!   send or receive that woke it completes first (its value sent, or received and then dropped
//!   with the unwinding, as if the receiving task had panicked after receiving it) and then
//!   panics. When the last receiver goes, every value left is dropped even if one's `Drop`
//!   panics; the first panic is then raised.
//!
//! # Example
//!
//! ```
//! use async_patterns::channel;
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn run() {
//! let (tx, rx) = channel::bounded(2).unwrap();
//! let producer = tokio::spawn(async move {
//!     for i in 0..5 {
//!         tx.send(i).await.unwrap(); // waits while 2 values are queued
//!     }
//!     // `tx` dropped here: the channel closes once the values are taken.
//! });
//! let mut got = Vec::new();
//! while let Some(value) = rx.recv().await {
//!     got.push(value);
//! }
//! producer.await.unwrap();
//! assert_eq!(got, [0, 1, 2, 3, 4]);
//! # }
//! ```

mod error;
mod ring;
mod shared;
mod slab_queue;
mod turns;
mod wait;

use std::fmt;

use crate::loom::Arc;

pub use error::{
    CapacityError, ChannelClosed, SendError, TryRecvError, TryReserveError, TrySendError,
};
pub use ring::MAX_CAPACITY;
use ring::Side;
use shared::{Shared, TryRecv, TrySend};
use wait::{Recv, Reserve, SendValue};

/// Creates a channel that holds up to `capacity` values.
///
/// # Errors
///
/// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] above [`MAX_CAPACITY`].
pub fn bounded<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    if capacity == 0 {
        return Err(CapacityError::Zero);
    }
    if capacity > MAX_CAPACITY {
        return Err(CapacityError::TooLarge);
    }
    let shared = Arc::new(Shared::new(capacity));
    Ok((
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    ))
}

/// The sending side; clone it for more producers. The channel closes when the last one drops.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Room for one value in the channel, held by a sender ([`Sender::reserve`]). Sending through it
/// never waits; dropping it gives the room back.
#[must_use = "the reserved room is given back as soon as the permit is dropped"]
pub struct SendPermit<'a, T> {
    sender: &'a Sender<T>,
}

impl<T> SendPermit<'_, T> {
    /// Queues `value` in the reserved room.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel was closed after the room was reserved (a
    /// closed channel takes no more values, so that receivers that saw it drained are never
    /// wrong).
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let shared = &self.sender.shared;
        // The promise is handled here, not by `Drop`: sent, the room belongs to the value (the
        // receiver that takes it frees it); refused, it is passed on.
        std::mem::forget(self);
        shared.push_promised(value).map_err(|value| {
            shared.pass_on(Side::Send);
            SendError(value)
        })
    }
}

impl<T> Drop for SendPermit<'_, T> {
    fn drop(&mut self) {
        self.sender.shared.pass_on(Side::Send);
    }
}

impl<T> fmt::Debug for SendPermit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPermit").finish_non_exhaustive()
    }
}

/// The receiving side; clone it for more consumers. When the last one drops, the channel closes
/// and the queued values are dropped.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting (FIFO among senders) while the channel is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, nothing was enqueued, and the
    /// value is dropped with the future.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the channel is or becomes closed.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        // No lock when a slot is free; else the future queues up (or finds room after all).
        let value = match self.shared.try_send(value) {
            TrySend::Sent => return Ok(()),
            TrySend::Closed(value) => return Err(SendError(value)),
            TrySend::Full(value) => value,
        };
        SendValue::new(&self.shared, value).await
    }

    /// Sends `value` if there is room now and no sender is waiting for room.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.shared.try_send(value) {
            TrySend::Sent => Ok(()),
            TrySend::Full(value) => Err(TrySendError::Full(value)),
            TrySend::Closed(value) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits (FIFO among senders) for room for one value and holds it: the value can then be
    /// sent without waiting, for example while holding a lock that must not be held across an
    /// `.await`. Dropping the permit gives the room back.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `reserve` holds no room and keeps no place in line.
    ///
    /// # Errors
    ///
    /// [`ChannelClosed`] if the channel is or becomes closed.
    pub async fn reserve(&self) -> Result<SendPermit<'_, T>, ChannelClosed> {
        Reserve::new(&self.shared).await?;
        Ok(SendPermit { sender: self })
    }

    /// Holds room for one value if there is room now and no sender is waiting for room.
    ///
    /// # Errors
    ///
    /// [`TryReserveError::Full`] or [`TryReserveError::Closed`].
    pub fn try_reserve(&self) -> Result<SendPermit<'_, T>, TryReserveError> {
        self.shared.try_reserve()?;
        Ok(SendPermit { sender: self })
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting (FIFO among receivers) while the channel is empty.
    /// Returns `None` once the channel is closed and every value sent has been received.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `recv` never takes a value with it; a value assigned to it goes to
    /// the next receiver or stays queued.
    pub async fn recv(&self) -> Option<T> {
        match self.shared.try_recv() {
            TryRecv::Value(value) => Some(value),
            TryRecv::Closed => None,
            TryRecv::Empty => Recv::new(&self.shared).await,
        }
    }

    /// Receives a value if one is ready now and no receiver is waiting ahead.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.shared.try_recv() {
            TryRecv::Value(value) => Ok(value),
            TryRecv::Empty => Err(TryRecvError::Empty),
            TryRecv::Closed => Err(TryRecvError::Closed),
        }
    }
}

/// The queries and `close` both ends share.
macro_rules! channel_handle {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// Closes the channel for every sender and receiver: sends are refused from now on,
            /// and values already queued can still be received. Returns whether this call closed
            /// it.
            pub fn close(&self) -> bool {
                self.shared.close()
            }

            /// Whether the channel is closed (values may still be queued).
            #[must_use]
            pub fn is_closed(&self) -> bool {
                self.shared.is_closed()
            }

            /// Values queued now.
            #[must_use]
            pub fn len(&self) -> usize {
                self.shared.len()
            }

            /// Whether no value is queued now.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// The most values the channel holds.
            #[must_use]
            pub fn capacity(&self) -> usize {
                self.shared.capacity
            }
        }
    };
}

channel_handle!(Sender);
channel_handle!(Receiver);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Shared::<T>::clone_handle(&self.shared.senders);
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Shared::<T>::clone_handle(&self.shared.receivers);
        Receiver {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if Shared::<T>::drop_handle(&self.shared.senders) {
            self.shared.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if Shared::<T>::drop_handle(&self.shared.receivers) {
            self.shared.close_and_drain();
        }
    }
}

/// Shows the queue's length, capacity and whether it is closed, without needing `T: Debug`.
fn debug_channel<T>(name: &str, shared: &Shared<T>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct(name)
        .field("len", &shared.len())
        .field("capacity", &shared.capacity)
        .field("closed", &shared.is_closed())
        .finish()
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_channel("Sender", &self.shared, f)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_channel("Receiver", &self.shared, f)
    }
}
