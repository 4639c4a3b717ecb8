//! The state both ends share: the ring of values (`ring.rs`), and under one lock the two FIFO
//! queues of callers waiting for room and for a value.
//!
//! A send or a receive that need not wait touches no lock: it claims a slot in the ring, then
//! checks one rarely written word, `waiting`, for callers queued on the other side. Only a caller
//! that must wait takes the lock, to queue itself; whoever later frees a slot (a receiver) or
//! fills one (a sender) takes it too, to hand that slot to the head of the queue as a *promise*
//! (see `ring.rs`), and wakes it.
//!
//! The handshake that loses no wake-up: a caller about to wait sets its side's bit in `waiting`
//! (and `STOP` in its ring word, so that nobody overtakes it), issues a `SeqCst` fence, and then
//! looks at the ring once more; a caller that freed or filled a slot stores the slot's stamp,
//! issues a `SeqCst` fence, and then reads `waiting`. Of two such fences one comes first, so
//! either the waiter sees the slot or the other caller sees the waiter.
//!
//! Invariants, at every release of the lock:
//! - a side's queue is non-empty only while its bit in `waiting` and its `STOP` are set;
//! - no queued waiter could be promised a slot — except one a thread is still finishing, which
//!   that thread hands over once it has (the handshake above);
//! - a promise is owned by exactly one party: a granted waiter that has not used it yet, or a
//!   [`SendPermit`](super::SendPermit). A waiter dropped while holding one passes it to the next
//!   waiter, or withdraws it.
//!
//! Cancel safety follows: a value moves only when its sender or receiver claims a slot, never
//! on someone else's behalf, so a dropped `send` sent nothing and a dropped `recv` took nothing.

use std::task::{Poll, Waker};

use super::ring::{Padded, Ring, Side};
use super::turns::{NeedWaker, TurnQueue, WaitKey, WaitState};
use crate::loom::atomic::{AtomicUsize, Ordering, fence};
use crate::loom::{Mutex, MutexGuard, lock};
use crate::sync::WakeList;

/// `waiting`: senders are queued for room.
const SENDERS: usize = 1;
/// `waiting`: receivers are queued for a value.
const RECEIVERS: usize = 2;

fn flag(side: Side) -> usize {
    match side {
        Side::Send => SENDERS,
        Side::Recv => RECEIVERS,
    }
}

pub(super) struct Shared<T> {
    pub(super) ring: Ring<T>,
    /// Which sides have callers queued: read after every send and receive, written only when a
    /// queue becomes empty or not, so it stays in every core's cache.
    waiting: Padded<AtomicUsize>,
    queues: Mutex<Queues>,
    pub(super) capacity: usize,
    pub(super) senders: AtomicUsize,
    pub(super) receivers: AtomicUsize,
}

pub(super) struct Queues {
    senders: TurnQueue,
    receivers: TurnQueue,
}

impl Queues {
    pub(super) fn of(&mut self, side: Side) -> &mut TurnQueue {
        match side {
            Side::Send => &mut self.senders,
            Side::Recv => &mut self.receivers,
        }
    }
}

/// What a non-waiting send found.
pub(super) enum TrySend<T> {
    Sent,
    Full(T),
    Closed(T),
}

/// What a non-waiting receive found.
pub(super) enum TryRecv<T> {
    Value(T),
    Empty,
    /// Closed and drained.
    Closed,
}

/// What a waiter found when it took the lock.
pub(super) enum Turn {
    /// A slot is promised to it: claim it.
    Promised,
    /// Queued (or still queued): the caller holds the key to its place.
    Queued,
    /// The channel was closed while it waited.
    Closed,
}

impl<T> Shared<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Shared {
            ring: Ring::new(capacity),
            waiting: Padded(AtomicUsize::new(0)),
            queues: Mutex::new(Queues {
                senders: TurnQueue::new(),
                receivers: TurnQueue::new(),
            }),
            capacity,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Sends `value` if a slot is free now and no sender waits for one: no lock.
    #[inline]
    pub(super) fn try_send(&self, value: T) -> TrySend<T> {
        match self.ring.try_push(value) {
            Ok(()) => {
                self.filled_or_freed(Side::Recv);
                TrySend::Sent
            }
            Err(value) if self.ring.is_closed() => TrySend::Closed(value),
            Err(value) => TrySend::Full(value),
        }
    }

