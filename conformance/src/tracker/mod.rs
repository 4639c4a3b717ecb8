//! Task trackers (wait until every tracked task has finished), and the checker of their
//! guarantees.
//!
//! # Example
//!
//! Our shutdown scopes, through their adapter in [`crate::adapters`] (a template for your own):
//!
//! ```
//! # #[cfg(feature = "async-patterns")] {
//! use async_patterns_conformance::adapters::ours;
//! use async_patterns_conformance::{Config, tracker};
//!
//! tracker::check::<ours::ShutdownTracker>("async-patterns", &Config::quick()).assert_conforms();
//! # }
//! ```

mod machine;

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// The smallest surface a task tracker must expose to be checked.
pub trait TaskTrackerUnderTest: 'static {
    /// A new, open tracker with no tasks.
    fn new() -> Self;
    /// Tracks `task`: the returned future runs it, and the tracker counts it as live until it
    /// completes or is dropped. `None` if the tracker refuses new tasks (closed).
    fn track(&self, task: BoxFuture<()>) -> Option<BoxFuture<()>>;
    /// Closes the tracker: once closed and empty, waits complete.
    fn close(&self);
    /// Completes once the tracker is closed and no tracked task is live.
    fn wait(&self) -> BoxFuture<()>;

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the tracker checker checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// A wait never completes while the tracker is open or a tracked task is live (finished
    /// means completed or dropped).
    WaitUntilAllFinished,
    /// When the tracker is closed and its last task finishes (or it is closed empty), every
    /// pending wait is woken.
    WaitWoken,
    /// A wait re-polled with a new waker is woken through the new one.
    NewWakerWoken,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 3] = [
        Guarantee::WaitUntilAllFinished,
        Guarantee::WaitWoken,
        Guarantee::NewWakerWoken,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::WaitUntilAllFinished => "wait_until_all_finished",
            Guarantee::WaitWoken => "wait_woken",
            Guarantee::NewWakerWoken => "new_waker_woken",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::WaitUntilAllFinished => {
                "wait completes only once closed with no live task (completed or dropped)"
            }
            Guarantee::WaitWoken => "the last task's end (or closing it empty) wakes every wait",
            Guarantee::NewWakerWoken => "a wait re-polled with a new waker is woken through it",
        }
    }
}

/// Checks every guarantee of the tracker `T`.
#[must_use]
pub fn check<T: TaskTrackerUnderTest>(implementation: &str, config: &Config) -> Report {
    crate::run::report(
        "tracker",
        implementation,
        &Guarantee::ALL,
        |g| (g.name(), g.meaning(), T::claim(g)),
        machine::Machine::<T>::new,
        config,
    )
}
