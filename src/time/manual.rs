//! A clock that moves only when the test says so.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

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
/// # if async_patterns::__private::MODEL_BUILD { return; }
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
    ///
    /// A `by` that would take the clock past the farthest instant the platform's [`Instant`] can
    /// hold (`Duration::MAX`, say) stops the clock there instead: time never wraps, and every
    /// sleeper with a deadline it can hold is woken.
    pub fn advance(&self, by: Duration) {
        let mut state = lock(&self.inner);
        state.now = super::saturating_add(state.now, by);
        let now = state.now;
        let (due, waiting): (Vec<Sleeper>, Vec<Sleeper>) = std::mem::take(&mut state.sleepers)
            .into_iter()
            .partition(|sleeper| sleeper.deadline <= now);
        state.sleepers = waiting;
        drop(state);
        // Woken with the lock released: a waker is user code, which may call back in.
        due.into_iter().for_each(|sleeper| sleeper.waker.wake());
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
        if this.clock.now() >= this.deadline {
            drop(this.unregister());
            return Poll::Ready(());
        }
        // A waker's clone and drop are user code: neither runs under the clock's lock. The time
        // is read again under the lock that registers the sleeper, so an `advance` between the
        // two readings is not missed.
        let waker = cx.waker().clone();
        let mut state = lock(&this.clock.inner);
        if state.now >= this.deadline {
            drop(state);
            drop(waker);
            drop(this.unregister());
            return Poll::Ready(());
        }
        let replaced = match this.id {
            // Only an `advance` that reaches the deadline removes a sleeper: if this one is gone,
            // it was woken, and the next poll sees the time.
            Some(id) => state
                .sleepers
                .iter_mut()
                .find(|s| s.id == id)
                .map(|sleeper| std::mem::replace(&mut sleeper.waker, waker)),
            None => {
                let id = state.next_id;
                state.next_id = state.next_id.wrapping_add(1);
                let deadline = this.deadline;
                state.sleepers.push(Sleeper {
                    id,
                    deadline,
                    waker,
                });
                this.id = Some(id);
                None
            }
        };
        drop(state);
        drop(replaced);
        Poll::Pending
    }
}

impl ManualSleep<'_> {
    /// Takes this sleeper out of the clock's list; returns it, to be dropped (with its waker)
    /// once the lock is released.
    fn unregister(&mut self) -> Option<Sleeper> {
        let id = self.id.take()?;
        let mut state = lock(&self.clock.inner);
        let at = state.sleepers.iter().position(|sleeper| sleeper.id == id)?;
        Some(state.sleepers.swap_remove(at))
    }
}

impl Drop for ManualSleep<'_> {
    fn drop(&mut self) {
        drop(self.unregister());
    }
}
