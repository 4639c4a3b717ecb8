//! The state machine behind the channel checker.
//!
//! A case is a capacity, a number of sender and receiver tasks, and a list of operations. The
//! machine keeps what the caller side knows — every value it made and what became of it (waiting
//! in a send, sent, refused, dropped with its send; received or not), and each task's waiting
//! future — and after each operation checks what any correct bounded channel must do. Each check
//! belongs to one [`Guarantee`]; a run checks one, and the generator favours the operations that
//! exercise it.
//!
//! What the caller side knows is a bound, not the channel's state: a value sent and not yet
//! received is in the channel, or handed to a waiting recv future not polled since (one value per
//! such future), or lost; a value whose send future was dropped may or may not have reached the
//! channel. So the checks that need "the channel holds `k` values" use the bound on the side that
//! cannot accuse a correct channel: "nothing here" needs no waiting recv that may hold a value,
//! "there is room" counts every value that may occupy a slot.

use std::collections::HashMap;
use std::fmt;
use std::task::Poll;

use super::{Guarantee, Operations, TryRecvError, TrySendError};
use crate::rng::Rng;
use crate::run::{Failure, Property, SPIN_LIMIT, check, failure};
use crate::verdict::{Claim, Finding};
use crate::waker::Polled;
use crate::{BoxFuture, Config};

/// The type-erased channel the machine drives: the handles of one case, by task.
pub(crate) trait Subject {
    fn send(&self, sender: usize, value: u64) -> BoxFuture<Result<(), u64>>;
    fn try_send(&self, sender: usize, value: u64) -> Result<(), TrySendError>;
    fn recv(&self, receiver: usize) -> BoxFuture<Option<u64>>;
    fn try_recv(&self, receiver: usize) -> Result<u64, TryRecvError>;
    /// The implementation's explicit close.
    fn close(&self);
    /// Drops every sender handle (a close, for an implementation without an explicit one).
    fn drop_senders(&mut self);
}

/// A case's channel and tasks.
#[derive(Clone, Copy)]
pub(crate) struct Setup {
    pub capacity: usize,
    pub senders: usize,
    pub receivers: usize,
}

impl fmt::Debug for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "capacity {}, {} sender task(s), {} receiver task(s)",
            self.capacity, self.senders, self.receivers
        )
    }
}

/// One step of a case. A task index is taken modulo the number of tasks, a waiter index modulo
/// the number of waiting futures.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// Sender task `i` sends its next value (polled once, kept while pending), or polls its
    /// waiting send.
    Send(usize),
    /// Sender task `i` `try_send`s its next value, or polls its waiting send.
    TrySend(usize),
    /// Receiver task `i` receives (polled once, kept while pending), or polls its waiting recv.
    Recv(usize),
    /// Receiver task `i` `try_recv`s, or polls its waiting recv.
    TryRecv(usize),
    /// Polls the woken futures, oldest first, until none is woken; then checks that nobody who
    /// could go on still waits.
    PollAll,
    /// Polls a waiting future (oldest first) with a new waker.
    PollNewWaker(usize),
    /// Drops sender task `i`'s waiting send.
    CancelSend(usize),
    /// Drops receiver task `i`'s waiting recv.
    CancelRecv(usize),
    /// Closes the channel: explicitly, or by dropping every sender handle and waiting send.
    Close,
}

/// The capacities a case draws from.
const CAPACITIES: [usize; 3] = [1, 2, 3];

/// The most sender (and receiver) tasks in a case.
const TASKS: usize = 3;

type Factory<'a> = &'a dyn Fn(Setup) -> Box<dyn Subject>;

struct Machine<'a> {
    factory: Factory<'a>,
    target: Guarantee,
    ops: Operations,
}

