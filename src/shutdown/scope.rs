//! The runtime-agnostic core: one [`Scope`] per shutdown scope, its trigger, its count of live
//! tracked tasks and the wakeup of `wait`. No runtime calls: the loom models drive it with loom
//! threads, and the tokio layer (`spawn.rs`) only adds `tokio::spawn` and abort handles on top.
//!
//! Shape of the state, and why:
//!
//! - Two semaphores with no permits, used as one-shot broadcast signals (the crate's verified
//!   core: `close` wakes every waiter with an error, a dropped waiter leaves the queue, and no
//!   wakeup is lost). `signal` is closed by the trigger: the tokens wait on it. `drained` is closed
//!   once the scope is triggered *and* no tracked task of the scope or of its children is live:
//!   `wait` waits on it. Both only ever go from open to closed.
//! - The decisions are taken under the scope's lock, in [`State`]: `triggered`, `live` (tracked
//!   tasks of this scope and of its descendants), the scope's own tasks (for the deadline report
//!   and aborting), and the children (to pass the trigger down).
//! - Tracking after the trigger is refused, so once a scope is triggered `live` only goes down and
//!   "drained" is final. The check and the increment happen under the locks of the scope *and of
//!   all its ancestors*, taken root first: a task tracked in a child while the parent is being
//!   triggered is then either refused, or counted in the parent before the parent can see zero.
//!   Every other path takes one lock at a time, so the root-first order cannot deadlock.
//! - The semaphores are closed after the lock is released: closing wakes wakers, and a waker must
//!   never run under our lock.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use tokio::task::AbortHandle;

use crate::loom::{Arc, Mutex, MutexGuard, lock};
use crate::sync::Semaphore;
use crate::unwind::Panics;

use super::report::{TaskId, UnfinishedTask};

/// What handles, tokens and task guards of one scope share. Dropping the last of them takes the
/// scope out of its parent's list of children.
pub(super) struct Scope {
    node: Arc<Node>,
}

/// The scope's state proper. Parents hold their children's `Node`s (not their `Scope`s), and a
/// child holds its parent's `Scope`: no reference cycle, and a parent lives as long as any child.
struct Node {
    /// Closed by the trigger. Never has permits.
    signal: Semaphore,
    /// Closed once triggered with no live tracked task in this subtree. Never has permits.
    drained: Semaphore,
    parent: Option<Arc<Scope>>,
    /// This node's key in its parent's `children`.
    key: u64,
    state: Mutex<State>,
}

struct State {
    triggered: bool,
    /// Tracked tasks of this scope and of all its descendants that have not finished.
    live: usize,
    /// This scope's own live tasks, by id.
    tasks: BTreeMap<u64, TaskEntry>,
    /// Children that are not yet dropped, by key.
    children: BTreeMap<u64, Arc<Node>>,
    /// The next child key; in the root, also the next task id (ids are unique in a tree).
    next_id: u64,
}

struct TaskEntry {
    name: Option<Cow<'static, str>>,
    abort: Option<AbortHandle>,
}

/// Proof that a task is tracked: dropping it marks the task finished.
pub(super) struct TaskGuard {
    scope: Arc<Scope>,
    id: u64,
}

impl Scope {
    /// A new root scope, not triggered, with no tasks.
    pub(super) fn new_root() -> Arc<Scope> {
        Arc::new(Scope {
            node: Arc::new(Node::new(None, 0, false)),
        })
    }

    /// A child of `parent`: triggered with it (or already triggered if the parent is), and
    /// counted in the parent's `wait`.
    pub(super) fn new_child(parent: &Arc<Scope>) -> Arc<Scope> {
        let mut state = lock(&parent.node.state);
        let key = state.next_id;
        state.next_id += 1;
        let node = Arc::new(Node::new(Some(Arc::clone(parent)), key, state.triggered));
        if !state.triggered {
            // Registered under the parent's lock, so the parent's trigger either sees this child
            // in its list or this child saw `triggered` above.
            state.children.insert(key, Arc::clone(&node));
        }
        drop(state);
        Arc::new(Scope { node })
    }

    /// Triggers this scope and, before returning, every descendant. Idempotent; every call does
    /// the whole walk, so that when *any* call returns every token of the subtree sees the
    /// trigger (a second caller does not return early while the first is still walking).
    pub(super) fn trigger(&self) {
        self.node.trigger();
    }

    /// Whether the trigger has reached this scope's tokens.
    pub(super) fn is_triggered(&self) -> bool {
        self.node.signal.is_closed()
    }

    /// Completes once the trigger has reached this scope. Cancel safe (a dropped waiter leaves
    /// the semaphore's queue).
    pub(super) async fn triggered(&self) {
        closed(&self.node.signal).await;
    }

    /// Whether the scope is triggered and every task tracked in it (and in its descendants) has
    /// finished. Once true, stays true.
    pub(super) fn is_drained(&self) -> bool {
        self.node.drained.is_closed()
    }

    /// Completes once [`is_drained`](Self::is_drained). Cancel safe.
    pub(super) async fn drained(&self) {
        closed(&self.node.drained).await;
    }

    /// The number of live tracked tasks in this scope and its descendants.
    pub(super) fn live(&self) -> usize {
        lock(&self.node.state).live
    }

    /// The number of live children (for `Debug`).
    pub(super) fn children(&self) -> usize {
        lock(&self.node.state).children.len()
    }

