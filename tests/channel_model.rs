#![cfg(not(any(loom, shuttle)))]
//! State-machine test of the bounded channel against a small sequential reference queue, and
//! self-tests showing that the same checker rejects naive channels whose cancelled `recv` loses a
//! value or a wakeup.
//!
//! # What is checked
//!
//! A case is a capacity and up to 40 operations: `try_send` and `send` of a fresh value
//! (every value is unique, so a lost or duplicated one is seen), `try_recv`, `recv`, re-polling a
//! pending future, cancelling (dropping) a pending `send` or `recv`, `close` from either side,
//! cloning a handle, and dropping every sender or every receiver. A `send`/`recv` future is polled
//! once when it is created and kept while it is pending. It holds a clone of its handle, as a
//! future that borrows one does in real code, so "every sender dropped" happens only once the
//! pending `send` futures are gone too.
//!
//! The capacity is mostly 1..=3, but one case in eight takes an edge: 1, or an invalid one — 0,
//! `MAX_CAPACITY + 1`, `usize::MAX` — which `bounded` must refuse with its typed `CapacityError`
//! (`Zero` / `TooLarge`), and the case ends there; and one case in 50 takes `MAX_CAPACITY - 1` or
//! `MAX_CAPACITY`, whose 2^20 slots are allocated up front.
//!
//! The reference model, written here independently of the library, is a `VecDeque` of values plus
//! a FIFO queue of waiting senders and one of waiting receivers:
//!
//! - A sender is let in (given a slot) when it is first in line and the queue plus the slots
//!   already given out leave room; its value enters the queue when its future next completes.
//!   A receiver is let in when it is first in line and a queued value is not yet promised to an
//!   earlier receiver. Newcomers, `try_send` and `try_recv` never overtake a waiter.
//! - Values leave in the order they arrived: whichever receiver completes takes the front value
//!   (being let in promises *a* value, not a particular one).
//! - `close` (or the last sender going) refuses new and waiting sends, giving the value back;
//!   receivers still get every queued value, then `None`. The last receiver going also drops the
//!   queued values (the only way an accepted value may be dropped).
//! - A cancelled `send` enqueues nothing (its value is dropped with it) and passes a slot it was
//!   given to the next sender; a cancelled `recv` passes a value promised to it to the next
//!   receiver, or leaves it queued.
//!
//! Some `send`/`recv` futures are polled with a hostile waker instead of a mock task's (user
//! code inside the channel): one whose clone panics — a future that has to wait then panics in
//! its first poll and must leave the channel as it was, its value dropped with it — or one whose
//! wake panics: whatever operation lets that future in or closes it out (a send, a receive, a
//! cancel passing a slot or a value on, a close, a last handle dropped) must panic, and only such
//! an operation, after doing all of its work; a value it had taken is dropped with the unwinding
//! caller, never leaked. The naive channels are driven with plain wakers only.
//!
//! After every operation the checker compares, against the model: every `try_*` result, `close`'s
//! return value, each received value (FIFO, no loss, no duplication), `len()` and `is_closed()`,
//! and the values the channel has dropped (every value carries a drop log, so a value that
//! vanishes is seen at the step where it vanished). Every pending future that the model still
//! queues is polled and must be `Pending` (else someone was overtaken); one that the model has let
//! in or closed out must have been woken (else a wakeup was lost) and is left unpolled until a
//! `Repoll` or a cancel reaches it, so "let in, then dropped before it saw it" is exercised; when
//! polled it must give the model's value or error. At the end every future is cancelled, the queue
//! is drained with `try_recv` and every handle dropped, each step checked, and every value that a
//! send accepted must have been received exactly once or dropped because every receiver was
//! dropped.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test channel_model` runs 256 cases per property; set `PROPTEST_CASES` for more
//! (e.g. `PROPTEST_CASES=100000`). On failure proptest prints the minimal failing case (capacity
//! and operations; the message names the failing step and what disagreed) and saves its seed in
//! `proptest-regressions/channel_model.txt`; every later run replays the saved seeds first, so
//! rerunning the same command reproduces the failure. Commit that file with the fix.
//!
//! The self-tests (`model_catches_*`) run the checker on naive channels with a fixed seed and no
//! persistence and fail unless it rejects them, with a minimal case that the shipped channel
//! passes; `--nocapture` shows each minimal case and how many cases it took.
//!
//! Not covered here: concurrency (loom's tier, `loom-tests/channel.rs`), and a future moving
//! between tasks (each future is polled by one mock task whose waker never changes).

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use async_patterns::channel::{
    self, CapacityError, MAX_CAPACITY, SendError, TryRecvError, TrySendError,
};
use futures::future::LocalBoxFuture;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio_test::task::spawn;

mod support;
use support::hostile::{Event, HostileWaker};
use support::poller::Poller;
use support::proptest_support;

// ---------------------------------------------------------------------------------------------
// Values that report being dropped
// ---------------------------------------------------------------------------------------------

/// The ids of the values dropped by the channel under test (or by a future holding one).
type DropLog = Rc<RefCell<Vec<u32>>>;

/// A value with an identity. Dropping it logs its id, unless the test took it back with
/// [`Tracked::into_id`] (a value received, or returned in an error).
struct Tracked {
    id: u32,
    log: DropLog,
    armed: bool,
}

impl Tracked {
    fn new(id: u32, log: &DropLog) -> Self {
        Tracked {
            id,
            log: Rc::clone(log),
            armed: true,
        }
    }

    fn into_id(mut self) -> u32 {
        self.armed = false;
        self.id
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.armed {
            self.log.borrow_mut().push(self.id);
        }
    }
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value #{}", self.id)
    }
}

// ---------------------------------------------------------------------------------------------
// The interface the checker drives
// ---------------------------------------------------------------------------------------------

type SendFuture = LocalBoxFuture<'static, Result<(), Tracked>>;
type RecvFuture = LocalBoxFuture<'static, Option<Tracked>>;

/// A bounded MPMC channel of [`Tracked`] values: the shipped one, or a naive one the checker
/// must reject. Futures own a clone of their handle (see the module docs).
trait ChannelUnderTest {
    type Tx: Clone;
    type Rx: Clone;

    /// Whether the channel promises to contain a panicking waker (the shipped one does; the
    /// naive ones, written for the flaws above, are driven with plain wakers only).
    const CONTAINS_USER_PANICS: bool = false;

    fn bounded(capacity: usize) -> Result<(Self::Tx, Self::Rx), CapacityError>;
    fn send(tx: &Self::Tx, value: Tracked) -> SendFuture;
    fn try_send(tx: &Self::Tx, value: Tracked) -> Result<(), TrySendError<Tracked>>;
    fn recv(rx: &Self::Rx) -> RecvFuture;
    fn try_recv(rx: &Self::Rx) -> Result<Tracked, TryRecvError>;
    fn close_from_sender(tx: &Self::Tx) -> bool;
    fn close_from_receiver(rx: &Self::Rx) -> bool;
    /// `len()` and `is_closed()` as seen from each side.
    fn sender_view(tx: &Self::Tx) -> (usize, bool);
    fn receiver_view(rx: &Self::Rx) -> (usize, bool);
}

