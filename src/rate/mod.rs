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

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

mod error;
mod gcra;
mod quota;
mod sliding_window;

use std::fmt;
use std::time::Duration;

use crate::loom::{Mutex, lock};
use crate::sync::Semaphore;
use crate::time::{Clock, Instant, TokioClock, saturating_add};

pub use error::{ExceedsCapacity, NotAdmitted, QuotaError, RateLimited};
pub use quota::Quota;

use gcra::{Check, Gcra};
use sliding_window::SlidingWindow;

/// Admits operations at a rate set by a [`Quota`].
///
/// # Guarantees
///
/// - **The quota's bound, exactly**, in every window wherever it starts, for any arrival pattern
///   and any scheduling delay: [`Quota::SlidingWindow`] admits at most `max` in every window of
///   length `window`; [`Quota::TokenBucket`] admits at most `burst + ceil(L / T) - 1` in any
///   window of length `L` (up to `2 * rate - 1` per `per` when `burst = rate`). See
///   [`Quota::max_in_any_window`]. The bound holds over the clock readings the limiter admits at:
///   each is taken inside the admitting call, never earlier (not when a waiter was woken) —
///   under the limiter's lock for a sliding window, just before the one compare-and-swap that
///   records the admission for a token bucket (racing threads' readings may reach the bucket
///   out of order; the bound does not need them sorted, see the proof in the source).
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
/// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
/// # if async_patterns::__private::MODEL_BUILD { return; }
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
    /// The token bucket's state, lock-free (`None` for a sliding window, whose log lives under
    /// the state lock).
    gcra: Option<Gcra>,
    /// The reading that the bucket's nanosecond timeline counts from: the clock's epoch when it
    /// has one (`native`), else its reading when the limiter was built.
    origin: Instant,
    native: bool,
    /// `quota.capacity()`, kept at hand for the check's fast path.
    capacity: u32,
    state: Mutex<State>,
    /// One permit, held by the caller at the head of the `acquire` queue: only it waits on the
    /// clock. Fair, so waiters are admitted in arrival order.
    turnstile: Semaphore,
    clock: C,
}

