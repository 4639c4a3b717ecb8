//! A bounded worker pool: `workers` jobs at a time, a bounded queue with backpressure, blocking
//! jobs kept off the async threads, and a shutdown that loses nothing it accepted.
//!
//! The usual copy-pasted pool — worker tasks looping on a shared `mpsc` receiver behind a mutex —
//! runs synchronous jobs on async worker threads (a 10 ms heartbeat stalled for 2 s), lets a
//! panicking job kill its worker for good, and gives the caller nothing to wait on (20 accepted
//! jobs, 0 run before `main` returned). The crate's tests replay each of those against it and
//! against this pool.
//!
//! # Guarantees
//!
//! - **At most `workers` jobs run at once**, async and blocking together. Async jobs run on worker
//!   tasks; [`submit_blocking`](WorkerPool::submit_blocking) closures run on tokio's blocking pool
//!   while a worker waits for them, so no synchronous job ever runs on an async worker thread.
//! - **Backpressure**: [`submit`](WorkerPool::submit) waits (FIFO) while the queue is full;
//!   [`try_submit`](WorkerPool::try_submit) gives the job back instead. A `submit` future dropped
//!   before it completes has enqueued nothing. The queue is this crate's
//!   [`crate::channel`], on the semaphore core.
//! - **Every accepted job's [`JobHandle`] resolves exactly once**: the job's output,
//!   [`JobError::Panicked`] with the panic message, [`JobError::Cancelled`] (never started: a
//!   shutdown deadline passed while it was queued) or [`JobError::Aborted`] (running at that
//!   deadline). A panic never reduces the pool's capacity: it is caught, and the worker goes on —
//!   also one raised after the job ended, by the `Drop` of its future or of an output nobody
//!   took (the job then resolves as `Aborted`).
//! - **Shutdown** stops intake at once (later submissions get their job back), then
//!   [`shutdown`](WorkerPool::shutdown) runs everything already accepted and joins the workers;
//!   [`shutdown_within`](WorkerPool::shutdown_within) does the same until a deadline, then aborts
//!   what is running and cancels what is queued, and reports which jobs those were.
//! - Dropping the pool without a shutdown stops intake; the workers still run every accepted job
//!   (while the runtime lives) and then exit.
//!
//! # Example
//!
//! ```
//! use async_patterns::pool::{JobError, WorkerPool};
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn run() {
//! let pool = WorkerPool::builder().workers(4).queue_capacity(16).build().unwrap();
//!
//! let fetch = pool.submit(async { 40 + 2 }).await.unwrap();
//! let hash = pool.submit_blocking(|| (1..=10u64).product::<u64>()).await.unwrap();
//! let broken = pool.submit(async { panic!("bad input") }).await.unwrap();
//!
//! assert_eq!(fetch.await, Ok(42));
//! assert_eq!(hash.await, Ok(3_628_800));
//! assert_eq!(broken.await, Err(JobError::Panicked("bad input".into())));
//!
//! let report = pool.shutdown().await;
//! assert_eq!((report.accepted, report.completed, report.panicked), (3, 2, 1));
//! # }
//! ```

mod error;
mod job;
mod outcome;
mod report;

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;

use tokio::task::JoinHandle;

use crate::channel::{self, TryReserveError};
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{Arc, Mutex, lock};
use crate::time::Instant;

pub use error::{BuildError, SubmitError, TrySubmitError};

/// The most workers a pool may have: 65 536. Each is a task the pool keeps a handle to, made
/// when the pool is built; past this a pool is no longer a bounded set of workers (and a count
/// near `usize::MAX` could not even be allocated). A larger count is
/// [`BuildError::TooManyWorkers`].
pub const MAX_WORKERS: usize = 1 << 16;
pub use crate::Panicked;
pub use outcome::{JobError, JobHandle, JobId};
pub use report::ShutdownReport;

use job::{AsyncWork, BlockingWork, JobCell, QueuedJob, Work};
use report::Tally;

/// Configures a [`WorkerPool`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    workers: usize,
    queue_capacity: usize,
}

