//! The shutdown's errors. Each one that refuses a future gives it back, so that nothing handed
//! to a shutdown scope is dropped without its owner being told.

use std::fmt;

/// [`track`](super::Shutdown::track) refused the future: the scope (or an ancestor) had already
/// been triggered. The future was not polled; [`into_inner`](Self::into_inner) gives it back.
pub struct TrackError<F> {
    future: F,
}

impl<F> TrackError<F> {
    pub(super) fn new(future: F) -> Self {
        TrackError { future }
    }

    /// The future that was not tracked, untouched.
    #[must_use]
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F> fmt::Debug for TrackError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackError").finish_non_exhaustive()
    }
}

impl<F> fmt::Display for TrackError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shutdown already triggered: the future was not tracked")
    }
}

impl<F> std::error::Error for TrackError<F> {}

/// Why [`spawn`](super::Shutdown::spawn) refused a future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnErrorKind {
    /// The scope (or an ancestor) had already been triggered.
    Triggered,
    /// There is no tokio runtime on this thread to spawn on (where `tokio::spawn` would panic).
    NoRuntime,
}

/// [`spawn`](super::Shutdown::spawn) refused the future; [`kind`](Self::kind) says why. Nothing
/// was spawned, the future was not polled, and [`into_inner`](Self::into_inner) gives it back.
pub struct SpawnError<F> {
    future: F,
    kind: SpawnErrorKind,
}

impl<F> SpawnError<F> {
    pub(super) fn new(future: F, kind: SpawnErrorKind) -> Self {
        SpawnError { future, kind }
    }

    /// Why the future was refused.
    #[must_use]
    pub fn kind(&self) -> SpawnErrorKind {
        self.kind
    }

    /// Whether it was refused because the shutdown had been triggered.
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.kind == SpawnErrorKind::Triggered
    }

    /// The future that was not spawned, untouched.
    #[must_use]
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            SpawnErrorKind::Triggered => "shutdown already triggered: the task was not spawned",
            SpawnErrorKind::NoRuntime => {
                "no tokio runtime on this thread: the task was not spawned"
            }
        })
    }
}

impl<F> std::error::Error for SpawnError<F> {}

impl<F> From<TrackError<F>> for SpawnError<F> {
    fn from(refused: TrackError<F>) -> Self {
        SpawnError::new(refused.into_inner(), SpawnErrorKind::Triggered)
    }
}
