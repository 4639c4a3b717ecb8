//! [`Shutdown`]: the handle that triggers a scope, tracks its tasks and waits for them.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use crate::loom::Arc;

use super::error::TrackError;
use super::report::Unfinished;
use super::scope::Scope;
use super::token::ShutdownToken;
use super::tracked::Tracked;

/// A graceful-shutdown scope: a broadcast trigger, the tasks that must finish before the
/// shutdown is complete, and child scopes. See the [module docs](super) for the guarantees and
/// the usual service loop.
///
/// Clones are handles to the same scope. Dropping handles triggers nothing and cancels nothing.
#[derive(Clone)]
pub struct Shutdown {
    pub(super) scope: Arc<Scope>,
}

impl Shutdown {
    /// A new scope: not triggered, no tasks. Needs no runtime.
    #[must_use]
    pub fn new() -> Self {
        Shutdown {
            scope: Scope::new_root(),
        }
    }

    /// Triggers the shutdown: every token of this scope and of its child scopes sees it, every
    /// pending [`ShutdownToken::triggered`] is woken, and from now on tracking is refused here
    /// and in the children.
    ///
    /// Idempotent, never panics of its own, never blocks on anything but the scopes' short
    /// internal locks, and needs no listener and no runtime. When it returns — even when another
    /// thread's call got there first — every token of the scope and of its descendants sees the
    /// trigger. (It wakes the tasks waiting on tokens: a waker that panics when woken — a bug of
    /// its executor — is raised here, once every scope below has been triggered and every other
    /// waiter woken.)
    pub fn trigger(&self) {
        self.scope.trigger();
    }

    /// Whether this scope has been triggered (directly or through an ancestor).
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.scope.is_triggered()
    }

    /// A token that observes this scope's trigger (and cannot trigger it).
    #[must_use]
    pub fn token(&self) -> ShutdownToken {
        ShutdownToken::new(Arc::clone(&self.scope))
    }

    /// A child scope: it can be triggered on its own (the parent is not), it is triggered when
    /// this scope is, and this scope's [`wait`](Self::wait) also waits for the child's tracked
    /// tasks (the child's `wait` waits only for its own subtree). A child made after this scope
    /// was triggered is born triggered.
    ///
    /// A child scope stays registered with its parent while any handle, token or tracked task of
    /// it exists, and is forgotten when the last one is dropped.
    #[must_use]
    pub fn child(&self) -> Shutdown {
        Shutdown {
            scope: Scope::new_child(&self.scope),
        }
    }

    /// Tracks `future`: [`wait`](Self::wait) will not return while the returned [`Tracked`] is
    /// live (until it completes or is dropped). Polling stays with the caller; see
    /// [`spawn`](Self::spawn) to run it on tokio.
    ///
    /// Needs no runtime.
    ///
    /// # Errors
    ///
    /// [`TrackError`], with the future given back unpolled, if this scope or an ancestor has been
    /// triggered: after the trigger a scope accepts nothing new, so that once its `wait` has
    /// returned nothing tracked can still be running. A `track` racing with `trigger` is either
    /// refused or tracked (and then waited for), never lost.
    pub fn track<F: Future>(&self, future: F) -> Result<Tracked<F>, TrackError<F>> {
        self.track_with_name(future, None)
    }

    /// [`track`](Self::track), with a name that [deadline reports](Unfinished) show.
    ///
    /// # Errors
    ///
    /// As [`track`](Self::track).
    pub fn track_named<F: Future>(
        &self,
        name: impl Into<Cow<'static, str>>,
        future: F,
    ) -> Result<Tracked<F>, TrackError<F>> {
        self.track_with_name(future, Some(name.into()))
    }

    fn track_with_name<F: Future>(
        &self,
        future: F,
        name: Option<Cow<'static, str>>,
    ) -> Result<Tracked<F>, TrackError<F>> {
        match Scope::track(&self.scope, name) {
            Some((guard, id)) => Ok(Tracked::new(future, guard, id)),
            None => Err(TrackError::new(future)),
        }
    }

    /// How many tracked tasks of this scope and its children are live right now.
    #[must_use]
    pub fn task_count(&self) -> usize {
        self.scope.live()
    }

    /// Whether the shutdown is complete: triggered, and every tracked task of this scope and its
    /// children finished. Once true, stays true (see [`wait`](Self::wait)).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.scope.is_drained()
    }

    /// Completes once the shutdown is complete: this scope has been triggered (here or through an
    /// ancestor) **and** every task tracked in it or in its children has finished. It does not
    /// trigger: call [`trigger`](Self::trigger) first (or let a signal or another task do it).
    ///
    /// No wakeup is lost, even when the last task finishes, or the trigger comes, concurrently
    /// with the call. Once it has returned it returns at once for every caller, since nothing
    /// can be tracked after the trigger. For a bound on how long to wait, see
    /// [`wait_within`](Self::wait_within).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits; a dropped `wait` changes nothing and can be called again.
    pub async fn wait(&self) {
        self.scope.drained().await;
    }

    /// What is still running now: the live tracked tasks of this scope and its children (the
    /// report that a deadline-bounded wait returns when the deadline passes).
    pub fn unfinished(&self) -> Unfinished {
        Unfinished::new(self.is_triggered(), self.scope.unfinished())
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .field("task_count", &self.task_count())
            .field("children", &self.scope.children())
            .field("finished", &self.is_finished())
            .finish()
    }
}
