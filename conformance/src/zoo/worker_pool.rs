//! Naive worker pools: `workers` tokio tasks taking jobs from a shared queue — one bug per
//! variant.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, oneshot};

use crate::BoxFuture;
use crate::worker_pool::{JobEnd, WorkerPoolUnderTest};

/// Which bug a [`NaivePool`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checker must accept it.
    None,
    /// A task per job, however many: no limit on jobs running at once.
    TaskPerJob,
    /// Shutdown stops the workers at once: queued jobs are dropped unrun.
    DropsQueuedOnShutdown,
    /// A job's handle says it completed as soon as a worker takes it, before it has run.
    EagerHandle,
}

/// A naive pool with the bug `BUG` (a [`Bug`] as a number).
#[derive(Debug)]
pub struct NaivePool<const BUG: u8>(Arc<Shared>);

/// The correct naive pool.
pub type Correct = NaivePool<{ Bug::None as u8 }>;
/// Runs every job at once on its own task.
pub type TaskPerJob = NaivePool<{ Bug::TaskPerJob as u8 }>;
/// Loses the queue on shutdown.
pub type DropsQueuedOnShutdown = NaivePool<{ Bug::DropsQueuedOnShutdown as u8 }>;
/// Resolves handles before the jobs run.
pub type EagerHandle = NaivePool<{ Bug::EagerHandle as u8 }>;

type Queued = (BoxFuture<()>, oneshot::Sender<()>);

struct Shared {
    queue: Mutex<(VecDeque<Queued>, bool)>,
    capacity: usize,
    work: Notify,
    workers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, (VecDeque<Queued>, bool)> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn worker<const BUG: u8>(shared: Arc<Shared>) {
    loop {
        let notified = shared.work.notified();
        let next = {
            let mut queue = shared.lock();
            let stop = queue.1 && (queue.0.is_empty() || BUG == Bug::DropsQueuedOnShutdown as u8);
            if stop {
                queue.0.clear();
                return;
            }
            queue.0.pop_front()
        };
        match next {
            Some((job, done)) if BUG == Bug::EagerHandle as u8 => {
                let _ = done.send(());
                job.await;
            }
            Some((job, done)) => {
                job.await;
                let _ = done.send(());
            }
            None => notified.await,
        }
    }
}

impl<const BUG: u8> WorkerPoolUnderTest for NaivePool<BUG> {
    fn new(workers: usize, queue: usize) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            capacity: queue,
            work: Notify::new(),
            workers: Mutex::default(),
        });
        if BUG != Bug::TaskPerJob as u8 {
            let handles = (0..workers).map(|_| tokio::spawn(worker::<BUG>(Arc::clone(&shared))));
            *shared.workers.lock().unwrap_or_else(|e| e.into_inner()) = handles.collect();
        }
        NaivePool(shared)
    }

    fn try_submit(&self, job: BoxFuture<()>) -> Option<BoxFuture<JobEnd>> {
        let (done, ended) = oneshot::channel();
        {
            let mut queue = self.0.lock();
            if queue.1 || queue.0.len() >= self.0.capacity {
                return None;
            }
            if BUG == Bug::TaskPerJob as u8 {
                let handle = tokio::spawn(async move {
                    job.await;
                    let _ = done.send(());
                });
                self.0
                    .workers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(handle);
            } else {
                queue.0.push_back((job, done));
            }
        }
        self.0.work.notify_one();
        Some(Box::pin(async move {
            match ended.await {
                Ok(()) => JobEnd::Completed,
                Err(_) => JobEnd::NotCompleted,
            }
        }))
    }

    fn shutdown(&self) -> BoxFuture<()> {
        let shared = Arc::clone(&self.0);
        Box::pin(async move {
            shared.lock().1 = true;
            shared.work.notify_waiters();
            let handles =
                std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|e| e.into_inner()));
            for handle in handles {
                let _ = handle.await;
            }
        })
    }
}
