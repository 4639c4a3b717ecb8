//! `flume` 0.11 (and 0.10: the API used here — `bounded`, `send_async`, `recv_async`,
//! `try_send`, `try_recv`, `Clone` — is the same in both, with the `async` feature; built with
//! 0.10.10 through 0.11.1).

use crate::channel::{ChannelUnderTest, Guarantee, Operations, TryRecvError, TrySendError};
use crate::{BoxFuture, Claim};

/// `flume::bounded`: a multi-consumer channel. It has no close: it is disconnected when every
/// sender is dropped, which is how the checker closes it.
#[derive(Debug)]
pub struct Channel;

impl ChannelUnderTest for Channel {
    type Sender = flume::Sender<u64>;
    type Receiver = flume::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        flume::bounded(capacity)
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = tx.clone();
        Box::pin(async move { tx.send_async(value).await.map_err(|e| e.0) })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError> {
        tx.try_send(value).map_err(|e| match e {
            flume::TrySendError::Full(v) => TrySendError::Full(v),
            flume::TrySendError::Disconnected(v) => TrySendError::Closed(v),
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = rx.clone();
        Box::pin(async move { rx.recv_async().await.ok() })
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError> {
        rx.try_recv().map_err(|e| match e {
            flume::TryRecvError::Empty => TryRecvError::Empty,
            flume::TryRecvError::Disconnected => TryRecvError::Closed,
        })
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
                "flume::Sender::send_async's docs say only \"If the channel is bounded and is \
                 full, the returned future will yield to the async runtime\": nothing about a \
                 dropped send (docs.rs/flume/0.11/flume/struct.Sender.html#method.send_async)",
            ),
            Guarantee::RecvCancelSafe => Claim::NotClaimed(
                "flume::Receiver::recv_async's docs say only \"If the channel is empty, the \
                 returned future will yield to the async runtime\": nothing about a dropped recv \
                 (docs.rs/flume/0.11/flume/struct.Receiver.html#method.recv_async)",
            ),
            _ => Claim::Claimed,
        }
    }
}