    /// Starts tracking a task, unless this scope or an ancestor has been triggered.
    ///
    /// The check and the increments are done holding the locks of the whole chain (root first),
    /// so no ancestor can be triggered and see zero live tasks between the check and the count.
    /// (An associated function: a loom `Arc` cannot be a method receiver.)
    pub(super) fn track(
        scope: &Arc<Scope>,
        name: Option<Cow<'static, str>>,
    ) -> Option<(TaskGuard, TaskId)> {
        let mut chain: Vec<&Node> = Vec::new();
        let mut node = &*scope.node;
        loop {
            chain.push(node);
            match &node.parent {
                Some(parent) => node = &parent.node,
                None => break,
            }
        }
        let mut locked: Vec<MutexGuard<'_, State>> = Vec::with_capacity(chain.len());
        for (depth, node) in chain.iter().rev().enumerate() {
            let state = lock(&node.state);
            if state.triggered {
                drop(state);
                drop(locked);
                // The trigger sets the flags before it closes the signals (which runs wakers:
                // not under a lock). A refusal must never be seen before the trigger is: close
                // the signals of the triggered scope and of every scope below it down to this
                // one (idempotent; the trigger closes them too).
                for below in chain.iter().rev().skip(depth) {
                    below.signal.close();
                }
                return None;
            }
            locked.push(state);
        }
        let root = &mut locked[0];
        let id = root.next_id;
        root.next_id += 1;
        for state in &mut locked {
            state.live += 1;
        }
        let own = locked
            .last_mut()
            .expect("the chain holds at least this scope");
        own.tasks.insert(id, TaskEntry { name, abort: None });
        drop(locked);
        let guard = TaskGuard {
            scope: Arc::clone(scope),
            id,
        };
        Some((guard, TaskId(id)))
    }

    /// Keeps `abort` so that the deadline report can abort the task, if it is still live.
    pub(super) fn set_abort_handle(&self, id: TaskId, abort: AbortHandle) {
        if let Some(entry) = lock(&self.node.state).tasks.get_mut(&id.0) {
            entry.abort = Some(abort);
        }
    }

    /// The live tracked tasks of this scope and its descendants, in the order they were tracked.
    pub(super) fn unfinished(&self) -> Vec<UnfinishedTask> {
        let mut tasks = Vec::new();
        self.node.collect_unfinished(&mut tasks);
        tasks.sort_by_key(UnfinishedTask::id);
        tasks
    }

    /// Marks task `id` of this scope finished: counts it down here and in every ancestor, and
    /// closes `drained` in each one that this leaves triggered with no live task.
    fn finish(&self, id: u64) {
        // First the counts, up the whole chain; then the closes, which run waiters' wakers (user
        // code that may panic: it must not leave an ancestor counting a task that is gone).
        let mut now_drained: Vec<&Node> = Vec::new();
        let mut node = &*self.node;
        let mut own = true;
        loop {
            let mut state = lock(&node.state);
            state.live -= 1;
            if own {
                state.tasks.remove(&id);
            }
            if state.triggered && state.live == 0 {
                now_drained.push(node);
            }
            drop(state);
            own = false;
            match &node.parent {
                Some(parent) => node = &parent.node,
                None => break,
            }
        }
        let mut panics = Panics::default();
        for node in now_drained {
            // `wait` returns once `drained` closes: by then the tokens must see the trigger,
            // whose own close of `signal` may not have run yet (idempotent).
            panics.run(|| node.signal.close());
            panics.run(|| node.drained.close());
        }
        panics.resume();
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Nobody can observe or track in this scope any more: stop passing the trigger to it.
        // Its tasks held it alive, so it has none left, and neither have its children.
        if let Some(parent) = &self.node.parent {
            lock(&parent.node.state).children.remove(&self.node.key);
        }
    }
}

impl Node {
    fn new(parent: Option<Arc<Scope>>, key: u64, triggered: bool) -> Node {
        // Born triggered (the parent already was): it has no tasks, so it is also drained.
        let signal_of = |closed: bool| {
            if closed {
                Semaphore::new_closed()
            } else {
                Semaphore::new(0)
            }
        };
        Node {
            signal: signal_of(triggered),
            drained: signal_of(triggered),
            parent,
            key,
            state: Mutex::new(State {
                triggered,
                live: 0,
                tasks: BTreeMap::new(),
                children: BTreeMap::new(),
                next_id: 0,
            }),
        }
    }

    fn trigger(&self) {
        let (children, drained) = {
            let mut state = lock(&self.state);
            state.triggered = true;
            let children: Vec<Arc<Node>> = state.children.values().cloned().collect();
            (children, state.live == 0)
        };
        // From here on no task can be tracked here (nor below, once each child's flag is set):
        // `live` only goes down, and whoever takes it to zero closes `drained`. Each close runs
        // waiters' wakers (user code): one that panics must not keep the trigger from the
        // scopes below, nor this scope from being drained.
        let mut panics = Panics::default();
        panics.run(|| self.signal.close());
        for child in children {
            panics.run(|| child.trigger());
        }
        if drained {
            panics.run(|| self.drained.close());
        }
        panics.resume();
    }

    fn collect_unfinished(&self, out: &mut Vec<UnfinishedTask>) {
        let children: Vec<Arc<Node>> = {
            let state = lock(&self.state);
            out.extend(state.tasks.iter().map(|(&id, entry)| {
                UnfinishedTask::new(TaskId(id), entry.name.clone(), entry.abort.clone())
            }));
            state.children.values().cloned().collect()
        };
        for child in children {
            child.collect_unfinished(out);
        }
    }
}

/// Waits until `semaphore` (which never has permits) is closed.
async fn closed(semaphore: &Semaphore) {
    // With no permits ever added, the only way out of `acquire` is the close error.
    let granted = semaphore.acquire().await;
    debug_assert!(
        granted.is_err(),
        "a shutdown signal semaphore was given a permit"
    );
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.scope.finish(self.id);
    }
}

impl fmt::Debug for TaskGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGuard").field("id", &self.id).finish()
    }
}
