//! [`ShutdownToken`]: the observing side of a shutdown scope.

use std::fmt;

use crate::loom::Arc;

use super::scope::Scope;

/// Sees a [`Shutdown`](super::Shutdown) scope's trigger; cannot trigger it. Cheap to clone (one
/// reference count); clones observe the same scope.
///
/// Every token sees the trigger, whether it was created before or after it: once
/// [`trigger`](super::Shutdown::trigger) has returned (on this scope or on an ancestor),
/// [`is_triggered`](Self::is_triggered) is `true` and [`triggered`](Self::triggered) completes at
/// once, on every token of the scope.
///
/// ```
/// use async_patterns::shutdown::Shutdown;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn run() {
/// let shutdown = Shutdown::new();
/// let before = shutdown.token();
/// let waiter = tokio::spawn(async move { before.triggered().await });
/// shutdown.trigger();
/// waiter.await.unwrap(); // woken
/// assert!(shutdown.token().is_triggered()); // a token made afterwards sees it too
/// # }
/// ```
#[derive(Clone)]
pub struct ShutdownToken {
    scope: Arc<Scope>,
}

impl ShutdownToken {
    pub(super) fn new(scope: Arc<Scope>) -> Self {
        ShutdownToken { scope }
    }

    /// Whether the scope has been triggered (directly or through an ancestor). Never blocks.
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.scope.is_triggered()
    }

    /// Completes once the scope has been triggered; at once if it already was.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits, so dropping it (e.g. in the losing branch of a `select!`)
    /// loses nothing, and a new one made later sees the trigger as well. A pending one uses one
    /// queue slot in the scope's signal until it completes or is dropped.
    pub async fn triggered(&self) {
        self.scope.triggered().await;
    }

    /// [`triggered`](Self::triggered) as a `'static` future that owns the token, for moving into
    /// a spawned task or a struct. Cancel safe.
    pub async fn triggered_owned(self) {
        self.scope.triggered().await;
    }
}

impl fmt::Debug for ShutdownToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownToken")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}