impl Builder {
    /// How many jobs may run at once (default: the machine's available parallelism; at most
    /// [`MAX_WORKERS`]).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// How many accepted jobs may wait for a worker (default: 64; at most
    /// [`channel::MAX_CAPACITY`], allocated when the pool is built).
    /// When it is full, `submit` waits and `try_submit` refuses.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Spawns the workers on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for zero workers or more than [`MAX_WORKERS`], a zero or oversized queue, or
    /// no current runtime.
    pub fn build(self) -> Result<WorkerPool, BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let (pool, workers) = self.build_unspawned()?;
        let handles = workers
            .into_iter()
            .map(|worker| runtime.spawn(worker.run()))
            .collect();
        *lock(&pool.workers) = Some(handles);
        Ok(pool)
    }

    /// Builds the pool without spawning its workers: returns them as futures for the caller to
    /// drive (on another executor, or as threads in a loom model). Each runs queued jobs until the
    /// pool is shut down and its queue drained. Async jobs need no runtime; blocking jobs need a
    /// tokio runtime around the worker that runs them.
    ///
    /// The pool cannot join or abort workers it did not spawn: its `shutdown` then only stops
    /// intake and reports, and `shutdown_within` cannot abort or cancel anything; the caller
    /// waits for the worker futures itself.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for zero workers or more than [`MAX_WORKERS`], or a zero or oversized queue.
    pub fn build_unspawned(self) -> Result<(WorkerPool, Vec<Worker>), BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if self.workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers);
        }
        let (sender, receiver) =
            channel::bounded(self.queue_capacity).map_err(|error| match error {
                channel::CapacityError::Zero => BuildError::ZeroQueueCapacity,
                _ => BuildError::QueueTooLarge,
            })?;
        let workers = (0..self.workers)
            .map(|_| Worker {
                jobs: receiver.clone(),
            })
            .collect();
        let pool = WorkerPool {
            sender,
            receiver,
            workers: Mutex::new(None),
            worker_count: self.workers,
            tally: Arc::new(Tally::default()),
            next_id: AtomicU64::new(0),
        };
        Ok((pool, workers))
    }
}

/// One of a pool's workers, for callers that drive them themselves
/// ([`Builder::build_unspawned`]); [`run`](Self::run) it to completion.
#[must_use = "a worker runs no job until it is run"]
pub struct Worker {
    jobs: channel::Receiver<QueuedJob>,
}

impl Worker {
    /// Runs queued jobs, one at a time, until the pool is shut down and its queue is empty.
    pub async fn run(self) {
        while let Some(job) = self.jobs.recv().await {
            // The job's own panics are caught where it is polled. What can still unwind out of
            // here is user code run after the job ended — its future's or its output's `Drop` —
            // and the job is then resolved (as aborted) by its entry's drop: the worker goes on,
            // so a panic never costs the pool a worker.
            let _ = AssertUnwindSafe(job.run()).catch_unwind().await;
        }
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

/// A fixed set of workers running submitted jobs. See the [module docs](self) for the guarantees.
pub struct WorkerPool {
    sender: channel::Sender<QueuedJob>,
    /// Kept so that a shutdown deadline can cancel what is still queued.
    receiver: channel::Receiver<QueuedJob>,
    /// Taken by the first shutdown.
    workers: Mutex<Option<Vec<JoinHandle<()>>>>,
    worker_count: usize,
    tally: Arc<Tally>,
    next_id: AtomicU64,
}

impl WorkerPool {
    /// A builder with the defaults: available parallelism workers, a queue of 64.
    pub fn builder() -> Builder {
        Builder {
            workers: std::thread::available_parallelism().map_or(4, usize::from),
            queue_capacity: 64,
        }
    }

    /// Queues an async job, waiting (FIFO) while the queue is full, and returns its handle.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, the job was not queued (it is
    /// dropped with the future).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the job if the pool is shut down.
    pub async fn submit<F>(&self, job: F) -> Result<JobHandle<F::Output>, SubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Ok(room) = self.sender.reserve().await else {
            return Err(SubmitError(job));
        };
        self.enqueue(room, AsyncWork::new(job))
            .map_err(|refused| SubmitError(refused.into_input()))
    }

    /// Queues an async job if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Closed`], with the job.
    pub fn try_submit<F>(&self, job: F) -> Result<JobHandle<F::Output>, TrySubmitError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let room = match self.sender.try_reserve() {
            Ok(room) => room,
            Err(TryReserveError::Full) => return Err(TrySubmitError::Full(job)),
            Err(TryReserveError::Closed) => return Err(TrySubmitError::Closed(job)),
        };
        self.enqueue(room, AsyncWork::new(job))
            .map_err(|refused| TrySubmitError::Closed(refused.into_input()))
    }

