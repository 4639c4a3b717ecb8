//! This project's own primitives (`async-patterns` 0.1).

use std::sync::Arc;
use std::time::Duration;

use crate::BoxFuture;

tokio_shaped_locks!(async_patterns::sync, "async_patterns::sync");

/// `async_patterns::shutdown::Shutdown` as a token tree: `trigger` cancels a scope and its
/// children.
#[derive(Debug)]
pub struct ShutdownToken;

impl crate::token::CancelTokenUnderTest for ShutdownToken {
    type Token = async_patterns::shutdown::Shutdown;

    fn new() -> Self::Token {
        async_patterns::shutdown::Shutdown::new()
    }

    fn child(parent: &Self::Token) -> Self::Token {
        parent.child()
    }

    fn cancel(token: &Self::Token) {
        token.trigger();
    }

    fn is_cancelled(token: &Self::Token) -> bool {
        token.is_triggered()
    }

    fn cancelled(token: &Self::Token) -> BoxFuture<()> {
        Box::pin(token.token().triggered_owned())
    }
}

/// `async_patterns::shutdown::Shutdown` as a task tracker: `track` and `wait`; the trigger
/// closes it (and refuses later tasks).
#[derive(Debug)]
pub struct ShutdownTracker(async_patterns::shutdown::Shutdown);

impl crate::tracker::TaskTrackerUnderTest for ShutdownTracker {
    fn new() -> Self {
        ShutdownTracker(async_patterns::shutdown::Shutdown::new())
    }

    fn track(&self, task: BoxFuture<()>) -> Option<BoxFuture<()>> {
        let tracked = self.0.track(task).ok()?;
        Some(Box::pin(tracked))
    }

    fn close(&self) {
        self.0.trigger();
    }

    fn wait(&self) -> BoxFuture<()> {
        let scope = self.0.clone();
        Box::pin(async move { scope.wait().await })
    }
}

/// `async_patterns::rate::RateLimiter` with a strict quota: at most `max` in every window of
/// `per`.
#[derive(Debug)]
pub struct StrictRateLimiter(Arc<async_patterns::rate::RateLimiter>);

/// `async_patterns::rate::RateLimiter` with a token-bucket quota: `max` per `per`, bursts of `max`.
#[derive(Debug)]
pub struct BucketRateLimiter(Arc<async_patterns::rate::RateLimiter>);

fn rate_limiter(quota: async_patterns::rate::Quota) -> Arc<async_patterns::rate::RateLimiter> {
    Arc::new(async_patterns::rate::RateLimiter::new(quota).expect("a valid quota"))
}

fn rate_try(limiter: &async_patterns::rate::RateLimiter) -> Result<(), Option<Duration>> {
    limiter.try_acquire().map_err(|e| e.retry_after())
}

fn rate_acquire(limiter: &Arc<async_patterns::rate::RateLimiter>) -> Option<BoxFuture<()>> {
    let limiter = Arc::clone(limiter);
    Some(Box::pin(async move { limiter.acquire().await }))
}

fn rate_bound(quota: async_patterns::rate::Quota, window: Duration) -> u64 {
    u64::try_from(quota.max_in_any_window(window)).unwrap_or(u64::MAX)
}

impl crate::rate::RateLimiterUnderTest for StrictRateLimiter {
    fn new(max: u32, per: Duration) -> Self {
        StrictRateLimiter(rate_limiter(async_patterns::rate::Quota::per_window(
            max, per,
        )))
    }

    fn try_acquire(&self) -> Result<(), Option<Duration>> {
        rate_try(&self.0)
    }

    fn acquire(&self) -> Option<BoxFuture<()>> {
        rate_acquire(&self.0)
    }

    fn bound(max: u32, per: Duration, window: Duration) -> u64 {
        rate_bound(async_patterns::rate::Quota::per_window(max, per), window)
    }
}

impl crate::rate::RateLimiterUnderTest for BucketRateLimiter {
    fn new(max: u32, per: Duration) -> Self {
        let quota = async_patterns::rate::Quota::token_bucket(max, per, max);
        BucketRateLimiter(rate_limiter(quota))
    }

    fn try_acquire(&self) -> Result<(), Option<Duration>> {
        rate_try(&self.0)
    }

    fn acquire(&self) -> Option<BoxFuture<()>> {
        rate_acquire(&self.0)
    }

    fn bound(max: u32, per: Duration, window: Duration) -> u64 {
        rate_bound(
            async_patterns::rate::Quota::token_bucket(max, per, max),
            window,
        )
    }
}

