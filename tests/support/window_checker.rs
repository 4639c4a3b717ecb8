//! The window checker: given admission times, the largest number that fall in any half-open
//! window `[a, a + len)`, wherever `a` is. A limiter's stated bound must hold for this count.

#![allow(dead_code)] // each test binary uses part of it

use std::time::Duration;

use async_patterns::time::Instant;

/// The busiest window found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowViolation {
    /// How many admissions it holds.
    pub count: usize,
    /// Where it starts (at its first admission: the busiest window can always start there).
    pub window_start: Instant,
}

impl WindowViolation {
    pub fn exceeds(&self, bound: usize) -> bool {
        self.count > bound
    }
}

/// The busiest half-open window of length `len` over `times` (any order). Every window can be
/// slid right until it starts at an admission without losing any, so checking windows that start
/// at each admission covers them all.
pub fn max_in_any_window(times: &[Instant], len: Duration) -> WindowViolation {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = WindowViolation {
        count: 0,
        window_start: sorted.first().copied().unwrap_or_else(Instant::now),
    };
    let mut end = 0;
    for (start, &a) in sorted.iter().enumerate() {
        while end < sorted.len() && sorted[end] < a + len {
            end += 1;
        }
        if end - start > best.count {
            best = WindowViolation {
                count: end - start,
                window_start: a,
            };
        }
    }
    best
}
