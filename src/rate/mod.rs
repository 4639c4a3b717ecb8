//! A rate limiter with an exact, stated guarantee, no background task, FIFO waiters and an
//! injected clock.
//!
//! The usual copy-pasted limiter refills a semaphore from an interval task. Measured against it:
//! 20 admissions in one 1 s window for a limit of 10 (a fixed window's boundary), 20 at t = 0 (the
//! interval's first tick is immediate), 25 in one window for a limit of 5 after a stall (missed
//! ticks burst), and every dropped limiter leaves its refill task running. `tests/rate.rs` replays
//! each of those against it and shows our window checker catching them.
//!
//! [`RateLimiter`] has no task: it computes its state from the clock whenever it is used.

mod error;
mod gcra;
mod quota;
mod sliding_window;

use std::fmt;
use std::time::Duration;

use crate::loom::{Mutex, lock};
use crate::sync::Semaphore;
use crate::time::{Clock, Instant, TokioClock};

pub use error::{ExceedsCapacity, QuotaError, TryAcquireError};
pub use quota::Quota;

use gcra::Gcra;
use sliding_window::SlidingWindow;

/// Admits operations at a rate set by a [`Quota`].
///
/// # Guarantees
///
/// - **The quota's bound, exactly**, in every window wherever it starts, for any arrival pattern
///   and any scheduling delay: [`Quota::SlidingWindow`] admits at most `max` in every window of
///   length `window`; [`Quota::TokenBucket`] admits at most `burst + ceil(L / T) - 1` in any
///   window of length `L` (up to `2 * rate - 1` per `per` when `burst = rate`). See
///   [`Quota::max_in_any_window`]. The admission time is read from the clock at the moment of
///   admission, under the limiter's lock, never earlier (not when a waiter was woken).
/// - **FIFO waiters, no thundering herd**: callers of [`acquire`](Self::acquire) queue in arrival
///   order on a fair semaphore; only the head of the queue sleeps on the clock, until the moment
///   its request fits. [`try_acquire`](Self::try_acquire) never overtakes a queued caller.
/// - **Cancel safety**: dropping an `acquire` future gives up its place and consumes nothing.
/// - **No background task**: dropping the limiter leaves nothing running.
///   [`try_acquire`](Self::try_acquire) works outside any runtime.
/// - **Bad input is refused**: an invalid quota fails construction with a [`QuotaError`]; a
///   request larger than the quota's [`capacity`](Quota::capacity) fails at once
///   ([`ExceedsCapacity`]) instead of waiting forever.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use async_patterns::rate::{Quota, RateLimiter};
///
/// # fn main() {
/// # // Under `--cfg loom` the crate's primitives only work inside a loom model.
/// # if async_patterns::__private::LOOM { return; }
/// # run();
/// # }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn run() {
/// // At most 10 requests in any one-second window.
/// let limiter = RateLimiter::new(Quota::per_window(10, Duration::from_secs(1))).unwrap();
/// let start = tokio::time::Instant::now();
/// for _ in 0..25 {
///     limiter.acquire().await; // waits (FIFO) when the window is full
/// }
/// // 10 at t = 0, 10 at t = 1 s, 5 at t = 2 s.
/// assert_eq!(start.elapsed(), Duration::from_secs(2));
/// assert!(limiter.try_acquire().is_ok());
/// # }
/// ```
pub struct RateLimiter<C: Clock = TokioClock> {
    quota: Quota,
    state: Mutex<State>,
    /// One permit, held by the caller at the head of the `acquire` queue: only it waits on the
    /// clock. Fair, so waiters are admitted in arrival order.
    turnstile: Semaphore,
    clock: C,
}

#[derive(Debug)]
struct State {
    policy: Policy,
    /// Callers inside `acquire` not yet admitted. While there are any, `try_acquire` refuses:
    /// it never overtakes a queued caller.
    waiting: usize,
    /// What the caller at the head of the queue is waiting for (0 if none): `try_acquire` adds it
    /// when it estimates a retry time while others are queued.
    head_request: u32,
}

#[derive(Debug)]
enum Policy {
    SlidingWindow(SlidingWindow),
    Gcra(Gcra),
}

impl Policy {
    fn admit(&mut self, now: Instant, n: u32) -> Result<(), Instant> {
        match self {
            Policy::SlidingWindow(window) => window.admit(now, n),
            Policy::Gcra(gcra) => gcra.admit(now, n),
        }
    }

    fn fits_at(&mut self, now: Instant, n: u32) -> Instant {
        match self {
            Policy::SlidingWindow(window) => window.fits_at(now, n),
            Policy::Gcra(gcra) => gcra.fits_at(now, n),
        }
    }
}

