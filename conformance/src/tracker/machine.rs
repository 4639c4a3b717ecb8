//! The tracker checker's state machine: tasks tracked, finished, dropped; the tracker closed;
//! waits polled like an executor would. A wait may complete only if the tracker has been closed
//! and empty at some moment since it was made (so a tracker that reopens, as tokio-util's may when
//! a task is tracked after `close`, still lets the waits of that moment through), and every
//! pending wait must be woken at such a moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use super::{Guarantee, TaskTrackerUnderTest};
use crate::rng::Rng;
use crate::run::{Aimed, Failure, Property, failure};
use crate::waker::Polled;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// Track a task that runs until it is let finish.
    Track,
    /// Let task `i` finish, and poll it to its end.
    Finish(usize),
    /// Drop task `i` before it finished (an aborted task).
    Abort(usize),
    Close,
    /// A wait, polled once.
    Wait,
    /// Poll the woken waits.
    PollWoken,
    /// Poll wait `i` with a new waker.
    PollNewWaker(usize),
}

/// The machine: [`Aimed`] at one guarantee.
pub(crate) type Machine<T> = Aimed<T, Guarantee>;

struct Task {
    go: Arc<AtomicBool>,
    future: Polled<()>,
}

struct Run<T> {
    tracker: T,
    target: Guarantee,
    step: usize,
    closed: bool,
    tasks: Vec<Task>,
    waits: Vec<Wait>,
}

struct Wait {
    future: Polled<()>,
    /// Whether the tracker has been closed and empty since the wait was made.
    saw_done: bool,
}

impl<T: TaskTrackerUnderTest> Property for Machine<T> {
    type Setup = ();
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> ((), Vec<Op>) {
        let len = 1 + rng.index(max_steps);
        let ops = (0..len)
            .map(|_| {
                let i = rng.index(8);
                match rng.below(100) {
                    0..=24 => Op::Track,
                    25..=39 => Op::Finish(i),
                    40..=49 => Op::Abort(i),
                    50..=57 => Op::Close,
                    58..=77 => Op::Wait,
                    78..=89 if self.target == Guarantee::NewWakerWoken => Op::PollNewWaker(i),
                    _ => Op::PollWoken,
                }
            })
            .collect();
        ((), ops)
    }

    fn run(&self, (): &(), ops: &[Op]) -> Result<(), Failure> {
        let mut run = Run {
            tracker: T::new(),
            target: self.target,
            step: 0,
            closed: false,
            tasks: Vec::new(),
            waits: Vec::new(),
        };
        for (step, op) in ops.iter().enumerate() {
            run.step = step;
            run.apply(*op)?;
            if run.done() {
                run.waits.iter_mut().for_each(|w| w.saw_done = true);
            }
        }
        Ok(())
    }
}

impl<T: TaskTrackerUnderTest> Run<T> {
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    fn done(&self) -> bool {
        self.closed && self.tasks.is_empty()
    }

    fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Track => {
                let go = Arc::new(AtomicBool::new(false));
                let flag = Arc::clone(&go);
                let task = Box::pin(std::future::poll_fn(move |_| {
                    if flag.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }));
                if let Some(tracked) = self.tracker.track(task) {
                    self.tasks.push(Task {
                        go,
                        future: Polled::new(tracked),
                    });
                }
            }
            Op::Finish(i) => {
                if !self.tasks.is_empty() {
                    let mut task = self.tasks.remove(i % self.tasks.len());
                    task.go.store(true, Ordering::SeqCst);
                    assert!(task.future.poll().is_ready(), "a task let go completes");
                    drop(task);
                    self.check_woken("the last task completed")?;
                }
            }
            Op::Abort(i) => {
                if !self.tasks.is_empty() {
                    drop(self.tasks.remove(i % self.tasks.len()));
                    self.check_woken("the last task was dropped")?;
                }
            }
            Op::Close => {
                self.tracker.close();
                self.closed = true;
                self.check_woken("it was closed")?;
            }
            Op::Wait => {
                let mut future = Polled::new(self.tracker.wait());
                if future.poll().is_ready() {
                    self.completed("a new wait", false)?;
                } else {
                    if self.done() {
                        self.fail(
                            Guarantee::WaitWoken,
                            "a new wait is pending though the tracker is closed and empty".into(),
                        )?;
                    }
                    self.waits.push(Wait {
                        future,
                        saw_done: false,
                    });
                }
            }
            Op::PollWoken => {
                let mut k = 0;
                while k < self.waits.len() {
                    if !self.waits[k].future.is_woken() {
                        k += 1;
                    } else if self.waits[k].future.poll().is_ready() {
                        let wait = self.waits.remove(k);
                        self.completed("a woken wait", wait.saw_done)?;
                    } else {
                        if self.done() {
                            self.fail(
                                Guarantee::WaitWoken,
                                "a woken wait is still pending though the tracker is closed and \
                                 empty"
                                    .into(),
                            )?;
                        }
                        k += 1;
                    }
                }
            }
            Op::PollNewWaker(i) => {
                if !self.waits.is_empty() {
                    let k = i % self.waits.len();
                    if self.waits[k].future.poll_with_new_waker().is_ready() {
                        let wait = self.waits.remove(k);
                        self.completed("a re-polled wait", wait.saw_done)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A wait completed: only right if the tracker is, or has been since the wait was made,
    /// closed with no live task.
    fn completed(&self, who: &str, saw_done: bool) -> Result<(), Failure> {
        if saw_done || self.done() {
            return Ok(());
        }
        self.fail(
            Guarantee::WaitUntilAllFinished,
            format!(
                "{who} completed while the tracker is {} with {} live task(s)",
                if self.closed { "closed" } else { "open" },
                self.tasks.len()
            ),
        )
    }

    /// Once done, every pending wait must have been woken.
    fn check_woken(&self, because: &str) -> Result<(), Failure> {
        if !self.done() {
            return Ok(());
        }
        for wait in &self.waits {
            if !wait.future.is_woken() {
                let guarantee = if wait.future.moved() {
                    Guarantee::NewWakerWoken
                } else {
                    Guarantee::WaitWoken
                };
                self.fail(
                    guarantee,
                    format!("{because}, but a pending wait was not woken"),
                )?;
            }
        }
        Ok(())
    }
}
