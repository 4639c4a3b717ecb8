//! Naive bounded MPMC channels of `u64`s: one lock around a queue and two waiter queues —
//! except for the one bug each variant has.
//!
//! The correct one hands a value straight to a waiting receiver (it is in that receiver's future
//! until polled, and goes back to the next receiver or the front of the queue if the future is
//! dropped), and lets waiting senders in FIFO by reserving a slot each: a sender's value enters
//! the channel when its future is next polled, so a dropped send delivers nothing and gives its
//! slot to the next sender. Closing (explicitly, or by dropping the last sender) wakes every
//! waiter: receivers get `None` once the queue is empty, waiting senders fail.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::BoxFuture;
use crate::channel::{ChannelUnderTest, Operations, TryRecvError, TrySendError};

/// Which bug a [`NaiveChannel`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checker must accept it.
    None,
    /// A value handed to a waiting receiver whose future is dropped before it polls again is
    /// dropped with it.
    LoseOnRecvCancel,
    /// The newest value is received first.
    Lifo,
    /// A waiting receiver is handed a value but its waker is never called.
    NeverWakesReceiver,
    /// A sender let in (given a slot) whose future is dropped before it polls again still
    /// delivers its value, as if the slot had committed it.
    DeliversCancelledSend,
    /// Closing fails the waiting receivers without waking them.
    CloseWakesNoReceiver,
    /// The channel holds one value more than its capacity.
    CapacityOffByOne,
    /// A re-poll keeps the first waker: a future moved to another task is never woken.
    StaleWaker,
}

/// A naive channel with the bug `BUG` (a [`Bug`] as a number: `Bug::X as u8`). It is only a
/// name for the [`ChannelUnderTest`] implementation; the handles are [`NaiveSender`] and
/// [`NaiveReceiver`].
#[derive(Debug)]
pub struct NaiveChannel<const BUG: u8>;

/// The correct naive channel.
pub type Correct = NaiveChannel<{ Bug::None as u8 }>;
/// Loses the value handed to a receiver dropped before it polls again.
pub type LoseOnRecvCancel = NaiveChannel<{ Bug::LoseOnRecvCancel as u8 }>;
/// Delivers the newest value first.
pub type Lifo = NaiveChannel<{ Bug::Lifo as u8 }>;
/// Never wakes a receiver it hands a value to.
pub type NeverWakesReceiver = NaiveChannel<{ Bug::NeverWakesReceiver as u8 }>;
/// Delivers the value of a send dropped after it was let in.
pub type DeliversCancelledSend = NaiveChannel<{ Bug::DeliversCancelledSend as u8 }>;
/// Does not wake the receivers it closes out.
pub type CloseWakesNoReceiver = NaiveChannel<{ Bug::CloseWakesNoReceiver as u8 }>;
/// Holds one value more than its capacity.
pub type CapacityOffByOne = NaiveChannel<{ Bug::CapacityOffByOne as u8 }>;
/// Keeps a waiter's first waker.
pub type StaleWaker = NaiveChannel<{ Bug::StaleWaker as u8 }>;

const fn is<const BUG: u8>(bug: Bug) -> bool {
    BUG == bug as u8
}

