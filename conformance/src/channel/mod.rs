//! Bounded channels: the adapter an implementation exposes, and the checker of its guarantees.
//!
//! The checker plays a few sender tasks and receiver tasks against one channel. Each task has at
//! most one operation in flight, as a task awaiting it would: `Send(i)` makes sender `i` send its
//! next value (or, if its last send still waits, polls that send again), `TrySend(i)` likewise
//! with `try_send`, `Recv(i)` and `TryRecv(i)` the same for receiver `i`; `PollAll` polls the
//! futures that were woken, oldest first, until none is (what an executor does);
//! `PollNewWaker(i)` polls a waiting future with a new waker (it moved to another task);
//! `CancelSend(i)` and `CancelRecv(i)` drop a task's waiting future; `Close` closes the channel —
//! with the implementation's `close` if it has one, else by dropping every sender handle and
//! every send future the checker holds. Every case ends with a close and a drain.
//!
//! Values are `u64`s that name their sender and their place in its sequence; a counterexample
//! writes them `s#n`, the `n`-th value of sender `s`. The checker needs no model of the
//! implementation's internals, and allows for every design it knows of: a value handed straight
//! to a waiting receiver (it is then in that receiver's future until polled, beyond the
//! capacity), a waiting sender's value taken into the queue before its future is polled again,
//! one queue for all receivers or a promise to each.
//!
//! # Example
//!
//! tokio's bounded `mpsc` channel, through its adapter (`adapters/tokio.rs`, a template for your
//! own). Its receiver is neither `Clone` nor usable from two tasks at once, so the checker runs one
//! receiver task (no [`Operations::multi_receiver`]); the adapter shares it behind a lock so that
//! each recv future can own a handle. Its senders have no `close`: the checker closes by dropping
//! them.
//!
//! ```
//! use async_patterns_conformance::adapters::tokio;
//! use async_patterns_conformance::{Config, channel};
//!
//! channel::check::<tokio::Mpsc>("tokio mpsc", &Config::quick()).assert_conforms();
//! ```

mod machine;

use machine::{Setup, Subject, run_checks};

use crate::verdict::{Claim, Report};
use crate::{BoxFuture, Config};

/// Why a `try_send` refused its value; the value comes back in either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// No room now.
    Full(u64),
    /// The channel is closed.
    Closed(u64),
}

/// Why a `try_recv` got no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value now.
    Empty,
    /// The channel is closed and every value sent has been received.
    Closed,
}

/// The optional operations an implementation has. The checker only generates those it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Operations {
    /// Several receivers at once ([`ChannelUnderTest::clone_receiver`]): a multi-consumer
    /// channel. Without it the checker runs one receiver task, whose recv futures never overlap.
    pub multi_receiver: bool,
    /// An explicit close ([`ChannelUnderTest::close`]). Without it the checker closes the channel
    /// by dropping every sender handle and every send future it holds.
    pub close: bool,
}

/// The smallest surface a bounded channel must expose to be checked.
///
/// Values are `u64`s, so that the checker can tag each with its sender and sequence number.
/// Futures are `'static` (clone a handle into them), so the checker can keep them across steps and
/// drop them at any point. The checker never makes an instance of `Self`: the functions take the
/// handles.
pub trait ChannelUnderTest: 'static {
    /// A sending handle; the checker clones it once per sender task.
    type Sender: Clone + Send + 'static;
    /// A receiving handle.
    type Receiver: Send + 'static;

    /// A channel that holds up to `capacity` values (1 to 3 in the checker's cases).
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);

    /// Sends `value`, waiting while the channel is full. `Err` gives the value back: the channel
    /// is (or became) closed.
    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>>;

    /// Sends `value` if it can without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the value.
    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError>;

    /// Receives a value, waiting while the channel is empty; `None` once it is closed and every
    /// value sent has been received.
    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>>;

    /// Receives a value if one is there now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError>;

    /// Another receiving handle on the same channel. Only called if
    /// [`Operations::multi_receiver`].
    fn clone_receiver(rx: &Self::Receiver) -> Self::Receiver {
        let _ = rx;
        unimplemented!("clone_receiver: not in this implementation's Operations")
    }

    /// Closes the channel: every later send fails, values already sent can still be received.
    /// Only called if [`Operations::close`].
    fn close(tx: &Self::Sender) {
        let _ = tx;
        unimplemented!("close: not in this implementation's Operations")
    }

    /// The optional operations it has. None, unless overridden.
    fn operations() -> Operations {
        Operations::default()
    }

    /// Whether its documentation promises `guarantee`. All, unless overridden.
    fn claim(guarantee: Guarantee) -> Claim {
        let _ = guarantee;
        Claim::Claimed
    }
}

