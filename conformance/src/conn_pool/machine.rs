//! The pool checker's state machine: gets (kept while waiting), returns, broken connections,
//! refused creates, failed checks, stalled creates and cancellations; after each step the open
//! connections are counted, and after each settling no get may wait with a slot free.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use super::{Backend, Guarantee, PoolUnderTest};
use crate::rng::Rng;
use crate::run::{Aimed, Failure, Property, failure, paused_runtime};
use crate::waker::Polled;

/// Rounds of yielding to the runtime in one settling (a pool's spawned tasks run meanwhile).
const YIELDS: usize = 16;
/// Settling rounds before the machine stops waiting for progress.
const ROUNDS: usize = 32;
/// Time let pass in the first settling round that saw no progress while a slot was free (a
/// pool's retry timers fire), doubled each round up to `MAX_TICK`.
const TICK: Duration = Duration::from_millis(100);
const MAX_TICK: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// A get, polled once; kept while waiting.
    Get,
    /// Return object `i`.
    Return(usize),
    /// Mark object `i`'s connection broken, then return it.
    ReturnBroken(usize),
    /// Drop waiting get `i`.
    Cancel(usize),
    RefuseNextCreate,
    FailNextCheck,
    StallCreates,
    ResumeCreates,
    /// Let the runtime run, and poll the woken gets, until nothing moves.
    Settle,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    max_size: usize,
}

/// The machine: [`Aimed`] at one guarantee.
pub(crate) type Machine<P> = Aimed<P, Guarantee>;

struct Run<P: PoolUnderTest> {
    pool: P,
    backend: Arc<Backend>,
    target: Guarantee,
    step: usize,
    max_size: usize,
    held: Vec<P::Object>,
    waiting: Vec<Polled<Result<P::Object, String>>>,
    cancelled: bool,
    faults: bool,
}

impl<P: PoolUnderTest> Property for Machine<P> {
    type Setup = Setup;
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (Setup, Vec<Op>) {
        let max_size = 1 + rng.index(3);
        let len = 1 + rng.index(max_steps);
        let ops = (0..len)
            .map(|_| {
                let i = rng.index(8);
                match (self.target, rng.below(100)) {
                    (_, 0..=29) => Op::Get,
                    (_, 30..=44) => Op::Return(i),
                    (Guarantee::BrokenDiscarded, 45..=59) => Op::ReturnBroken(i),
                    (Guarantee::BrokenDiscarded, 60..=64) => Op::FailNextCheck,
                    (Guarantee::CancelSafe, 45..=59) => Op::Cancel(i),
                    (Guarantee::CancelSafe | Guarantee::MaxSize, 60..=64) => Op::StallCreates,
                    (Guarantee::CancelSafe | Guarantee::MaxSize, 65..=69) => Op::ResumeCreates,
                    (Guarantee::MaxSize | Guarantee::NoWedge, 45..=52) => Op::ReturnBroken(i),
                    (Guarantee::MaxSize | Guarantee::NoWedge, 53..=56) => Op::RefuseNextCreate,
                    (Guarantee::MaxSize | Guarantee::NoWedge, 57..=59) => Op::FailNextCheck,
                    (Guarantee::MaxSize, 70..=74) => Op::Cancel(i),
                    _ => Op::Settle,
                }
            })
            .collect();
        (Setup { max_size }, ops)
    }

    fn run(&self, setup: &Setup, ops: &[Op]) -> Result<(), Failure> {
        let target = self.target;
        let max_size = setup.max_size;
        paused_runtime().block_on(async move {
            let backend = Arc::new(Backend::default());
            let mut run = Run {
                pool: P::new(Arc::clone(&backend), max_size),
                backend,
                target,
                step: 0,
                max_size,
                held: Vec::new(),
                waiting: Vec::new(),
                cancelled: false,
                faults: false,
            };
            for (step, op) in ops.iter().enumerate() {
                run.step = step;
                run.apply(*op).await?;
                run.check_size()?;
            }
            run.step = ops.len();
            run.finish().await
        })
    }
}

impl<P: PoolUnderTest> Run<P> {
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    fn liveness(&self) -> Guarantee {
        if self.cancelled {
            Guarantee::CancelSafe
        } else {
            Guarantee::NoWedge
        }
    }

    fn check_size(&self) -> Result<(), Failure> {
        let live = self.backend.live();
        if live > self.max_size {
            self.fail(
                Guarantee::MaxSize,
                format!("{live} connections are open; max_size is {}", self.max_size),
            )?;
        }
        Ok(())
    }