    /// Receives a value if one is ready now and no receiver waits ahead: no lock.
    #[inline]
    pub(super) fn try_recv(&self) -> TryRecv<T> {
        match self.ring.try_pop() {
            Some(value) => {
                self.filled_or_freed(Side::Send);
                TryRecv::Value(value)
            }
            None if self.ring.is_closed() => {
                self.drain_one().map_or(TryRecv::Closed, TryRecv::Value)
            }
            None => TryRecv::Empty,
        }
    }

    /// Receives from a closed channel: the next value left, or `None` once none is. Never called
    /// with the lock held.
    pub(super) fn drain_one(&self) -> Option<T> {
        if !self.ring.is_drained_side_closed() {
            // A close is half done (see `Ring::close`): its caller holds the lock until the
            // receivers' promises are void. Wait for it, rather than spin on the word.
            drop(lock(&self.queues));
        }
        self.ring.drain_one()
    }

    /// Sends into room promised to the caller. Refuses, giving the value back, if the channel is
    /// closed; the promise is then still the caller's.
    pub(super) fn push_promised(&self, value: T) -> Result<(), T> {
        self.ring.push_promised(value)?;
        self.filled_or_freed(Side::Recv);
        Ok(())
    }

    /// Receives the value promised to the caller, or, if the channel was closed since (which
    /// voids the promise), the next value left (`None` once none is).
    pub(super) fn pop_promised(&self) -> Option<T> {
        match self.ring.pop_promised() {
            Some(value) => {
                self.filled_or_freed(Side::Send);
                Some(value)
            }
            None => self.drain_one(),
        }
    }

    /// Takes room for one value if there is some now and no sender waits for room.
    pub(super) fn try_reserve(&self) -> Result<(), super::TryReserveError> {
        let queues = lock(&self.queues);
        if self.ring.is_closed() {
            Err(super::TryReserveError::Closed)
        } else if queues.senders.is_empty() && self.ring.promise(Side::Send) {
            Ok(())
        } else {
            Err(super::TryReserveError::Full)
        }
    }

    /// After this thread filled a slot (`side` = `Recv`: a value for the receivers) or freed one
    /// (`Send`: room for the senders): if callers of `side` are queued, hand it over. The fence
    /// is the second half of the handshake in the module docs.
    #[inline]
    fn filled_or_freed(&self, side: Side) {
        fence(Ordering::SeqCst);
        if self.waiting.0.load(Ordering::Relaxed) & flag(side) != 0 {
            self.grant_all(side);
        }
    }

    /// Promises ready slots of `side` to its queued callers, in order, and wakes them.
    #[cold]
    fn grant_all(&self, side: Side) {
        // One list for every batch: a waker that panics is raised only once all are granted.
        let mut wakers: WakeList = WakeList::new();
        loop {
            let mut queues = lock(&self.queues);
            let done = self.grant(&mut queues, side, &mut wakers);
            drop(queues);
            wakers.wake_all();
            if done {
                return;
            }
        }
    }

    /// Under the lock: promises ready slots of `side` to the head of its queue while both last;
    /// `false` if `wakers` filled up first (wake them and call again).
    fn grant<const N: usize>(
        &self,
        queues: &mut Queues,
        side: Side,
        wakers: &mut WakeList<N>,
    ) -> bool {
        let queue = queues.of(side);
        while !queue.is_empty() {
            if wakers.is_full() {
                return false;
            }
            if !self.ring.promise(side) {
                break;
            }
            let granted = queue.grant_one(wakers);
            debug_assert!(granted, "a queue that was not empty had no head");
        }
        self.update_mode(queues, side);
        true
    }

    /// Under the lock: once `side`'s queue is empty, its callers need not stop or be looked for.
    fn update_mode(&self, queues: &mut Queues, side: Side) {
        if queues.of(side).is_empty() && self.waiting.0.load(Ordering::Relaxed) & flag(side) != 0 {
            self.waiting.0.fetch_and(!flag(side), Ordering::Relaxed);
            self.ring.set_stopped(side, false);
        }
    }