#[derive(Debug)]
struct State {
    /// The sliding window's log (`None` for a token bucket).
    window: Option<SlidingWindow>,
    /// Callers inside `acquire` not yet admitted. While there are any, `try_acquire` refuses:
    /// it never overtakes a queued caller. For a token bucket, the bucket's word carries a flag
    /// that is set exactly while this is non-zero (both change under this lock).
    waiting: usize,
    /// What the caller at the head of the queue is waiting for (0 if none): `try_acquire` adds it
    /// when it estimates a retry time while others are queued.
    head_request: u32,
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
        let (window, gcra) = match quota {
            Quota::SlidingWindow { max, window } => (Some(SlidingWindow::new(max, window)), None),
            Quota::TokenBucket { burst, .. } => {
                let interval = nanos(quota.emission_interval());
                (None, Some(Gcra::new(interval, burst)))
            }
        };
        Ok(RateLimiter {
            quota,
            gcra,
            origin: clock.epoch().unwrap_or_else(|| clock.now()),
            native: clock.epoch().is_some(),
            capacity: quota.capacity(),
            state: Mutex::new(State {
                window,
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
    /// [`NotAdmitted::RateLimited`] with the time to wait.
    #[inline]
    pub fn try_acquire(&self) -> Result<(), NotAdmitted> {
        self.try_acquire_many(1)
    }

    /// Admits `n` operations at once now, or says how long to wait. Never waits. `n == 0` is
    /// always admitted (it takes nothing).
    ///
    /// A token bucket answers with one atomic compare-and-swap while nobody waits in
    /// [`acquire`](Self::acquire); a sliding window takes the limiter's lock.
    ///
    /// # Errors
    ///
    /// [`NotAdmitted::RateLimited`] with the time to wait (a lower bound while callers are
    /// queued in `acquire`: they go first), or [`NotAdmitted::ExceedsCapacity`] if `n` is more
    /// than the quota ever admits at once.
    #[inline]
    pub fn try_acquire_many(&self, n: u32) -> Result<(), NotAdmitted> {
        self.check_capacity(n)?;
        if let Some(gcra) = &self.gcra {
            match gcra.try_admit(|| self.read_nanos(), n) {
                (Check::Admitted, _) => return Ok(()),
                (Check::Denied { fits_at }, now_ns) => {
                    // A refusal's `fits_at` is past the reading it judged.
                    return Err(RateLimited::after_nanos(fits_at.saturating_sub(now_ns)).into());
                }
                (Check::Queued, _) => {}
            }
        }
        self.try_acquire_locked(n)
    }

    /// The check under the state lock: a sliding window, or a token bucket with callers queued.
    /// Kept out of line so that the lock-free check above stays small enough to inline.
    #[inline(never)]
    fn try_acquire_locked(&self, n: u32) -> Result<(), NotAdmitted> {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        let fits_at = if state.waiting > 0 {
            // Callers queued in `acquire` go first: estimate when the head's request and this one
            // would both fit (a lower bound when more are queued), and refuse for now.
            // `n <= capacity` (checked), so `n + ahead <= capacity`.
            let ahead = state.head_request.min(self.capacity.saturating_sub(n));
            let at = self.fits_at(&mut state, now, n.saturating_add(ahead));
            at.map(|at| at.max(saturating_add(now, Duration::from_nanos(1))))
        } else {
            match self.admit_unqueued(&mut state, now, n) {
                Ok(()) => return Ok(()),
                Err(at) => at,
            }
        };
        // Never (the clock is at the end of what it can count): the longest hint there is.
        let wait = fits_at.map_or(Duration::MAX, |at| at.saturating_duration_since(now));
        Err(RateLimited::after(wait).into())
    }

    /// Waits until one operation is admitted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in the queue and consumes nothing.
    pub async fn acquire(&self) {
        // No capacity check: every valid quota admits at least one at once.
        debug_assert!(
            self.capacity >= 1,
            "a quota that admits nothing was accepted"
        );
        if let Some(queued) = self.admit_or_enqueue(1) {
            self.wait_admitted(queued, 1).await;
        }
    }

    /// Waits until `n` operations are admitted at once, in FIFO order with other callers.
    ///
    /// When nobody is queued and the request fits now, it is admitted at once, without queueing.
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
        if let Some(queued) = self.admit_or_enqueue(n) {
            self.wait_admitted(queued, n).await;
        }
        Ok(())
    }

    /// The rest of [`acquire`](Self::acquire) and [`acquire_many`](Self::acquire_many) for a
    /// caller that has to queue: waits its turn, then sleeps until its request fits. A separate
    /// future, so that a caller admitted at once never carries (or drops) its state.
    async fn wait_admitted(&self, mut queued: Queued<'_, C>, n: u32) {
        let Ok(_turn) = self.turnstile.acquire().await else {
            unreachable!("the turnstile is never closed");
        };
        loop {
            let wait_until = {
                let mut state = lock(&self.state);
                let now = self.clock.now();
                match self.admit_head(&mut state, now, n) {
                    Ok(()) => {
                        queued.admitted(&mut state);
                        return;
                    }
                    Err(at) => {
                        state.head_request = n;
                        queued.head = true;
                        at
                    }
                }
            };
            match wait_until {
                Some(at) => self.clock.sleep_until(at).await,
                // It never fits (the clock is at the end of what it can count): wait for good,
                // rather than poll again at once, for ever.
                None => std::future::pending().await,
            }
        }
    }

    /// Admits `n` at once if nobody is queued and they fit (returns `None`), or counts the caller
    /// as waiting (from here until it is admitted or dropped).
    #[inline]
    fn admit_or_enqueue(&self, n: u32) -> Option<Queued<'_, C>> {
        if let Some(gcra) = &self.gcra
            && gcra.try_admit(|| self.read_nanos(), n).0 == Check::Admitted
        {
            return None;
        }
        self.admit_or_enqueue_locked(n)
    }

    /// [`admit_or_enqueue`](Self::admit_or_enqueue) under the state lock; out of line, as
    /// [`try_acquire_locked`](Self::try_acquire_locked).
    #[inline(never)]
    fn admit_or_enqueue_locked(&self, n: u32) -> Option<Queued<'_, C>> {
        let mut state = lock(&self.state);
        if state.waiting == 0 {
            let now = self.clock.now();
            if self.admit_unqueued(&mut state, now, n).is_ok() {
                return None;
            }
        }
        // One per live `acquire` future: bounded by memory long before a usize is.
        state.waiting = state.waiting.saturating_add(1);
        if state.waiting == 1
            && let Some(gcra) = &self.gcra
        {
            gcra.set_queued();
        }
        Some(Queued {
            limiter: self,
            admitted: false,
            head: false,
        })
    }

    /// Admits `n` at `now` while nobody is queued (`state.waiting == 0`, under the lock), or
    /// returns the instant at which they would fit (`None`: never).
    fn admit_unqueued(
        &self,
        state: &mut State,
        now: Instant,
        n: u32,
    ) -> Result<(), Option<Instant>> {
        let Some(gcra) = &self.gcra else {
            return window(state).admit(now, n);
        };
        let now_ns = self.nanos_since_origin(now);
        match gcra.try_admit(|| now_ns, n).0 {
            Check::Admitted => Ok(()),
            Check::Denied { fits_at } => Err(at_reading(now, now_ns, fits_at)),
            Check::Queued => unreachable!("the queued flag is set only while waiting > 0"),
        }
    }

    /// Admits `n` at `now` for the caller at the head of the queue (counted in `state.waiting`),
    /// or returns the instant at which they would fit (`None`: never).
    fn admit_head(&self, state: &mut State, now: Instant, n: u32) -> Result<(), Option<Instant>> {
        let Some(gcra) = &self.gcra else {
            return window(state).admit(now, n);
        };
        let now_ns = self.nanos_since_origin(now);
        gcra.admit_queued(now_ns, n, state.waiting > 1)
            .map_err(|fits_at| at_reading(now, now_ns, fits_at))
    }

    /// The earliest instant (`now` or later) at which `n` more admissions fit, ignoring the queue
    /// (`None`: never).
    fn fits_at(&self, state: &mut State, now: Instant, n: u32) -> Option<Instant> {
        let Some(gcra) = &self.gcra else {
            return window(state).fits_at(now, n);
        };
        let now_ns = self.nanos_since_origin(now);
        at_reading(now, now_ns, gcra.fits_at(now_ns, n))
    }

    /// A clock reading as nanoseconds on the bucket's timeline.
    fn nanos_since_origin(&self, now: Instant) -> u64 {
        nanos(now.saturating_duration_since(self.origin))
    }

    /// The clock read as nanoseconds on the bucket's timeline (the check's fast path).
    #[inline]
    fn read_nanos(&self) -> u64 {
        if self.native {
            self.clock.nanos_since_epoch()
        } else {
            self.nanos_since_origin(self.clock.now())
        }
    }

    #[inline]
    fn check_capacity(&self, n: u32) -> Result<(), ExceedsCapacity> {
        let capacity = self.capacity;
        if n > capacity {
            return Err(ExceedsCapacity {
                requested: n,
                capacity,
            });
        }
        Ok(())
    }
}

/// The sliding window's log, for a limiter without a token bucket.
fn window(state: &mut State) -> &mut SlidingWindow {
    state
        .window
        .as_mut()
        .expect("a limiter without a token bucket has a sliding window")
}

/// The instant of bucket reading `at_ns`, from the pair (`now`, `now_ns`) read together; `None`
/// for a reading that never comes (`gcra::NEVER`).
#[inline]
fn at_reading(now: Instant, now_ns: u64, at_ns: u64) -> Option<Instant> {
    (at_ns != gcra::NEVER)
        .then(|| saturating_add(now, Duration::from_nanos(at_ns.saturating_sub(now_ns))))
}

/// Whole nanoseconds, saturating (584 years fit in a `u64`).
#[inline]
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Counts a caller of `acquire` in `State::waiting` from the moment it queues until it is
/// admitted (in the same locked step as the admission) or cancelled (on drop), so that
/// `try_acquire` refuses exactly while someone is queued.
struct Queued<'a, C: Clock> {
    limiter: &'a RateLimiter<C>,
    admitted: bool,
    /// Whether this caller published its request as the head's.
    head: bool,
}

impl<C: Clock> Queued<'_, C> {
    /// Called under the state lock, in the step that admits the caller (which already left the
    /// bucket's queued flag as the remaining count says).
    fn admitted(&mut self, state: &mut State) {
        // Counted in `waiting` since it queued.
        state.waiting = state.waiting.saturating_sub(1);
        state.head_request = 0;
        self.admitted = true;
    }
}

impl<C: Clock> Drop for Queued<'_, C> {
    fn drop(&mut self) {
        if !self.admitted {
            // Cancelled. If it was the head, the next caller sets its own request when it waits.
            let mut state = lock(&self.limiter.state);
            state.waiting = state.waiting.saturating_sub(1);
            if self.head {
                state.head_request = 0;
            }
            if state.waiting == 0
                && let Some(gcra) = &self.limiter.gcra
            {
                gcra.clear_queued();
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