/// The channel that ships.
struct Shipped;

impl ChannelUnderTest for Shipped {
    type Tx = channel::Sender<Tracked>;
    type Rx = channel::Receiver<Tracked>;

    const CONTAINS_USER_PANICS: bool = true;

    fn bounded(capacity: usize) -> Result<(Self::Tx, Self::Rx), CapacityError> {
        channel::bounded(capacity)
    }

    fn send(tx: &Self::Tx, value: Tracked) -> SendFuture {
        let tx = tx.clone();
        Box::pin(async move {
            let sent = tx.send(value).await.map_err(SendError::into_inner);
            // Dropped before the result is returned: if this drop closes the channel and a waker
            // it wakes panics, the result is dropped with the unwinding frame (a value being
            // returned when a destructor panics is leaked instead, which the checker would see
            // as a value gone missing).
            drop(tx);
            sent
        })
    }

    fn try_send(tx: &Self::Tx, value: Tracked) -> Result<(), TrySendError<Tracked>> {
        tx.try_send(value)
    }

    fn recv(rx: &Self::Rx) -> RecvFuture {
        let rx = rx.clone();
        Box::pin(async move {
            let received = rx.recv().await;
            // As in `send`.
            drop(rx);
            received
        })
    }

    fn try_recv(rx: &Self::Rx) -> Result<Tracked, TryRecvError> {
        rx.try_recv()
    }

    fn close_from_sender(tx: &Self::Tx) -> bool {
        tx.close()
    }

    fn close_from_receiver(rx: &Self::Rx) -> bool {
        rx.close()
    }

    fn sender_view(tx: &Self::Tx) -> (usize, bool) {
        (tx.len(), tx.is_closed())
    }

    fn receiver_view(rx: &Self::Rx) -> (usize, bool) {
        (rx.len(), rx.is_closed())
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One operation. Indices pick among the pending futures modulo their number; an operation that
/// needs a handle or a future that is not there does nothing, so every sequence is valid and
/// shrinks freely. Each `TrySend`/`Send` sends a fresh value.
#[derive(Debug, Clone, Copy)]
enum Op {
    TryRecv,
    TrySend,
    /// `send`, polled once; kept while pending.
    Send,
    /// `recv`, polled once; kept while pending.
    Recv,
    /// Polls a pending future (of either kind).
    Repoll(usize),
    CancelSend(usize),
    CancelRecv(usize),
    CloseFromSender,
    CloseFromReceiver,
    CloneSender,
    CloneReceiver,
    DropAllSenders,
    DropAllReceivers,
    /// `send`, polled once with a hostile waker; kept while pending.
    SendHostile(Hostility),
    /// `recv`, polled once with a hostile waker; kept while pending.
    RecvHostile(Hostility),
}

/// How a hostile `send`/`recv` future's waker misbehaves (user code inside the channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostility {
    /// Its clone panics: a future that has to wait panics in its first poll, and must leave the
    /// channel as it was (the future, and a value it carries, are then dropped, as an unwinding
    /// task drops them).
    PanicOnClone,
    /// Its wake panics: whichever operation lets the future in or closes it out (a send, a
    /// receive, a cancel that passes a slot or a value on, a close, a last handle dropped) must
    /// do all of its work — which the checks after it see — and then panic.
    PanicOnWake,
}

#[derive(Debug, Clone)]
struct Case {
    capacity: usize,
    ops: Vec<Op>,
}

/// Capacities at the edges: 0 and the last two are refused.
const CAPACITY_EDGES: [usize; 4] = [0, 1, MAX_CAPACITY + 1, usize::MAX];

/// The largest valid capacities, drawn apart and more rarely: each allocates 2^20 slots up front.
const HUGE_CAPACITIES: [usize; 2] = [MAX_CAPACITY - 1, MAX_CAPACITY];

/// What `bounded(capacity)` must refuse, as documented.
fn refused_capacity(capacity: usize) -> Option<CapacityError> {
    if capacity == 0 {
        Some(CapacityError::Zero)
    } else if capacity > MAX_CAPACITY {
        Some(CapacityError::TooLarge)
    } else {
        None
    }
}

fn hostility() -> impl Strategy<Value = Hostility> {
    prop_oneof![Just(Hostility::PanicOnClone), Just(Hostility::PanicOnWake)]
}

fn cases() -> impl Strategy<Value = Case> {
    let index = 0..6usize;
    // Closing and dropping every handle are rare: after them little is left to check.
    // `TryRecv` comes first because proptest shrinks an operation it cannot remove towards the
    // first alternative.
    let op = prop_oneof![
        5 => Just(Op::TryRecv),
        5 => Just(Op::TrySend),
        10 => Just(Op::Send),
        10 => Just(Op::Recv),
        6 => index.clone().prop_map(Op::Repoll),
        3 => index.clone().prop_map(Op::CancelSend),
        4 => index.prop_map(Op::CancelRecv),
        1 => Just(Op::CloseFromSender),
        1 => Just(Op::CloseFromReceiver),
        1 => Just(Op::CloneSender),
        1 => Just(Op::CloneReceiver),
        1 => Just(Op::DropAllSenders),
        1 => Just(Op::DropAllReceivers),
        2 => hostility().prop_map(Op::SendHostile),
        2 => hostility().prop_map(Op::RecvHostile),
    ];
    let capacity = proptest_support::with_edges(
        proptest_support::with_edges(1..=3usize, &CAPACITY_EDGES, 8),
        &HUGE_CAPACITIES,
        50,
    );
    (capacity, prop::collection::vec(op, 0..=40)).prop_map(|(capacity, ops)| Case { capacity, ops })
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// What an operation or a poll gave, in the terms both the model and the channel can be put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    /// `send` / `try_send` returned `Ok`.
    Sent,
    /// `try_send` returned `Full` with this value.
    Full(u32),
    /// `send` / `try_send` refused this value because the channel is closed, and gave it back.
    Refused(u32),
    /// `recv` / `try_recv` gave this value.
    Received(u32),
    /// `try_recv` returned `Empty`.
    Empty,
    /// `recv` returned `None` / `try_recv` returned `Closed`.
    Ended,
}

/// A bounded FIFO channel, sequential and deliberately simple.
#[derive(Debug)]
struct Model {
    capacity: usize,
    queue: VecDeque<u32>,
    closed: bool,
    waiting_senders: VecDeque<u64>,
    waiting_receivers: VecDeque<u64>,
    /// Senders given a slot, and receivers promised a value, whose futures have not completed.
    let_in_senders: HashSet<u64>,
    let_in_receivers: HashSet<u64>,
    /// Live handles, counting the clone each pending future holds.
    senders: usize,
    receivers: usize,
    /// Values that must have been dropped: queued when the last receiver went, or still in a
    /// cancelled `send` future.
    drained: Vec<u32>,
    dropped_unsent: Vec<u32>,
    /// Values an operation had taken (received, or given back) when a waker it woke panicked:
    /// the caller's unwinding drops them.
    dropped_in_unwinding: Vec<u32>,
}

impl Model {
    fn new(capacity: usize) -> Self {
        Model {
            capacity,
            queue: VecDeque::new(),
            closed: false,
            waiting_senders: VecDeque::new(),
            waiting_receivers: VecDeque::new(),
            let_in_senders: HashSet::new(),
            let_in_receivers: HashSet::new(),
            senders: 1,
            receivers: 1,
            drained: Vec::new(),
            dropped_unsent: Vec::new(),
            dropped_in_unwinding: Vec::new(),
        }
    }

