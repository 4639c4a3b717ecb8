//! Permits: each one gives its permits back to the semaphore when dropped.

use std::fmt;

use super::Semaphore;
use crate::loom::ReceiverArc as Arc;

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back (to the first waiters in
/// line, if any).
#[must_use = "the permits are released as soon as the permit is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

/// Permits owned from an `Arc<Semaphore>`; dropping it gives them back. Being `'static`, it can be
/// moved into a spawned task.
#[must_use = "the permits are released as soon as the permit is dropped"]
pub struct OwnedSemaphorePermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    pub(super) fn new(semaphore: &'a Semaphore, permits: usize) -> Self {
        SemaphorePermit { semaphore, permits }
    }

    /// Keeps the permits out of the semaphore for good: they are not given back.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The semaphore these permits came from (and go back to).
    #[must_use]
    pub fn semaphore(&self) -> &'a Semaphore {
        self.semaphore
    }

    /// The number of permits this holds.
    #[must_use]
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves `other`'s permits into `self`.
    ///
    /// # Panics
    ///
    /// If the permits come from different semaphores (a programming error: the merged permit
    /// would give them back to the wrong one).
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` (and `self` unchanged) if it holds fewer
    /// than `n`.
    #[must_use]
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(SemaphorePermit {
            semaphore: self.semaphore,
            permits: n,
        })
    }
}

impl OwnedSemaphorePermit {
    pub(super) fn new(semaphore: Arc<Semaphore>, permits: usize) -> Self {
        OwnedSemaphorePermit { semaphore, permits }
    }

    /// Keeps the permits out of the semaphore for good: they are not given back.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The number of permits this holds.
    #[must_use]
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits come from.
    #[must_use]
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Moves `other`'s permits into `self`.
    ///
    /// # Panics
    ///
    /// If the permits come from different semaphores.
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.semaphore, &other.semaphore),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` (and `self` unchanged) if it holds fewer
    /// than `n`.
    #[must_use]
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(OwnedSemaphorePermit {
            semaphore: self.semaphore.clone(),
            permits: n,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish_non_exhaustive()
    }
}