    /// A caller of `side` that found nothing ready: queues it, unless a slot can be promised to
    /// it at once (it then claims the slot). The first half of the handshake in the module docs.
    pub(super) fn wait(&self, side: Side, waker: &Waker, key: &mut Option<WaitKey>) -> Turn {
        // Cloned before anything changes: a waker whose clone panics leaves the channel as it was.
        let waker = waker.clone();
        let mut queues = lock(&self.queues);
        // Closed: senders are refused, receivers drain without waiting in line.
        if self.ring.is_closed() {
            return Turn::Closed;
        }
        self.ring.set_stopped(side, true);
        self.waiting.0.fetch_or(flag(side), Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if queues.of(side).is_empty() && self.ring.promise(side) {
            self.update_mode(&mut queues, side);
            return Turn::Promised;
        }
        *key = Some(queues.of(side).enqueue(waker));
        Turn::Queued
    }

    /// A queued caller, polled again (a `reserve`: it only holds its promise).
    pub(super) fn poll_wait(&self, side: Side, key: &mut Option<WaitKey>, waker: &Waker) -> Turn {
        let mut spare = None;
        let (queues, state) = self.lock_and_poll(side, key, waker, &mut spare);
        drop(queues);
        match state {
            WaitState::Waiting => Turn::Queued,
            WaitState::Granted => Turn::Promised,
            WaitState::Closed => Turn::Closed,
        }
    }

    /// Takes the lock and polls the queued caller of `side` that `key` names; clears `key` once
    /// its place is freed (granted or closed), before anything can panic, so that a future that
    /// unwinds later never cancels a place that is gone. A waker is user code (its clone and its
    /// drop may panic or call back into the channel), so neither runs under the lock: a clone of
    /// `waker` is made with the lock released when the stored waker will not do, and the waker it
    /// replaces is left in `spare` — which the caller declares before the guard, so that it is
    /// dropped after it.
    fn lock_and_poll<'a>(
        &'a self,
        side: Side,
        key: &mut Option<WaitKey>,
        waker: &Waker,
        spare: &mut Option<Waker>,
    ) -> (MutexGuard<'a, Queues>, WaitState) {
        let queued = key.expect("polled a wait that is not queued");
        loop {
            let mut queues = lock(&self.queues);
            match queues.of(side).poll(queued, waker, spare) {
                Ok(state) => {
                    if state != WaitState::Waiting {
                        *key = None;
                    }
                    return (queues, state);
                }
                Err(NeedWaker) => {
                    drop(queues);
                    *spare = Some(waker.clone());
                }
            }
        }
    }

    /// A queued sender, polled again. Once granted, it sends `value` into its promised slot and
    /// hands the value to a queued receiver, all under the one lock it took to learn its turn
    /// (the lock shows the receivers' queue as it is: no handshake needed). `Err` gives the
    /// value back if the channel closed first. `value` is taken only when ready.
    pub(super) fn poll_queued_send(
        &self,
        key: &mut Option<WaitKey>,
        waker: &Waker,
        value: &mut Option<T>,
    ) -> Poll<Result<(), T>> {
        let mut wakers: WakeList<1> = WakeList::new();
        let mut spare = None;
        let (mut queues, state) = self.lock_and_poll(Side::Send, key, waker, &mut spare);
        if state == WaitState::Waiting {
            return Poll::Pending;
        }
        let value = value.take().expect("a send polled after it completed");
        let sent = if state == WaitState::Closed {
            Err(value)
        } else {
            self.ring.push_promised(value).inspect_err(|_| {
                // Promised before the close, claimed after it: a closed channel takes no more
                // values (receivers that saw it drained must never be wrong), so the room goes
                // back.
                self.pass_on_locked(&mut queues, Side::Send, &mut wakers);
            })
        };
        let done = sent.is_err() || self.grant(&mut queues, Side::Recv, &mut wakers);
        drop(queues);
        wakers.wake_all();
        if !done {
            self.grant_all(Side::Recv);
        }
        // A waker that panicked is raised here, while a value given back is still this frame's:
        // the unwinding drops it. Raised by the list's drop after the return value is made, it
        // would be leaked (Rust leaks a return value when a local's destructor panics).
        drop(wakers);
        Poll::Ready(sent)
    }