    /// Free slots not yet given to a sender.
    fn room(&self) -> usize {
        self.capacity
            .saturating_sub(self.queue.len() + self.let_in_senders.len())
    }

    /// Queued values not yet promised to a receiver.
    fn unpromised(&self) -> usize {
        self.queue.len().saturating_sub(self.let_in_receivers.len())
    }

    /// Lets in the first waiters in line while there is room / an unpromised value.
    fn settle(&mut self) {
        if self.closed {
            return;
        }
        while self.room() > 0 {
            let Some(id) = self.waiting_senders.pop_front() else {
                break;
            };
            self.let_in_senders.insert(id);
        }
        while self.unpromised() > 0 {
            let Some(id) = self.waiting_receivers.pop_front() else {
                break;
            };
            self.let_in_receivers.insert(id);
        }
    }

    fn is_waiting(&self, id: u64) -> bool {
        self.waiting_senders.contains(&id) || self.waiting_receivers.contains(&id)
    }

    /// `try_send` (`wait == false`) or the first poll of `send` (`wait == true`; the caller
    /// queues the future on `Pending`).
    fn offer(&mut self, id: u64, value: u32, wait: bool) -> Outcome {
        let outcome = if self.closed {
            Outcome::Refused(value)
        } else if self.waiting_senders.is_empty() && self.room() > 0 {
            self.queue.push_back(value);
            Outcome::Sent
        } else if wait {
            self.waiting_senders.push_back(id);
            Outcome::Pending
        } else {
            Outcome::Full(value)
        };
        self.settle();
        outcome
    }

    /// `try_recv` (`wait == false`) or the first poll of `recv` (`wait == true`).
    fn take(&mut self, id: u64, wait: bool) -> Outcome {
        // Once closed, every receiver takes what is left (or ends), promised or not.
        let outcome = if self.closed || (self.waiting_receivers.is_empty() && self.unpromised() > 0)
        {
            self.pop()
        } else if wait {
            self.waiting_receivers.push_back(id);
            Outcome::Pending
        } else {
            Outcome::Empty
        };
        self.settle();
        outcome
    }

    fn pop(&mut self) -> Outcome {
        match self.queue.pop_front() {
            Some(value) => Outcome::Received(value),
            None => Outcome::Ended,
        }
    }

    /// A later poll of a pending `send`.
    fn poll_send(&mut self, id: u64, value: u32) -> Outcome {
        if self.is_waiting(id) {
            return Outcome::Pending;
        }
        let let_in = self.let_in_senders.remove(&id);
        let outcome = if self.closed {
            Outcome::Refused(value)
        } else {
            assert!(
                let_in,
                "model bug: sender #{id} neither waits nor was let in"
            );
            self.queue.push_back(value);
            Outcome::Sent
        };
        self.settle();
        outcome
    }

    /// A later poll of a pending `recv`.
    fn poll_recv(&mut self, id: u64) -> Outcome {
        if self.is_waiting(id) {
            return Outcome::Pending;
        }
        let let_in = self.let_in_receivers.remove(&id);
        assert!(
            let_in || self.closed,
            "model bug: receiver #{id} neither waits nor was let in"
        );
        let outcome = self.pop();
        assert!(
            self.closed || outcome != Outcome::Ended,
            "model bug: a receiver promised a value found none"
        );
        self.settle();
        outcome
    }

    fn cancel_send(&mut self, id: u64, value: u32) {
        self.waiting_senders.retain(|&w| w != id);
        self.let_in_senders.remove(&id);
        self.dropped_unsent.push(value);
        self.settle();
    }

    fn cancel_recv(&mut self, id: u64) {
        self.waiting_receivers.retain(|&w| w != id);
        self.let_in_receivers.remove(&id);
        self.settle();
    }

    /// Returns whether this call closed the channel. Waiters are closed out: their next poll
    /// completes (senders refused; receivers take the front value, or `None`).
    fn close(&mut self) -> bool {
        let was_open = !self.closed;
        self.closed = true;
        self.waiting_senders.clear();
        self.waiting_receivers.clear();
        was_open
    }

    fn add_sender(&mut self) {
        self.senders += 1;
    }

    fn add_receiver(&mut self) {
        self.receivers += 1;
    }

    fn drop_sender(&mut self) {
        self.senders -= 1;
        if self.senders == 0 {
            self.close();
        }
    }

