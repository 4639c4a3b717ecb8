//! The token-bucket policy as GCRA (the generic cell rate algorithm): one number of state, the
//! theoretical arrival time (TAT) at which the bucket would be full again, kept in one atomic word
//! so that a check while nobody waits is one load and one compare-and-swap, with no lock.
//!
//! Each admission costs `interval` (`T`); the bucket holds `burst` admissions, so an admission is
//! allowed when, after paying for it, the TAT is at most `burst * T` ahead of now. The bound in a
//! half-open window `[a, a + L)` of clock readings: take the admissions whose readings fall in it,
//! in the order their updates took effect. After the first, the TAT is at least `a + T`; each
//! later one adds at least `T` (the TAT never decreases, whatever the order of the readings); after
//! the last (reading `t < a + L`) it is at most `t + burst * T`. So `k` of them satisfy
//! `a + k * T < a + L + burst * T`, i.e. `k <= burst + ceil(L / T) - 1`. Readings taken by
//! racing threads may reach the word out of order; the argument above does not need them sorted.
//!
//! Times are nanoseconds since the limiter's origin (see `RateLimiter::origin`). The word's top
//! bit, [`QUEUED`], says that callers wait in `acquire`: while it is set, [`Gcra::try_admit`]
//! refuses without writing, so a check never overtakes a queued caller, and only the holder of the
//! limiter's state lock changes the word ([`Gcra::admit_queued`]).

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use crate::loom::atomic::{AtomicU64, Ordering};

/// Set in the word while callers wait in `acquire` (the limiter's `waiting` count is non-zero).
const QUEUED: u64 = 1 << 63;

/// The latest TAT the word can hold below [`QUEUED`]: 2^63 ns, 292 years past the limiter's
/// origin. Readings are taken as at most this; an admission whose TAT would pass it never fits
/// ([`NEVER`]), so a limiter that old refuses everything rather than wrap or admit without bound.
const MAX_TAT: u64 = QUEUED - 1;

/// `fits_at` of an admission that never fits: above every reading (which are at most [`MAX_TAT`]).
pub(super) const NEVER: u64 = u64::MAX;

#[derive(Debug)]
pub(super) struct Gcra {
    /// `T` in nanoseconds.
    interval: u64,
    /// `burst * T` in nanoseconds: how far ahead of now the TAT may run (at most 100 years, so
    /// TATs stay far below [`QUEUED`]).
    capacity_span: u64,
    /// The TAT, with [`QUEUED`] as its top bit.
    word: AtomicU64,
}

/// What a lock-free check found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    Admitted,
    /// Not enough room: the reading at which the request would fit.
    Denied {
        fits_at: u64,
    },
    /// Callers wait in `acquire`: the caller must not overtake them.
    Queued,
}

impl Gcra {
    /// `interval * burst` must fit in the quota's 100-year limit (the quota was validated).
    pub(super) fn new(interval: u64, burst: u32) -> Self {
        Gcra {
            interval,
            // Validated by the quota (at most 100 years of nanoseconds).
            capacity_span: interval.saturating_mul(u64::from(burst)),
            word: AtomicU64::new(0),
        }
    }

    /// Admits `n` unless callers are queued; never blocks. `n <= burst`. Reads the clock with
    /// `read` after loading the word, and refuses only on a reading taken after the word it
    /// checks was loaded (a thread descheduled between reading the clock and loading the word
    /// would otherwise be refused with room left). After a lost compare-and-swap it retries with
    /// the reading it has — an older reading only admits less, so the bound holds — and reads
    /// the clock again only if that reading would refuse: racing admissions cost no extra clock
    /// read. Returns the reading the answer is based on.
    #[inline]
    pub(super) fn try_admit(&self, read: impl Fn() -> u64, n: u32) -> (Check, u64) {
        // Relaxed suffices: the word is the whole of the state; there is nothing else to publish.
        let mut word = self.word.load(Ordering::Relaxed);
        let mut now = read().min(MAX_TAT);
        // Whether `now` was read after `word` was loaded.
        let mut fresh = true;
        loop {
            if word & QUEUED != 0 {
                return (Check::Queued, now);
            }
            let (new_tat, fits_at) = self.cost(word, now, n);
            if fits_at > now {
                if fresh {
                    return (Check::Denied { fits_at }, now);
                }
                now = read().min(MAX_TAT);
                fresh = true;
                continue;
            }
            match self.word.compare_exchange_weak(
                word,
                new_tat,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return (Check::Admitted, now),
                Err(actual) => {
                    word = actual;
                    fresh = false;
                }
            }
        }
    }