impl RateLimiter<TokioClock> {
    /// A limiter on tokio's clock (so paused and simulated time apply).
    ///
    /// # Errors
    ///
    /// [`QuotaError`] if the quota is invalid (a zero count or duration, or one that overflows).
    pub fn new(quota: Quota) -> Result<Self, QuotaError> {
        Self::with_clock(quota, TokioClock)
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter on the given clock (for example a [`ManualClock`](crate::time::ManualClock)).
    ///
    /// # Errors
    ///
    /// [`QuotaError`] if the quota is invalid.
    pub fn with_clock(quota: Quota, clock: C) -> Result<Self, QuotaError> {
        quota.validate()?;
        let policy = match quota {
            Quota::SlidingWindow { max, window } => {
                Policy::SlidingWindow(SlidingWindow::new(max, window))
            }
            Quota::TokenBucket { burst, .. } => {
                Policy::Gcra(Gcra::new(quota.emission_interval(), burst))
            }
        };
        Ok(RateLimiter {
            quota,
            state: Mutex::new(State {
                policy,
                waiting: 0,
                head_request: 0,
            }),
            turnstile: Semaphore::new(1),
            clock,
        })
    }

    /// The quota this limiter enforces.
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The clock this limiter reads.
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Admits one operation now, or says how long to wait. Never waits; needs no runtime.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::RateLimited`] with the time to wait.
    pub fn try_acquire(&self) -> Result<(), TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Admits `n` operations at once now, or says how long to wait. Never waits.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::RateLimited`] with the time to wait (a lower bound while callers are
    /// queued in `acquire`: they go first), or [`TryAcquireError::ExceedsCapacity`] if `n` is more
    /// than the quota ever admits at once.
    pub fn try_acquire_many(&self, n: u32) -> Result<(), TryAcquireError> {
        self.check_capacity(n)?;
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let fits_at = if state.waiting > 0 {
            // Callers queued in `acquire` go first: estimate when the head's request and this one
            // would both fit (a lower bound when more are queued), and refuse for now.
            let ahead = state.head_request.min(self.quota.capacity() - n);
            let at = state.policy.fits_at(now, n + ahead);
            at.max(now + Duration::from_nanos(1))
        } else {
            match state.policy.admit(now, n) {
                Ok(()) => return Ok(()),
                Err(at) => at,
            }
        };
        Err(TryAcquireError::RateLimited {
            retry_after: fits_at.saturating_duration_since(now),
        })
    }

    /// Waits until one operation is admitted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in the queue and consumes nothing.
    pub async fn acquire(&self) {
        match self.acquire_many(1).await {
            Ok(()) => {}
            Err(_) => unreachable!("every valid quota admits at least one at once"),
        }
    }

    /// Waits until `n` operations are admitted at once, in FIFO order with other callers.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in the queue and consumes nothing.
    ///
    /// # Errors
    ///
    /// [`ExceedsCapacity`], at once, if `n` is more than the quota ever admits at once.
    pub async fn acquire_many(&self, n: u32) -> Result<(), ExceedsCapacity> {
        self.check_capacity(n)?;
        let mut queued = Queued::register(&self.state);
        let Ok(_turn) = self.turnstile.acquire().await else {
            unreachable!("the turnstile is never closed");
        };
        loop {
            let wait_until = {
                let mut state = lock(&self.state);
                let now = self.clock.now();
                match state.policy.admit(now, n) {
                    Ok(()) => {
                        queued.admitted(&mut state);
                        return Ok(());
                    }
                    Err(at) => {
                        state.head_request = n;
                        queued.head = true;
                        at
                    }
                }
            };
            self.clock.sleep_until(wait_until).await;
        }
    }

    fn check_capacity(&self, n: u32) -> Result<(), ExceedsCapacity> {
        let capacity = self.quota.capacity();
        if n > capacity {
            return Err(ExceedsCapacity {
                requested: n,
                capacity,
            });
        }
        Ok(())
    }
}

/// Counts a caller of `acquire` in `State::waiting` from the moment it arrives until it is
/// admitted (in the same locked step as the admission) or cancelled (on drop), so that
/// `try_acquire` refuses exactly while someone is queued.
struct Queued<'a> {
    state: &'a Mutex<State>,
    admitted: bool,
    /// Whether this caller published its request as the head's.
    head: bool,
}

impl<'a> Queued<'a> {
    fn register(state: &'a Mutex<State>) -> Self {
        lock(state).waiting += 1;
        Queued {
            state,
            admitted: false,
            head: false,
        }
    }

    /// Called under the state lock, in the step that admits the caller.
    fn admitted(&mut self, state: &mut State) {
        state.waiting -= 1;
        state.head_request = 0;
        self.admitted = true;
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if !self.admitted {
            // Cancelled. If it was the head, the next caller sets its own request when it waits.
            let mut state = lock(self.state);
            state.waiting -= 1;
            if self.head {
                state.head_request = 0;
            }
        }
    }
}

impl<C: Clock + fmt::Debug> fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("quota", &self.quota)
            .field("waiting", &lock(&self.state).waiting)
            .field("clock", &self.clock)
            .finish()
    }
}
