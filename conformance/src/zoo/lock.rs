//! Naive locks on the correct naive semaphore: an RwLock is [`READERS`] permits, a reader takes
//! one, a writer all — except for the one bug each variant has.

use crate::BoxFuture;
use crate::lock::{LockUnderTest, READERS};
use crate::semaphore::SemaphoreUnderTest;
use crate::zoo::semaphore::{Barging, Correct as Semaphore};

/// Which bug a [`NaiveRwLock`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checkers must accept it.
    None,
    /// A writer takes one permit too few, so one reader can hold it beside the writer.
    WriterTakesOneTooFew,
    /// A reader takes a free permit even while a writer waits for the lock (on a semaphore
    /// that keeps permits free while its head waits for more).
    ReadersOvertakeWriters,
}

/// A naive RwLock with the bug `BUG` (a [`Bug`] as a number: `Bug::X as u8`).
#[derive(Debug)]
pub struct NaiveRwLock<const BUG: u8> {
    fair: Semaphore,
    barging: Barging,
}

/// The correct naive RwLock.
pub type Correct = NaiveRwLock<{ Bug::None as u8 }>;
/// Lets a reader in beside a writer.
pub type WriterTakesOneTooFew = NaiveRwLock<{ Bug::WriterTakesOneTooFew as u8 }>;
/// Lets new readers overtake a waiting writer.
pub type ReadersOvertakeWriters = NaiveRwLock<{ Bug::ReadersOvertakeWriters as u8 }>;

type Guard = Box<dyn Send>;

fn boxed<P: Send + 'static>(p: P) -> Guard {
    Box::new(p)
}

impl<const BUG: u8> NaiveRwLock<BUG> {
    fn acquire(&self, n: u32) -> BoxFuture<Guard> {
        if BUG == Bug::ReadersOvertakeWriters as u8 {
            let future = self.barging.acquire(n);
            Box::pin(async move { boxed(future.await.expect("never closed")) })
        } else {
            let future = self.fair.acquire(n);
            Box::pin(async move { boxed(future.await.expect("never closed")) })
        }
    }

    fn try_acquire(&self, n: u32) -> Option<Guard> {
        if BUG == Bug::ReadersOvertakeWriters as u8 {
            self.barging.try_acquire(n).map(boxed)
        } else {
            self.fair.try_acquire(n).map(boxed)
        }
    }
}

impl<const BUG: u8> LockUnderTest for NaiveRwLock<BUG> {
    type Shared = Guard;
    type Exclusive = Guard;
    const HAS_SHARED: bool = true;

    fn new() -> Self {
        NaiveRwLock {
            fair: Semaphore::new(READERS as usize),
            barging: Barging::new(READERS as usize),
        }
    }

    fn write(&self) -> BoxFuture<Guard> {
        if BUG == Bug::WriterTakesOneTooFew as u8 {
            self.acquire(READERS - 1)
        } else {
            self.acquire(READERS)
        }
    }

    fn try_write(&self) -> Option<Guard> {
        self.try_acquire(READERS)
    }

    fn read(&self) -> BoxFuture<Guard> {
        if BUG == Bug::ReadersOvertakeWriters as u8
            && let Some(guard) = self.try_acquire(1)
        {
            return Box::pin(async move { guard });
        }
        self.acquire(1)
    }

    fn try_read(&self) -> Option<Guard> {
        self.try_acquire(1)
    }
}