/// What the channel checker checks, one row of the matrix each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Guarantee {
    /// Every value whose send completed is received exactly once by the end (after the close and
    /// the drain); nothing is received twice, nor anything whose send never happened or failed.
    NoLossNoDup,
    /// One sender's values are received in the order it sent them (checked with one receiver
    /// task).
    PerSenderFifo,
    /// Closing wakes every waiting receiver (and, with an explicit close, every waiting sender,
    /// whose send fails); later sends fail; the values sent before are still received, then recv
    /// says closed.
    CloseSemantics,
    /// A send future dropped before it completed never delivers its value (the promise tokio's
    /// `Sender::send` documents), and passes its turn on.
    SendCancelSafe,
    /// A recv future dropped before it completed loses no value, and passes its turn on.
    RecvCancelSafe,
    /// Once the woken futures are polled, no recv waits while a value is in the channel or a send
    /// waits, and no send waits while there is room: whoever can go on was woken.
    NoLostWakeup,
    /// A send or recv polled again with a new waker (moved to another task) is woken through the
    /// new one.
    NewWakerWoken,
    /// Never more values sent and not yet received than the capacity (plus one per waiting
    /// receiver, which a value may be handed to directly); `try_send` with room and no sender
    /// waiting succeeds.
    Capacity,
}

impl Guarantee {
    /// Every guarantee, in the matrix's order.
    pub const ALL: [Guarantee; 8] = [
        Guarantee::NoLossNoDup,
        Guarantee::PerSenderFifo,
        Guarantee::CloseSemantics,
        Guarantee::SendCancelSafe,
        Guarantee::RecvCancelSafe,
        Guarantee::NoLostWakeup,
        Guarantee::NewWakerWoken,
        Guarantee::Capacity,
    ];

    /// Its short name in the matrix.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::NoLossNoDup => "no_loss_no_dup",
            Guarantee::PerSenderFifo => "per_sender_fifo",
            Guarantee::CloseSemantics => "close_semantics",
            Guarantee::SendCancelSafe => "send_cancel_safe",
            Guarantee::RecvCancelSafe => "recv_cancel_safe",
            Guarantee::NoLostWakeup => "no_lost_wakeup",
            Guarantee::NewWakerWoken => "new_waker_woken",
            Guarantee::Capacity => "capacity",
        }
    }

    /// What it means, in a sentence.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Guarantee::NoLossNoDup => {
                "every value sent is received exactly once, and nothing that was not sent"
            }
            Guarantee::PerSenderFifo => {
                "one sender's values are received in the order it sent them"
            }
            Guarantee::CloseSemantics => {
                "close wakes the waiters, fails later sends; values sent before it are still \
                 received, then recv says closed"
            }
            Guarantee::SendCancelSafe => {
                "a send dropped before it completed never delivers its value, and passes its turn on"
            }
            Guarantee::RecvCancelSafe => {
                "a recv dropped before it completed loses no value, and passes its turn on"
            }
            Guarantee::NoLostWakeup => {
                "no recv waits beside a value or a waiting send, no send beside room: all were woken"
            }
            Guarantee::NewWakerWoken => {
                "a send or recv re-polled with a new waker is woken through it"
            }
            Guarantee::Capacity => {
                "at most capacity values held (plus one per waiting recv); try_send with room works"
            }
        }
    }
}

/// An implementation's handles for one case: one sender per sender task, one receiver per
/// receiver task.
struct Handles<C: ChannelUnderTest> {
    senders: Vec<C::Sender>,
    receivers: Vec<C::Receiver>,
}

impl<C: ChannelUnderTest> Handles<C> {
    fn new(setup: Setup) -> Self {
        let (tx, rx) = C::bounded(setup.capacity);
        let mut receivers = Vec::with_capacity(setup.receivers);
        for _ in 1..setup.receivers {
            receivers.push(C::clone_receiver(&rx));
        }
        receivers.insert(0, rx);
        let senders = vec![tx; setup.senders];
        Handles { senders, receivers }
    }
}

impl<C: ChannelUnderTest> Subject for Handles<C> {
    fn send(&self, sender: usize, value: u64) -> BoxFuture<Result<(), u64>> {
        C::send(&self.senders[sender], value)
    }

    fn try_send(&self, sender: usize, value: u64) -> Result<(), TrySendError> {
        C::try_send(&self.senders[sender], value)
    }

    fn recv(&self, receiver: usize) -> BoxFuture<Option<u64>> {
        C::recv(&self.receivers[receiver])
    }

    fn try_recv(&self, receiver: usize) -> Result<u64, TryRecvError> {
        C::try_recv(&self.receivers[receiver])
    }

    fn close(&self) {
        C::close(&self.senders[0]);
    }

    fn drop_senders(&mut self) {
        self.senders.clear();
    }
}

/// Checks every guarantee of the bounded channel `C`.
#[must_use]
pub fn check<C: ChannelUnderTest>(implementation: &str, config: &Config) -> Report {
    let findings = run_checks(
        C::operations(),
        &|setup| Box::new(Handles::<C>::new(setup)) as Box<dyn Subject>,
        config,
        &C::claim,
    );
    Report {
        pattern: "channel",
        implementation: implementation.to_string(),
        findings,
    }
}