/// The manager of [`ConnPool`]: connections to the kit's fake backend.
#[derive(Debug)]
pub struct FakeManager(Arc<crate::conn_pool::Backend>);

impl async_patterns::conn_pool::Manager for FakeManager {
    type Object = crate::conn_pool::Conn;
    type Error = crate::conn_pool::BackendError;

    async fn create(&self) -> Result<Self::Object, Self::Error> {
        Arc::clone(&self.0).create().await
    }

    async fn recycle(&self, conn: &mut Self::Object) -> Result<(), Self::Error> {
        self.0.check(conn)
    }

    fn is_broken(&self, conn: &Self::Object) -> bool {
        self.0.is_broken(conn)
    }
}

/// `async_patterns::conn_pool::Pool`, with no timeouts.
#[derive(Debug)]
pub struct ConnPool(async_patterns::conn_pool::Pool<FakeManager>);

impl crate::conn_pool::PoolUnderTest for ConnPool {
    type Object = async_patterns::conn_pool::Object<FakeManager>;

    fn new(backend: Arc<crate::conn_pool::Backend>, max_size: usize) -> Self {
        let pool = async_patterns::conn_pool::Pool::builder(FakeManager(backend))
            .max_size(max_size)
            .build()
            .expect("a valid size");
        ConnPool(pool)
    }

    fn get(&self) -> BoxFuture<Result<Self::Object, String>> {
        let pool = self.0.clone();
        Box::pin(async move { pool.get().await.map_err(|e| e.to_string()) })
    }

    fn conn(object: &Self::Object) -> &crate::conn_pool::Conn {
        object
    }
}

/// `async_patterns::channel::bounded`: a multi-consumer channel with an explicit
/// [`close`](async_patterns::channel::Sender::close). Its docs promise both cancel safeties
/// (`Sender::send`, `Receiver::recv`: "Cancel safe").
#[derive(Debug)]
pub struct Channel;

impl crate::channel::ChannelUnderTest for Channel {
    type Sender = async_patterns::channel::Sender<u64>;
    type Receiver = async_patterns::channel::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        async_patterns::channel::bounded(capacity).expect("the checker's capacities are 1 to 3")
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        let tx = tx.clone();
        Box::pin(async move { tx.send(value).await.map_err(|e| e.0) })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), crate::channel::TrySendError> {
        use async_patterns::channel::TrySendError as E;
        tx.try_send(value).map_err(|e| match e {
            E::Full(v) => crate::channel::TrySendError::Full(v),
            E::Closed(v) => crate::channel::TrySendError::Closed(v),
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        let rx = rx.clone();
        Box::pin(async move { rx.recv().await })
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, crate::channel::TryRecvError> {
        use async_patterns::channel::TryRecvError as E;
        rx.try_recv().map_err(|e| match e {
            E::Empty => crate::channel::TryRecvError::Empty,
            E::Closed => crate::channel::TryRecvError::Closed,
        })
    }

    fn clone_receiver(rx: &Self::Receiver) -> Self::Receiver {
        rx.clone()
    }

    fn close(tx: &Self::Sender) {
        tx.close();
    }

    fn operations() -> crate::channel::Operations {
        crate::channel::Operations {
            multi_receiver: true,
            close: true,
        }
    }
}

/// `async_patterns::pool::WorkerPool`.
#[derive(Debug)]
pub struct WorkerPool(Arc<async_patterns::pool::WorkerPool>);

impl crate::worker_pool::WorkerPoolUnderTest for WorkerPool {
    fn new(workers: usize, queue: usize) -> Self {
        let pool = async_patterns::pool::WorkerPool::builder()
            .workers(workers)
            .queue_capacity(queue)
            .build()
            .expect("a valid size");
        WorkerPool(Arc::new(pool))
    }

    fn try_submit(&self, job: BoxFuture<()>) -> Option<BoxFuture<crate::worker_pool::JobEnd>> {
        let handle = self.0.try_submit(job).ok()?;
        Some(Box::pin(async move {
            match handle.await {
                Ok(()) => crate::worker_pool::JobEnd::Completed,
                Err(_) => crate::worker_pool::JobEnd::NotCompleted,
            }
        }))
    }

    fn shutdown(&self) -> BoxFuture<()> {
        let pool = Arc::clone(&self.0);
        Box::pin(async move {
            pool.shutdown().await;
        })
    }
}
