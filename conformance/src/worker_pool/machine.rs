//! The worker pool checker's state machine: jobs submitted, let finish, handles polled, the pool
//! shut down; every job's starts and ends are counted by the job itself.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use super::{Guarantee, JobEnd, WorkerPoolUnderTest};
use crate::rng::Rng;
use crate::run::{Aimed, Failure, Property, failure, paused_runtime};
use crate::waker::Polled;

/// Rounds of yielding to the runtime in one settling (the pool's workers run meanwhile).
const YIELDS: usize = 16;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// `try_submit` a job that runs until it is let finish.
    Submit,
    /// Let job `i` (of those accepted) finish.
    Finish(usize),
    /// Let the runtime run, then poll the handles.
    Settle,
    /// Shut down: every job is let finish, and the shutdown must complete after them all.
    Shutdown,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    workers: usize,
    queue: usize,
}

/// The machine: [`Aimed`] at one guarantee.
pub(crate) type Machine<P> = Aimed<P, Guarantee>;

/// What the jobs record, shared with them.
#[derive(Debug, Default)]
struct Books {
    running: AtomicUsize,
    most_running: AtomicUsize,
}

/// One accepted job, as the checker sees it.
struct Job {
    go: Arc<Gate>,
    starts: Arc<AtomicUsize>,
    ends: Arc<AtomicUsize>,
    handle: Option<Polled<JobEnd>>,
    resolved: Option<JobEnd>,
}

/// Holds a job until the checker lets it finish.
#[derive(Debug, Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Run<P> {
    pool: P,
    target: Guarantee,
    step: usize,
    workers: usize,
    books: Arc<Books>,
    jobs: Vec<Job>,
    shut_down: bool,
}

impl<P: WorkerPoolUnderTest> Property for Machine<P> {
    type Setup = Setup;
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (Setup, Vec<Op>) {
        let setup = Setup {
            workers: 1 + rng.index(3),
            queue: 1 + rng.index(3),
        };
        let len = 1 + rng.index(max_steps);
        let ops = (0..len)
            .map(|_| match rng.below(100) {
                0..=39 => Op::Submit,
                40..=69 => Op::Finish(rng.index(8)),
                70..=94 => Op::Settle,
                _ => Op::Shutdown,
            })
            .collect();
        (setup, ops)
    }

    fn run(&self, setup: &Setup, ops: &[Op]) -> Result<(), Failure> {
        let target = self.target;
        let setup = *setup;
        paused_runtime().block_on(async move {
            let mut run = Run {
                pool: P::new(setup.workers, setup.queue),
                target,
                step: 0,
                workers: setup.workers,
                books: Arc::default(),
                jobs: Vec::new(),
                shut_down: false,
            };
            for (step, op) in ops.iter().enumerate() {
                run.step = step;
                run.apply(*op).await?;
                run.check()?;
            }
            run.step = ops.len();
            if !run.shut_down {
                run.shutdown().await?;
            }
            Ok(())
        })
    }
}

