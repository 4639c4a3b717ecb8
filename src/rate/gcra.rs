//! The token-bucket policy as GCRA (the generic cell rate algorithm): one instant of state, the
//! theoretical arrival time (TAT) at which the bucket would be full again.
//!
//! Each admission costs `interval` (`T`); the bucket holds `burst` admissions, so an admission is
//! allowed when, after paying for it, the TAT is at most `burst * T` ahead of now. The bound in a
//! half-open window `[a, a + L)`: the TAT is at least `a` before the window's first admission and
//! grows by `T` with each, and after the last (at `t < a + L`) it is at most `t + burst * T`; so
//! `k` admissions satisfy `a + k * T < a + L + burst * T`, i.e. `k <= burst + ceil(L / T) - 1`.

use std::time::Duration;

use crate::time::Instant;

#[derive(Debug)]
pub(super) struct Gcra {
    interval: Duration,
    /// `burst * interval`: how far ahead of now the TAT may run.
    capacity_span: Duration,
    tat: Option<Instant>,
}

impl Gcra {
    /// `interval * burst` must not overflow (the quota was validated).
    pub(super) fn new(interval: Duration, burst: u32) -> Self {
        Gcra {
            interval,
            capacity_span: interval * burst,
            tat: None,
        }
    }

    /// Admits `n` at `now`, or returns the earliest instant at which they would fit.
    /// `now` must not go backwards between calls; `n <= burst`.
    pub(super) fn admit(&mut self, now: Instant, n: u32) -> Result<(), Instant> {
        let (new_tat, fits_at) = self.cost(now, n);
        if fits_at > now {
            return Err(fits_at);
        }
        self.tat = Some(new_tat);
        Ok(())
    }

    /// The earliest instant (`now` or later) at which `n` more admissions fit.
    pub(super) fn fits_at(&self, now: Instant, n: u32) -> Instant {
        self.cost(now, n).1
    }

    /// The TAT after admitting `n` now, and when that admission is allowed.
    fn cost(&self, now: Instant, n: u32) -> (Instant, Instant) {
        let start = self.tat.map_or(now, |tat| tat.max(now));
        let new_tat = start + self.interval * n;
        // Allowed once `new_tat - capacity_span <= now`; `new_tat - now <= capacity_span` when
        // the bucket is not overdrawn, so compare without subtracting from an instant.
        let ahead = new_tat.duration_since(now);
        let fits_at = match ahead.checked_sub(self.capacity_span) {
            Some(wait) if !wait.is_zero() => now + wait,
            _ => now,
        };
        (new_tat, fits_at)
    }
}
