//! `futures` 0.3: `futures::channel::mpsc::channel` and `futures::lock::Mutex` (`try_recv`,
//! used here, since 0.3.31; `Mutex::lock_owned` since 0.3.26).

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use futures::channel::mpsc;

use crate::channel::{ChannelUnderTest, Operations, TryRecvError, TrySendError};
use crate::lock::LockUnderTest;
use crate::{BoxFuture, Claim};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `futures::channel::mpsc` with `channel(capacity)`: one receiver task; closed by dropping the
/// senders.
#[derive(Debug)]
pub struct Mpsc;

/// One sender task's handle. A `futures` sender is used from one task at a time (`&mut self`), and
/// each clone brings its own guaranteed slot: so each task gets its own clone, shared only with
/// the task's one send in flight.
#[derive(Debug)]
pub struct MpscSender(Arc<Mutex<mpsc::Sender<u64>>>);

impl Clone for MpscSender {
    fn clone(&self) -> Self {
        MpscSender(Arc::new(Mutex::new(lock(&self.0).clone())))
    }
}

impl ChannelUnderTest for Mpsc {
    type Sender = MpscSender;
    type Receiver = Arc<Mutex<mpsc::Receiver<u64>>>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            MpscSender(Arc::new(Mutex::new(tx))),
            Arc::new(Mutex::new(rx)),
        )
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = Arc::clone(&tx.0);
        Box::pin(async move {
            poll_fn(|cx| lock(&tx).poll_ready(cx))
                .await
                .map_err(|_| value)?;
            lock(&tx).start_send(value).map_err(|_| value)
        })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError> {
        lock(&tx.0).try_send(value).map_err(|e| {
            if e.is_full() {
                TrySendError::Full(value)
            } else {
                TrySendError::Closed(value)
            }
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = Arc::clone(rx);
        Box::pin(poll_fn(move |cx| lock(&rx).poll_next_unpin(cx)))
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError> {
        lock(rx).try_recv().map_err(|e| match e {
            mpsc::TryRecvError::Empty => TryRecvError::Empty,
            mpsc::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    fn operations() -> Operations {
        Operations {
            multi_receiver: false,
            close: false,
        }
    }

    fn claim(guarantee: crate::channel::Guarantee) -> Claim {
        use crate::channel::Guarantee;
        match guarantee {
            Guarantee::Capacity => Claim::NotClaimed(
                "futures::channel::mpsc::channel: \"the channel's capacity is equal to \
                 `buffer + num-senders`\": each sender has a slot of its own \
                 (docs.rs/futures/0.3/futures/channel/mpsc/fn.channel.html)",
            ),
            Guarantee::SendCancelSafe | Guarantee::RecvCancelSafe => Claim::NotClaimed(
                "futures::channel::mpsc says nothing about a dropped send or receive \
                 (docs.rs/futures/0.3/futures/channel/mpsc/)",
            ),
            _ => Claim::Claimed,
        }
    }
}

/// `futures::lock::Mutex`.
#[derive(Debug)]
pub struct FuturesMutex(Arc<futures::lock::Mutex<()>>);

impl LockUnderTest for FuturesMutex {
    type Shared = ();
    type Exclusive = futures::lock::OwnedMutexGuard<()>;
    const HAS_SHARED: bool = false;

    fn new() -> Self {
        FuturesMutex(Arc::new(futures::lock::Mutex::new(())))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(Arc::clone(&self.0).lock_owned())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        Arc::clone(&self.0).try_lock_owned()
    }

    fn claim(guarantee: crate::semaphore::Guarantee) -> Claim {
        match guarantee {
            crate::semaphore::Guarantee::Fifo => Claim::NotClaimed(
                "futures::lock::Mutex: \"This mutex provides no fairness guarantees\" \
                 (docs.rs/futures/0.3/futures/lock/struct.Mutex.html)",
            ),
            _ => Claim::Claimed,
        }
    }
}
