//! The strict policy: a log of recent admissions, so that no window of length `window` ever holds
//! more than `max` of them.
//!
//! Why it is exact: an admission at `now` is allowed only if the admissions in `(now - window, now]`
//! plus the new ones are at most `max`. Take any half-open window `[a, a + window)` and its last
//! admission, at `t`: every earlier admission in the window is after `a > t - window`, so all of
//! them were counted when `t` was admitted — the window holds at most `max`.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

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

    /// Admits `n` at `now`, or returns the earliest instant at which they would fit (`None`:
    /// never — an admission whose window end an `Instant` cannot hold never leaves it).
    /// `n <= max`. A reading older than the last admission counts as the last admission's time,
    /// so the log stays in order even on a clock that steps back a hair.
    pub(super) fn admit(&mut self, now: Instant, n: u32) -> Result<(), Option<Instant>> {
        let now = self.not_before_last(now);
        match self.fits_at(now, n) {
            Some(at) if at <= now => {}
            refused => return Err(refused),
        }
        // `fits_at` checked `in_window + n <= max`, so neither sum below can overflow (they
        // saturate all the same: the lint asks every sum on a caller's number to say so).
        if n > 0 {
            match self.log.back_mut() {
                Some((time, count)) if *time == now => *count = count.saturating_add(n),
                _ => self.log.push_back((now, n)),
            }
            self.in_window = self.in_window.saturating_add(n);
        }
        Ok(())
    }

    /// The earliest instant (`now` or later) at which `n` more admissions fit; `None` if they
    /// never do.
    pub(super) fn fits_at(&mut self, now: Instant, n: u32) -> Option<Instant> {
        debug_assert!(n <= self.max);
        let now = self.not_before_last(now);
        // Forget admissions that no window containing `now` can include.
        // (An admission whose window end an `Instant` cannot hold never leaves: the quota's
        // 100-year limit keeps that out of reach.)
        while let Some(&(time, count)) = self.log.front() {
            if time.checked_add(self.window).is_none_or(|end| end > now) {
                break;
            }
            self.log.pop_front();
            self.in_window = self.in_window.saturating_sub(count);
        }
        // In u64: `in_window` and `n` are each at most `max`, but their sum may not fit a u32
        // (a byte budget of 3e9 a second, two requests of 2.5e9) — and a wrapped sum would admit.
        let mut excess = u64::from(self.in_window)
            .saturating_add(u64::from(n))
            .saturating_sub(u64::from(self.max));
        if excess == 0 {
            return Some(now);
        }
        // Wait until enough of the oldest admissions leave the window.
        for &(time, count) in &self.log {
            if u64::from(count) >= excess {
                // `None` past what an `Instant` can hold: that admission never leaves.
                return time.checked_add(self.window);
            }
            excess = excess.saturating_sub(u64::from(count));
        }
        unreachable!("in_window + n - max <= in_window, since n <= max")
    }

    fn not_before_last(&self, now: Instant) -> Instant {
        self.log.back().map_or(now, |&(last, _)| last.max(now))
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small constants
mod tests {
    use super::*;

    /// A reading that steps back (a timestamp counter read on another core) must not put the log
    /// out of order: the window's bound still holds over the recorded times.
    #[test]
    fn a_reading_older_than_the_last_admission_counts_at_the_last_admission() {
        let second = Duration::from_secs(1);
        let start = Instant::now();
        let mut window = SlidingWindow::new(2, second);
        window.admit(start + second, 1).unwrap();
        // 1 ns before the last admission: recorded at the last admission's time.
        window
            .admit(start + second - Duration::from_nanos(1), 1)
            .unwrap();
        assert_eq!(window.log.len(), 1, "{:?}", window.log);
        // Both leave the window together, one window after the later one.
        assert_eq!(window.fits_at(start + second, 2), Some(start + second * 2));
    }
}