#[derive(Debug, Default)]
struct State {
    capacity: usize,
    queue: VecDeque<u64>,
    closed: bool,
    /// Sender handles alive: the channel closes when the last one goes.
    senders: usize,
    /// Slots reserved for senders let in and not yet polled.
    reserved: usize,
    recv_waiters: VecDeque<(u64, Waker)>,
    send_waiters: VecDeque<(u64, Waker)>,
    /// Receivers that left the queue: handed a value, or `None` (closed).
    handed: HashMap<u64, Option<u64>>,
    /// Senders let in (a slot reserved), not yet polled.
    let_in: HashSet<u64>,
    next_id: u64,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakers to call once the lock is released.
type Wake = Vec<Waker>;

impl State {
    fn room<const BUG: u8>(&self) -> bool {
        let limit = self.capacity + usize::from(is::<BUG>(Bug::CapacityOffByOne));
        self.queue.len() + self.reserved < limit
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Puts `value` in the channel: to the oldest waiting receiver, else at the back of the queue.
    fn deliver<const BUG: u8>(&mut self, value: u64, wake: &mut Wake) {
        match self.recv_waiters.pop_front() {
            Some((id, waker)) => {
                self.handed.insert(id, Some(value));
                if !is::<BUG>(Bug::NeverWakesReceiver) {
                    wake.push(waker);
                }
            }
            None => self.queue.push_back(value),
        }
    }

    /// Gives a value back (its receiver was dropped): to the oldest waiting receiver, else to the
    /// front of the queue.
    fn give_back<const BUG: u8>(&mut self, value: u64, wake: &mut Wake) {
        if self.recv_waiters.is_empty() {
            self.queue.push_front(value);
        } else {
            self.deliver::<BUG>(value, wake);
        }
    }

    fn take<const BUG: u8>(&mut self, wake: &mut Wake) -> Option<u64> {
        let value = if is::<BUG>(Bug::Lifo) {
            self.queue.pop_back()
        } else {
            self.queue.pop_front()
        }?;
        self.let_senders_in::<BUG>(wake);
        Some(value)
    }

    /// Reserves the free slots for the waiting senders, oldest first.
    fn let_senders_in<const BUG: u8>(&mut self, wake: &mut Wake) {
        while !self.closed && self.room::<BUG>() {
            let Some((id, waker)) = self.send_waiters.pop_front() else {
                break;
            };
            self.let_in.insert(id);
            self.reserved += 1;
            wake.push(waker);
        }
    }

    /// Whether a new send may go now: nobody waits ahead, and a receiver waits or there is room.
    fn may_send<const BUG: u8>(&self) -> bool {
        self.send_waiters.is_empty() && (!self.recv_waiters.is_empty() || self.room::<BUG>())
    }

    fn close<const BUG: u8>(&mut self, wake: &mut Wake) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        while let Some((id, waker)) = self.recv_waiters.pop_front() {
            self.handed.insert(id, None);
            if !is::<BUG>(Bug::CloseWakesNoReceiver) {
                wake.push(waker);
            }
        }
        wake.extend(self.send_waiters.drain(..).map(|(_, waker)| waker));
    }

    fn update_waker<const BUG: u8>(waiters: &mut VecDeque<(u64, Waker)>, id: u64, cx: &Context) {
        if is::<BUG>(Bug::StaleWaker) {
            return;
        }
        if let Some((_, waker)) = waiters.iter_mut().find(|(i, _)| *i == id) {
            waker.clone_from(cx.waker());
        }
    }
}

/// Runs `f` under the lock, then calls the wakers it collected.
fn with<R>(state: &Mutex<State>, f: impl FnOnce(&mut State, &mut Wake) -> R) -> R {
    let mut wake = Vec::new();
    let result = f(&mut lock(state), &mut wake);
    wake.into_iter().for_each(Waker::wake);
    result
}

/// The sending handle of a [`NaiveChannel`].
#[derive(Debug)]
pub struct NaiveSender<const BUG: u8> {
    state: Arc<Mutex<State>>,
}

impl<const BUG: u8> Clone for NaiveSender<BUG> {
    fn clone(&self) -> Self {
        lock(&self.state).senders += 1;
        NaiveSender {
            state: Arc::clone(&self.state),
        }
    }
}

impl<const BUG: u8> Drop for NaiveSender<BUG> {
    fn drop(&mut self) {
        with(&self.state, |s, wake| {
            s.senders -= 1;
            if s.senders == 0 {
                s.close::<BUG>(wake);
            }
        });
    }
}

/// The receiving handle of a [`NaiveChannel`].
#[derive(Debug, Clone)]
pub struct NaiveReceiver<const BUG: u8> {
    state: Arc<Mutex<State>>,
}

struct NaiveSend<const BUG: u8> {
    /// Keeps the channel open while the send is in flight.
    sender: NaiveSender<BUG>,
    value: u64,
    /// Its place among the waiting senders, once it waits.
    id: Option<u64>,
}

impl<const BUG: u8> Future for NaiveSend<BUG> {
    type Output = Result<(), u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (value, id) = (self.value, self.id);
        let (poll, waiting) = with(&self.sender.state, |s, wake| {
            let Some(id) = id else {
                if s.closed {
                    return (Poll::Ready(Err(value)), None);
                }
                if s.may_send::<BUG>() {
                    s.deliver::<BUG>(value, wake);
                    return (Poll::Ready(Ok(())), None);
                }
                let id = s.id();
                s.send_waiters.push_back((id, cx.waker().clone()));
                return (Poll::Pending, Some(id));
            };
            if s.let_in.remove(&id) {
                s.reserved -= 1;
                let result = if s.closed {
                    Err(value)
                } else {
                    s.deliver::<BUG>(value, wake);
                    Ok(())
                };
                // Handed to a receiver, the value freed its slot.
                s.let_senders_in::<BUG>(wake);
                return (Poll::Ready(result), None);
            }
            if s.closed {
                s.send_waiters.retain(|(i, _)| *i != id);
                return (Poll::Ready(Err(value)), None);
            }
            State::update_waker::<BUG>(&mut s.send_waiters, id, cx);
            (Poll::Pending, Some(id))
        });
        self.id = waiting;
        poll
    }
}

