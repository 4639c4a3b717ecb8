//! Semaphores: the adapter an implementation exposes, and the checker of its guarantees.
//!
//! The checker hand-polls acquire futures with counting wakers and compares what it sees with what
//! any correct semaphore must do; it needs no model of the implementation's internals. Mutexes and
//! RwLocks are checked by the same machine ([`crate::lock`]): a lock is a semaphore whose readers
//! take one permit and whose writers take them all.
//!
//! # Example
//!
//! tokio's semaphore, through its adapter (`adapters/tokio.rs`: the template for your own — a
//! struct holding an `Arc` of the semaphore, and a line per method):
//!
//! ```
//! use async_patterns_conformance::adapters::tokio;
//! use async_patterns_conformance::{Config, semaphore};
//!
//! semaphore::check::<tokio::Semaphore>("tokio", &Config::quick()).assert_conforms();
//! ```

mod machine;

pub(crate) use machine::{Shape, Subject, run_checks};

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// An acquire failed because the semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The optional operations an implementation has. The checker only generates those it has, and
/// leaves out the guarantees that need a missing one (a semaphore without `close` has no
/// "close wakes every waiter" row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Operations {
    /// Acquiring more than one permit at once.
    pub acquire_many: bool,
    /// Adding permits after creation.
    pub add_permits: bool,
    /// Closing: every waiter fails, and so does every later acquire.
    pub close: bool,
}

/// The smallest surface a semaphore must expose to be checked.
///
/// Futures are `'static` (clone an `Arc` into them), so the checker can keep them across steps.
pub trait SemaphoreUnderTest: Send + Sync + 'static {
    /// Held permits; dropping it gives them back.
    type Permit: Send + 'static;

    /// A semaphore with `permits` permits.
    fn new(permits: usize) -> Self;

    /// Waits for `n` permits (`n` is 1 unless [`Operations::acquire_many`]).
    fn acquire(&self, n: u32) -> BoxFuture<Result<Self::Permit, Closed>>;

    /// Takes `n` permits if it can without waiting.
    fn try_acquire(&self, n: u32) -> Option<Self::Permit>;

    /// Adds `n` permits. Only called if [`Operations::add_permits`].
    fn add_permits(&self, n: usize) {
        let _ = n;
        unimplemented!("add_permits: not in this implementation's Operations")
    }

    /// Closes the semaphore. Only called if [`Operations::close`].
    fn close(&self) {
        unimplemented!("close: not in this implementation's Operations")
    }

    /// The optional operations it has. None, unless overridden.
    fn operations() -> Operations {
        Operations::default()
    }

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the semaphore checker checks, one row of the matrix each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// Never more permits held than exist; a `try_acquire` that finds enough free and nobody
    /// waiting succeeds; when everything is given back, every permit can be taken again.
    PermitsConserved,
    /// A waiter that can go on has been woken (it is never found ready without a wake), no
    /// waiter waits at the head of the queue while enough permits are free, and none that cannot
    /// go on is woken again on every poll (a busy spin).
    NoLostWakeup,
    /// Waiters are served in the order they arrived: no later waiter, new acquire or
    /// `try_acquire` overtakes one that waits, also when the one at the head wants several permits.
    Fifo,
    /// An acquire dropped at any point — queued, partly served, or granted but not yet polled —
    /// gives back everything it was given and passes its turn on.
    CancelSafe,
    /// `close` wakes every waiter, each of which then fails, as does every later acquire.
    CloseWakesAll,
    /// A waiter polled again with a new waker (moved to another task) is woken through the new one.
    NewWakerWoken,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 6] = [
        Guarantee::PermitsConserved,
        Guarantee::NoLostWakeup,
        Guarantee::Fifo,
        Guarantee::CancelSafe,
        Guarantee::CloseWakesAll,
        Guarantee::NewWakerWoken,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::PermitsConserved => "permits_conserved",
            Guarantee::NoLostWakeup => "no_lost_wakeup",
            Guarantee::Fifo => "fifo",
            Guarantee::CancelSafe => "cancel_safe",
            Guarantee::CloseWakesAll => "close_wakes_all",
            Guarantee::NewWakerWoken => "new_waker_woken",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::PermitsConserved => {
                "never more permits held than exist, and none lost once all are given back"
            }
            Guarantee::NoLostWakeup => {
                "woken when it can go on (none left asleep with permits free), asleep when it cannot"
            }
            Guarantee::Fifo => {
                "served in arrival order; nobody overtakes a waiter (acquire_many at the head too)"
            }
            Guarantee::CancelSafe => {
                "an acquire dropped at any point, even granted but not yet polled, gives all back"
            }
            Guarantee::CloseWakesAll => "close wakes every waiter and fails it and later acquires",
            Guarantee::NewWakerWoken => "a waiter re-polled with a new waker is woken through it",
        }
    }
}

/// The request sizes and starting permits the semaphore checker draws from.
fn semaphore_shape(ops: Operations) -> Shape {
    Shape {
        initial: &[0, 1, 1, 2, 3],
        sizes: if ops.acquire_many {
            &[1, 1, 2, 3]
        } else {
            &[1]
        },
        add_permits: ops.add_permits,
        close: ops.close,
    }
}

struct Adapted<S>(S);

impl<S: SemaphoreUnderTest> Subject for Adapted<S> {
    fn acquire(&self, n: u32) -> BoxFuture<Result<Box<dyn Send>, Closed>> {
        let future = self.0.acquire(n);
        Box::pin(async move { future.await.map(|p| Box::new(p) as Box<dyn Send>) })
    }

    fn try_acquire(&self, n: u32) -> Option<Box<dyn Send>> {
        self.0.try_acquire(n).map(|p| Box::new(p) as Box<dyn Send>)
    }

    fn add_permits(&self, n: usize) {
        self.0.add_permits(n);
    }

    fn close(&self) {
        self.0.close();
    }
}

/// Checks every guarantee of the semaphore `S` that its [`Operations`] allow.
#[must_use]
pub fn check<S: SemaphoreUnderTest>(implementation: &str, config: &Config) -> Report {
    let shape = semaphore_shape(S::operations());
    let findings = run_checks(
        &shape,
        &|permits| Box::new(Adapted(S::new(permits))) as Box<dyn Subject>,
        config,
        &|g| match g {
            Guarantee::CloseWakesAll if !shape.close => None,
            _ => Some((g.name(), g.meaning(), S::claim(g))),
        },
    );
    Report {
        pattern: "semaphore",
        implementation: implementation.to_string(),
        findings,
    }
}
