//! The state machine behind the semaphore, mutex and RwLock checkers.
//!
//! A case is a number of starting permits and a list of operations. The machine keeps what the
//! caller side knows — the permits it holds, the waiters it queued (in arrival order), how many
//! permits exist — and after each operation checks what any correct semaphore must do. Each
//! check belongs to one [`Guarantee`]; a run checks one, and the generator favours the operations
//! that exercise it.

use std::task::Poll;

use super::{Closed, Guarantee};
use crate::rng::Rng;
use crate::run::{Failure, Property, SPIN_LIMIT, check, failure};
use crate::verdict::{Claim, Finding};
use crate::waker::Polled;
use crate::{BoxFuture, Config};

/// The type-erased semaphore the machine drives.
pub(crate) trait Subject {
    fn acquire(&self, n: u32) -> BoxFuture<Result<Box<dyn Send>, Closed>>;
    fn try_acquire(&self, n: u32) -> Option<Box<dyn Send>>;
    fn add_permits(&self, n: usize);
    fn close(&self);
}

/// What a case may contain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Starting permits, drawn from these.
    pub initial: &'static [usize],
    /// Request sizes, drawn from these (a lock: 1 for a reader, all for a writer).
    pub sizes: &'static [u32],
    pub add_permits: bool,
    pub close: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// Acquire `n`, polled once; kept while pending.
    Acquire(u32),
    TryAcquire(u32),
    /// Poll the waiters up to this one (modulo their number), oldest first.
    PollUpTo(usize),
    /// Poll every waiter, oldest first, until none makes progress.
    PollAll,
    /// Poll a waiter with a new waker.
    PollNewWaker(usize),
    /// Drop a waiter's future.
    Cancel(usize),
    /// Drop held permits.
    Release(usize),
    AddPermits(usize),
    Close,
}

struct Waiter {
    n: u32,
    future: Polled<Result<Box<dyn Send>, Closed>>,
}

type Factory<'a> = &'a dyn Fn(usize) -> Box<dyn Subject>;

struct Machine<'a> {
    shape: Shape,
    factory: Factory<'a>,
    target: Guarantee,
    fifo: bool,
}

impl Property for Machine<'_> {
    type Setup = usize;
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (usize, Vec<Op>) {
        let initial = rng.pick(self.shape.initial);
        let len = 1 + rng.index(max_steps);
        let ops = (0..len).map(|_| self.op(rng)).collect();
        (initial, ops)
    }

    fn run(&self, initial: &usize, ops: &[Op]) -> Result<(), Failure> {
        let mut run = Run {
            subject: (self.factory)(*initial),
            target: self.target,
            total: *initial,
            closed: false,
            held: Vec::new(),
            waiting: Vec::new(),
            step: 0,
            cancelled: false,
            fifo: self.fifo,
            spun: false,
            sizes: self.shape.sizes,
        };
        for (step, op) in ops.iter().enumerate() {
            run.step = step;
            run.apply(*op)?;
        }
        run.step = ops.len();
        run.finish()
    }
}

impl Machine<'_> {
    fn op(&self, rng: &mut Rng) -> Op {
        let size = rng.pick(self.shape.sizes);
        let index = rng.index(8);
        let roll = rng.below(100);
        // Every guarantee gets acquires, releases and polls; each adds what it is about.
        let extra = match self.target {
            Guarantee::CancelSafe => Some(Op::Cancel(index)),
            Guarantee::CloseWakesAll if roll.is_multiple_of(3) => Some(Op::Close),
            Guarantee::CloseWakesAll => Some(Op::Cancel(index)),
            Guarantee::NewWakerWoken => Some(Op::PollNewWaker(index)),
            _ => None,
        };
        match roll {
            0..=29 => Op::Acquire(size),
            30..=39 => Op::TryAcquire(size),
            40..=59 => Op::Release(index),
            60..=69 if self.shape.add_permits => Op::AddPermits(1 + rng.index(3)),
            70..=79 => Op::PollUpTo(index),
            80..=84 => Op::PollAll,
            _ => match extra {
                Some(Op::Close) if !self.shape.close => Op::PollAll,
                Some(op) => op,
                None => Op::PollAll,
            },
        }
    }
}

struct Run {
    subject: Box<dyn Subject>,
    target: Guarantee,
    /// Permits that exist: the starting ones plus those added.
    total: usize,
    closed: bool,
    held: Vec<(u32, Box<dyn Send>)>,
    /// Pending acquires, oldest first.
    waiting: Vec<Waiter>,
    step: usize,
    /// Whether an acquire was dropped before it completed (a leak found later is then a
    /// cancel-safety failure).
    cancelled: bool,
    /// Whether the implementation claims FIFO order (so being ready means having been served).
    fifo: bool,
    /// Whether a settling already found the waiters spinning.
    spun: bool,
    sizes: &'static [u32],
}

impl Run {
    /// Fails the case if `guarantee` is the one under check.
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    /// The guarantee a leak found now belongs to.
    fn leak_guarantee(&self) -> Guarantee {
        if self.cancelled {
            Guarantee::CancelSafe
        } else {
            Guarantee::PermitsConserved
        }
    }