impl<const BUG: u8> Drop for NaiveSend<BUG> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let value = self.value;
        with(&self.sender.state, |s, wake| {
            if s.let_in.remove(&id) {
                s.reserved -= 1;
                if is::<BUG>(Bug::DeliversCancelledSend) && !s.closed {
                    s.deliver::<BUG>(value, wake);
                }
                s.let_senders_in::<BUG>(wake);
            } else {
                s.send_waiters.retain(|(i, _)| *i != id);
            }
        });
    }
}

struct NaiveRecv<const BUG: u8> {
    state: Arc<Mutex<State>>,
    /// Its place among the waiting receivers, once it waits.
    id: Option<u64>,
}

impl<const BUG: u8> Future for NaiveRecv<BUG> {
    type Output = Option<u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let (poll, waiting) = with(&self.state, |s, wake| {
            let Some(id) = id else {
                if let Some(value) = s.take::<BUG>(wake) {
                    return (Poll::Ready(Some(value)), None);
                }
                if s.closed {
                    return (Poll::Ready(None), None);
                }
                let id = s.id();
                s.recv_waiters.push_back((id, cx.waker().clone()));
                return (Poll::Pending, Some(id));
            };
            if let Some(outcome) = s.handed.remove(&id) {
                return (Poll::Ready(outcome), None);
            }
            State::update_waker::<BUG>(&mut s.recv_waiters, id, cx);
            (Poll::Pending, Some(id))
        });
        self.id = waiting;
        poll
    }
}

impl<const BUG: u8> Drop for NaiveRecv<BUG> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        with(&self.state, |s, wake| match s.handed.remove(&id) {
            Some(Some(value)) => {
                if !is::<BUG>(Bug::LoseOnRecvCancel) {
                    s.give_back::<BUG>(value, wake);
                }
            }
            Some(None) => {}
            None => s.recv_waiters.retain(|(i, _)| *i != id),
        });
    }
}

impl<const BUG: u8> ChannelUnderTest for NaiveChannel<BUG> {
    type Sender = NaiveSender<BUG>;
    type Receiver = NaiveReceiver<BUG>;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let state = Arc::new(Mutex::new(State {
            capacity,
            senders: 1,
            ..State::default()
        }));
        (
            NaiveSender {
                state: Arc::clone(&state),
            },
            NaiveReceiver { state },
        )
    }

    fn send(tx: &Self::Sender, value: u64) -> BoxFuture<Result<(), u64>> {
        Box::pin(NaiveSend {
            sender: tx.clone(),
            value,
            id: None,
        })
    }

    fn try_send(tx: &Self::Sender, value: u64) -> Result<(), TrySendError> {
        with(&tx.state, |s, wake| {
            if s.closed {
                Err(TrySendError::Closed(value))
            } else if s.may_send::<BUG>() {
                s.deliver::<BUG>(value, wake);
                Ok(())
            } else {
                Err(TrySendError::Full(value))
            }
        })
    }

    fn recv(rx: &Self::Receiver) -> BoxFuture<Option<u64>> {
        Box::pin(NaiveRecv::<BUG> {
            state: Arc::clone(&rx.state),
            id: None,
        })
    }

    fn try_recv(rx: &Self::Receiver) -> Result<u64, TryRecvError> {
        with(&rx.state, |s, wake| match s.take::<BUG>(wake) {
            Some(value) => Ok(value),
            None if s.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        })
    }

    fn clone_receiver(rx: &Self::Receiver) -> Self::Receiver {
        rx.clone()
    }

    fn close(tx: &Self::Sender) {
        with(&tx.state, |s, wake| s.close::<BUG>(wake));
    }

    fn operations() -> Operations {
        Operations {
            multi_receiver: true,
            close: true,
        }
    }
}