    fn drop_receiver(&mut self) {
        self.receivers -= 1;
        if self.receivers == 0 {
            self.close();
            self.drained.extend(self.queue.drain(..));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

/// Failure kinds, named in the messages so that the self-tests can tell why a case failed.
const UNEXPECTED_DROP: &str = "the channel dropped values it should not have";
const LOST_WAKEUP: &str = "lost wakeup";
const OVERTAKEN: &str = "completed while the model still queues it";
const WRONG_OUTCOME: &str = "wrong outcome";
const WRONG_STATE: &str = "wrong len/is_closed";
const LEDGER: &str = "ledger";

fn fail(at: &str, message: fmt::Arguments<'_>) -> TestCaseError {
    TestCaseError::fail(format!("{at}: {message}"))
}

/// A future polled by a mock task, or with a hostile waker of the kind `hostility` names.
fn poller<F: Future + Unpin>(future: F, hostility: Option<Hostility>) -> Poller<F> {
    match hostility {
        None => Poller::Mock(spawn(future)),
        Some(how) => Poller::hostile(
            future,
            HostileWaker::panicking_on(match how {
                Hostility::PanicOnClone => Event::Clone,
                Hostility::PanicOnWake => Event::Wake,
            }),
        ),
    }
}

enum Task {
    Send {
        value: u32,
        task: Poller<SendFuture>,
    },
    Recv {
        task: Poller<RecvFuture>,
    },
}

/// Which hostile waker panicked during the current step (a call caught by [`guard`]).
#[derive(Debug, Default)]
struct Panicked {
    clone: Cell<bool>,
    wake: Cell<bool>,
}

/// Runs `f`; a panic from a hostile waker is recorded in `panicked` and gives `None`, any other
/// panic goes on unwinding.
fn guard<R>(panicked: &Panicked, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => Some(result),
        Err(payload) => {
            let message = support::hostile::panic_message(&*payload);
            if message.starts_with("hostile waker: panic in Clone") {
                panicked.clone.set(true);
            } else if message.starts_with("hostile waker: panic in Wake") {
                panicked.wake.set(true);
            } else {
                resume_unwind(payload);
            }
            None
        }
    }
}

struct PendingFuture {
    id: u64,
    task: Task,
}

impl PendingFuture {
    fn is_send(&self) -> bool {
        matches!(self.task, Task::Send { .. })
    }

    fn is_woken(&self) -> bool {
        match &self.task {
            Task::Send { task, .. } => task.is_woken(),
            Task::Recv { task } => task.is_woken(),
        }
    }

    fn describe(&self) -> String {
        match &self.task {
            Task::Send { value, .. } => format!("send #{} of value #{value}", self.id),
            Task::Recv { .. } => format!("recv #{}", self.id),
        }
    }

    fn poll(&mut self) -> Outcome {
        match &mut self.task {
            Task::Send { task, .. } => send_outcome(task.poll()),
            Task::Recv { task } => recv_outcome(task.poll()),
        }
    }
}

fn send_outcome(poll: Poll<Result<(), Tracked>>) -> Outcome {
    match poll {
        Poll::Pending => Outcome::Pending,
        Poll::Ready(Ok(())) => Outcome::Sent,
        Poll::Ready(Err(value)) => Outcome::Refused(value.into_id()),
    }
}

fn recv_outcome(poll: Poll<Option<Tracked>>) -> Outcome {
    match poll {
        Poll::Pending => Outcome::Pending,
        Poll::Ready(Some(value)) => Outcome::Received(value.into_id()),
        Poll::Ready(None) => Outcome::Ended,
    }
}

/// One case being run: the channel's handles and pending futures, the model, and what the
/// channel was seen to do.
struct Harness<C: ChannelUnderTest> {
    senders: Vec<C::Tx>,
    receivers: Vec<C::Rx>,
    pending: Vec<PendingFuture>,
    model: Model,
    log: DropLog,
    next_value: u32,
    next_id: u64,
    /// Values a send or try_send returned `Ok` for, and values received, in order.
    accepted: Vec<u32>,
    received: Vec<u32>,
    /// What panicked in the current step, and the wakers made to panic when woken.
    panicked: Panicked,
    panic_wakers: Vec<HostileWaker>,
}

impl<C: ChannelUnderTest> Harness<C> {
    fn new(capacity: usize, (tx, rx): (C::Tx, C::Rx)) -> Self {
        Harness {
            senders: vec![tx],
            receivers: vec![rx],
            pending: Vec::new(),
            model: Model::new(capacity),
            log: Rc::new(RefCell::new(Vec::new())),
            next_value: 0,
            next_id: 0,
            accepted: Vec::new(),
            received: Vec::new(),
            panicked: Panicked::default(),
            panic_wakers: Vec::new(),
        }
    }

    /// Wakes counted so far on the wakers that panic when woken.
    fn panicking_wakes(&self) -> usize {
        self.panic_wakers.iter().map(HostileWaker::wakes).sum()
    }

    /// One step: the operation, then the check that it panicked exactly when it woke a waker that
    /// panics (the panic reaches only the caller whose operation ran the wake), then the checks
    /// of the state it left.
    fn step(&mut self, op: Op, at: &str) -> Result<(), TestCaseError> {
        let wakes = self.panicking_wakes();
        self.panicked = Panicked::default();
        self.apply(op, at)?;
        let woke = self.panicking_wakes() > wakes;
        if self.panicked.wake.get() != woke {
            return Err(fail(
                at,
                format_args!(
                    "the operation {} although it woke {} waker that panics",
                    if self.panicked.wake.get() {
                        "panicked"
                    } else {
                        "returned"
                    },
                    if woke { "a" } else { "no" },
                ),
            ));
        }
        self.check(at)
    }

    /// An outcome lost to a panicking waker: what the operation had done is accounted for — a
    /// value it sent is in the channel, one it received or was given back is dropped by the
    /// unwinding caller.
    fn lost_to_panic(&mut self, expected: Outcome, value: Option<u32>) {
        match expected {
            Outcome::Sent => self.accepted.extend(value),
            Outcome::Received(v) | Outcome::Full(v) | Outcome::Refused(v) => {
                self.model.dropped_in_unwinding.push(v);
            }
            Outcome::Pending | Outcome::Empty | Outcome::Ended => {}
        }
    }

    fn fresh(&mut self) -> (u64, u32) {
        let ids = (self.next_id, self.next_value);
        self.next_id += 1;
        self.next_value += 1;
        ids
    }

    /// Compares an outcome with the model's, and records what the channel did.
    fn expect(
        &mut self,
        what: &str,
        expected: Outcome,
        got: Outcome,
        at: &str,
    ) -> Result<(), TestCaseError> {
        if expected != got {
            let hint = match (expected, got) {
                (Outcome::Received(_) | Outcome::Ended, Outcome::Received(_)) => {
                    " (values out of FIFO order, duplicated, or from nowhere)"
                }
                (Outcome::Received(_), _) => " (a value was lost or is stuck)",
                _ => "",
            };
            return Err(fail(
                at,
                format_args!(
                    "{WRONG_OUTCOME}: {what} gave {got:?}, the model says {expected:?}{hint}"
                ),
            ));
        }
        if let Outcome::Received(value) = got {
            self.received.push(value);
        }
        Ok(())
    }

    fn apply(&mut self, op: Op, at: &str) -> Result<(), TestCaseError> {
        match op {
            Op::TrySend => {
                if self.senders.is_empty() {
                    return Ok(());
                }
                let (id, value) = self.fresh();
                let tx = self.senders.last().expect("checked above");
                let tracked = Tracked::new(value, &self.log);
                let got = guard(&self.panicked, || match C::try_send(tx, tracked) {
                    Ok(()) => Outcome::Sent,
                    Err(TrySendError::Full(v)) => Outcome::Full(v.into_id()),
                    Err(TrySendError::Closed(v)) => Outcome::Refused(v.into_id()),
                });
                let expected = self.model.offer(id, value, false);
                let Some(got) = got else {
                    self.lost_to_panic(expected, Some(value));
                    return Ok(());
                };
                if got == Outcome::Sent {
                    self.accepted.push(value);
                }
                self.expect(&format!("try_send(#{value})"), expected, got, at)?;
            }
            Op::Send => return self.send(None, at),
            Op::SendHostile(how) if C::CONTAINS_USER_PANICS => return self.send(Some(how), at),
            Op::SendHostile(_) => return self.send(None, at),
            Op::TryRecv => {
                let Some(rx) = self.receivers.last() else {
                    return Ok(());
                };
                let got = guard(&self.panicked, || match C::try_recv(rx) {
                    Ok(v) => Outcome::Received(v.into_id()),
                    Err(TryRecvError::Empty) => Outcome::Empty,
                    Err(TryRecvError::Closed) => Outcome::Ended,
                });
                let expected = self.model.take(u64::MAX, false);
                let Some(got) = got else {
                    self.lost_to_panic(expected, None);
                    return Ok(());
                };
                self.expect("try_recv", expected, got, at)?;
            }
            Op::Recv => return self.recv(None, at),
            Op::RecvHostile(how) if C::CONTAINS_USER_PANICS => return self.recv(Some(how), at),
            Op::RecvHostile(_) => return self.recv(None, at),
            Op::Repoll(i) => {
                if !self.pending.is_empty() {
                    self.poll_pending(i % self.pending.len(), at)?;
                }
            }
            Op::CancelSend(i) => self.cancel(i, true),
            Op::CancelRecv(i) => self.cancel(i, false),
            Op::CloseFromSender => {
                if let Some(tx) = self.senders.last() {
                    match guard(&self.panicked, || C::close_from_sender(tx)) {
                        Some(got) => self.check_close(got, at)?,
                        None => drop(self.model.close()),
                    }
                }
            }
            Op::CloseFromReceiver => {
                if let Some(rx) = self.receivers.last() {
                    match guard(&self.panicked, || C::close_from_receiver(rx)) {
                        Some(got) => self.check_close(got, at)?,
                        None => drop(self.model.close()),
                    }
                }
            }
            Op::CloneSender => {
                if let Some(tx) = self.senders.last() {
                    let tx = tx.clone();
                    self.senders.push(tx);
                    self.model.add_sender();
                }
            }
            Op::CloneReceiver => {
                if let Some(rx) = self.receivers.last() {
                    let rx = rx.clone();
                    self.receivers.push(rx);
                    self.model.add_receiver();
                }
            }
            // The last handle's drop closes the channel and wakes its waiters; the others' drops
            // (during the unwinding, if that wake panics) wake no one.
            Op::DropAllSenders => {
                let senders = std::mem::take(&mut self.senders);
                let count = senders.len();
                guard(&self.panicked, || drop(senders));
                for _ in 0..count {
                    self.model.drop_sender();
                }
            }
            Op::DropAllReceivers => {
                let receivers = std::mem::take(&mut self.receivers);
                let count = receivers.len();
                guard(&self.panicked, || drop(receivers));
                for _ in 0..count {
                    self.model.drop_receiver();
                }
            }
        }
        Ok(())
    }

    /// `send` of a fresh value, polled once (with a hostile waker if `hostility` says so); kept
    /// while pending.
    fn send(&mut self, hostility: Option<Hostility>, at: &str) -> Result<(), TestCaseError> {
        if self.senders.is_empty() {
            return Ok(());
        }
        let (id, value) = self.fresh();
        let tx = self.senders.last().expect("checked above");
        let mut task = poller(C::send(tx, Tracked::new(value, &self.log)), hostility);
        let got = guard(&self.panicked, || send_outcome(task.poll()));
        let expected = self.model.offer(id, value, true);
        self.first_poll(
            id,
            Task::Send { value, task },
            got,
            expected,
            hostility,
            &format!("first poll of send #{id} (value #{value}, {hostility:?})"),
            at,
        )
    }

    /// `recv`, polled once (with a hostile waker if `hostility` says so); kept while pending.
    fn recv(&mut self, hostility: Option<Hostility>, at: &str) -> Result<(), TestCaseError> {
        if self.receivers.is_empty() {
            return Ok(());
        }
        let (id, _) = self.fresh();
        let rx = self.receivers.last().expect("checked above");
        let mut task = poller(C::recv(rx), hostility);
        let got = guard(&self.panicked, || recv_outcome(task.poll()));
        let expected = self.model.take(id, true);
        self.first_poll(
            id,
            Task::Recv { task },
            got,
            expected,
            hostility,
            &format!("first poll of recv #{id} ({hostility:?})"),
            at,
        )
    }

    /// Checks the first poll of a `send` or `recv` (`got` is `None` if it panicked) and keeps
    /// the future if it is pending.
    #[allow(clippy::too_many_arguments)]
    fn first_poll(
        &mut self,
        id: u64,
        task: Task,
        got: Option<Outcome>,
        expected: Outcome,
        hostility: Option<Hostility>,
        what: &str,
        at: &str,
    ) -> Result<(), TestCaseError> {
        let sent_value = match &task {
            Task::Send { value, .. } => Some(*value),
            Task::Recv { .. } => None,
        };
        // Only a future that has to wait stores (clones) its waker.
        let clone_panics =
            hostility == Some(Hostility::PanicOnClone) && expected == Outcome::Pending;
        if self.panicked.clone.get() != clone_panics {
            return Err(fail(
                at,
                format_args!(
                    "{what} {}, the model says it {}",
                    if clone_panics {
                        "did not panic"
                    } else {
                        "panicked in a waker's clone"
                    },
                    if clone_panics {
                        "waits (so it must store its waker)"
                    } else {
                        "does not wait"
                    },
                ),
            ));
        }
        let Some(got) = got else {
            // Dropped with the unwinding task: a future that could not store its waker leaves
            // the channel as it was (its value goes with it); one that completed and then woke
            // a waker that panics has done its work.
            guard(&self.panicked, || drop(task));
            if clone_panics {
                match sent_value {
                    Some(value) => self.model.cancel_send(id, value),
                    None => self.model.cancel_recv(id),
                }
            } else {
                self.lost_to_panic(expected, sent_value);
            }
            return Ok(());
        };
        match got {
            Outcome::Pending => {
                let waker = match &task {
                    Task::Send { task, .. } => task.panicking_waker(),
                    Task::Recv { task } => task.panicking_waker(),
                };
                self.panic_wakers.extend(waker.cloned());
                if sent_value.is_some() {
                    self.model.add_sender();
                } else {
                    self.model.add_receiver();
                }
                self.pending.push(PendingFuture { id, task });
            }
            Outcome::Sent => self.accepted.extend(sent_value),
            _ => {}
        }
        self.expect(what, expected, got, at)
    }

    fn check_close(&mut self, got: bool, at: &str) -> Result<(), TestCaseError> {
        let expected = self.model.close();
        if got != expected {
            return Err(fail(
                at,
                format_args!(
                    "{WRONG_OUTCOME}: close returned {got}, the model says {expected} (whether \
                     this call closed the channel)"
                ),
            ));
        }
        Ok(())
    }

    /// Drops the `i`-th pending future of one kind (modulo their number), with the handle clone
    /// it holds.
    fn cancel(&mut self, i: usize, send: bool) {
        let of_kind: Vec<usize> = (0..self.pending.len())
            .filter(|&k| self.pending[k].is_send() == send)
            .collect();
        if of_kind.is_empty() {
            return;
        }
        let future = self.pending.remove(of_kind[i % of_kind.len()]);
        let id = future.id;
        match future.task {
            Task::Send { value, task } => {
                guard(&self.panicked, || drop(task));
                self.model.cancel_send(id, value);
                self.model.drop_sender();
            }
            Task::Recv { task } => {
                guard(&self.panicked, || drop(task));
                self.model.cancel_recv(id);
                self.model.drop_receiver();
            }
        }
    }

    /// Polls `pending[k]` and checks the outcome; a completed future is dropped, with the handle
    /// clone it holds.
    fn poll_pending(&mut self, k: usize, at: &str) -> Result<(), TestCaseError> {
        let future = &mut self.pending[k];
        let (id, what) = (future.id, future.describe());
        let sent_value = match &future.task {
            Task::Send { value, .. } => Some(*value),
            Task::Recv { .. } => None,
        };
        let woken = future.is_woken();
        let got = guard(&self.panicked, || future.poll());
        let expected = match sent_value {
            Some(value) => self.model.poll_send(id, value),
            None => self.model.poll_recv(id),
        };
        let Some(got) = got else {
            // The poll completed (a waiting future's poll wakes no one) and woke a waiter whose
            // wake panicked. The future is spent: it is dropped with its handle clone.
            let future = self.pending.remove(k);
            guard(&self.panicked, || drop(future));
            self.lost_to_panic(expected, sent_value);
            if !woken {
                return Err(fail(
                    at,
                    format_args!("{LOST_WAKEUP}: {what} completed but its task was never woken"),
                ));
            }
            if sent_value.is_some() {
                self.model.drop_sender();
            } else {
                self.model.drop_receiver();
            }
            return Ok(());
        };
        match (expected == Outcome::Pending, got == Outcome::Pending) {
            (true, true) => return Ok(()),
            (true, false) => {
                return Err(fail(
                    at,
                    format_args!(
                        "{what} {OVERTAKEN} (gave {got:?}): it overtook an earlier waiter, or \
                         there was no room / no value for it"
                    ),
                ));
            }
            (false, true) if !woken => {
                return Err(fail(
                    at,
                    format_args!(
                        "{LOST_WAKEUP}: {what} can complete in the model ({expected:?}: let in, or \
                         closed out) but was never woken, and is still Pending when polled (its \
                         slot or value went to no one)"
                    ),
                ));
            }
            (false, true) => {
                return Err(fail(
                    at,
                    format_args!(
                        "{WRONG_OUTCOME}: {what} was woken but is still Pending, the model says \
                         {expected:?}"
                    ),
                ));
            }
            (false, false) => {}
        }
        let future = self.pending.remove(k);
        guard(&self.panicked, || drop(future));
        if got == Outcome::Sent {
            self.accepted.extend(sent_value);
        }
        if !woken {
            return Err(fail(
                at,
                format_args!(
                    "{LOST_WAKEUP}: {what} completed with {got:?} but its task was never woken"
                ),
            ));
        }
        self.expect(&what, expected, got, at)?;
        if sent_value.is_some() {
            self.model.drop_sender();
        } else {
            self.model.drop_receiver();
        }
        Ok(())
    }

    /// The checks run after every operation.
    fn check(&mut self, at: &str) -> Result<(), TestCaseError> {
        let mut dropped = self.log.borrow().clone();
        dropped.sort_unstable();
        let mut expected: Vec<u32> = self
            .model
            .drained
            .iter()
            .chain(&self.model.dropped_unsent)
            .chain(&self.model.dropped_in_unwinding)
            .copied()
            .collect();
        expected.sort_unstable();
        if dropped != expected {
            let extra: Vec<_> = dropped.iter().filter(|v| !expected.contains(v)).collect();
            let missing: Vec<_> = expected.iter().filter(|v| !dropped.contains(v)).collect();
            return Err(fail(
                at,
                format_args!(
                    "{UNEXPECTED_DROP}: dropped {extra:?} that the model still has (queued, \
                     promised to a receiver, or in a live send), and kept {missing:?} that it \
                     says are gone (queue drained with the last receiver / cancelled send). \
                     Model: {:?}",
                    self.model
                ),
            ));
        }

        let expected = (self.model.queue.len(), self.model.closed);
        let views = self
            .senders
            .first()
            .map(|tx| ("sender", C::sender_view(tx)))
            .into_iter()
            .chain(
                self.receivers
                    .first()
                    .map(|rx| ("receiver", C::receiver_view(rx))),
            );
        for (side, got) in views {
            if got != expected {
                return Err(fail(
                    at,
                    format_args!(
                        "{WRONG_STATE}: the {side} sees (len, closed) = {got:?}, the model says \
                         {expected:?}"
                    ),
                ));
            }
        }

        let mut k = 0;
        while k < self.pending.len() {
            let before = self.pending.len();
            if self.model.is_waiting(self.pending[k].id) {
                // Still queued in the model: it must stay pending (this also re-registers the
                // waker, as an executor would).
                self.poll_pending(k, at)?;
            } else if !self.pending[k].is_woken() {
                // Let in or closed out: it must have been woken. Polling it tells a lost wakeup
                // (it is ready) from a missing hand-over (it is not); both fail.
                self.poll_pending(k, at)?;
                unreachable!("poll_pending accepts no unwoken future that the model lets complete");
            }
            if self.pending.len() == before {
                k += 1;
            }
        }
        Ok(())
    }

    /// The final ledger: every accepted value was received exactly once, or dropped because every
    /// receiver was dropped; nothing else was received.
    fn check_ledger(&self) -> Result<(), TestCaseError> {
        let dropped = self.log.borrow();
        let mut accepted = self.accepted.clone();
        accepted.sort_unstable();
        let mut delivered: Vec<u32> = self.received.clone();
        delivered.extend(dropped.iter().filter(|&v| self.accepted.contains(v)));
        delivered.sort_unstable();
        if accepted != delivered {
            return Err(fail(
                "at the end",
                format_args!(
                    "{LEDGER}: accepted {accepted:?}, but received {:?} and drained {:?}",
                    self.received, self.model.drained
                ),
            ));
        }
        Ok(())
    }
}

/// Runs one case against `C` and the model; `Err` names the step and what disagreed.
fn check_against_model<C: ChannelUnderTest>(case: &Case) -> Result<(), TestCaseError> {
    support::hostile::quiet_hostile_panics();
    let handles = match (C::bounded(case.capacity), refused_capacity(case.capacity)) {
        (Ok(handles), None) => handles,
        (Err(got), Some(expected)) if got == expected => return Ok(()),
        (got, expected) => {
            return Err(fail(
                "bounded",
                format_args!(
                    "{WRONG_OUTCOME}: bounded({}) gave {:?}, the model says {}",
                    case.capacity,
                    got.map(drop),
                    expected.map_or("Ok".to_owned(), |error| format!("Err({error:?})"))
                ),
            ));
        }
    };
    let mut harness = Harness::<C>::new(case.capacity, handles);
    harness.check("initially")?;
    for (step, &op) in case.ops.iter().enumerate() {
        harness.step(op, &format!("step {step} ({op:?})"))?;
    }
    // Cancel every pending future, take what is left, then drop every handle, checking each step:
    // this exercises the hand-over of slots and promised values from cancelled futures.
    while let Some(future) = harness.pending.first() {
        let at = format!("final drain: cancel {}", future.describe());
        let op = if future.is_send() {
            Op::CancelSend(0)
        } else {
            Op::CancelRecv(0)
        };
        harness.step(op, &at)?;
    }
    while !harness.receivers.is_empty() && !harness.model.queue.is_empty() {
        harness.step(Op::TryRecv, "final drain: try_recv")?;
    }
    if !harness.receivers.is_empty() {
        // Nothing left: the channel must say so (`Empty` if open, `Closed` if closed).
        harness.step(Op::TryRecv, "final drain: try_recv on an empty channel")?;
    }
    harness.step(Op::DropAllSenders, "final drain: drop every sender")?;
    harness.step(Op::DropAllReceivers, "final drain: drop every receiver")?;
    harness.check_ledger()
}

// ---------------------------------------------------------------------------------------------
// Property
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_support::persisted("channel_model.txt"))]