    /// Queues a blocking (synchronous) job, waiting while the queue is full. It runs on tokio's
    /// blocking pool while one of the pool's workers waits for it, so it counts against the
    /// pool's limit and never blocks an async worker thread.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`submit`](Self::submit).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure if the pool is shut down.
    pub async fn submit_blocking<C, T>(&self, job: C) -> Result<JobHandle<T>, SubmitError<C>>
    where
        C: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Ok(room) = self.sender.reserve().await else {
            return Err(SubmitError(job));
        };
        self.enqueue(room, BlockingWork::new(job))
            .map_err(|refused| SubmitError(refused.into_input()))
    }

    /// Queues a blocking job if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Closed`], with the closure.
    pub fn try_submit_blocking<C, T>(&self, job: C) -> Result<JobHandle<T>, TrySubmitError<C>>
    where
        C: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let room = match self.sender.try_reserve() {
            Ok(room) => room,
            Err(TryReserveError::Full) => return Err(TrySubmitError::Full(job)),
            Err(TryReserveError::Closed) => return Err(TrySubmitError::Closed(job)),
        };
        self.enqueue(room, BlockingWork::new(job))
            .map_err(|refused| TrySubmitError::Closed(refused.into_input()))
    }

    /// Stops intake, runs every job already accepted, and waits for the workers to finish.
    ///
    /// The first call drives the shutdown; a concurrent or later call returns the report as it
    /// stands without waiting.
    ///
    /// # Cancel safety
    ///
    /// Dropped part-way, intake stays stopped, the workers go on draining the queue, and the
    /// pool keeps the handles of those still running: a later `shutdown` waits for them, and a
    /// later [`shutdown_within`](Self::shutdown_within) can abort them.
    pub async fn shutdown(&self) -> ShutdownReport {
        let start = Instant::now();
        self.sender.close();
        if let Some(mut workers) = self.take_workers() {
            workers.join().await;
        }
        self.tally.report(start.elapsed())
    }

    /// Waits for `token` to be triggered, then [`shutdown`](Self::shutdown)s the pool: this is how
    /// a pool takes part in a [`Shutdown`](crate::shutdown::Shutdown). Track or spawn it on the
    /// shutdown, so that the shutdown's `wait` also waits for the pool to drain:
    ///
    /// ```
    /// # fn main() {
    /// # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
    /// # if async_patterns::__private::MODEL_BUILD { return; }
    /// # run();
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn run() {
    /// use std::sync::Arc;
    /// use async_patterns::pool::WorkerPool;
    /// use async_patterns::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// let pool = Arc::new(WorkerPool::builder().workers(2).build().unwrap());
    /// let drained = {
    ///     let (pool, token) = (Arc::clone(&pool), shutdown.token());
    ///     shutdown.spawn(async move { pool.shutdown_when_triggered(&token).await }).unwrap()
    /// };
    /// let job = pool.submit(async { 7 }).await.unwrap();
    /// shutdown.trigger();
    /// shutdown.wait().await; // returns once the pool has run every accepted job
    /// assert_eq!(job.await, Ok(7));
    /// assert_eq!(drained.await.unwrap().completed, 1);
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropped before the trigger, it does nothing; dropped during the shutdown, intake stays
    /// stopped and the workers still drain the queue.
    pub async fn shutdown_when_triggered(
        &self,
        token: &crate::shutdown::ShutdownToken,
    ) -> ShutdownReport {
        token.triggered().await;
        self.shutdown().await
    }

    /// As [`shutdown`](Self::shutdown), but only until `timeout` has passed: then the jobs still
    /// running are aborted (their handles get [`JobError::Aborted`]) and those still queued are
    /// dropped unstarted ([`JobError::Cancelled`]); the report lists both by id.
    ///
    /// A blocking job cannot be stopped: it is reported as aborted and its closure runs to
    /// completion on tokio's blocking pool, its output discarded.
    ///
    /// `Duration::MAX` is no deadline (the same as [`shutdown`](Self::shutdown));
    /// `Duration::ZERO` aborts what is running and cancels what is queued at once. The deadline
    /// is kept by tokio's timer, in whole milliseconds: a shorter one takes effect at the next.
    pub async fn shutdown_within(&self, timeout: Duration) -> ShutdownReport {
        let start = Instant::now();
        self.sender.close();
        if let Some(mut workers) = self.take_workers() {
            // Each worker that exits is removed from the list, so that after the deadline only
            // the unfinished ones are aborted and awaited.
            let drained = tokio::time::timeout(timeout, workers.join()).await;
            if drained.is_err() {
                // Abort first, so no worker starts another job, then cancel what is left queued.
                for worker in &workers.handles {
                    worker.abort();
                }
                workers.join().await;
                while let Ok(job) = self.receiver.try_recv() {
                    drop(job);
                }
            }
        }
        self.tally.report(start.elapsed())
    }

    /// The number of workers: the most jobs that run at once.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.worker_count
    }

    /// Jobs running now.
    #[must_use]
    pub fn running(&self) -> usize {
        self.tally.running()
    }

    /// Jobs accepted and waiting for a worker now.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.sender.len()
    }

    /// Stops intake without waiting: later submissions get their job back; accepted jobs still
    /// run. Returns whether this call stopped it. [`shutdown`](Self::shutdown) does this first.
    pub fn close(&self) -> bool {
        self.sender.close()
    }

    /// Whether the pool has stopped accepting jobs.
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        self.sender.is_closed()
    }

    /// Queues `work` as a job (one allocation) in the reserved room, counting it as accepted in
    /// the same step (see [`Tally::accept`]). A job refused because the pool shut down after the
    /// room was reserved comes back; the caller takes its input back out
    /// ([`QueuedJob::into_input`]), which records nothing.
    fn enqueue<W: Work>(
        &self,
        room: channel::SendPermit<'_, QueuedJob>,
        work: W,
    ) -> Result<JobHandle<W::Output>, QueuedJob> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let job = JobCell::shared(work, id, Arc::clone(&self.tally));
        let handle = JobHandle::new(Arc::clone(&job), id);
        let queued = QueuedJob::new(job);
        self.tally
            .accept(|| room.send(queued).map_err(channel::SendError::into_inner))?;
        Ok(handle)
    }

    /// The workers' handles, for one shutdown to join or abort; `None` if another shutdown has
    /// them, or no workers were spawned. Handed back, unfinished ones only, if that shutdown's
    /// future is dropped part-way, so a later `shutdown_within` can still abort them.
    fn take_workers(&self) -> Option<TakenWorkers<'_>> {
        let handles = lock(&self.workers).take()?;
        Some(TakenWorkers {
            pool: self,
            handles,
        })
    }
}

/// The workers' handles while a shutdown holds them; the ones left are given back to the pool
/// when it is dropped (a shutdown future dropped part-way).
struct TakenWorkers<'a> {
    pool: &'a WorkerPool,
    /// Unfinished workers: each is popped once joined (a finished `JoinHandle` must not be
    /// polled again).
    handles: Vec<JoinHandle<()>>,
}

impl TakenWorkers<'_> {
    /// Joins the workers, last first.
    async fn join(&mut self) {
        while let Some(worker) = self.handles.last_mut() {
            let _ = worker.await;
            self.handles.pop();
        }
    }
}

impl Drop for TakenWorkers<'_> {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            *lock(&self.pool.workers) = Some(std::mem::take(&mut self.handles));
        }
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.worker_count)
            .field("running", &self.running())
            .field("queued", &self.queued())
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}
