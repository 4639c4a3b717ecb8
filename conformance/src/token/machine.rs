//! The token checker's state machine: a tree of tokens, waits on them, cancels; after each step
//! every token's state is compared with the tree, and every wait below a cancelled token must
//! have been woken.

use std::task::Poll;

use super::{CancelTokenUnderTest, Guarantee};
use crate::rng::Rng;
use crate::run::{Aimed, Failure, Property, failure};
use crate::waker::Polled;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// A child of token `i` (modulo the tokens).
    Child(usize),
    /// A wait on token `i`, polled once.
    Wait(usize),
    Cancel(usize),
    /// Poll the woken waits.
    PollWoken,
    /// Poll wait `i` with a new waker.
    PollNewWaker(usize),
    /// Drop wait `i`.
    DropWait(usize),
}

/// The machine: [`Aimed`] at one guarantee.
pub(crate) type Machine<T> = Aimed<T, Guarantee>;

struct Wait {
    token: usize,
    future: Polled<()>,
    /// Completed: removed after the step.
    done: bool,
}

struct Run<T: CancelTokenUnderTest> {
    target: Guarantee,
    step: usize,
    tokens: Vec<T::Token>,
    /// Each token's parent in the tree.
    parents: Vec<Option<usize>>,
    /// Tokens cancelled directly.
    cancelled: Vec<bool>,
    waits: Vec<Wait>,
}

impl<T: CancelTokenUnderTest> Property for Machine<T> {
    type Setup = ();
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> ((), Vec<Op>) {
        let len = 1 + rng.index(max_steps);
        let ops = (0..len)
            .map(|_| {
                let i = rng.index(8);
                match rng.below(100) {
                    0..=24 => Op::Child(i),
                    25..=54 => Op::Wait(i),
                    55..=69 => Op::Cancel(i),
                    70..=79 => Op::PollWoken,
                    80..=89 if self.target == Guarantee::NewWakerWoken => Op::PollNewWaker(i),
                    80..=89 => Op::PollWoken,
                    _ => Op::DropWait(i),
                }
            })
            .collect();
        ((), ops)
    }

    fn run(&self, (): &(), ops: &[Op]) -> Result<(), Failure> {
        let mut run = Run::<T> {
            target: self.target,
            step: 0,
            tokens: vec![T::new()],
            parents: vec![None],
            cancelled: vec![false],
            waits: Vec::new(),
        };
        for (step, op) in ops.iter().enumerate() {
            run.step = step;
            run.apply(*op)?;
            run.check_tree()?;
        }
        Ok(())
    }
}

impl<T: CancelTokenUnderTest> Run<T> {
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    /// Whether the tree says token `i` is cancelled: it or an ancestor was.
    fn model_cancelled(&self, mut i: usize) -> bool {
        loop {
            if self.cancelled[i] {
                return true;
            }
            match self.parents[i] {
                Some(parent) => i = parent,
                None => return false,
            }
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), Failure> {
        let tokens = self.tokens.len();
        match op {
            Op::Child(i) => {
                let parent = i % tokens;
                self.tokens.push(T::child(&self.tokens[parent]));
                self.parents.push(Some(parent));
                self.cancelled.push(false);
            }
            Op::Wait(i) => {
                let token = i % tokens;
                let mut future = Polled::new(T::cancelled(&self.tokens[token]));
                let ready = future.poll().is_ready();
                let cancelled = self.model_cancelled(token);
                if cancelled && !ready {
                    self.fail(
                        Guarantee::AlreadyCancelledReady,
                        format!("a wait on token {token}, already cancelled, is pending"),
                    )?;
                } else if !cancelled && ready {
                    self.fail(
                        Guarantee::TreeCancelled,
                        format!("a wait on token {token}, not cancelled, completed"),
                    )?;
                }
                if !ready {
                    self.waits.push(Wait {
                        token,
                        future,
                        done: false,
                    });
                }
            }
            Op::Cancel(i) => {
                let token = i % tokens;
                T::cancel(&self.tokens[token]);
                self.cancelled[token] = true;
                for k in 0..self.waits.len() {
                    let wait = &self.waits[k];
                    if self.model_cancelled(wait.token) && !wait.future.is_woken() {
                        let guarantee = if wait.future.moved() {
                            Guarantee::NewWakerWoken
                        } else {
                            Guarantee::CancelWakesAll
                        };
                        self.fail(
                            guarantee,
                            format!(
                                "cancelling token {token} did not wake a wait on token {}",
                                wait.token
                            ),
                        )?;
                    }
                }
            }
            Op::PollWoken => {
                let mut k = 0;
                while k < self.waits.len() {
                    if self.waits[k].future.is_woken() {
                        self.poll_wait(k, false)?;
                    }
                    k += 1;
                }
            }
            Op::PollNewWaker(i) => {
                if !self.waits.is_empty() {
                    self.poll_wait(i % self.waits.len(), true)?;
                }
            }
            Op::DropWait(i) => {
                if !self.waits.is_empty() {
                    let k = i % self.waits.len();
                    drop(self.waits.remove(k));
                }
            }
        }
        self.waits.retain(|w| !w.done);
        Ok(())
    }

    fn poll_wait(&mut self, k: usize, moving: bool) -> Result<(), Failure> {
        let wait = &mut self.waits[k];
        let poll = if moving {
            wait.future.poll_with_new_waker()
        } else {
            wait.future.poll()
        };
        let token = wait.token;
        if let Poll::Ready(()) = poll {
            if !self.model_cancelled(token) {
                self.fail(
                    Guarantee::TreeCancelled,
                    format!("a wait on token {token}, not cancelled, completed"),
                )?;
            }
            self.waits[k].done = true;
        } else if self.model_cancelled(token) {
            self.fail(
                Guarantee::CancelWakesAll,
                format!("a wait on cancelled token {token} is still pending when polled"),
            )?;
        }
        Ok(())
    }

    /// Every token's `is_cancelled` against the tree.
    fn check_tree(&self) -> Result<(), Failure> {
        for (i, token) in self.tokens.iter().enumerate() {
            let expected = self.model_cancelled(i);
            let actual = T::is_cancelled(token);
            if expected != actual {
                self.fail(
                    Guarantee::TreeCancelled,
                    format!(
                        "token {i} (parent {:?}) says cancelled = {actual}, the tree says \
                         {expected}",
                        self.parents[i]
                    ),
                )?;
            }
        }
        Ok(())
    }
}