    #[test]
    fn channel_matches_reference_queue(case in cases()) {
        check_against_model::<Shipped>(&case)?;
    }

    /// A second, lock-everything implementation passes too: the model checks the documented
    /// behaviour, not the shipped channel's internals.
    #[test]
    fn naive_channel_without_flaws_matches_reference_queue(case in cases()) {
        check_against_model::<Naive<NO_FLAW>>(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker rejects naive channels
// ---------------------------------------------------------------------------------------------

/// Cases the self-tests may try before giving up; each flaw is found well within this.
const HUNT_CASES: u32 = 2_000;

/// Runs the checker on `C` with a fixed seed and no persistence; returns the failure reason and
/// the minimal case, which must pass on the shipped channel.
fn hunt<C: ChannelUnderTest>(flaw: &str) -> (String, Case) {
    let start = Instant::now();
    let caught = proptest_support::hunt(flaw, HUNT_CASES, &cases(), check_against_model::<C>);
    let minimal = caught.minimal;
    if let Err(why) = check_against_model::<Shipped>(&minimal) {
        panic!("{flaw}: the minimal case {minimal:?} also fails the shipped channel: {why}");
    }
    println!(
        "{flaw}: caught after {} case(s), {:.2?} with shrinking; minimal case {minimal:?}\n  {}",
        caught.tried,
        start.elapsed(),
        caught.reason
    );
    (caught.reason, minimal)
}

#[test]
fn model_catches_recv_that_swallows_values() {
    let (reason, minimal) = hunt::<Naive<SWALLOWS_ON_CANCEL>>("SwallowsOnCancel");
    assert!(
        reason.contains(UNEXPECTED_DROP),
        "caught for an unexpected reason: {reason}"
    );
    // The cancel is a `CancelRecv` step or the final drain's.
    assert!(
        reason.contains("CancelRecv") || reason.contains("cancel recv"),
        "caught at a step that cancels no recv: {reason}"
    );
    assert!(
        minimal.ops.iter().any(|op| matches!(op, Op::Recv)),
        "the flaw needs a waiting recv: {minimal:?}"
    );
}

#[test]
fn model_catches_recv_cancel_that_loses_the_wakeup() {
    let (reason, minimal) = hunt::<Naive<LOSES_HAND_OVER_ON_CANCEL>>("LosesHandOverOnCancel");
    assert!(
        reason.contains(LOST_WAKEUP),
        "caught for an unexpected reason: {reason}"
    );
    let recvs = minimal
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Recv))
        .count();
    assert!(
        recvs >= 2,
        "the flaw needs a second waiting receiver: {minimal:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The naive channel: a RefCell'd VecDeque with FIFO waker lists, and an optional flaw
// ---------------------------------------------------------------------------------------------

/// No flaw: must pass the checker.
const NO_FLAW: u8 = 0;
/// A `recv` future dropped after a value was promised to it takes that value with it.
const SWALLOWS_ON_CANCEL: u8 = 1;
/// A `recv` future dropped after a value was promised to it releases the promise but wakes no
/// one: the next waiting receiver sleeps while the value sits in the queue.
const LOSES_HAND_OVER_ON_CANCEL: u8 = 2;

/// Written the obvious way, everything under one lock, independently of the shipped channel.
struct Naive<const FLAW: u8>;

#[derive(Default)]
struct NaiveState {
    queue: VecDeque<Tracked>,
    capacity: usize,
    closed: bool,
    senders: usize,
    receivers: usize,
    /// Slots reserved for senders, values promised to receivers, not yet used.
    reserved_slots: usize,
    promised_values: usize,
    waiting_senders: VecDeque<(u64, Waker)>,
    waiting_receivers: VecDeque<(u64, Waker)>,
    /// Tickets of the waiters that were let in.
    let_in: HashSet<u64>,
    next_ticket: u64,
}

type Shared = Rc<RefCell<NaiveState>>;

impl NaiveState {
    fn room(&self) -> usize {
        self.capacity
            .saturating_sub(self.queue.len() + self.reserved_slots)
    }

    fn ready(&self) -> usize {
        self.queue.len().saturating_sub(self.promised_values)
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn wake_senders(&mut self) {
        while !self.closed && self.room() > 0 {
            let Some((ticket, waker)) = self.waiting_senders.pop_front() else {
                break;
            };
            self.reserved_slots += 1;
            self.let_in.insert(ticket);
            waker.wake();
        }
    }

    fn wake_receivers(&mut self) {
        while !self.closed && self.ready() > 0 {
            let Some((ticket, waker)) = self.waiting_receivers.pop_front() else {
                break;
            };
            self.promised_values += 1;
            self.let_in.insert(ticket);
            waker.wake();
        }
    }

    fn push(&mut self, value: Tracked) {
        self.queue.push_back(value);
        self.wake_receivers();
    }

    fn pop(&mut self) -> Option<Tracked> {
        let value = self.queue.pop_front();
        self.wake_senders();
        value
    }

    fn close(&mut self) -> bool {
        let was_open = !self.closed;
        self.closed = true;
        for (_, waker) in self.waiting_senders.drain(..) {
            waker.wake();
        }
        for (_, waker) in self.waiting_receivers.drain(..) {
            waker.wake();
        }
        was_open
    }

    fn update_waker(queue: &mut VecDeque<(u64, Waker)>, ticket: u64, waker: &Waker) {
        if let Some(entry) = queue.iter_mut().find(|(t, _)| *t == ticket) {
            entry.1 = waker.clone();
        }
    }
}

struct NaiveTx(Shared);
struct NaiveRx(Shared);

impl Clone for NaiveTx {
    fn clone(&self) -> Self {
        self.0.borrow_mut().senders += 1;
        NaiveTx(Rc::clone(&self.0))
    }
}

impl Clone for NaiveRx {
    fn clone(&self) -> Self {
        self.0.borrow_mut().receivers += 1;
        NaiveRx(Rc::clone(&self.0))
    }
}

impl Drop for NaiveTx {
    fn drop(&mut self) {
        let mut state = self.0.borrow_mut();
        state.senders -= 1;
        if state.senders == 0 {
            state.close();
        }
    }
}

impl Drop for NaiveRx {
    fn drop(&mut self) {
        let drained = {
            let mut state = self.0.borrow_mut();
            state.receivers -= 1;
            if state.receivers == 0 {
                state.close();
                std::mem::take(&mut state.queue)
            } else {
                VecDeque::new()
            }
        };
        drop(drained);
    }
}

struct NaiveSend {
    tx: NaiveTx,
    value: Option<Tracked>,
    ticket: Option<u64>,
}

impl Future for NaiveSend {
    type Output = Result<(), Tracked>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.tx.0.borrow_mut();
        if let Some(ticket) = this.ticket {
            if state.let_in.remove(&ticket) {
                state.reserved_slots -= 1;
                this.ticket = None;
                if state.closed {
                    return Poll::Ready(Err(this.value.take().expect("polled after completion")));
                }
                state.push(this.value.take().expect("polled after completion"));
                return Poll::Ready(Ok(()));
            }
            if state.closed {
                this.ticket = None;
                return Poll::Ready(Err(this.value.take().expect("polled after completion")));
            }
            NaiveState::update_waker(&mut state.waiting_senders, ticket, cx.waker());
            return Poll::Pending;
        }
        if state.closed {
            return Poll::Ready(Err(this.value.take().expect("polled after completion")));
        }
        if state.waiting_senders.is_empty() && state.room() > 0 {
            state.push(this.value.take().expect("polled after completion"));
            return Poll::Ready(Ok(()));
        }
        let ticket = state.ticket();
        state
            .waiting_senders
            .push_back((ticket, cx.waker().clone()));
        this.ticket = Some(ticket);
        Poll::Pending
    }
}

impl Drop for NaiveSend {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            let mut state = self.tx.0.borrow_mut();
            if state.let_in.remove(&ticket) {
                state.reserved_slots -= 1;
                state.wake_senders();
            } else {
                state.waiting_senders.retain(|(t, _)| *t != ticket);
            }
        }
    }
}

struct NaiveRecv<const FLAW: u8> {
    rx: NaiveRx,
    ticket: Option<u64>,
}

impl<const FLAW: u8> Future for NaiveRecv<FLAW> {
    type Output = Option<Tracked>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.rx.0.borrow_mut();
        if let Some(ticket) = this.ticket {
            if state.let_in.remove(&ticket) {
                state.promised_values -= 1;
                this.ticket = None;
                return Poll::Ready(state.pop());
            }
            if state.closed {
                this.ticket = None;
                return Poll::Ready(state.pop());
            }
            NaiveState::update_waker(&mut state.waiting_receivers, ticket, cx.waker());
            return Poll::Pending;
        }
        if state.closed || (state.waiting_receivers.is_empty() && state.ready() > 0) {
            return Poll::Ready(state.pop());
        }
        let ticket = state.ticket();
        state
            .waiting_receivers
            .push_back((ticket, cx.waker().clone()));
        this.ticket = Some(ticket);
        Poll::Pending
    }
}

