//! `async-channel` 2.x: `async_channel::bounded` (the API used here — `send`, `try_send`, `recv`,
//! `try_recv`, `close`, cloneable receivers — is in every 2.x release).

use crate::channel::{ChannelUnderTest, Guarantee, Operations, TryRecvError, TrySendError};
use crate::{BoxFuture, Claim};

/// `async_channel::bounded`: a multi-consumer channel with an explicit `Sender::close`
/// ("The remaining messages can still be received").
#[derive(Debug)]
pub struct Channel;

impl ChannelUnderTest for Channel {
    type Sender = async_channel::Sender<u64>;
    type Receiver = async_channel::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        async_channel::bounded(capacity)
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = tx.clone();
        Box::pin(async move { tx.send(value).await.map_err(|e| e.0) })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError> {
        tx.try_send(value).map_err(|e| match e {
            async_channel::TrySendError::Full(v) => TrySendError::Full(v),
            async_channel::TrySendError::Closed(v) => TrySendError::Closed(v),
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = rx.clone();
        Box::pin(async move { rx.recv().await.ok() })
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError> {
        rx.try_recv().map_err(|e| match e {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    fn clone_receiver(rx: &Self::Receiver) -> Self::Receiver {
        rx.clone()
    }

    fn close(tx: &Self::Sender) {
        tx.close();
    }

    fn operations() -> Operations {
        Operations {
            multi_receiver: true,
            close: true,
        }
    }

    fn claim(guarantee: Guarantee) -> Claim {
        match guarantee {
            Guarantee::SendCancelSafe => Claim::NotClaimed(
                "async_channel::Sender::send's docs say only \"If the channel is full, this \
                 method waits until there is space for a message\": nothing about a dropped send \
                 (docs.rs/async-channel/2/async_channel/struct.Sender.html#method.send)",
            ),
            Guarantee::RecvCancelSafe => Claim::NotClaimed(
                "async_channel::Receiver::recv's docs say only \"If the channel is empty, this \
                 method waits until there is a message\": nothing about a dropped recv \
                 (docs.rs/async-channel/2/async_channel/struct.Receiver.html#method.recv)",
            ),
            _ => Claim::Claimed,
        }
    }
}
