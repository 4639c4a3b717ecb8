//! The channel's values: a fixed ring of slots that senders fill and receivers empty without a
//! lock, and the promises that let the waiting paths (under the channel's lock, in `shared.rs`)
//! hand room and values out in FIFO order.
//!
//! # Slots and positions
//!
//! The ring is the bounded queue of D. Vyukov (as in crossbeam's `ArrayQueue`): each slot has a
//! *stamp* saying which position it is ready for. A position is `lap * one_lap + index` with
//! `index < capacity` and `one_lap` the power of two above `capacity`. The slot for position `p`
//! is free for a sender when its stamp is `p`, and holds the value for a receiver when its stamp
//! is `p + 1`; a sender that writes position `p` stores `p + 1`, and the receiver that empties it
//! stores the same index one lap on. A stamp is stored (`Release`) after the value is written or
//! read, and loaded (`Acquire`) before, so the value's accesses never overlap.
//!
//! # The two words
//!
//! Senders claim positions from the `tail` word and receivers from the `head` word, each by one
//! compare-and-swap. Besides the position, each word holds:
//!
//! - `held`: positions just past it that are *promised* — room handed to a sender that waited (or
//!   reserved), values handed to a receiver that waited. The promised slots were each seen free
//!   (tail) or full (head) when promised, and stay so: only a claim at the word's position changes
//!   a slot. A claim without a promise checks the slot at `position + held` and leaves the
//!   promised ones to their owners; a claim with one (`push_promised`, `pop_promised`) takes the
//!   position and one promise in the same swap, keeping `position + held` where it was.
//! - `STOP`: callers wait in the channel's queue for this side, so a claim without a promise must
//!   not overtake them — it goes to the slow path and queues behind them.
//! - `CLOSED` (tail only): no position is claimed any more, promised or not.
//!
//! Nothing here blocks or spins: a claim that finds its slot not ready (a value still being
//! written or read by another thread) reports "full" or "empty", and its caller waits in the
//! queue; the thread finishing that slot then checks for waiters (`shared.rs` has the handshake).
//!
//! # Bounds
//!
//! Positions have 40 bits and `held` 22, so a capacity is at most [`MAX_CAPACITY`]. A word can
//! return to a value it had (letting a stalled compare-and-swap succeed on a stale reading) only
//! after about 2^39 claims: about an hour and a half of claims at 10 ns each, all while one thread
//! sits between its load and its swap.

use std::mem::MaybeUninit;

use crate::loom::UnsafeCell;
use crate::loom::atomic::{AtomicU64, Ordering};

/// The largest capacity: every slot is allocated up front (`capacity * (size_of::<T>() + 8)`
/// bytes), and `held` must count up to it.
pub const MAX_CAPACITY: usize = 1 << 20;

/// Callers wait for this side in the channel's queue: only promised claims go ahead.
const STOP: u64 = 1 << 63;
/// The channel is closed: no more values go in (tail), receivers drain (head).
const CLOSED: u64 = 1 << 62;
const HELD_SHIFT: u32 = 40;
const HELD_ONE: u64 = 1 << HELD_SHIFT;
const POS_MASK: u64 = HELD_ONE - 1;
const HELD_MASK: u64 = !(STOP | CLOSED | POS_MASK);

fn pos(word: u64) -> u64 {
    word & POS_MASK
}

fn held(word: u64) -> u64 {
    (word & HELD_MASK) >> HELD_SHIFT
}

/// Pads a word to its own cache line pair, so that senders and receivers do not invalidate each
/// other's lines (128 bytes: adjacent-line prefetch pulls lines in pairs on x86).
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