impl<const FLAW: u8> Drop for NaiveRecv<FLAW> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let swallowed = {
            let mut state = self.rx.0.borrow_mut();
            if !state.let_in.remove(&ticket) {
                state.waiting_receivers.retain(|(t, _)| *t != ticket);
                return;
            }
            state.promised_values -= 1;
            match FLAW {
                // "That value was mine": take it with me.
                SWALLOWS_ON_CANCEL => state.pop(),
                // The promise is released, but no one else is told.
                LOSES_HAND_OVER_ON_CANCEL => None,
                _ => {
                    state.wake_receivers();
                    None
                }
            }
        };
        drop(swallowed);
    }
}

impl<const FLAW: u8> ChannelUnderTest for Naive<FLAW> {
    type Tx = NaiveTx;
    type Rx = NaiveRx;

    fn bounded(capacity: usize) -> Result<(Self::Tx, Self::Rx), CapacityError> {
        // The same documented refusals as the shipped channel.
        if let Some(refused) = refused_capacity(capacity) {
            return Err(refused);
        }
        let shared = Rc::new(RefCell::new(NaiveState {
            capacity,
            senders: 1,
            receivers: 1,
            ..NaiveState::default()
        }));
        Ok((NaiveTx(Rc::clone(&shared)), NaiveRx(shared)))
    }