impl Property for Machine<'_> {
    type Setup = Setup;
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (Setup, Vec<Op>) {
        // Per-sender order is only observable with one receiver: values handed to two waiting
        // receivers come out in the order the receivers are polled.
        let many = self.ops.multi_receiver && self.target != Guarantee::PerSenderFifo;
        let setup = Setup {
            capacity: rng.pick(&CAPACITIES),
            senders: 1 + rng.index(TASKS),
            receivers: if many { 1 + rng.index(TASKS) } else { 1 },
        };
        let len = 1 + rng.index(max_steps);
        let ops = (0..len).map(|_| self.op(rng, setup)).collect();
        (setup, ops)
    }

    fn run(&self, setup: &Setup, ops: &[Op]) -> Result<(), Failure> {
        let mut run = Run {
            subject: (self.factory)(*setup),
            target: self.target,
            capacity: setup.capacity,
            explicit_close: self.ops.close,
            step: 0,
            senders: (0..setup.senders)
                .map(|_| SenderTask {
                    next: 0,
                    pending: None,
                })
                .collect(),
            receivers: (0..setup.receivers).map(|_| None).collect(),
            values: HashMap::new(),
            last_received: vec![None; setup.senders],
            closed: false,
            senders_dropped: false,
            recv_cancelled: false,
            woken_send_dropped: false,
            woken_recv_dropped: false,
            stamps: 0,
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
    fn op(&self, rng: &mut Rng, setup: Setup) -> Op {
        let s = rng.index(setup.senders);
        let r = rng.index(setup.receivers);
        let index = rng.index(8);
        let roll = rng.below(100);
        // Every guarantee gets sends, receives and polls; each adds what it is about.
        let extra = match self.target {
            Guarantee::NoLossNoDup if roll.is_multiple_of(8) => Op::Close,
            Guarantee::PerSenderFifo if roll.is_multiple_of(2) => Op::Send(s),
            Guarantee::PerSenderFifo => Op::Recv(r),
            Guarantee::CloseSemantics if roll.is_multiple_of(3) => Op::Close,
            Guarantee::SendCancelSafe => Op::CancelSend(s),
            Guarantee::RecvCancelSafe => Op::CancelRecv(r),
            Guarantee::NewWakerWoken => Op::PollNewWaker(index),
            // Dropping a waiter must not leave the others asleep either.
            Guarantee::NoLostWakeup if roll.is_multiple_of(5) => Op::CancelRecv(r),
            Guarantee::NoLostWakeup if roll % 5 == 1 => Op::CancelSend(s),
            // Fill it up, and poll waiting receivers again (a spurious poll must not give a
            // receiver a second claim on the values).
            Guarantee::Capacity if roll.is_multiple_of(2) => Op::TrySend(s),
            Guarantee::Capacity => Op::Recv(r),
            _ => Op::PollAll,
        };
        match roll {
            0..=24 => Op::Send(s),
            25..=34 => Op::TrySend(s),
            35..=54 => Op::Recv(r),
            55..=64 => Op::TryRecv(r),
            65..=77 => Op::PollAll,
            _ => extra,
        }
    }
}

/// What became of a value on the sending side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its send future waits (the channel may already have taken the value).
    Waiting,
    /// Its send completed `Ok`.
    Sent,
    /// Its send failed and gave it back.
    Refused,
    /// Its send future was dropped before it completed.
    Dropped,
}

#[derive(Debug, Clone, Copy)]
struct Value {
    fate: Fate,
    received: bool,
}

struct PendingSend {
    value: u64,
    /// Whether the send started after the (explicit) close.
    after_close: bool,
    /// When it started waiting: settling polls the oldest first.
    stamp: u64,
    future: Polled<Result<(), u64>>,
}

struct PendingRecv {
    stamp: u64,
    future: Polled<Option<u64>>,
}

struct SenderTask {
    /// The sequence number of its next value.
    next: u64,
    pending: Option<PendingSend>,
}

/// Which waiters are stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Send,
    Recv,
    Both,
}

#[derive(Debug, Clone, Copy)]
enum Task {
    Send(usize),
    Recv(usize),
}

/// The value sender `sender` sends `n`-th.
fn tag(sender: usize, n: u64) -> u64 {
    ((sender as u64) << 32) | n
}

/// A value as a counterexample writes it: `s#n`.
fn show(value: u64) -> String {
    format!("{}#{}", value >> 32, value & 0xFFFF_FFFF)
}