    /// A queued receiver, polled again. Once granted, it takes its promised value and hands the
    /// freed room to a queued sender under the one lock it took to learn its turn. If the
    /// channel closed first, it takes whatever is left instead (`None` once nothing is).
    pub(super) fn poll_queued_recv(
        &self,
        key: &mut Option<WaitKey>,
        waker: &Waker,
    ) -> Poll<Option<T>> {
        let mut wakers: WakeList<1> = WakeList::new();
        let mut spare = None;
        let (mut queues, state) = self.lock_and_poll(Side::Recv, key, waker, &mut spare);
        let value = match state {
            WaitState::Waiting => return Poll::Pending,
            WaitState::Closed => None,
            // `None` if a close voided the promise since.
            WaitState::Granted => self.ring.pop_promised(),
        };
        let done = value.is_none() || self.grant(&mut queues, Side::Send, &mut wakers);
        drop(queues);
        wakers.wake_all();
        if !done {
            self.grant_all(Side::Send);
        }
        let value = value.or_else(|| self.drain_one());
        // As in `poll_queued_send`: a waker's panic drops the value taken, never leaks it.
        drop(wakers);
        Poll::Ready(value)
    }

    /// A queued caller of `side` dropped before it saw its outcome: leaves the queue, passing on
    /// the promise it was granted, if any.
    pub(super) fn cancel(&self, side: Side, key: WaitKey) {
        let mut wakers: WakeList<1> = WakeList::new();
        let mut queues = lock(&self.queues);
        let (granted, waker) = queues.of(side).cancel(key);
        if granted {
            // Passing the promise on updates the mode too.
            self.pass_on_locked(&mut queues, side, &mut wakers);
        } else {
            self.update_mode(&mut queues, side);
        }
        drop(queues);
        // User code, with the lock released.
        drop(waker);
        wakers.wake_all();
    }

    /// A promise of `side` its owner will not use (a dropped [`SendPermit`](super::SendPermit),
    /// a granted send refused by a close): to the next waiter, or withdrawn.
    pub(super) fn pass_on(&self, side: Side) {
        let mut wakers: WakeList<1> = WakeList::new();
        let mut queues = lock(&self.queues);
        self.pass_on_locked(&mut queues, side, &mut wakers);
        drop(queues);
        wakers.wake_all();
    }

    fn pass_on_locked(&self, queues: &mut Queues, side: Side, wakers: &mut WakeList<1>) {
        // The promised slot stays ready whoever holds it: the head of the queue takes it as is.
        if !queues.of(side).grant_one(wakers) {
            self.ring.unpromise(side);
        }
        self.update_mode(queues, side);
    }

    /// Closes both directions; values already queued stay for the receivers, who from now on
    /// take them in any order, promised or not. Idempotent; returns whether this call closed
    /// it. Wakes every queued caller (in batches, outside the lock): senders are refused,
    /// receivers take what is left.
    pub(super) fn close(&self) -> bool {
        let mut was_open = None;
        // One list for every batch: a waker that panics is raised only once all are woken.
        let mut wakers: WakeList = WakeList::new();
        loop {
            let mut queues = lock(&self.queues);
            was_open.get_or_insert_with(|| !self.ring.is_closed());
            self.ring.close();
            let done = queues.senders.close(&mut wakers) && queues.receivers.close(&mut wakers);
            if done {
                self.update_mode(&mut queues, Side::Send);
                self.update_mode(&mut queues, Side::Recv);
            }
            drop(queues);
            wakers.wake_all();
            if done {
                return was_open.unwrap_or(false);
            }
        }
    }

    /// Closes and drops every queued value (the last receiver is gone). The values are dropped
    /// with no lock held: their `Drop` may run any code.
    pub(super) fn close_and_drain(&self) {
        // A waker that panics in the close, or a value whose drop panics, does not stop the
        // rest: every value is dropped, then the first panic is raised.
        let mut panics = crate::unwind::Panics::default();
        panics.run(|| {
            self.close();
        });
        while let Some(value) = self.drain_one() {
            panics.run(|| drop(value));
        }
        panics.resume();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    pub(super) fn len(&self) -> usize {
        self.ring.len()
    }

    /// Counts a new handle of one side.
    pub(super) fn clone_handle(count: &AtomicUsize) {
        count.fetch_add(1, Ordering::Relaxed);
    }

    /// Uncounts a handle; true if it was the last of its side.
    pub(super) fn drop_handle(count: &AtomicUsize) -> bool {
        count.fetch_sub(1, Ordering::AcqRel) == 1
    }
}
