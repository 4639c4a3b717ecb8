//! Waiting for the shutdown with a deadline, on tokio's clock or an injected one.

use std::time::Duration;

use crate::time::{Clock, Instant, TokioClock, timeout_at};

use super::handle::Shutdown;
use super::report::Unfinished;

impl Shutdown {
    /// [`wait`](Self::wait), for at most `timeout` on tokio's clock (so paused and simulated time
    /// apply; needs a runtime with time enabled).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    ///
    /// # Errors
    ///
    /// [`Unfinished`] if the shutdown was not complete when `timeout` passed: whether it had been
    /// triggered, and which tracked tasks were still live (with a way to abort the spawned ones).
    /// A `timeout` too large to add to the current instant waits without a deadline.
    pub async fn wait_within(&self, timeout: Duration) -> Result<(), Unfinished> {
        match TokioClock.now().checked_add(timeout) {
            Some(deadline) => self.wait_until(deadline).await,
            None => {
                self.wait().await;
                Ok(())
            }
        }
    }

    /// [`wait`](Self::wait), until `deadline` on tokio's clock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    ///
    /// # Errors
    ///
    /// As [`wait_within`](Self::wait_within).
    pub async fn wait_until(&self, deadline: Instant) -> Result<(), Unfinished> {
        self.wait_until_with_clock(&TokioClock, deadline).await
    }

    /// [`wait`](Self::wait), until `deadline` on the given clock (for example a
    /// [`ManualClock`](crate::time::ManualClock) in a model or a property test).
    ///
    /// When the shutdown completes at the deadline, it is reported complete: the outcome is
    /// decided after the deadline by looking once more. So an [`Unfinished`] report of a
    /// triggered scope always lists at least one task.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    ///
    /// # Errors
    ///
    /// As [`wait_within`](Self::wait_within).
    pub async fn wait_until_with_clock<C: Clock>(
        &self,
        clock: &C,
        deadline: Instant,
    ) -> Result<(), Unfinished> {
        // Drained or past the deadline: either way the outcome is read below.
        let _ = timeout_at(clock, Some(deadline), self.wait()).await;
        if self.is_finished() {
            return Ok(());
        }
        let unfinished = self.unfinished();
        if unfinished.was_triggered() && unfinished.count() == 0 {
            // The last task ended after the check above: with the trigger, nothing can start
            // again, so the shutdown is complete (its `drained` close is on its way).
            return Ok(());
        }
        Err(unfinished)
    }
}