    /// A get completed.
    fn got(&mut self, result: Result<P::Object, String>) -> Result<(), Failure> {
        match result {
            Ok(object) => {
                let id = P::conn(&object).id();
                if self.backend.was_broken(id) {
                    self.fail(
                        Guarantee::BrokenDiscarded,
                        format!("connection {id}, known broken, was handed out again"),
                    )?;
                }
                if self.held.iter().any(|o| P::conn(o).id() == id) {
                    self.fail(
                        Guarantee::MaxSize,
                        format!("connection {id} was handed out twice at once"),
                    )?;
                }
                self.held.push(object);
                self.check_size()
            }
            Err(message) if !self.faults => self.fail(
                self.liveness(),
                format!("a get failed though nothing was refused: {message}"),
            ),
            Err(_) => Ok(()),
        }
    }

    async fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Get => {
                let mut get = Polled::new(self.pool.get());
                match get.poll() {
                    Poll::Ready(result) => self.got(result)?,
                    Poll::Pending => self.waiting.push(get),
                }
            }
            Op::Return(i) => {
                if !self.held.is_empty() {
                    drop(self.held.remove(i % self.held.len()));
                }
            }
            Op::ReturnBroken(i) => {
                if !self.held.is_empty() {
                    let object = self.held.remove(i % self.held.len());
                    self.backend.break_conn(P::conn(&object).id());
                    drop(object);
                }
            }
            Op::Cancel(i) => {
                if !self.waiting.is_empty() {
                    drop(self.waiting.remove(i % self.waiting.len()));
                    self.cancelled = true;
                }
            }
            Op::RefuseNextCreate => {
                self.backend.refuse_next_create();
                self.faults = true;
            }
            Op::FailNextCheck => {
                self.backend.fail_next_check();
                self.faults = true;
            }
            Op::StallCreates => self.backend.stall_creates(),
            Op::ResumeCreates => self.backend.resume_creates(),
            Op::Settle => self.settle().await?,
        }
        Ok(())
    }

    /// Lets the runtime run and polls the woken gets until nothing moves (letting time pass, in
    /// growing ticks, while gets wait with a slot free: for pools that retry on a timer); then a
    /// get may wait only if every slot is taken, creates are stalled, or a refusal is queued.
    async fn settle(&mut self) -> Result<(), Failure> {
        let mut tick = TICK;
        for _ in 0..ROUNDS {
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
            }
            let mut progress = false;
            let mut k = 0;
            while k < self.waiting.len() {
                if self.waiting[k].is_woken()
                    && let Poll::Ready(result) = self.waiting[k].poll()
                {
                    self.waiting.remove(k);
                    self.got(result)?;
                    progress = true;
                } else {
                    k += 1;
                }
            }
            if !progress {
                // Waiting for a slot is right when every slot is taken; otherwise a retry may be
                // on a timer: let time pass, longer each round (a backoff doubles).
                let free = self.held.len() < self.max_size;
                if !free || self.waiting.is_empty() || self.backend.is_stalled() {
                    break;
                }
                tokio::time::advance(tick).await;
                tick = (tick * 2).min(MAX_TICK);
            }
        }
        let free = self.max_size.saturating_sub(self.held.len());
        if !self.waiting.is_empty()
            && free > 0
            && !self.backend.is_stalled()
            && !self.backend.has_faults_queued()
        {
            self.fail(
                self.liveness(),
                format!(
                    "{} get(s) wait though {} of {} slots are free",
                    self.waiting.len(),
                    free,
                    self.max_size
                ),
            )?;
        }
        Ok(())
    }

    /// Drops everything; then `max_size` gets at once must all be served.
    async fn finish(mut self) -> Result<(), Failure> {
        if !self.waiting.is_empty() {
            self.cancelled = true;
        }
        self.waiting.clear();
        self.held.clear();
        self.backend.resume_creates();
        self.backend.clear_faults();
        self.faults = false;
        for _ in 0..self.max_size {
            let mut get = Polled::new(self.pool.get());
            match get.poll() {
                Poll::Ready(result) => self.got(result)?,
                Poll::Pending => self.waiting.push(get),
            }
        }
        self.settle().await?;
        if self.held.len() < self.max_size {
            self.fail(
                self.liveness(),
                format!(
                    "with everything returned, only {} of {} gets at once were served",
                    self.held.len(),
                    self.max_size
                ),
            )?;
        }
        Ok(())
    }
}
