//! What a deadline-bounded wait reports: the tracked tasks that had not finished, and a way to
//! abort the spawned ones.

use std::borrow::Cow;
use std::fmt;

use tokio::task::AbortHandle;

/// Identifies a tracked task within one shutdown tree (a root [`Shutdown`](super::Shutdown) and
/// all its [`child`](super::Shutdown::child) scopes): ids are given out in tracking order and
/// never reused in that tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(super) u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One tracked task that had not finished when the report was taken.
#[derive(Debug, Clone)]
pub struct UnfinishedTask {
    id: TaskId,
    name: Option<Cow<'static, str>>,
    abort: Option<AbortHandle>,
}

impl UnfinishedTask {
    pub(super) fn new(
        id: TaskId,
        name: Option<Cow<'static, str>>,
        abort: Option<AbortHandle>,
    ) -> Self {
        UnfinishedTask { id, name, abort }
    }

    /// The task's id.
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The name it was given ([`spawn_named`](super::Shutdown::spawn_named),
    /// [`track_named`](super::Shutdown::track_named)), if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether [`Unfinished::abort`] can abort it: true for tasks started with
    /// [`spawn`](super::Shutdown::spawn) / [`spawn_named`](super::Shutdown::spawn_named); false for
    /// futures wrapped with [`track`](super::Shutdown::track), which only their owner can drop.
    #[must_use]
    pub fn is_abortable(&self) -> bool {
        self.abort.is_some()
    }
}

impl fmt::Display for UnfinishedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} {name:?}", self.id),
            None => fmt::Display::fmt(&self.id, f),
        }
    }
}

/// The deadline of [`wait_within`](super::Shutdown::wait_within) /
/// [`wait_until`](super::Shutdown::wait_until) passed before the shutdown finished: what was
/// still running then.
///
/// A snapshot: the tasks listed may finish after it was taken. To finish the shutdown anyway,
/// [`abort`](Self::abort) the spawned tasks and [`wait`](super::Shutdown::wait) again; tasks
/// wrapped with [`track`](super::Shutdown::track) end when their owner drops or finishes them.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::shutdown::Shutdown;
///
/// # fn main() {
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn run() {
/// let shutdown = Shutdown::new();
/// shutdown
///     .spawn_named("stuck flush", std::future::pending::<()>())
///     .unwrap();
/// shutdown.trigger();
/// let unfinished = shutdown.wait_within(Duration::from_secs(5)).await.unwrap_err();
/// assert_eq!(unfinished.count(), 1);
/// assert_eq!(unfinished.tasks()[0].name(), Some("stuck flush"));
/// assert_eq!(
///     unfinished.to_string(),
///     "shutdown deadline passed with 1 tracked task unfinished: #0 \"stuck flush\""
/// );
/// assert_eq!(unfinished.abort(), 1);
/// shutdown.wait().await; // returns: the aborted task's future was dropped
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "the report says which tasks did not finish; `abort` them or log it"]
pub struct Unfinished {
    triggered: bool,
    tasks: Vec<UnfinishedTask>,
}

impl Unfinished {
    pub(super) fn new(triggered: bool, tasks: Vec<UnfinishedTask>) -> Self {
        Unfinished { triggered, tasks }
    }

    /// Whether the shutdown had been triggered when the deadline passed. If not, `wait` was still
    /// waiting for the trigger itself (and [`tasks`](Self::tasks) may well be empty).
    #[must_use]
    pub fn was_triggered(&self) -> bool {
        self.triggered
    }

    /// How many tracked tasks (of the scope and of its child scopes) had not finished.
    #[must_use]
    pub fn count(&self) -> usize {
        self.tasks.len()
    }

    /// The unfinished tasks, in the order they were tracked.
    #[must_use]
    pub fn tasks(&self) -> &[UnfinishedTask] {
        &self.tasks
    }

    /// Aborts every listed task that was [spawned](super::Shutdown::spawn) and has not finished
    /// yet, and returns how many abort requests that made. An aborted task stops at its next
    /// `.await` (tokio's `abort`); its tracking ends when its future is dropped, so
    /// [`wait`](super::Shutdown::wait) afterwards returns once those futures are gone and the
    /// [`track`](super::Shutdown::track)ed futures have ended.
    pub fn abort(&self) -> usize {
        let mut aborted = 0;
        for abort in self.tasks.iter().filter_map(|task| task.abort.as_ref()) {
            if !abort.is_finished() {
                abort.abort();
                aborted += 1;
            }
        }
        aborted
    }
}

impl fmt::Display for Unfinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.triggered {
            f.write_str("shutdown deadline passed before the shutdown was triggered")?;
            if self.tasks.is_empty() {
                return Ok(());
            }
            f.write_str("; ")?;
        } else {
            f.write_str("shutdown deadline passed with ")?;
        }
        let plural = if self.tasks.len() == 1 { "" } else { "s" };
        write!(f, "{} tracked task{plural} unfinished", self.tasks.len())?;
        for (i, task) in self.tasks.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            fmt::Display::fmt(task, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Unfinished {}
