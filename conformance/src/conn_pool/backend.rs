//! The fake server every pool under test connects to: it counts live objects and can be told to
//! refuse connections, to stall them, or to fail a check.

use std::collections::HashSet;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// Why the backend refused (a create or a check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(pub &'static str);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BackendError {}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    live: usize,
    /// Objects marked broken: a check of one fails, and a pool must never hand it out again.
    broken: HashSet<u64>,
    /// Creates to refuse.
    refuse_creates: u32,
    /// Checks to fail.
    fail_checks: u32,
    /// While set, creates wait.
    stalled: bool,
    stalled_wakers: Vec<Waker>,
}

/// A fake database server. Share it (`Arc`) between the checker and the pool's manager.
#[derive(Debug, Default)]
pub struct Backend {
    state: Mutex<State>,
}

/// One connection to the [`Backend`]; dropping it closes it.
#[derive(Debug)]
pub struct Conn {
    id: u64,
    backend: Arc<Backend>,
}

impl Conn {
    /// Its id: unique per backend, in creation order.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.backend.lock().live -= 1;
    }
}

impl Backend {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a connection: waits while creates are stalled, fails if told to refuse.
    ///
    /// # Errors
    ///
    /// A [`BackendError`] if [`refuse_next_create`](Self::refuse_next_create) asked for it.
    pub async fn create(self: Arc<Self>) -> Result<Conn, BackendError> {
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.stalled {
                state.stalled_wakers.push(cx.waker().clone());
                return Poll::Pending;
            }
            if state.refuse_creates > 0 {
                state.refuse_creates -= 1;
                return Poll::Ready(Err(BackendError("connection refused")));
            }
            state.next_id += 1;
            state.live += 1;
            Poll::Ready(Ok(Conn {
                id: state.next_id,
                backend: Arc::clone(&self),
            }))
        })
        .await
    }

    /// A pool's check of an idle connection before reuse (a `SELECT 1`).
    ///
    /// # Errors
    ///
    /// A [`BackendError`] if the connection is broken, or a failure was asked for.
    pub fn check(&self, conn: &Conn) -> Result<(), BackendError> {
        let mut state = self.lock();
        if state.broken.contains(&conn.id) {
            return Err(BackendError("connection broken"));
        }
        if state.fail_checks > 0 {
            state.fail_checks -= 1;
            state.broken.insert(conn.id);
            return Err(BackendError("check failed"));
        }
        Ok(())
    }

    /// Whether the connection is known broken (a pool's cheap check on return).
    #[must_use]
    pub fn is_broken(&self, conn: &Conn) -> bool {
        self.lock().broken.contains(&conn.id)
    }

    /// Marks a connection broken.
    pub fn break_conn(&self, id: u64) {
        self.lock().broken.insert(id);
    }

    /// Whether the connection was marked broken (or failed a check).
    #[must_use]
    pub fn was_broken(&self, id: u64) -> bool {
        self.lock().broken.contains(&id)
    }

    /// Refuses the next create.
    pub fn refuse_next_create(&self) {
        self.lock().refuse_creates += 1;
    }

    /// Fails the next check (and marks that connection broken).
    pub fn fail_next_check(&self) {
        self.lock().fail_checks += 1;
    }

    /// Makes creates wait until [`resume_creates`](Self::resume_creates).
    pub fn stall_creates(&self) {
        self.lock().stalled = true;
    }

    /// Lets stalled creates go on.
    pub fn resume_creates(&self) {
        let wakers = {
            let mut state = self.lock();
            state.stalled = false;
            std::mem::take(&mut state.stalled_wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether creates are stalled.
    #[must_use]
    pub fn is_stalled(&self) -> bool {
        self.lock().stalled
    }

    /// Connections open now.
    #[must_use]
    pub fn live(&self) -> usize {
        self.lock().live
    }

    /// Drops the queued refusals and check failures.
    pub fn clear_faults(&self) {
        let mut state = self.lock();
        state.refuse_creates = 0;
        state.fail_checks = 0;
    }

    /// Whether refusals or failures are still queued up (a get may then fail).
    #[must_use]
    pub fn has_faults_queued(&self) -> bool {
        let state = self.lock();
        state.refuse_creates > 0 || state.fail_checks > 0
    }
}