    /// Admits `n` at reading `now` for the caller at the head of the `acquire` queue, or returns
    /// the reading at which they would fit. Called under the limiter's state lock while
    /// [`QUEUED`] is set (the caller is counted as waiting); `others_wait` says whether the flag
    /// stays set once this caller is admitted.
    pub(super) fn admit_queued(&self, now: u64, n: u32, others_wait: bool) -> Result<(), u64> {
        let now = now.min(MAX_TAT);
        let word = self.word.load(Ordering::Relaxed);
        debug_assert!(word & QUEUED != 0, "admit_queued while nobody is queued");
        let (new_tat, fits_at) = self.cost(word & !QUEUED, now, n);
        if fits_at > now {
            return Err(fits_at);
        }
        // No `try_admit` writes while the flag is set, and other writers hold the lock.
        let flag = if others_wait { QUEUED } else { 0 };
        self.word.store(new_tat | flag, Ordering::Relaxed);
        Ok(())
    }

    /// The reading (`now` or later) at which `n` more admissions fit, ignoring the queue.
    pub(super) fn fits_at(&self, now: u64, n: u32) -> u64 {
        let now = now.min(MAX_TAT);
        let word = self.word.load(Ordering::Relaxed);
        self.cost(word & !QUEUED, now, n).1
    }

    /// Marks callers as queued (the waiting count went from 0 to 1). Under the state lock.
    pub(super) fn set_queued(&self) {
        self.word.fetch_or(QUEUED, Ordering::Relaxed);
    }

    /// Marks nobody as queued (the waiting count went to 0 by a cancellation). Under the lock.
    pub(super) fn clear_queued(&self) {
        self.word.fetch_and(!QUEUED, Ordering::Relaxed);
    }

    /// The TAT after admitting `n` at `now` (at most [`MAX_TAT`]), and the reading at which that
    /// admission is allowed ([`NEVER`] if its TAT would not fit below the flag).
    #[inline]
    fn cost(&self, tat: u64, now: u64, n: u32) -> (u64, u64) {
        let new_tat = tat
            .max(now)
            .saturating_add(self.interval.saturating_mul(u64::from(n)));
        if new_tat > MAX_TAT {
            return (tat, NEVER);
        }
        // Allowed once `new_tat - capacity_span <= now`.
        let fits_at = new_tat.saturating_sub(self.capacity_span).max(now);
        (new_tat, fits_at)
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
#[allow(clippy::arithmetic_side_effects)] // test arithmetic on small constants
mod tests {
    use std::cell::Cell;

    use super::{Check, Gcra};

    const SECOND: u64 = 1_000_000_000;

    /// Counts the clock reads of one check: `at(i)` is the i-th reading.
    fn counted(reads: &Cell<u32>, at: impl Fn(u32) -> u64) -> impl Fn() -> u64 {
        move || {
            let i = reads.get();
            reads.set(i + 1);
            at(i)
        }
    }

    #[test]
    fn a_refusal_reads_the_clock_once() {
        let bucket = Gcra::new(SECOND, 1);
        assert_eq!(bucket.try_admit(|| 0, 1).0, Check::Admitted);
        let reads = Cell::new(0);
        let (check, now) = bucket.try_admit(counted(&reads, |_| SECOND / 2), 1);
        assert_eq!(check, Check::Denied { fits_at: SECOND });
        assert_eq!((now, reads.get()), (SECOND / 2, 1));
    }

    /// Between this check's load and its compare-and-swap another thread admits one, at a later
    /// reading. The reading this check holds is now older than the word: on it the bucket looks
    /// full, on a fresh one it has room. It must read again and admit, not refuse.
    #[test]
    fn a_lost_race_refuses_only_on_a_fresh_reading() {
        let bucket = Gcra::new(SECOND, 2);
        assert_eq!(bucket.try_admit(|| 0, 1).0, Check::Admitted);
        let reads = Cell::new(0);
        let racing = counted(&reads, |i| {
            if i == 0 {
                assert_eq!(bucket.try_admit(|| SECOND, 1).0, Check::Admitted);
                0
            } else {
                SECOND
            }
        });
        let (check, now) = bucket.try_admit(racing, 1);
        assert_eq!((check, now, reads.get()), (Check::Admitted, SECOND, 2));
        // 1 s of refill, 3 admitted of burst 2: full until 2 s.
        assert_eq!(bucket.fits_at(SECOND, 1), 2 * SECOND);
    }

    /// A race lost with room still left is retried on the same reading: no second clock read.
    #[test]
    fn a_lost_race_with_room_left_costs_no_clock_read() {
        let bucket = Gcra::new(SECOND, 3);
        let reads = Cell::new(0);
        let racing = counted(&reads, |_| {
            if reads.get() == 1 {
                assert_eq!(bucket.try_admit(|| 0, 1).0, Check::Admitted);
            }
            0
        });
        let (check, _) = bucket.try_admit(racing, 1);
        assert_eq!((check, reads.get()), (Check::Admitted, 1));
        assert_eq!(bucket.fits_at(0, 1), 0, "one of three left");
        assert_eq!(bucket.fits_at(0, 2), SECOND);
    }
}