impl<P: WorkerPoolUnderTest> Run<P> {
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    fn submit(&mut self) -> Result<(), Failure> {
        let go = Arc::new(Gate::default());
        let starts = Arc::new(AtomicUsize::new(0));
        let ends = Arc::new(AtomicUsize::new(0));
        let (gate, started, ended, books) = (
            Arc::clone(&go),
            Arc::clone(&starts),
            Arc::clone(&ends),
            Arc::clone(&self.books),
        );
        let job = Box::pin(async move {
            started.fetch_add(1, Ordering::SeqCst);
            let now = books.running.fetch_add(1, Ordering::SeqCst) + 1;
            books.most_running.fetch_max(now, Ordering::SeqCst);
            std::future::poll_fn(|cx| {
                if gate.open.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *gate.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
                if gate.open.load(Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            books.running.fetch_sub(1, Ordering::SeqCst);
            ended.fetch_add(1, Ordering::SeqCst);
        });
        match self.pool.try_submit(job) {
            Some(handle) => {
                if self.shut_down {
                    self.fail(
                        Guarantee::DrainOnShutdown,
                        "a job submitted after the shutdown was accepted".into(),
                    )?;
                }
                self.jobs.push(Job {
                    go,
                    starts,
                    ends,
                    handle: Some(Polled::new(handle)),
                    resolved: None,
                });
            }
            None => {
                if starts.load(Ordering::SeqCst) > 0 {
                    self.fail(
                        Guarantee::ExactlyOnce,
                        "a job the pool refused was run".into(),
                    )?;
                }
            }
        }
        Ok(())
    }

    async fn settle(&mut self) -> Result<(), Failure> {
        for _ in 0..YIELDS {
            tokio::task::yield_now().await;
        }
        for k in 0..self.jobs.len() {
            let Some(handle) = self.jobs[k].handle.as_mut() else {
                continue;
            };
            if let Poll::Ready(end) = handle.poll() {
                self.jobs[k].handle = None;
                self.jobs[k].resolved = Some(end);
                let ends = self.jobs[k].ends.load(Ordering::SeqCst);
                if end == JobEnd::Completed && ends == 0 {
                    self.fail(
                        Guarantee::ExactlyOnce,
                        format!("job {k}'s handle says it completed, but it never ended"),
                    )?;
                }
            }
        }
        Ok(())
    }

    async fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Submit => self.submit()?,
            Op::Finish(i) => {
                if !self.jobs.is_empty() {
                    self.jobs[i % self.jobs.len()].go.open();
                }
            }
            Op::Settle => self.settle().await?,
            Op::Shutdown => self.shutdown().await?,
        }
        Ok(())
    }

    /// Shuts down, lets every job finish, and checks the shutdown completed only after them all.
    async fn shutdown(&mut self) -> Result<(), Failure> {
        self.shut_down = true;
        let mut shutdown = Polled::new(self.pool.shutdown());
        let mut done = false;
        for _ in 0..4 {
            if shutdown.poll().is_ready() {
                done = true;
                break;
            }
            self.settle().await?;
        }
        if done && self.jobs.iter().any(|j| j.ends.load(Ordering::SeqCst) == 0) {
            self.fail(
                Guarantee::DrainOnShutdown,
                "the shutdown completed while accepted jobs had not yet run to their end".into(),
            )?;
        }
        for job in &self.jobs {
            job.go.open();
        }
        for _ in 0..16 {
            self.settle().await?;
            if done || shutdown.poll().is_ready() {
                done = true;
                break;
            }
        }
        if !done {
            self.fail(
                Guarantee::DrainOnShutdown,
                "with every job let finish, the shutdown never completed".into(),
            )?;
        }
        self.settle().await?;
        for (k, job) in self.jobs.iter().enumerate() {
            let ends = job.ends.load(Ordering::SeqCst);
            if ends == 0 {
                self.fail(
                    Guarantee::DrainOnShutdown,
                    format!("job {k}, accepted before the shutdown, never ran to its end"),
                )?;
            }
            if job.resolved != Some(JobEnd::Completed) && ends > 0 {
                self.fail(
                    Guarantee::ExactlyOnce,
                    format!(
                        "job {k} ran to its end, but its handle says {:?}",
                        job.resolved
                    ),
                )?;
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), Failure> {
        let most = self.books.most_running.load(Ordering::SeqCst);
        if most > self.workers {
            self.fail(
                Guarantee::AtMostNRunning,
                format!("{most} jobs ran at once on {} workers", self.workers),
            )?;
        }
        for (k, job) in self.jobs.iter().enumerate() {
            let starts = job.starts.load(Ordering::SeqCst);
            if starts > 1 {
                self.fail(
                    Guarantee::ExactlyOnce,
                    format!("job {k} was started {starts} times"),
                )?;
            }
        }
        Ok(())
    }
}
