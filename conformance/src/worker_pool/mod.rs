//! Worker pools (a fixed number of workers running submitted jobs from a bounded queue), and the
//! checker of their guarantees.
//!
//! Every case runs on a current-thread tokio runtime with paused time. The checker's jobs record
//! when they start and end and wait for the checker to let them finish, so it knows how many run
//! at once and how many times each ran.
//!
//! # Example
//!
//! Our pool, through its adapter in [`crate::adapters`] (a template for your own):
//!
//! ```
//! # #[cfg(feature = "async-patterns")] {
//! use async_patterns_conformance::adapters::ours;
//! use async_patterns_conformance::{Config, worker_pool};
//!
//! worker_pool::check::<ours::WorkerPool>("async-patterns", &Config::quick()).assert_conforms();
//! # }
//! ```

mod machine;

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// How a submitted job ended, as its handle says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// It ran to completion.
    Completed,
    /// It did not complete (aborted, panicked, or dropped unrun).
    NotCompleted,
}

/// The smallest surface a worker pool must expose to be checked.
pub trait WorkerPoolUnderTest: 'static {
    /// A pool of `workers` workers and room for `queue` queued jobs, running on the current tokio
    /// runtime (called inside it).
    fn new(workers: usize, queue: usize) -> Self;
    /// Submits `job` if there is room now; the handle resolves when the job has ended. `None` if
    /// refused (full, or shut down): the job is then never run.
    fn try_submit(&self, job: BoxFuture<()>) -> Option<BoxFuture<JobEnd>>;
    /// Stops taking jobs, and completes once every job accepted has ended.
    fn shutdown(&self) -> BoxFuture<()>;

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the worker pool checker checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// Never more jobs running at once than workers.
    AtMostNRunning,
    /// Every accepted job runs once at the most, and its handle resolves once, with how it ended.
    ExactlyOnce,
    /// Shutdown runs every job accepted before it to completion, and completes only then; jobs
    /// submitted after it are refused.
    DrainOnShutdown,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 3] = [
        Guarantee::AtMostNRunning,
        Guarantee::ExactlyOnce,
        Guarantee::DrainOnShutdown,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::AtMostNRunning => "at_most_n_running",
            Guarantee::ExactlyOnce => "exactly_once",
            Guarantee::DrainOnShutdown => "drain_on_shutdown",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::AtMostNRunning => "never more jobs running at once than workers",
            Guarantee::ExactlyOnce => "an accepted job runs at most once; its handle tells how",
            Guarantee::DrainOnShutdown => {
                "shutdown completes every accepted job first, then refuses new ones"
            }
        }
    }
}

/// Checks every guarantee of the worker pool `P`.
#[must_use]
pub fn check<P: WorkerPoolUnderTest>(implementation: &str, config: &Config) -> Report {
    crate::run::report(
        "worker_pool",
        implementation,
        &Guarantee::ALL,
        |g| (g.name(), g.meaning(), P::claim(g)),
        machine::Machine::<P>::new,
        config,
    )
}