struct Slot<T> {
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A side of the ring: the senders' (`tail`) or the receivers' (`head`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Send,
    Recv,
}

pub(super) struct Ring<T> {
    tail: Padded<AtomicU64>,
    head: Padded<AtomicU64>,
    slots: Box<[Slot<T>]>,
    capacity: u64,
    one_lap: u64,
}

// The ring owns its values and moves them between threads (so `T: Send`); a value is accessed by
// one thread at a time, the one whose claim (or promise) the slot's stamp says owns it, with the
// stamp's Release/Acquire ordering at each hand-over. No `&T` is ever shared, so `Sync` needs no
// `T: Sync`.
// SAFETY: as explained just above: values move between threads only with their slot's hand-over.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: shared access touches a value only through a claimed slot, one thread at a time.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// `capacity` is in `1..=MAX_CAPACITY` (checked by `bounded`).
    pub(super) fn new(capacity: usize) -> Self {
        debug_assert!((1..=MAX_CAPACITY).contains(&capacity));
        let one_lap = (capacity as u64 + 1).next_power_of_two();
        Ring {
            tail: Padded(AtomicU64::new(0)),
            head: Padded(AtomicU64::new(0)),
            slots: (0..capacity as u64)
                .map(|index| Slot {
                    stamp: AtomicU64::new(index),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            capacity: capacity as u64,
            one_lap,
        }
    }

    fn word(&self, side: Side) -> &AtomicU64 {
        match side {
            Side::Send => &self.tail.0,
            Side::Recv => &self.head.0,
        }
    }

    /// The position `k <= capacity` places after `p`.
    #[inline]
    fn advance(&self, p: u64, k: u64) -> u64 {
        let index = p & (self.one_lap - 1);
        if index + k < self.capacity {
            return p + k;
        }
        let lap = p - index;
        let (laps, index) = ((index + k) / self.capacity, (index + k) % self.capacity);
        lap.wrapping_add(laps * self.one_lap).wrapping_add(index) & POS_MASK
    }

    #[inline]
    fn slot(&self, p: u64) -> &Slot<T> {
        // `one_lap - 1` masks a position to its index, below `capacity`.
        &self.slots[(p & (self.one_lap - 1)) as usize]
    }

    /// Whether the slot for position `p` is ready for `side`: free for a sender, full for a
    /// receiver.
    #[inline]
    fn ready(&self, side: Side, p: u64) -> bool {
        let stamp = self.slot(p).stamp.load(Ordering::Acquire);
        match side {
            Side::Send => stamp == p,
            Side::Recv => stamp == p + 1,
        }
    }

    /// Claims a position for `side` without a promise: none while `STOP` or `CLOSED` is set or
    /// the slot past the promised ones is not ready. Returns the position claimed.
    #[inline]
    fn claim(&self, side: Side) -> Option<u64> {
        let word = self.word(side);
        let mut w = word.load(Ordering::Acquire);
        loop {
            if w & (STOP | CLOSED) != 0 {
                return None;
            }
            let p = pos(w);
            if self.ready(side, self.advance(p, held(w))) {
                let next = (w & !POS_MASK) | self.advance(p, 1);
                match word.compare_exchange_weak(w, next, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return Some(p),
                    Err(now) => w = now,
                }
            } else {
                // Full or empty — or our reading of the word is stale: retry only if it moved.
                let now = word.load(Ordering::Acquire);
                if now == w {
                    return None;
                }
                w = now;
            }
        }
    }

    /// Claims a position for `side` with one of its promises. `None` if the channel was closed:
    /// a sender keeps its promise (and gives it back); a receiver's was voided by the close.
    fn claim_promised(&self, side: Side) -> Option<u64> {
        let word = self.word(side);
        let mut w = word.load(Ordering::Acquire);
        loop {
            if w & CLOSED != 0 {
                return None;
            }
            debug_assert!(held(w) > 0, "claimed a promise never made");
            let next = ((w - HELD_ONE) & !POS_MASK) | self.advance(pos(w), 1);
            match word.compare_exchange_weak(w, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(pos(w)),
                Err(now) => w = now,
            }
        }
    }

    /// Writes `value` into position `p`, claimed by this thread.
    fn write(&self, p: u64, value: T) {
        let slot = self.slot(p);
        // A claim hands out each position once, and only when its slot is free for it: a second
        // claim of one position (two parties acting on one promise) shows here, before the write.
        debug_assert_eq!(
            slot.stamp.load(Ordering::Relaxed),
            p,
            "claimed a slot that is not free for position {p}"
        );
        // SAFETY: the claim of `p` found its slot free (stamp `p`, loaded with Acquire after the
        // receiver of the lap before stored it), directly or through the promise that covers it,
        // and no other claim gets `p`: the slot is ours until the stamp below hands it on.
        slot.value.with_mut(|cell| unsafe { (*cell).write(value) });
        slot.stamp.store(p + 1, Ordering::Release);
    }

    /// Takes the value out of position `p`, claimed by this thread.
    fn read(&self, p: u64) -> T {
        let slot = self.slot(p);
        // As in `write`: a claimed slot holds the value for its position, or the read would
        // duplicate a value (or read an unwritten slot).
        debug_assert_eq!(
            slot.stamp.load(Ordering::Relaxed),
            p + 1,
            "claimed a slot that holds no value for position {p}"
        );
        let value = &slot.value;
        // SAFETY: the claim of `p` found its slot full (stamp `p + 1`, stored after the write),
        // directly or through the promise that covers it; only this claim reads it, once.
        let value = value.with(|cell| unsafe { (*cell).assume_init_read() });
        slot.stamp
            .store((p + self.one_lap) & POS_MASK, Ordering::Release);
        value
    }

    /// Sends without a promise: `Err` (value back) if senders are queued, the channel is closed,
    /// or there is no free slot past the promised ones.
    #[inline]
    pub(super) fn try_push(&self, value: T) -> Result<(), T> {
        self.write_claimed(self.claim(Side::Send), value)
    }

    /// Sends into promised room. `Err` (value back, promise kept) if the channel is closed.
    pub(super) fn push_promised(&self, value: T) -> Result<(), T> {
        self.write_claimed(self.claim_promised(Side::Send), value)
    }

    /// Writes `value` at the position claimed, if a claim succeeded; else gives it back.
    #[inline]
    fn write_claimed(&self, claimed: Option<u64>, value: T) -> Result<(), T> {
        match claimed {
            Some(p) => {
                self.write(p, value);
                Ok(())
            }
            None => Err(value),
        }
    }

    /// Receives without a promise: `None` if receivers are queued or no value is ready past the
    /// promised ones.
    #[inline]
    pub(super) fn try_pop(&self) -> Option<T> {
        self.claim(Side::Recv).map(|p| self.read(p))
    }

    /// Receives a promised value; `None` if the channel was closed since (which voids the
    /// receivers' promises: see [`close`](Self::close)).
    pub(super) fn pop_promised(&self) -> Option<T> {
        self.claim_promised(Side::Recv).map(|p| self.read(p))
    }

    /// Receives from a closed channel, where receivers take what is left in any order of
    /// arrival, promised or not: the next value, or `None` once none is left. A value whose
    /// sender claimed its slot before the close may still be being written: that takes the
    /// sender a few instructions, and this waits for them, yielding the thread.
    ///
    /// Only once the close is complete ([`is_drained_side_closed`](Self::is_drained_side_closed)):
    /// before that a receiver may still be claiming a promised value, which this would take too.
    pub(super) fn drain_one(&self) -> Option<T> {
        debug_assert!(
            self.is_drained_side_closed(),
            "drain_one before the close voided the receivers' promises"
        );
        let mut w = self.head.0.load(Ordering::Acquire);
        loop {
            let p = pos(w);
            // Closing froze the tail.
            if p == pos(self.tail.0.load(Ordering::Acquire)) {
                return None;
            }
            if self.ready(Side::Recv, p) {
                let next = (w & !POS_MASK) | self.advance(p, 1);
                match self.head.0.compare_exchange_weak(
                    w,
                    next,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Some(self.read(p)),
                    Err(now) => w = now,
                }
                continue;
            }
            let now = self.head.0.load(Ordering::Acquire);
            if now == w {
                // Still being written.
                crate::loom::thread::yield_now();
            }
            w = now;
        }
    }

    /// Promises the next ready slot of `side` (room to a sender, a value to a receiver), if there
    /// is one. Under the channel's lock (promises are made only there).
    pub(super) fn promise(&self, side: Side) -> bool {
        let word = self.word(side);
        let mut w = word.load(Ordering::Acquire);
        loop {
            if self.is_closed() || !self.ready(side, self.advance(pos(w), held(w))) {
                return false;
            }
            // A swap, not an add: a claim without a promise may have moved the position since
            // the check, and the slot checked would then already be counted.
            match word.compare_exchange(w, w + HELD_ONE, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => w = now,
            }
        }
    }

    /// Withdraws a promise nobody will use (its slot stays ready, for anyone). A receiver's
    /// promise may already be void (the channel closed).
    pub(super) fn unpromise(&self, side: Side) {
        let word = self.word(side);
        let mut w = word.load(Ordering::Acquire);
        loop {
            if side == Side::Recv && w & CLOSED != 0 {
                return;
            }
            debug_assert!(held(w) > 0, "withdrew a promise never made");
            match word.compare_exchange_weak(w, w - HELD_ONE, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// Sets or clears `STOP` for `side`. Under the channel's lock.
    pub(super) fn set_stopped(&self, side: Side, stopped: bool) {
        let word = self.word(side);
        if stopped {
            word.fetch_or(STOP, Ordering::AcqRel);
        } else {
            word.fetch_and(!STOP, Ordering::AcqRel);
        }
    }

    /// Closes the channel: no sender's claim succeeds from now on, and the receivers' promises
    /// are void — receivers then take what is left in any order ([`drain_one`](Self::drain_one)).
    /// Under the channel's lock.
    ///
    /// Two steps, the senders' word first (which freezes the tail a drain stops at), then the
    /// receivers'. Between them a receiver may still claim a value promised to it, so nobody
    /// drains until the second step is done: a receiver that sees the first step only waits for
    /// the lock, which the closer holds across both.
    pub(super) fn close(&self) {
        self.tail.0.fetch_or(CLOSED, Ordering::AcqRel);
        // In one swap: a receiver that finds its promise gone finds `CLOSED` with it.
        let mut w = self.head.0.load(Ordering::Acquire);
        while let Err(now) = self.head.0.compare_exchange_weak(
            w,
            (w & !HELD_MASK) | CLOSED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            w = now;
        }
    }

    /// Whether the channel is closed to senders: the first step of [`close`](Self::close).
    pub(super) fn is_closed(&self) -> bool {
        self.tail.0.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Whether the close is complete: the receivers' word is closed too, so no promise can be
    /// claimed any more and [`drain_one`](Self::drain_one) may take any value.
    pub(super) fn is_drained_side_closed(&self) -> bool {
        self.head.0.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Positions claimed by senders and not yet by receivers: the values queued (including ones
    /// still being written or read).
    pub(super) fn len(&self) -> usize {
        let head = pos(self.head.0.load(Ordering::Acquire));
        let tail = pos(self.tail.0.load(Ordering::Acquire));
        let shift = self.one_lap.trailing_zeros();
        let laps = (tail >> shift).wrapping_sub(head >> shift) & (POS_MASK >> shift);
        let index = |p: u64| p & (self.one_lap - 1);
        let len = (laps * self.capacity + index(tail)).wrapping_sub(index(head));
        // A torn pair of readings (the head read before a pop, the tail after more pushes) can
        // overshoot; the channel never holds more than its capacity.
        usize::try_from(len.min(self.capacity)).unwrap_or(usize::MAX)
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Nobody else is left: every claimed value has been written. Drop the ones not received
        // (all of them even if one's `Drop` panics; the first panic is raised after).
        let values = std::iter::from_fn(|| {
            let p = pos(self.head.0.load(Ordering::Acquire));
            if p == pos(self.tail.0.load(Ordering::Acquire)) {
                return None;
            }
            self.head.0.store(self.advance(p, 1), Ordering::Release);
            Some(self.read(p))
        });
        crate::unwind::for_each_then_resume(values, drop);
    }
}
