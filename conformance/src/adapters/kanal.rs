//! `kanal` 0.1: `kanal::bounded_async` (builds with 0.1.0 and 0.1.1).
//!
//! kanal's `close` is not the close this checker means: it "Closes the channel completely on both
//! sides and terminates waiting signals" (`AsyncSender::close`), and drops the values queued. So
//! the checker closes a kanal channel as its docs do for the sending side alone: by dropping every
//! sender. kanal's `send` and `try_send` errors do not give the value back; the adapter returns
//! the (copied) value itself.

use crate::channel::{ChannelUnderTest, Guarantee, Operations, TryRecvError, TrySendError};
use crate::{BoxFuture, Claim};

/// `kanal::bounded_async`: a multi-consumer channel, closed by dropping every sender.
#[derive(Debug)]
pub struct Channel;

impl ChannelUnderTest for Channel {
    type Sender = kanal::AsyncSender<u64>;
    type Receiver = kanal::AsyncReceiver<u64>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        kanal::bounded_async(capacity)
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = tx.clone();
        Box::pin(async move { tx.send(value).await.map_err(|_| value) })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError> {
        match tx.try_send(value) {
            Ok(true) => Ok(()),
            Ok(false) => Err(TrySendError::Full(value)),
            Err(_) => Err(TrySendError::Closed(value)),
        }
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = rx.clone();
        Box::pin(async move { rx.recv().await.ok() })
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError> {
        match rx.try_recv() {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(TryRecvError::Empty),
            Err(_) => Err(TryRecvError::Closed),
        }
    }

    fn clone_receiver(rx: &Self::Receiver) -> Self::Receiver {
        rx.clone()
    }

    fn operations() -> Operations {
        Operations {
            multi_receiver: true,
            close: false,
        }
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::SendCancelSafe => Claim::NotClaimed(
                "kanal's AsyncReceiver::recv docs: \"constructs such as `tokio::select!` are not \
                 correct to use with kanal async channels\"; AsyncSender::send says nothing about \
                 a dropped send \
                 (docs.rs/kanal/0.1/kanal/struct.AsyncReceiver.html#method.recv)",
            ),
            Guarantee::RecvCancelSafe => Claim::NotClaimed(
                "kanal's AsyncReceiver::recv: \"if a `ReceiveFuture` is dropped exactly at the \
                 time when new data is written to the channel, it may result in the loss of the \
                 received value\" (docs.rs/kanal/0.1/kanal/struct.AsyncReceiver.html#method.recv)",
            ),
            _ => Claim::Claimed,
        }
    }
}
