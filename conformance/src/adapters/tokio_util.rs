//! `tokio-util` 0.7: `CancellationToken` (every 0.7.x release) and `TaskTracker` (since 0.7.10).

use crate::BoxFuture;

/// `tokio_util::sync::CancellationToken`.
#[derive(Debug)]
pub struct CancellationToken;

impl crate::token::CancelTokenUnderTest for CancellationToken {
    type Token = tokio_util::sync::CancellationToken;

    fn new() -> Self::Token {
        tokio_util::sync::CancellationToken::new()
    }

    fn child(parent: &Self::Token) -> Self::Token {
        parent.child_token()
    }

    fn cancel(token: &Self::Token) {
        token.cancel();
    }

    fn is_cancelled(token: &Self::Token) -> bool {
        token.is_cancelled()
    }

    fn cancelled(token: &Self::Token) -> BoxFuture<()> {
        let token = token.clone();
        Box::pin(async move { token.cancelled().await })
    }
}

/// `tokio_util::task::TaskTracker`.
#[cfg(feature = "tokio-util-tracker")]
#[derive(Debug)]
pub struct TaskTracker(tokio_util::task::TaskTracker);

#[cfg(feature = "tokio-util-tracker")]
impl crate::tracker::TaskTrackerUnderTest for TaskTracker {
    fn new() -> Self {
        TaskTracker(tokio_util::task::TaskTracker::new())
    }

    fn track(&self, task: BoxFuture<()>) -> Option<BoxFuture<()>> {
        Some(Box::pin(self.0.track_future(task)))
    }

    fn close(&self) {
        self.0.close();
    }

    fn wait(&self) -> BoxFuture<()> {
        let tracker = self.0.clone();
        Box::pin(async move { tracker.wait().await })
    }
}