    fn send(tx: &Self::Tx, value: Tracked) -> SendFuture {
        Box::pin(NaiveSend {
            tx: tx.clone(),
            value: Some(value),
            ticket: None,
        })
    }

    fn try_send(tx: &Self::Tx, value: Tracked) -> Result<(), TrySendError<Tracked>> {
        let mut state = tx.0.borrow_mut();
        if state.closed {
            return Err(TrySendError::Closed(value));
        }
        if !state.waiting_senders.is_empty() || state.room() == 0 {
            return Err(TrySendError::Full(value));
        }
        state.push(value);
        Ok(())
    }

    fn recv(rx: &Self::Rx) -> RecvFuture {
        Box::pin(NaiveRecv::<FLAW> {
            rx: rx.clone(),
            ticket: None,
        })
    }

    fn try_recv(rx: &Self::Rx) -> Result<Tracked, TryRecvError> {
        let mut state = rx.0.borrow_mut();
        if state.closed {
            return state.pop().ok_or(TryRecvError::Closed);
        }
        if !state.waiting_receivers.is_empty() || state.ready() == 0 {
            return Err(TryRecvError::Empty);
        }
        Ok(state.pop().expect("a ready value is queued"))
    }

    fn close_from_sender(tx: &Self::Tx) -> bool {
        tx.0.borrow_mut().close()
    }

    fn close_from_receiver(rx: &Self::Rx) -> bool {
        rx.0.borrow_mut().close()
    }

    fn sender_view(tx: &Self::Tx) -> (usize, bool) {
        let state = tx.0.borrow();
        (state.queue.len(), state.closed)
    }

    fn receiver_view(rx: &Self::Rx) -> (usize, bool) {
        let state = rx.0.borrow();
        (state.queue.len(), state.closed)
    }
}
