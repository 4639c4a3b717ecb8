//! Cancellation tokens (a token tree: cancelling one cancels its descendants), and the checker of
//! their guarantees.
//!
//! # Example
//!
//! Our shutdown scopes, through their adapter in [`crate::adapters`] (a template for your own):
//!
//! ```
//! # #[cfg(feature = "async-patterns")] {
//! use async_patterns_conformance::adapters::ours;
//! use async_patterns_conformance::{Config, token};
//!
//! token::check::<ours::ShutdownToken>("async-patterns", &Config::quick()).assert_conforms();
//! # }
//! ```

mod machine;

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// The smallest surface a cancellation token must expose to be checked.
pub trait CancelTokenUnderTest: 'static {
    /// A token (a handle: clones see the same cancellation).
    type Token: Clone + Send + 'static;

    /// A new, uncancelled root token.
    fn new() -> Self::Token;
    /// A child: cancelled when `parent` is; cancelling it leaves `parent` alone.
    fn child(parent: &Self::Token) -> Self::Token;
    /// Cancels the token and its descendants.
    fn cancel(token: &Self::Token);
    /// Whether it is cancelled (itself or through an ancestor).
    fn is_cancelled(token: &Self::Token) -> bool;
    /// Completes once the token is cancelled.
    fn cancelled(token: &Self::Token) -> BoxFuture<()>;

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the token checker checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// Cancelling a token cancels exactly it and its descendants, including children made after.
    TreeCancelled,
    /// `cancel` wakes every pending wait on the token and its descendants, which then complete.
    CancelWakesAll,
    /// A wait on a token already cancelled completes at its first poll.
    AlreadyCancelledReady,
    /// A wait re-polled with a new waker is woken through the new one.
    NewWakerWoken,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 4] = [
        Guarantee::TreeCancelled,
        Guarantee::CancelWakesAll,
        Guarantee::AlreadyCancelledReady,
        Guarantee::NewWakerWoken,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::TreeCancelled => "tree_cancelled",
            Guarantee::CancelWakesAll => "cancel_wakes_all",
            Guarantee::AlreadyCancelledReady => "already_cancelled_ready",
            Guarantee::NewWakerWoken => "new_waker_woken",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::TreeCancelled => {
                "cancel reaches the token and its descendants (also later children), nothing else"
            }
            Guarantee::CancelWakesAll => "cancel wakes every pending wait below it",
            Guarantee::AlreadyCancelledReady => "a wait on a cancelled token is ready at once",
            Guarantee::NewWakerWoken => "a wait re-polled with a new waker is woken through it",
        }
    }
}

/// Checks every guarantee of the token `T`.
#[must_use]
pub fn check<T: CancelTokenUnderTest>(implementation: &str, config: &Config) -> Report {
    crate::run::report(
        "token",
        implementation,
        &Guarantee::ALL,
        |g| (g.name(), g.meaning(), T::claim(g)),
        machine::Machine::<T>::new,
        config,
    )
}
