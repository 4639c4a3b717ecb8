//! `tokio::sync`: `Semaphore`, `Mutex`, `RwLock` (tokio 1.x; the owned-guard API used here is in
//! every 1.x release since 1.1).

use std::sync::Arc;

use crate::BoxFuture;

tokio_shaped_locks!(tokio::sync, "tokio::sync");

/// `tokio::sync::mpsc::channel`: one receiver (its `Receiver` is not `Clone`, and keeps only the
/// waker of its last poll), shared behind a lock so that each recv future owns a handle; no
/// sender-side close (the checker closes by dropping every sender). Its docs promise both cancel
/// safeties (`Sender::send`: "it is guaranteed that the message was not sent";
/// `Receiver::recv`: "This method is cancel safe"). Needs tokio 1.12 or later
/// (`Receiver::try_recv`).
#[derive(Debug)]
pub struct Mpsc;

impl crate::channel::ChannelUnderTest for Mpsc {
    type Sender = tokio::sync::mpsc::Sender<u64>;
    type Receiver = Arc<std::sync::Mutex<tokio::sync::mpsc::Receiver<u64>>>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (tx, Arc::new(std::sync::Mutex::new(rx)))
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = tx.clone();
        Box::pin(async move { tx.send(value).await.map_err(|e| e.0) })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), crate::channel::TrySendError> {
        use tokio::sync::mpsc::error::TrySendError as E;
        tx.try_send(value).map_err(|e| match e {
            E::Full(v) => crate::channel::TrySendError::Full(v),
            E::Closed(v) => crate::channel::TrySendError::Closed(v),
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = Arc::clone(rx);
        Box::pin(std::future::poll_fn(move |cx| {
            rx.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .poll_recv(cx)
        }))
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, crate::channel::TryRecvError> {
        use tokio::sync::mpsc::error::TryRecvError as E;
        let mut rx = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rx.try_recv().map_err(|e| match e {
            E::Empty => crate::channel::TryRecvError::Empty,
            E::Disconnected => crate::channel::TryRecvError::Closed,
        })
    }
}
