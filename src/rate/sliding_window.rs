//! The strict policy: a log of recent admissions, so that no window of length `window` ever holds
//! more than `max` of them.
//!
//! Why it is exact: an admission at `now` is allowed only if the admissions in `(now - window, now]`
//! plus the new ones are at most `max`. Take any half-open window `[a, a + window)` and its last
//! admission, at `t`: every earlier admission in the window is after `a > t - window`, so all of
//! them were counted when `t` was admitted — the window holds at most `max`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::Instant;

#[derive(Debug)]
pub(super) struct SlidingWindow {
    max: u32,
    window: Duration,
    /// Admissions still inside the window, oldest first, as (time, how many at that time).
    log: VecDeque<(Instant, u32)>,
    /// Sum of the counts in `log`.
    in_window: u32,
}

impl SlidingWindow {
    pub(super) fn new(max: u32, window: Duration) -> Self {
        SlidingWindow {
            max,
            window,
            log: VecDeque::new(),
            in_window: 0,
        }
    }

    /// Admits `n` at `now`, or returns the earliest instant at which they would fit.
    /// `now` must not go backwards between calls; `n <= max`.
    pub(super) fn admit(&mut self, now: Instant, n: u32) -> Result<(), Instant> {
        let fits_at = self.fits_at(now, n);
        if fits_at > now {
            return Err(fits_at);
        }
        if n > 0 {
            match self.log.back_mut() {
                Some((time, count)) if *time == now => *count += n,
                _ => self.log.push_back((now, n)),
            }
            self.in_window += n;
        }
        Ok(())
    }

    /// The earliest instant (`now` or later) at which `n` more admissions fit.
    pub(super) fn fits_at(&mut self, now: Instant, n: u32) -> Instant {
        debug_assert!(n <= self.max);
        // Forget admissions that no window containing `now` can include.
        while let Some(&(time, count)) = self.log.front() {
            if time + self.window > now {
                break;
            }
            self.log.pop_front();
            self.in_window -= count;
        }
        let mut excess = (self.in_window + n).saturating_sub(self.max);
        if excess == 0 {
            return now;
        }
        // Wait until enough of the oldest admissions leave the window.
        for &(time, count) in &self.log {
            if count >= excess {
                return time + self.window;
            }
            excess -= count;
        }
        unreachable!("in_window + n - max <= in_window, since n <= max")
    }
}
