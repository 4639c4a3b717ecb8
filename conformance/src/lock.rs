//! Mutexes and RwLocks, checked by the semaphore machine: a lock is a semaphore of
//! [`READERS`] permits whose readers take one and whose writers take them all, so "never more
//! permits held than exist" is mutual exclusion, and FIFO includes "a waiting writer blocks the
//! readers that come after it".
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use async_patterns_conformance::{BoxFuture, Config};
//! use async_patterns_conformance::lock::{self, LockUnderTest};
//!
//! struct TokioMutex(Arc<tokio::sync::Mutex<()>>);
//!
//! impl LockUnderTest for TokioMutex {
//!     type Shared = ();
//!     type Exclusive = tokio::sync::OwnedMutexGuard<()>;
//!     const HAS_SHARED: bool = false;
//!     fn new() -> Self {
//!         TokioMutex(Arc::new(tokio::sync::Mutex::new(())))
//!     }
//!     fn write(&self) -> BoxFuture<Self::Exclusive> {
//!         Box::pin(Arc::clone(&self.0).lock_owned())
//!     }
//!     fn try_write(&self) -> Option<Self::Exclusive> {
//!         Arc::clone(&self.0).try_lock_owned().ok()
//!     }
//! }
//!
//! lock::check::<TokioMutex>("tokio Mutex", &Config::quick()).assert_conforms();
//! ```

use crate::semaphore::{Closed, Guarantee, Shape, Subject, run_checks};
use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// The permits a lock stands for: more readers than a case ever holds at once.
pub const READERS: u32 = 1 << 10;

/// The smallest surface a lock must expose to be checked: exclusive (write) access, and shared
/// (read) access if it is an RwLock.
pub trait LockUnderTest: Send + Sync + 'static {
    /// A read guard (`()` for a mutex).
    type Shared: Send + 'static;
    /// A write guard (a mutex's guard).
    type Exclusive: Send + 'static;
    /// Whether it has shared access (an RwLock): then [`read`](Self::read) and
    /// [`try_read`](Self::try_read) are called.
    const HAS_SHARED: bool;

    /// An unlocked lock.
    fn new() -> Self;
    /// Waits for exclusive access.
    fn write(&self) -> BoxFuture<Self::Exclusive>;
    /// Exclusive access if free now.
    fn try_write(&self) -> Option<Self::Exclusive>;
    /// Waits for shared access. Only called if [`HAS_SHARED`](Self::HAS_SHARED).
    fn read(&self) -> BoxFuture<Self::Shared> {
        unimplemented!("read: this lock has no shared access")
    }
    /// Shared access if available now. Only called if [`HAS_SHARED`](Self::HAS_SHARED).
    fn try_read(&self) -> Option<Self::Shared> {
        unimplemented!("try_read: this lock has no shared access")
    }
    /// Whether its documentation promises `guarantee` (the semaphore's guarantees, read as a
    /// lock's: see [`check`]). All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

struct Adapted<L>(L);

impl<L: LockUnderTest> Subject for Adapted<L> {
    fn acquire(&self, n: u32) -> BoxFuture<Result<Box<dyn Send>, Closed>> {
        if n == READERS {
            let future = self.0.write();
            Box::pin(async move { Ok(Box::new(future.await) as Box<dyn Send>) })
        } else {
            let future = self.0.read();
            Box::pin(async move { Ok(Box::new(future.await) as Box<dyn Send>) })
        }
    }

    fn try_acquire(&self, n: u32) -> Option<Box<dyn Send>> {
        if n == READERS {
            self.0.try_write().map(|g| Box::new(g) as Box<dyn Send>)
        } else {
            self.0.try_read().map(|g| Box::new(g) as Box<dyn Send>)
        }
    }

    fn add_permits(&self, _: usize) {
        unreachable!("a lock's shape has no add_permits")
    }

    fn close(&self) {
        unreachable!("a lock's shape has no close")
    }
}

/// The name and meaning of a semaphore guarantee read as a lock's; `None` if a lock has no such
/// row (a lock cannot be closed).
fn as_lock(g: Guarantee, shared: bool) -> Option<(&'static str, &'static str)> {
    Some(match g {
        Guarantee::PermitsConserved if shared => (
            "mutual_exclusion",
            "a writer holds it alone; readers only share it with readers; none lost",
        ),
        Guarantee::PermitsConserved => (
            "mutual_exclusion",
            "at most one holder; free again once every guard is dropped",
        ),
        Guarantee::Fifo if shared => (
            "fifo",
            "served in arrival order: a waiting writer blocks the readers that come after it",
        ),
        Guarantee::CloseWakesAll => return None,
        other => (other.name(), other.meaning()),
    })
}

/// Checks every guarantee of the lock `L`: `mutual_exclusion`, `no_lost_wakeup`, `fifo`,
/// `cancel_safe`, `new_waker_woken`.
#[must_use]
pub fn check<L: LockUnderTest>(implementation: &str, config: &Config) -> Report {
    let shape = Shape {
        initial: &[READERS as usize],
        sizes: if L::HAS_SHARED {
            &[1, 1, READERS]
        } else {
            &[READERS]
        },
        add_permits: false,
        close: false,
    };
    let findings = run_checks(
        &shape,
        &|_| Box::new(Adapted(L::new())) as Box<dyn Subject>,
        config,
        &|g| as_lock(g, L::HAS_SHARED).map(|(name, meaning)| (name, meaning, L::claim(g))),
    );
    Report {
        pattern: if L::HAS_SHARED { "rwlock" } else { "mutex" },
        implementation: implementation.to_string(),
        findings,
    }
}
