//! A clock that moves only when the test says so.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Clock, Instant};
use crate::loom::{Arc, Mutex, lock};

/// A [`Clock`] that stands still until [`advance`](Self::advance)d, for loom models and property
/// tests. Clones share one time. Sleepers are woken by the `advance` that reaches their deadline.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::time::{Clock, ManualClock};
///
/// # if async_patterns::__private::LOOM { return; }
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now() - start, Duration::from_millis(250));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<State>>,
}

struct State {
    now: Instant,
    sleepers: Vec<Sleeper>,
    next_id: u64,
}

struct Sleeper {
    id: u64,
    deadline: Instant,
    waker: Waker,
}

impl ManualClock {
    /// A clock that starts at the current [`Instant`] and then stands still.
    #[must_use]
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A clock that starts at `now`.
    #[must_use]
    pub fn starting_at(now: Instant) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(State {
                now,
                sleepers: Vec::new(),
                next_id: 0,
            })),
        }
    }

    /// Moves time forward by `by`, waking every sleeper whose deadline is reached.
    pub fn advance(&self, by: Duration) {
        let mut state = lock(&self.inner);
        state.now += by;
        let now = state.now;
        let mut due = Vec::new();
        state.sleepers.retain(|sleeper| {
            let keep = sleeper.deadline > now;
            if !keep {
                due.push(sleeper.waker.clone());
            }
            keep
        });
        drop(state);
        due.into_iter().for_each(Waker::wake);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner);
        f.debug_struct("ManualClock")
            .field("now", &state.now)
            .field("sleepers", &state.sleepers.len())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        lock(&self.inner).now
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + '_ {
        ManualSleep {
            clock: self,
            deadline,
            id: None,
        }
    }
}

/// Registered as a sleeper while pending; unregistered when dropped.
struct ManualSleep<'a> {
    clock: &'a ManualClock,
    deadline: Instant,
    id: Option<u64>,
}

impl Future for ManualSleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = lock(&this.clock.inner);
        if state.now >= this.deadline {
            if let Some(id) = this.id.take() {
                state.sleepers.retain(|sleeper| sleeper.id != id);
            }
            return Poll::Ready(());
        }
        match this.id {
            // Only an `advance` that reaches the deadline removes a sleeper, and then `now` is past
            // it (handled above): a registered sleeper is still in the list.
            Some(id) => {
                if let Some(sleeper) = state.sleepers.iter_mut().find(|s| s.id == id) {
                    sleeper.waker.clone_from(cx.waker());
                }
            }
            None => {
                let id = state.next_id;
                state.next_id += 1;
                let deadline = this.deadline;
                state.sleepers.push(Sleeper {
                    id,
                    deadline,
                    waker: cx.waker().clone(),
                });
                this.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for ManualSleep<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock(&self.clock.inner)
                .sleepers
                .retain(|sleeper| sleeper.id != id);
        }
    }
}