    /// The guarantee a waiter left asleep breaks: cancel safety if an acquire was dropped.
    fn liveness(&self) -> Guarantee {
        if self.cancelled {
            Guarantee::CancelSafe
        } else {
            Guarantee::NoLostWakeup
        }
    }

    fn held_permits(&self) -> usize {
        self.held.iter().map(|(n, _)| *n as usize).sum()
    }

    fn free(&self) -> usize {
        self.total.saturating_sub(self.held_permits())
    }

    fn hold(&mut self, n: u32, permit: Box<dyn Send>) -> Result<(), Failure> {
        self.held.push((n, permit));
        let held = self.held_permits();
        if held > self.total {
            self.fail(
                Guarantee::PermitsConserved,
                format!("{held} permits are held, but only {} exist", self.total),
            )?;
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Acquire(n) => {
                let mut future = Polled::new(self.subject.acquire(n));
                match future.poll() {
                    Poll::Pending => {
                        if self.closed {
                            self.fail(
                                Guarantee::CloseWakesAll,
                                "an acquire after close waits instead of failing".into(),
                            )?;
                        }
                        self.waiting.push(Waiter { n, future });
                    }
                    Poll::Ready(Ok(permit)) => {
                        if self.closed {
                            self.fail(
                                Guarantee::CloseWakesAll,
                                "an acquire after close succeeded".into(),
                            )?;
                        }
                        self.hold(n, permit)?;
                        self.earlier_still_wait(usize::MAX, "a new acquire")?;
                    }
                    Poll::Ready(Err(Closed)) => self.closed_out("a new acquire")?,
                }
            }
            Op::TryAcquire(n) => match self.subject.try_acquire(n) {
                Some(permit) => {
                    if self.closed {
                        self.fail(
                            Guarantee::CloseWakesAll,
                            "try_acquire succeeded after close".into(),
                        )?;
                    }
                    self.hold(n, permit)?;
                    self.earlier_still_wait(usize::MAX, "try_acquire")?;
                }
                None => {
                    if !self.closed && self.waiting.is_empty() && n as usize <= self.free() {
                        self.fail(
                            self.leak_guarantee(),
                            format!(
                                "try_acquire({n}) failed with {} of {} permits free and nobody \
                                 waiting: permits were lost",
                                self.free(),
                                self.total
                            ),
                        )?;
                    }
                }
            },
            Op::PollUpTo(i) => {
                if !self.waiting.is_empty() {
                    let mut left = i % self.waiting.len() + 1;
                    let mut k = 0;
                    while left > 0 && k < self.waiting.len() {
                        left -= 1;
                        if !self.poll_at(k, false)? {
                            k += 1;
                        }
                    }
                }
            }
            Op::PollAll => self.settle()?,
            Op::PollNewWaker(i) => {
                if !self.waiting.is_empty() {
                    self.poll_at(i % self.waiting.len(), true)?;
                }
            }
            Op::Cancel(i) => {
                if !self.waiting.is_empty() {
                    let i = i % self.waiting.len();
                    drop(self.waiting.remove(i));
                    self.cancelled = true;
                }
            }
            Op::Release(i) => {
                if !self.held.is_empty() {
                    let i = i % self.held.len();
                    drop(self.held.remove(i));
                }
            }
            Op::AddPermits(n) => {
                self.subject.add_permits(n);
                self.total += n;
            }
            Op::Close => {
                self.subject.close();
                self.closed = true;
                for i in 0..self.waiting.len() {
                    if !self.waiting[i].future.is_woken() {
                        self.fail(
                            Guarantee::CloseWakesAll,
                            format!("close did not wake waiter {i} (of {})", self.waiting.len()),
                        )?;
                    }
                }
                while let Some(mut waiter) = self.waiting.pop() {
                    match waiter.future.poll() {
                        Poll::Pending => self.fail(
                            Guarantee::CloseWakesAll,
                            "a waiter still waits after close".into(),
                        )?,
                        // Granted before the close: it may keep its permits.
                        Poll::Ready(Ok(permit)) => self.hold(waiter.n, permit)?,
                        Poll::Ready(Err(Closed)) => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn closed_out(&self, who: &str) -> Result<(), Failure> {
        if self.closed {
            Ok(())
        } else {
            self.fail(
                Guarantee::PermitsConserved,
                format!("{who} failed with Closed, but the semaphore was never closed"),
            )
        }
    }

    /// Polls waiter `i` (with a new waker if `moving`); true if it completed (and was removed).
    ///
    /// Ready without a wake is a lost wakeup only for a FIFO implementation, where being ready
    /// means having been served: in one that lets any poller take free permits, a waiter polled
    /// without a wake may just have taken them first.
    fn poll_at(&mut self, i: usize, moving: bool) -> Result<bool, Failure> {
        let waiter = &mut self.waiting[i];
        let woken = waiter.future.is_woken();
        let moved = waiter.future.moved();
        let poll = if moving {
            waiter.future.poll_with_new_waker()
        } else {
            waiter.future.poll()
        };
        let Poll::Ready(result) = poll else {
            return Ok(false);
        };
        if !woken && !moving && self.fifo {
            self.fail(
                if moved {
                    Guarantee::NewWakerWoken
                } else {
                    Guarantee::NoLostWakeup
                },
                format!(
                    "waiter {i} had been served when polled, but its {}waker was never woken: \
                     its task would sleep forever",
                    if moved { "new " } else { "" }
                ),
            )?;
        }
        let waiter = self.waiting.remove(i);
        match result {
            Ok(permit) => {
                self.hold(waiter.n, permit)?;
                self.earlier_still_wait(i, &format!("a waiter for {}", waiter.n))?;
            }
            Err(Closed) => self.closed_out("a waiter")?,
        }
        Ok(true)
    }

    /// `who` got permits while the `count` oldest waiters were queued before it: polls them, and
    /// unless each turns out to have been served already, `who` overtook them.
    fn earlier_still_wait(&mut self, count: usize, who: &str) -> Result<(), Failure> {
        // A waiter found served may have polled those before it in turn, so the queue can
        // shrink by more than one per round.
        let (mut i, mut left) = (0, count.min(self.waiting.len()));
        while left > 0 && i < self.waiting.len() {
            left -= 1;
            if !self.poll_at(i, false)? {
                i += 1;
            }
        }
        if i > 0 {
            self.fail(
                Guarantee::Fifo,
                format!("{who} got permits while {i} earlier waiter(s) still wait"),
            )?;
        }
        Ok(())
    }

    /// Polls the waiters that were woken, oldest first, until none is (what an executor does);
    /// then nobody may sleep who could go: with nothing held, the oldest waiter must not fit
    /// (else nothing will ever wake it), and in a FIFO implementation it must not fit in the
    /// free permits either.
    fn settle(&mut self) -> Result<(), Failure> {
        if self.spun {
            // Found spinning already (while checking another guarantee): not again each step.
            return Ok(());
        }
        let mut polls = 0;
        while let Some(i) = self.waiting.iter().position(|w| w.future.is_woken()) {
            polls += 1;
            if polls > SPIN_LIMIT {
                self.spun = true;
                let guarantee = self.liveness();
                return self.fail(
                    guarantee,
                    format!(
                        "a waiter is woken again on every poll without getting anywhere \
                         ({SPIN_LIMIT} polls): its task would spin"
                    ),
                );
            }
            self.poll_at(i, false)?;
        }
        if self.closed {
            return Ok(());
        }
        let free = self.free();
        let Some(head) = self.waiting.first() else {
            return Ok(());
        };
        let (n, moved) = (head.n, head.future.moved());
        if n as usize > free {
            return Ok(());
        }
        let guarantee = if moved {
            Guarantee::NewWakerWoken
        } else {
            self.liveness()
        };
        if self.held.is_empty() {
            self.fail(
                guarantee,
                format!(
                    "nothing is held and all {free} permits are free, but the oldest waiter (for \
                     {n}) sleeps: nothing will ever wake it"
                ),
            )?;
        }
        if self.fifo {
            self.fail(
                guarantee,
                format!(
                    "the oldest waiter wants {n} and {free} of {} permits are free, but it sleeps",
                    self.total
                ),
            )?;
        }
        Ok(())
    }

    /// Drops every waiter and permit; then every permit must be free again.
    fn finish(mut self) -> Result<(), Failure> {
        if !self.waiting.is_empty() {
            self.cancelled = true;
        }
        self.waiting.clear();
        self.held.clear();
        if self.closed || self.total == 0 {
            return Ok(());
        }
        let mut taken = Vec::new();
        let mut got = 0;
        while got < self.total {
            // The largest request the case could make that still fits.
            let left = self.total - got;
            let n = (self.sizes.iter().copied())
                .filter(|&n| n as usize <= left)
                .max()
                .unwrap_or(1);
            match self.subject.try_acquire(n) {
                Some(permit) => {
                    taken.push(permit);
                    got += n as usize;
                }
                None => break,
            }
        }
        if got < self.total {
            self.fail(
                self.leak_guarantee(),
                format!(
                    "with everything given back only {got} of {} permits could be taken again",
                    self.total
                ),
            )?;
        }
        Ok(())
    }
}

/// Runs each guarantee `describe` names (it returns `None` for one that does not apply) and
/// collects the findings.
pub(crate) fn run_checks(
    shape: &Shape,
    factory: Factory<'_>,
    config: &Config,
    describe: &dyn Fn(Guarantee) -> Option<(&'static str, &'static str, Claim)>,
) -> Vec<Finding> {
    Guarantee::ALL
        .iter()
        .filter_map(|&g| {
            let (name, meaning, claim) = describe(g)?;
            let fifo = describe(Guarantee::Fifo).is_some_and(|(_, _, c)| c == Claim::Claimed);
            let machine = Machine {
                shape: *shape,
                factory,
                target: g,
                fifo,
            };
            Some(Finding {
                guarantee: name,
                meaning,
                claim,
                verdict: check(&machine, config),
            })
        })
        .collect()
}