struct Run {
    subject: Box<dyn Subject>,
    target: Guarantee,
    capacity: usize,
    explicit_close: bool,
    step: usize,
    senders: Vec<SenderTask>,
    /// Each receiver task's waiting recv.
    receivers: Vec<Option<PendingRecv>>,
    /// Every value made, by its tag.
    values: HashMap<u64, Value>,
    /// Per sender, the highest sequence number received so far.
    last_received: Vec<Option<u64>>,
    closed: bool,
    senders_dropped: bool,
    /// Whether a recv future was dropped before it completed (a value missing later is then a
    /// cancel-safety failure).
    recv_cancelled: bool,
    /// Whether a send future was dropped after it was woken: it may have been given a turn (a
    /// slot) that it had to pass on, so a waiter left asleep later may be its fault.
    woken_send_dropped: bool,
    /// Whether a recv future was dropped after it was woken: it may have been handed a value or
    /// a turn that it had to pass on.
    woken_recv_dropped: bool,
    stamps: u64,
}

impl Run {
    /// Fails the case if `guarantee` is the one under check.
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    /// The guarantee a value missing now belongs to.
    fn loss(&self) -> Guarantee {
        if self.recv_cancelled {
            Guarantee::RecvCancelSafe
        } else {
            Guarantee::NoLossNoDup
        }
    }

    /// The guarantee a waiter left asleep on `side` breaks: the new waker's if one of those
    /// stuck was moved; else the cancel safety of the side that dropped a woken future (it may
    /// not have passed on the value or turn it was woken for); else no lost wakeup. (A future
    /// dropped before it was woken had nothing to pass on: if the channel loses track of the
    /// others when it goes, that is a lost wakeup.)
    fn stuck(&self, moved: bool, side: Side) -> Guarantee {
        let recv = self.woken_recv_dropped && side != Side::Send;
        let send = self.woken_send_dropped && side != Side::Recv;
        if moved {
            Guarantee::NewWakerWoken
        } else if recv {
            Guarantee::RecvCancelSafe
        } else if send {
            Guarantee::SendCancelSafe
        } else {
            Guarantee::NoLostWakeup
        }
    }

    fn value_mut(&mut self, value: u64) -> &mut Value {
        self.values
            .get_mut(&value)
            .expect("a value the machine made")
    }

    /// Values sent (their send completed) and not received.
    fn outstanding(&self) -> usize {
        let values = self.values.values();
        values
            .filter(|v| v.fate == Fate::Sent && !v.received)
            .count()
    }

    /// Values whose send was dropped and that were not received: they may occupy a slot.
    fn dropped_unreceived(&self) -> usize {
        let values = self.values.values();
        values
            .filter(|v| v.fate == Fate::Dropped && !v.received)
            .count()
    }

    fn waiting_recvs(&self) -> usize {
        self.receivers.iter().flatten().count()
    }

    fn waiting_sends(&self) -> usize {
        self.senders.iter().filter(|t| t.pending.is_some()).count()
    }

    /// The waiting futures, oldest first.
    fn waiting_tasks(&self) -> Vec<Task> {
        let sends = self.senders.iter().enumerate();
        let sends = sends.filter_map(|(s, t)| Some((t.pending.as_ref()?.stamp, Task::Send(s))));
        let recvs = self.receivers.iter().enumerate();
        let recvs = recvs.filter_map(|(r, p)| Some((p.as_ref()?.stamp, Task::Recv(r))));
        let mut tasks: Vec<(u64, Task)> = sends.chain(recvs).collect();
        tasks.sort_by_key(|(stamp, _)| *stamp);
        tasks.into_iter().map(|(_, task)| task).collect()
    }

    fn is_woken(&self, task: Task) -> bool {
        match task {
            Task::Send(s) => self.senders[s]
                .pending
                .as_ref()
                .is_some_and(|p| p.future.is_woken()),
            Task::Recv(r) => self.receivers[r]
                .as_ref()
                .is_some_and(|p| p.future.is_woken()),
        }
    }

