//! Connection pools, and the checker of their guarantees.
//!
//! The pool under test connects to the kit's fake [`Backend`], which counts live connections and
//! can refuse, stall or break them on demand. Every case runs on a current-thread tokio runtime
//! with paused time (a pool that spawns tasks, as bb8 does, gets them run between steps).
//!
//! # Example
//!
//! The adapters in [`crate::adapters`] are the templates: each wires the fake backend into its
//! pool's manager in a dozen lines. Checking one:
//!
//! ```
//! # #[cfg(feature = "async-patterns")] {
//! use async_patterns_conformance::adapters::ours;
//! use async_patterns_conformance::{Config, conn_pool};
//!
//! conn_pool::check::<ours::ConnPool>("async-patterns", &Config::quick()).assert_conforms();
//! # }
//! ```

mod backend;
mod machine;

pub use backend::{Backend, BackendError, Conn};

use std::sync::Arc;

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// The smallest surface a connection pool must expose to be checked.
pub trait PoolUnderTest: Send + Sync + 'static {
    /// A checked-out object; dropping it returns it to the pool.
    type Object: Send + 'static;

    /// A pool of at most `max_size` connections to `backend` (its manager creates with
    /// [`Backend::create`], checks an idle one before reuse with [`Backend::check`], and may test
    /// a returned one with [`Backend::is_broken`]), with no idle minimum and no timeouts the
    /// checker would have to wait for. Called inside the checker's runtime.
    fn new(backend: Arc<Backend>, max_size: usize) -> Self;

    /// Checks an object out, waiting for one if all are in use. `Err` with the pool's message.
    fn get(&self) -> BoxFuture<Result<Self::Object, String>>;

    /// The connection inside an object.
    fn conn(object: &Self::Object) -> &Conn;

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the pool checker checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// Never more than `max_size` connections open.
    MaxSize,
    /// A waiting `get` is served once a slot is free: never wedged with capacity free.
    NoWedge,
    /// A `get` dropped at any point (waiting, mid-create, served but not yet polled) leaks no
    /// slot and no connection.
    CancelSafe,
    /// A connection returned broken, or failing its check, is never handed out again.
    BrokenDiscarded,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 4] = [
        Guarantee::MaxSize,
        Guarantee::NoWedge,
        Guarantee::CancelSafe,
        Guarantee::BrokenDiscarded,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::MaxSize => "max_size",
            Guarantee::NoWedge => "no_wedge",
            Guarantee::CancelSafe => "cancel_safe",
            Guarantee::BrokenDiscarded => "broken_discarded",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::MaxSize => "never more than max_size connections open",
            Guarantee::NoWedge => "a waiting get is served once a slot is free",
            Guarantee::CancelSafe => "a get dropped at any point leaks no slot or connection",
            Guarantee::BrokenDiscarded => "a broken or failed-check connection is never reused",
        }
    }
}

/// Checks every guarantee of the pool `P`.
#[must_use]
pub fn check<P: PoolUnderTest>(implementation: &str, config: &Config) -> Report {
    crate::run::report(
        "conn_pool",
        implementation,
        &Guarantee::ALL,
        |g| (g.name(), g.meaning(), P::claim(g)),
        machine::Machine::<P>::new,
        config,
    )
}
