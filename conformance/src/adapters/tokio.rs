//! `tokio::sync`: `Semaphore`, `Mutex`, `RwLock` (tokio 1.x; the owned-guard API used here is in
//! every 1.x release since 1.1).

use std::sync::Arc;

use crate::BoxFuture;
use crate::lock::{LockUnderTest, READERS};
use crate::semaphore::{Closed, Operations, SemaphoreUnderTest};

/// `tokio::sync::Semaphore`.
#[derive(Debug)]
pub struct Semaphore(Arc<tokio::sync::Semaphore>);

impl SemaphoreUnderTest for Semaphore {
    type Permit = tokio::sync::OwnedSemaphorePermit;

    fn new(permits: usize) -> Self {
        Semaphore(Arc::new(tokio::sync::Semaphore::new(permits)))
    }

    fn acquire(&self, n: u32) -> BoxFuture<Result<Self::Permit, Closed>> {
        let sem = Arc::clone(&self.0);
        Box::pin(async move { sem.acquire_many_owned(n).await.map_err(|_| Closed) })
    }

    fn try_acquire(&self, n: u32) -> Option<Self::Permit> {
        Arc::clone(&self.0).try_acquire_many_owned(n).ok()
    }

    fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }

    fn close(&self) {
        self.0.close();
    }

    fn operations() -> Operations {
        Operations {
            acquire_many: true,
            add_permits: true,
            close: true,
        }
    }
}

/// `tokio::sync::Mutex`.
#[derive(Debug)]
pub struct Mutex(Arc<tokio::sync::Mutex<()>>);

impl LockUnderTest for Mutex {
    type Shared = ();
    type Exclusive = tokio::sync::OwnedMutexGuard<()>;
    const HAS_SHARED: bool = false;

    fn new() -> Self {
        Mutex(Arc::new(tokio::sync::Mutex::new(())))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(Arc::clone(&self.0).lock_owned())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        Arc::clone(&self.0).try_lock_owned().ok()
    }
}

/// `tokio::sync::RwLock`, with room for [`READERS`] readers.
#[derive(Debug)]
pub struct RwLock(Arc<tokio::sync::RwLock<()>>);

impl LockUnderTest for RwLock {
    type Shared = tokio::sync::OwnedRwLockReadGuard<()>;
    type Exclusive = tokio::sync::OwnedRwLockWriteGuard<()>;
    const HAS_SHARED: bool = true;

    fn new() -> Self {
        RwLock(Arc::new(tokio::sync::RwLock::with_max_readers((), READERS)))
    }

    fn write(&self) -> BoxFuture<Self::Exclusive> {
        Box::pin(Arc::clone(&self.0).write_owned())
    }

    fn try_write(&self) -> Option<Self::Exclusive> {
        Arc::clone(&self.0).try_write_owned().ok()
    }

    fn read(&self) -> BoxFuture<Self::Shared> {
        Box::pin(Arc::clone(&self.0).read_owned())
    }

    fn try_read(&self) -> Option<Self::Shared> {
        Arc::clone(&self.0).try_read_owned().ok()
    }
}

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