    fn is_moved(&self, task: Task) -> bool {
        match task {
            Task::Send(s) => self.senders[s]
                .pending
                .as_ref()
                .is_some_and(|p| p.future.moved()),
            Task::Recv(r) => self.receivers[r].as_ref().is_some_and(|p| p.future.moved()),
        }
    }

    fn stamp(&mut self) -> u64 {
        self.stamps += 1;
        self.stamps
    }

    fn new_value(&mut self, sender: usize) -> u64 {
        let task = &mut self.senders[sender];
        let value = tag(sender, task.next);
        task.next += 1;
        let fresh = Value {
            fate: Fate::Waiting,
            received: false,
        };
        self.values.insert(value, fresh);
        value
    }

    fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Send(s) | Op::TrySend(s) => {
                if self.senders_dropped {
                    return Ok(());
                }
                let s = s % self.senders.len();
                if self.senders[s].pending.is_some() {
                    return self.poll_send(s, false);
                }
                let value = self.new_value(s);
                if matches!(op, Op::TrySend(_)) {
                    self.try_send(s, value)
                } else {
                    self.send(s, value)
                }
            }
            Op::Recv(r) | Op::TryRecv(r) => {
                let r = r % self.receivers.len();
                if self.receivers[r].is_some() {
                    return self.poll_recv(r, false);
                }
                if matches!(op, Op::TryRecv(_)) {
                    self.try_recv(r)
                } else {
                    self.recv(r)
                }
            }
            Op::PollAll => self.settle(),
            Op::PollNewWaker(i) => {
                let tasks = self.waiting_tasks();
                match tasks.get(i % tasks.len().max(1)) {
                    Some(Task::Send(s)) => self.poll_send(*s, true),
                    Some(Task::Recv(r)) => self.poll_recv(*r, true),
                    None => Ok(()),
                }
            }
            Op::CancelSend(s) => {
                let s = s % self.senders.len();
                match self.senders[s].pending.take() {
                    Some(pending) => self.drop_send(pending),
                    None => Ok(()),
                }
            }
            Op::CancelRecv(r) => {
                let r = r % self.receivers.len();
                if let Some(pending) = self.receivers[r].take() {
                    self.recv_cancelled = true;
                    self.woken_recv_dropped |= pending.future.is_woken();
                }
                Ok(())
            }
            Op::Close => self.close(),
        }
    }

    fn send(&mut self, s: usize, value: u64) -> Result<(), Failure> {
        let after_close = self.closed;
        let mut future = Polled::new(self.subject.send(s, value));
        match future.poll() {
            Poll::Ready(result) => self.send_done(value, result, after_close, "a send"),
            Poll::Pending => {
                let stamp = self.stamp();
                self.senders[s].pending = Some(PendingSend {
                    value,
                    after_close,
                    stamp,
                    future,
                });
                if after_close {
                    self.fail(
                        Guarantee::CloseSemantics,
                        format!(
                            "a send of {} on the closed channel waits instead of failing",
                            show(value)
                        ),
                    )?;
                }
                Ok(())
            }
        }
    }

    fn try_send(&mut self, s: usize, value: u64) -> Result<(), Failure> {
        match self.subject.try_send(s, value) {
            Ok(()) => self.send_done(value, Ok(()), self.closed, "try_send"),
            Err(TrySendError::Closed(back)) => self.refused(value, back, "try_send", true),
            Err(TrySendError::Full(back)) => {
                self.refused(value, back, "try_send", false)?;
                if self.closed {
                    return self.fail(
                        Guarantee::CloseSemantics,
                        "try_send on the closed channel failed with Full, not Closed".into(),
                    );
                }
                let used = self.outstanding() + self.dropped_unreceived();
                if self.waiting_sends() == 0 && used < self.capacity {
                    self.fail(
                        Guarantee::Capacity,
                        format!(
                            "try_send of {} failed with Full, but at most {used} of {} slots are \
                             in use and no send waits",
                            show(value),
                            self.capacity
                        ),
                    )?;
                }
                Ok(())
            }
        }
    }

    /// A send of `value` completed with `result`.
    fn send_done(
        &mut self,
        value: u64,
        result: Result<(), u64>,
        after_close: bool,
        who: &str,
    ) -> Result<(), Failure> {
        let Ok(()) = result else {
            let back = result.err().unwrap_or(value);
            return self.refused(value, back, who, true);
        };
        self.value_mut(value).fate = Fate::Sent;
        if after_close {
            self.fail(
                Guarantee::CloseSemantics,
                format!("{who} of {} after the close succeeded", show(value)),
            )?;
        }
        let (held, waiting) = (self.outstanding(), self.waiting_recvs());
        if held > self.capacity + waiting {
            self.fail(
                Guarantee::Capacity,
                format!(
                    "{who} of {} succeeded with {held} values sent and not received: more than \
                     the capacity, {}, plus the {waiting} recv(s) waiting",
                    show(value),
                    self.capacity
                ),
            )?;
        }
        Ok(())
    }

    /// A send of `value` failed and gave back `back`; `as_closed` if it said the channel was
    /// closed.
    fn refused(
        &mut self,
        value: u64,
        back: u64,
        who: &str,
        as_closed: bool,
    ) -> Result<(), Failure> {
        let state = self.value_mut(value);
        state.fate = Fate::Refused;
        let received = state.received;
        if back != value {
            self.fail(
                Guarantee::NoLossNoDup,
                format!(
                    "{who} of {} failed and gave back {} instead",
                    show(value),
                    show(back)
                ),
            )?;
        }
        if received {
            self.fail(
                Guarantee::NoLossNoDup,
                format!(
                    "{who} of {v} failed, but {v} was received: the sender believes it lost",
                    v = show(value)
                ),
            )?;
        }
        if as_closed && !self.closed {
            self.fail(
                Guarantee::CloseSemantics,
                format!(
                    "{who} of {} failed as closed, but the channel was never closed",
                    show(value)
                ),
            )?;
        }
        Ok(())
    }

    fn recv(&mut self, r: usize) -> Result<(), Failure> {
        let mut future = Polled::new(self.subject.recv(r));
        match future.poll() {
            Poll::Ready(Some(value)) => self.received(value, "a recv"),
            Poll::Ready(None) => self.got_closed("a recv"),
            Poll::Pending => {
                let stamp = self.stamp();
                self.receivers[r] = Some(PendingRecv { stamp, future });
                if self.closed {
                    self.fail(
                        Guarantee::CloseSemantics,
                        "a recv on the closed channel waits instead of returning a value or None"
                            .into(),
                    )?;
                }
                Ok(())
            }
        }
    }

    fn try_recv(&mut self, r: usize) -> Result<(), Failure> {
        match self.subject.try_recv(r) {
            Ok(value) => self.received(value, "try_recv"),
            Err(TryRecvError::Closed) => self.got_closed("try_recv"),
            Err(TryRecvError::Empty) => {
                // A waiting recv may have been handed a value, or promised one.
                if self.waiting_recvs() > 0 {
                    return Ok(());
                }
                let held = self.outstanding();
                if held > 0 {
                    self.fail(
                        self.loss(),
                        format!(
                            "try_recv found the channel empty, but {held} value(s) were sent and \
                             not received, and no recv waits that could hold one"
                        ),
                    )?;
                } else if self.closed && self.waiting_sends() == 0 {
                    self.fail(
                        Guarantee::CloseSemantics,
                        "try_recv on the closed, drained channel says Empty, not Closed: a \
                         consumer polling it would never stop"
                            .into(),
                    )?;
                }
                Ok(())
            }
        }
    }

    /// Someone received `value`.
    fn received(&mut self, value: u64, who: &str) -> Result<(), Failure> {
        let Some(state) = self.values.get_mut(&value) else {
            return self.fail(
                Guarantee::NoLossNoDup,
                format!("{who} returned {}, a value never sent", show(value)),
            );
        };
        if state.received {
            return self.fail(
                Guarantee::NoLossNoDup,
                format!("{who} returned {}, received once already", show(value)),
            );
        }
        state.received = true;
        match state.fate {
            Fate::Refused => self.fail(
                Guarantee::NoLossNoDup,
                format!(
                    "{who} returned {}, whose send failed and gave it back",
                    show(value)
                ),
            )?,
            Fate::Dropped => self.fail(
                Guarantee::SendCancelSafe,
                format!(
                    "{who} returned {}, whose send future was dropped before it completed: a \
                     cancelled send was delivered",
                    show(value)
                ),
            )?,
            Fate::Waiting | Fate::Sent => {}
        }
        let (sender, n) = ((value >> 32) as usize, value & 0xFFFF_FFFF);
        if let Some(last) = self.last_received[sender].filter(|&last| n < last) {
            self.fail(
                Guarantee::PerSenderFifo,
                format!(
                    "{who} returned {} after {}: sender {sender}'s values out of order",
                    show(value),
                    show(tag(sender, last))
                ),
            )?;
        }
        let last = &mut self.last_received[sender];
        *last = Some(last.map_or(n, |last| last.max(n)));
        Ok(())
    }

    /// A recv said the channel is closed and drained (the recv itself no longer waits).
    fn got_closed(&self, who: &str) -> Result<(), Failure> {
        if !self.closed {
            return self.fail(
                Guarantee::CloseSemantics,
                format!("{who} said closed, but the channel was never closed"),
            );
        }
        let (held, others) = (self.outstanding(), self.waiting_recvs());
        if held > others {
            let guarantee = if self.recv_cancelled {
                Guarantee::RecvCancelSafe
            } else {
                Guarantee::CloseSemantics
            };
            let others = match others {
                0 => String::new(),
                n => format!(" ({n} other recv(s) wait, which may hold one each)"),
            };
            self.fail(
                guarantee,
                format!(
                    "{who} said closed and drained, but {held} value(s) sent before were never \
                     received{others}"
                ),
            )?;
        }
        Ok(())
    }

    /// Polls sender task `s`'s waiting send (with a new waker if `moving`).
    fn poll_send(&mut self, s: usize, moving: bool) -> Result<(), Failure> {
        let Some(mut pending) = self.senders[s].pending.take() else {
            return Ok(());
        };
        let poll = if moving {
            pending.future.poll_with_new_waker()
        } else {
            pending.future.poll()
        };
        match poll {
            Poll::Ready(result) => {
                self.send_done(pending.value, result, pending.after_close, "a send")
            }
            Poll::Pending => {
                self.senders[s].pending = Some(pending);
                Ok(())
            }
        }
    }

    /// Polls receiver task `r`'s waiting recv (with a new waker if `moving`).
    fn poll_recv(&mut self, r: usize, moving: bool) -> Result<(), Failure> {
        let Some(mut pending) = self.receivers[r].take() else {
            return Ok(());
        };
        let poll = if moving {
            pending.future.poll_with_new_waker()
        } else {
            pending.future.poll()
        };
        match poll {
            Poll::Ready(Some(value)) => self.received(value, "a recv"),
            Poll::Ready(None) => self.got_closed("a recv"),
            Poll::Pending => {
                self.receivers[r] = Some(pending);
                Ok(())
            }
        }
    }

    /// Drops a waiting send: its value must never be received.
    fn drop_send(&mut self, pending: PendingSend) -> Result<(), Failure> {
        let value = pending.value;
        self.woken_send_dropped |= pending.future.is_woken();
        drop(pending);
        let state = self.value_mut(value);
        state.fate = Fate::Dropped;
        if state.received {
            self.fail(
                Guarantee::SendCancelSafe,
                format!(
                    "the send of {v} was dropped before it completed, but {v} had been \
                     received: a cancelled send was delivered",
                    v = show(value)
                ),
            )?;
        }
        Ok(())
    }

    /// Polls the woken futures, oldest first, until none is (what an executor does); then, unless
    /// the channel is closed, nobody may wait who could go on: no recv beside a waiting send or a
    /// value sent and not received, no send beside room.
    fn settle(&mut self) -> Result<(), Failure> {
        let mut polls = 0;
        loop {
            let tasks = self.waiting_tasks();
            let Some(&task) = tasks.iter().find(|&&t| self.is_woken(t)) else {
                break;
            };
            polls += 1;
            if polls > SPIN_LIMIT {
                let side = match task {
                    Task::Send(_) => Side::Send,
                    Task::Recv(_) => Side::Recv,
                };
                let guarantee = self.stuck(self.is_moved(task), side);
                return self.fail(
                    guarantee,
                    format!(
                        "a future is woken again on every poll without getting anywhere \
                         ({SPIN_LIMIT} polls): its task would spin"
                    ),
                );
            }
            match task {
                Task::Send(s) => self.poll_send(s, false)?,
                Task::Recv(r) => self.poll_recv(r, false)?,
            }
        }
        if self.closed {
            // Everything waiting was resolved at the close, and nothing may wait after it.
            return Ok(());
        }
        let tasks = self.waiting_tasks();
        let recvs: Vec<Task> = (tasks.iter().copied())
            .filter(|t| matches!(t, Task::Recv(_)))
            .collect();
        let sends = tasks.len() - recvs.len();
        let recv_moved = recvs.iter().any(|&t| self.is_moved(t));
        let send_moved = (tasks.iter()).any(|&t| matches!(t, Task::Send(_)) && self.is_moved(t));
        let held = self.outstanding();
        let used = held + self.dropped_unreceived();
        // One finding per settling, the most telling first: a recv beside a value is the
        // receivers' wakeup lost, a send beside room the senders'; a recv beside a send (the
        // channel may be full of values the bounds cannot place) either.
        let (side, moved, message) = if !recvs.is_empty() && held > 0 {
            let message = format!(
                "with every woken future polled, {held} value(s) are sent and not received, yet \
                 {} recv(s) wait: nothing will wake them",
                recvs.len()
            );
            (Side::Recv, recv_moved, message)
        } else if sends > 0 && used < self.capacity {
            let message = format!(
                "with every woken future polled, at most {used} of {} slots are in use, yet \
                 {sends} send(s) wait: nothing will wake them",
                self.capacity
            );
            (Side::Send, send_moved, message)
        } else if !recvs.is_empty() && sends > 0 {
            let message = format!(
                "with every woken future polled, {} recv(s) and {sends} send(s) still wait, each \
                 for the other: nothing will wake them",
                recvs.len()
            );
            (Side::Both, recv_moved || send_moved, message)
        } else {
            return Ok(());
        };
        self.fail(self.stuck(moved, side), message)
    }

    /// Closes the channel: every waiting recv must have been woken (and, with an explicit close,
    /// every waiting send); then each must complete when polled.
    fn close(&mut self) -> Result<(), Failure> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let how = if self.explicit_close {
            self.subject.close();
            "close"
        } else {
            for s in 0..self.senders.len() {
                if let Some(pending) = self.senders[s].pending.take() {
                    self.drop_send(pending)?;
                }
            }
            self.subject.drop_senders();
            self.senders_dropped = true;
            "dropping every sender"
        };
        // Whom the close left asleep: every waiter must have been woken. One that, polled, turns
        // out to have been served before the close (a recv handed a value, a send that went
        // through) was never woken for that: a lost wakeup, not the close's failure. Those asleep
        // are polled last, after those woken, which may hold a value each.
        let asleep: Vec<usize> = (self.receivers.iter().enumerate())
            .filter(|(_, p)| p.as_ref().is_some_and(|p| !p.future.is_woken()))
            .map(|(r, _)| r)
            .collect();
        for s in 0..self.senders.len() {
            let Some(mut pending) = self.senders[s].pending.take() else {
                continue;
            };
            let was_asleep = !pending.future.is_woken();
            let poll = pending.future.poll();
            if was_asleep {
                let (guarantee, message) = match poll {
                    Poll::Ready(Ok(())) => (
                        self.stuck(pending.future.moved(), Side::Send),
                        format!(
                            "the waiting send of {} had gone through but was never woken (not \
                             even by close)",
                            show(pending.value)
                        ),
                    ),
                    _ => (
                        Guarantee::CloseSemantics,
                        format!(
                            "close did not wake the waiting send of {}",
                            show(pending.value)
                        ),
                    ),
                };
                self.fail(guarantee, message)?;
            }
            match poll {
                Poll::Ready(result) => {
                    self.send_done(pending.value, result, pending.after_close, "a waiting send")?;
                }
                Poll::Pending => {
                    let value = pending.value;
                    self.senders[s].pending = Some(pending);
                    self.fail(
                        Guarantee::CloseSemantics,
                        format!("the send of {} still waits after {how}", show(value)),
                    )?;
                }
            }
        }
        let tasks = self.waiting_tasks().into_iter();
        let (mut recvs, mut last): (Vec<usize>, Vec<usize>) = (tasks.filter_map(|t| match t {
            Task::Recv(r) => Some(r),
            Task::Send(_) => None,
        }))
        .partition(|r| !asleep.contains(r));
        recvs.append(&mut last);
        for r in recvs {
            let Some(mut pending) = self.receivers[r].take() else {
                continue;
            };
            let was_asleep = asleep.contains(&r);
            let poll = pending.future.poll();
            match poll {
                Poll::Ready(Some(value)) if was_asleep => self.fail(
                    self.stuck(pending.future.moved(), Side::Recv),
                    format!(
                        "the waiting recv of receiver {r} had been handed {} but was never woken \
                         (not even by {how})",
                        show(value)
                    ),
                )?,
                _ if was_asleep => self.fail(
                    Guarantee::CloseSemantics,
                    format!("{how} did not wake the waiting recv of receiver {r}"),
                )?,
                _ => {}
            }
            match poll {
                Poll::Ready(Some(value)) => self.received(value, "a waiting recv")?,
                Poll::Ready(None) => self.got_closed("a waiting recv")?,
                Poll::Pending => {
                    self.receivers[r] = Some(pending);
                    self.fail(
                        Guarantee::CloseSemantics,
                        format!("the recv of receiver {r} still waits after {how}"),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Settles, closes and drains the channel; then every value sent must have been received.
    fn finish(mut self) -> Result<(), Failure> {
        self.settle()?;
        self.close()?;
        // Whatever still waits (a failure of the close, reported above) is dropped.
        for task in &mut self.senders {
            task.pending = None;
        }
        for pending in &mut self.receivers {
            *pending = None;
        }
        for _ in 0..self.values.len() + 2 {
            let mut future = Polled::new(self.subject.recv(0));
            match future.poll() {
                Poll::Ready(Some(value)) => self.received(value, "a recv after the close")?,
                Poll::Ready(None) => {
                    self.got_closed("a recv after the close")?;
                    break;
                }
                Poll::Pending => {
                    self.fail(
                        Guarantee::CloseSemantics,
                        "a recv on the closed channel waits instead of returning a value or None"
                            .into(),
                    )?;
                    break;
                }
            }
        }
        let missing = self.values.iter();
        let missing = missing.filter(|(_, v)| v.fate == Fate::Sent && !v.received);
        let mut missing: Vec<u64> = missing.map(|(&value, _)| value).collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            let list: Vec<String> = missing.iter().map(|&v| show(v)).collect();
            self.fail(
                self.loss(),
                format!(
                    "{} value(s) whose send completed were never received, even after the close \
                     and a drain: {}",
                    missing.len(),
                    list.join(", ")
                ),
            )?;
        }
        Ok(())
    }
}

/// Runs every guarantee on channels `factory` makes and collects the findings.
pub(crate) fn run_checks(
    ops: Operations,
    factory: Factory<'_>,
    config: &Config,
    claim: &dyn Fn(Guarantee) -> Claim,
) -> Vec<Finding> {
    (Guarantee::ALL.iter())
        .map(|&g| {
            let machine = Machine {
                factory,
                target: g,
                ops,
            };
            Finding {
                guarantee: g.name(),
                meaning: g.meaning(),
                claim: claim(g),
                verdict: check(&machine, config),
            }
        })
        .collect()
}
