//! The tokio layer: tracked `tokio::spawn`, keeping each task's `AbortHandle` for the deadline
//! report. Everything else lives in the runtime-agnostic core (`scope.rs`).

use std::borrow::Cow;
use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::error::{SpawnError, SpawnErrorKind};
use super::handle::Shutdown;

impl Shutdown {
    /// Spawns `future` on the current tokio runtime as a tracked task:
    /// [`wait`](Self::wait) does not return until it has finished (completed, panicked, or been
    /// aborted and dropped). Its abort handle is kept, so a [deadline report](super::Unfinished)
    /// can abort it.
    ///
    /// # Errors
    ///
    /// [`SpawnError`], with the future given back unpolled and nothing spawned:
    /// [`Triggered`](SpawnErrorKind::Triggered) if this scope or an ancestor has been triggered
    /// (see [`track`](Self::track): after the trigger nothing new is accepted), or
    /// [`NoRuntime`](SpawnErrorKind::NoRuntime) outside a tokio runtime (where `tokio::spawn`
    /// would panic).
    pub fn spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_name(future, None)
    }

    /// [`spawn`](Self::spawn), with a name that [deadline reports](super::Unfinished) show.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    pub fn spawn_named<F>(
        &self,
        name: impl Into<Cow<'static, str>>,
        future: F,
    ) -> Result<JoinHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with_name(future, Some(name.into()))
    }

    fn spawn_with_name<F>(
        &self,
        future: F,
        name: Option<Cow<'static, str>>,
    ) -> Result<JoinHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Checked before tracking, so that a refusal leaves nothing counted.
        let Ok(runtime) = Handle::try_current() else {
            return Err(SpawnError::new(future, SpawnErrorKind::NoRuntime));
        };
        let tracked = match name {
            Some(name) => self.track_named(name, future)?,
            None => self.track(future)?,
        };
        let id = tracked.id();
        let task = runtime.spawn(tracked);
        // If the task has already finished, its entry is gone and this does nothing.
        self.scope.set_abort_handle(id, task.abort_handle());
        Ok(task)
    }
}
