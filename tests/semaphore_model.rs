#![cfg(not(any(loom, shuttle)))]
//! State-machine test of the semaphore against a small sequential model of a fair FIFO semaphore,
//! and self-tests showing that the same checker rejects the naive semaphores of the bug zoo.
//!
//! # What is checked
//!
//! A case is a number of initial permits and up to 40 operations: `acquire_many(n)`
//! (the future is polled once and kept while pending), `try_acquire_many(n)`, re-polling a pending
//! acquire, cancelling (dropping) one, dropping or forgetting a held permit, `add_permits`,
//! `forget_permits` and `close`. Counts are mostly small (initial permits 0..=4, requests 0..=3,
//! amounts added or forgotten 0..=3), but about one draw in six (one in eight for requests) is an
//! edge: 0, 1, `MAX_PERMITS - 1` or `MAX_PERMITS` for the initial permits; 0, 1, `u32::MAX - 1` or
//! `u32::MAX` for a request; and for an amount added or forgotten also `usize::MAX - 1` and
//! `usize::MAX`. The model, written here independently of the library, says what each operation
//! must do:
//!
//! - permits are granted in FIFO order; released permits go to the head of the queue until it has
//!   all it asked for, then to the next waiter, and only the rest becomes available (so
//!   `available_permits` does not count permits assigned to a head that still waits);
//! - `try_acquire_many(n)` fails with `NoPermits` while anyone is queued or too few are available,
//!   with `Closed` after `close`; requests for 0 permits succeed at once unless closed (tokio's
//!   behaviour);
//! - `close` fails every queued waiter and makes the permits assigned to them available;
//! - dropping an acquire future gives back whatever was assigned to it: a partial assignment
//!   at the head, or the whole grant when it was granted but had not yet been polled to `Ready`;
//! - `forget_permits(n)` removes `min(n, available)`;
//! - `add_permits(n)` panics (documented) when the available permits would exceed `MAX_PERMITS`,
//!   and then changes nothing. Permits given back may leave more than `MAX_PERMITS` available
//!   (by at most those held when the maximum was reached; not documented, but the only way to
//!   lose none): then any `add_permits(n > 0)` panics. The naive semaphores enforce no maximum,
//!   so for them the checker skips such an `add_permits`.
//!
//! After every operation the checker compares `available_permits()` with the model and looks at
//! every pending acquire: one the model still queues must poll `Pending` (else FIFO order was
//! broken); one the model has granted or closed out must have been woken (else a wakeup was lost)
//! and must poll `Ready(Ok)` / `Ready(Err)`. Granted futures are deliberately left unpolled until a
//! `Repoll` or `Cancel` operation reaches them, so "granted, then dropped before it saw the grant"
//! is exercised. At the end every future is cancelled and every permit dropped, one at a time and
//! checked, and the permits available must equal initial + added − forgotten.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test semaphore_model` runs 256 cases per property; set `PROPTEST_CASES` for more
//! (e.g. `PROPTEST_CASES=100000`). On failure proptest prints the minimal failing case (the
//! operations, with the step that failed and why in the message) and saves its seed in
//! `proptest-regressions/semaphore_model.txt`; every later run replays the saved seeds first, so
//! rerunning the same command reproduces the failure. Commit that file with the fix.
//!
//! The self-tests (`model_catches_*`) run the checker on the naive semaphores with a fixed seed and
//! no persistence, and fail unless the checker rejects them with a case that a correct semaphore
//! passes; `--nocapture` shows each minimal case.
//!
//! Not covered here: concurrency (loom's tier), and a future moving between tasks — each acquire
//! is polled by one mock task whose waker never changes, so a stale stored waker goes unnoticed.

mod support;

use std::any::TypeId;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll};

use async_patterns::sync::{Semaphore, TryAcquireError};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio_test::task::spawn;

use support::hostile::{Event, HostileWaker};
use support::naive_semaphore::{Correct, LeakOnCancelAfterGrant, Lifo, LostWakeup};
use support::poller::Poller;
use support::proptest_support;
use support::semaphore_under_test::{AcquireFuture, Closed, SemaphoreUnderTest};

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One operation. Indices pick among the live futures / permits modulo their number (and do
/// nothing when there are none), so every generated sequence is valid and shrinks freely.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `acquire_many(n)`, polled once; kept if pending.
    Acquire(u32),
    TryAcquire(u32),
    /// Poll a pending acquire.
    Repoll(usize),
    /// Drop a pending acquire.
    Cancel(usize),
    DropPermit(usize),
    ForgetPermit(usize),
    AddPermits(usize),
    ForgetPermits(usize),
    Close,
    /// `acquire_many(n)` polled once with a hostile waker (the shipped semaphore only; the naive
    /// ones take it as a plain `Acquire`).
    AcquireHostile(u32, Hostility),
}

/// How an [`Op::AcquireHostile`]'s waker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostility {
    /// Its clone panics: an acquire that has to queue panics in its first poll, and must leave
    /// the semaphore as it was (the future is then dropped, as an unwinding task drops it).
    PanicOnClone,
    /// Its wake panics: whichever operation completes the waiter (a release, a close, a cancel
    /// that hands permits on) must still complete — every other waiter woken, every permit
    /// where the model says — and then panic.
    PanicOnWake,
}

#[derive(Debug, Clone)]
struct Case {
    initial: usize,
    ops: Vec<Op>,
}

/// The initial permits at the edges.
const PERMIT_EDGES: [usize; 4] = [0, 1, Semaphore::MAX_PERMITS - 1, Semaphore::MAX_PERMITS];
/// A request at the edges: `acquire_many` takes a `u32`.
const REQUEST_EDGES: [u32; 4] = [0, 1, u32::MAX - 1, u32::MAX];
/// An amount added or forgotten at the edges: past `MAX_PERMITS`, `add_permits` panics.
const AMOUNT_EDGES: [usize; 6] = [
    0,
    1,
    Semaphore::MAX_PERMITS - 1,
    Semaphore::MAX_PERMITS,
    usize::MAX - 1,
    usize::MAX,
];

/// Requests are mostly 0..=3: a request for 0 permits succeeds at once unless closed (as in
/// tokio), in the shipped semaphore and the naive ones alike. One request in eight, and one
/// initial count or amount in six, is an edge (see the module docs); requests less often, as a
/// request for `u32::MAX` permits blocks the queue for the rest of most cases.
fn cases() -> impl Strategy<Value = Case> {
    let request = proptest_support::with_edges(0..=3u32, &REQUEST_EDGES, 8);
    let index = 0..8usize;
    let amount = proptest_support::with_edges(0..=3usize, &AMOUNT_EDGES, 6);
    // Close is rare: after it little but permit drops remains to check, so frequent closes would
    // waste most of each case. `AddPermits` comes first because proptest shrinks an operation it
    // cannot remove towards the first alternative, and `AddPermits(0)` is a no-op: minimal cases
    // then read as the few operations that matter.
    let op = prop_oneof![
        4 => amount.clone().prop_map(Op::AddPermits),
        12 => request.clone().prop_map(Op::Acquire),
        4 => request.clone().prop_map(Op::TryAcquire),
        6 => index.clone().prop_map(Op::Repoll),
        4 => index.clone().prop_map(Op::Cancel),
        8 => index.clone().prop_map(Op::DropPermit),
        2 => index.prop_map(Op::ForgetPermit),
        2 => amount.prop_map(Op::ForgetPermits),
        1 => Just(Op::Close),
        3 => (request, prop_oneof![Just(Hostility::PanicOnClone), Just(Hostility::PanicOnWake)])
            .prop_map(|(n, how)| Op::AcquireHostile(n, how)),
    ];
    let initial = proptest_support::with_edges(0..=4usize, &PERMIT_EDGES, 6);
    (initial, prop::collection::vec(op, 0..=40)).prop_map(|(initial, ops)| Case { initial, ops })
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// Where the model says an acquire future stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Queued,
    Granted,
    Closed,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    needed: usize,
    assigned: usize,
}

/// A fair FIFO semaphore, sequential and deliberately simple.
#[derive(Debug)]
struct Model {
    available: usize,
    closed: bool,
    /// Only the head may have `assigned > 0`.
    queue: VecDeque<Waiter>,
    /// Waiters that left the queue (granted or closed out) whose future has not yet seen it, with
    /// the permits they were granted.
    settled: HashMap<u64, (Fate, usize)>,
    /// Permits in held permit objects.
    held: usize,
    /// Initial plus added (wide: `MAX_PERMITS` forgotten and added again, many times over, is
    /// more than a `usize` counts).
    created: u128,
    /// By `forget_permits` and by forgetting held permits.
    forgotten: u128,
}

impl Model {
    fn new(initial: usize) -> Self {
        Model {
            available: initial,
            closed: false,
            queue: VecDeque::new(),
            settled: HashMap::new(),
            held: 0,
            created: initial as u128,
            forgotten: 0,
        }
    }

    fn fate(&self, id: u64) -> Fate {
        if self.queue.iter().any(|w| w.id == id) {
            Fate::Queued
        } else {
            self.settled[&id].0
        }
    }

    /// As [`fate`](Self::fate), or `None` for a waiter the model no longer knows (cancelled).
    fn fate_if_known(&self, id: u64) -> Option<Fate> {
        if self.queue.iter().any(|w| w.id == id) {
            Some(Fate::Queued)
        } else {
            self.settled.get(&id).map(|&(fate, _)| fate)
        }
    }

    /// Whether the first poll of `acquire_many(needed)` queues (and so stores its waker).
    fn would_queue(&self, needed: usize) -> bool {
        !self.closed && needed > 0 && !(self.queue.is_empty() && self.available >= needed)
    }

    /// The first poll of `acquire_many(needed)`: `Granted` and `Closed` mean it is `Ready` at once.
    fn acquire(&mut self, id: u64, needed: usize) -> Fate {
        if self.closed {
            return Fate::Closed;
        }
        if needed == 0 || (self.queue.is_empty() && self.available >= needed) {
            self.available -= needed;
            self.held += needed;
            return Fate::Granted;
        }
        // Only a newcomer that becomes the head takes what is there; behind others, available is 0.
        let assigned = std::mem::take(&mut self.available);
        self.queue.push_back(Waiter {
            id,
            needed,
            assigned,
        });
        Fate::Queued
    }

    fn try_acquire(&mut self, n: usize) -> Result<(), TryAcquireError> {
        if self.closed {
            return Err(TryAcquireError::Closed);
        }
        if n > 0 && (!self.queue.is_empty() || self.available < n) {
            return Err(TryAcquireError::NoPermits);
        }
        self.available -= n;
        self.held += n;
        Ok(())
    }

    /// Head first, each waiter until satisfied; the rest becomes available.
    fn release(&mut self, mut n: usize) {
        while n > 0 {
            let Some(head) = self.queue.front_mut() else {
                break;
            };
            let given = n.min(head.needed - head.assigned);
            head.assigned += given;
            n -= given;
            if head.assigned < head.needed {
                break;
            }
            let head = self.queue.pop_front().expect("head exists");
            self.settled.insert(head.id, (Fate::Granted, head.needed));
        }
        self.available += n;
    }

    /// Whether `add_permits(n)` must refuse (panic): the available permits would exceed
    /// `MAX_PERMITS`. Held permits given back may already have taken them past it.
    fn add_exceeds_max(&self, n: usize) -> bool {
        n > Semaphore::MAX_PERMITS.saturating_sub(self.available)
    }

    fn add(&mut self, n: usize) {
        self.created += n as u128;
        self.release(n);
    }

    fn forget_available(&mut self, n: usize) -> usize {
        let removed = n.min(self.available);
        self.available -= removed;
        self.forgotten += removed as u128;
        removed
    }

    fn drop_permit(&mut self, n: usize) {
        self.held -= n;
        self.release(n);
    }

    fn forget_permit(&mut self, n: usize) {
        self.held -= n;
        self.forgotten += n as u128;
    }

    /// The future saw its outcome (`Ready`); a grant becomes a held permit.
    fn observe(&mut self, id: u64) {
        let (fate, permits) = self.settled.remove(&id).expect("observed a settled waiter");
        if fate == Fate::Granted {
            self.held += permits;
        }
    }

    /// The future was dropped before it saw its outcome.
    fn cancel(&mut self, id: u64) {
        if let Some(at) = self.queue.iter().position(|w| w.id == id) {
            let waiter = self.queue.remove(at).expect("position is valid");
            self.release(waiter.assigned);
        } else {
            // A waiter closed out holds nothing; one granted holds its whole request.
            if let (Fate::Granted, permits) = self.settled.remove(&id).expect("a known waiter") {
                self.release(permits);
            }
        }
    }

    fn close(&mut self) {
        self.closed = true;
        for waiter in std::mem::take(&mut self.queue) {
            self.available += waiter.assigned;
            self.settled.insert(waiter.id, (Fate::Closed, 0));
        }
    }

    /// Every permit is somewhere: available, held, assigned to the head, or granted but not seen.
    fn accounted(&self) -> u128 {
        let assigned: u128 = self.queue.iter().map(|w| w.assigned as u128).sum();
        let unseen: u128 = self
            .settled
            .values()
            .map(|&(_, permits)| permits as u128)
            .sum();
        self.available as u128 + self.held as u128 + assigned + unseen
    }
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

struct PendingAcquire<P> {
    id: u64,
    needed: usize,
    task: Poller<AcquireFuture<P>>,
}

struct HeldPermit<P> {
    permits: usize,
    permit: P,
}

/// The semaphore under test, the model, and the live futures and permits shared by both.
struct Harness<S: SemaphoreUnderTest> {
    semaphore: Arc<S>,
    model: Model,
    /// In creation order, which is also queue order.
    pending: Vec<PendingAcquire<S::Permit>>,
    held: Vec<HeldPermit<S::Permit>>,
    next_id: u64,
}

// How the failure messages name what went wrong; the self-tests match on them.
const MISCOUNT: &str = "available_permits() is";
const NOT_GRANTED: &str = "is still Pending, but the model grants it";
const OUT_OF_ORDER: &str = "FIFO order violated";
const LOST_WAKEUP: &str = "lost wakeup";
const ADDED_PAST_MAX: &str = "add_permits went past MAX_PERMITS without panicking";

/// Keeps the expected `add_permits` panics (past `MAX_PERMITS`) out of the output of a failing
/// case; every other panic is reported as usual.
fn quiet_add_permits_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.contains("would exceed MAX_PERMITS") {
                previous(info);
            }
        }));
    });
}

/// Whether `S` enforces `MAX_PERMITS` (the shipped semaphore does, as documented; the naive ones,
/// written for the bug zoo, count without a limit and are not asked to add past it).
fn enforces_max_permits<S: SemaphoreUnderTest>() -> bool {
    TypeId::of::<S>() == TypeId::of::<Semaphore>()
}

fn describe<P>(poll: &Poll<Result<P, Closed>>) -> &'static str {
    match poll {
        Poll::Pending => "Pending",
        Poll::Ready(Ok(_)) => "Ready(Ok(permit))",
        Poll::Ready(Err(Closed)) => "Ready(Err(closed))",
    }
}

fn fail(at: &str, why: impl fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{at}: {why}"))
}

impl<S: SemaphoreUnderTest> Harness<S> {
    fn new(initial: usize) -> Self {
        Harness {
            semaphore: S::with_permits(initial),
            model: Model::new(initial),
            pending: Vec::new(),
            held: Vec::new(),
            next_id: 0,
        }
    }

    fn apply(&mut self, op: Op, at: &str) -> Result<(), TestCaseError> {
        match op {
            Op::Acquire(n) => {
                let id = self.next_id;
                self.next_id += 1;
                let needed = n as usize;
                let mut task = spawn(S::acquire_many(&self.semaphore, n));
                let expected = self.model.acquire(id, needed);
                match (expected, task.poll()) {
                    (Fate::Granted, Poll::Ready(Ok(permit))) => self.held.push(HeldPermit {
                        permits: needed,
                        permit,
                    }),
                    (Fate::Closed, Poll::Ready(Err(Closed))) => {}
                    (Fate::Queued, Poll::Pending) => self.pending.push(PendingAcquire {
                        id,
                        needed,
                        task: Poller::Mock(task),
                    }),
                    (expected, got) => {
                        return Err(fail(
                            at,
                            format_args!(
                                "first poll of acquire #{id} (needs {needed}) gave {}, but the \
                                 model says {expected:?} (FIFO order / permit count)",
                                describe(&got)
                            ),
                        ));
                    }
                }
            }
            Op::TryAcquire(n) => {
                let expected = self.model.try_acquire(n as usize);
                match (expected, S::try_acquire_many(&self.semaphore, n)) {
                    (Ok(()), Ok(permit)) => self.held.push(HeldPermit {
                        permits: n as usize,
                        permit,
                    }),
                    (Err(expected), Err(got)) if expected == got => {}
                    (expected, got) => {
                        return Err(fail(
                            at,
                            format_args!(
                                "try_acquire_many({n}) gave {:?}, the model says {expected:?}",
                                got.map(|_| ())
                            ),
                        ));
                    }
                }
            }
            Op::Repoll(i) => {
                if !self.pending.is_empty() {
                    self.poll_pending(i % self.pending.len(), at)?;
                }
            }
            Op::Cancel(i) => {
                if !self.pending.is_empty() {
                    let acquire = self.pending.remove(i % self.pending.len());
                    let id = acquire.id;
                    self.waking(at, |this| this.model.cancel(id), || drop(acquire.task))?;
                }
            }
            Op::DropPermit(i) => {
                if !self.held.is_empty() {
                    let held = self.held.remove(i % self.held.len());
                    let permits = held.permits;
                    self.waking(
                        at,
                        |this| this.model.drop_permit(permits),
                        || drop(held.permit),
                    )?;
                }
            }
            Op::ForgetPermit(i) => {
                if !self.held.is_empty() {
                    let held = self.held.remove(i % self.held.len());
                    S::forget(held.permit);
                    self.model.forget_permit(held.permits);
                }
            }
            Op::AddPermits(n) if self.model.add_exceeds_max(n) => {
                // Documented: it panics, before changing anything (the checks after this step
                // compare the count with the unchanged model).
                if enforces_max_permits::<S>() {
                    let semaphore = Arc::clone(&self.semaphore);
                    if catch_unwind(AssertUnwindSafe(|| semaphore.add_permits(n))).is_ok() {
                        return Err(fail(
                            at,
                            format_args!(
                                "{ADDED_PAST_MAX}: add_permits({n}) with {} available returned",
                                self.model.available
                            ),
                        ));
                    }
                }
            }
            Op::AddPermits(n) => {
                let semaphore = Arc::clone(&self.semaphore);
                self.waking(at, |this| this.model.add(n), || semaphore.add_permits(n))?;
            }
            Op::ForgetPermits(n) => {
                let got = self.semaphore.forget_permits(n);
                let expected = self.model.forget_available(n);
                if got != expected {
                    return Err(fail(
                        at,
                        format_args!(
                            "forget_permits({n}) removed {got}, the model says {expected}"
                        ),
                    ));
                }
            }
            Op::Close => {
                let semaphore = Arc::clone(&self.semaphore);
                self.waking(at, |this| this.model.close(), || semaphore.close())?;
            }
            Op::AcquireHostile(n, how) if S::CONTAINS_USER_PANICS => {
                self.acquire_hostile(n, how, at)?;
            }
            Op::AcquireHostile(n, _) => return self.apply(Op::Acquire(n), at),
        }
        Ok(())
    }

    /// Runs `real`, an operation that may complete waiters and wake them, and `model`, its
    /// counterpart. Wakers are user code: if one the operation woke panics (a waiter of
    /// [`Hostility::PanicOnWake`] that the model says this step completed), the operation must
    /// still have done all of its work — which the checks after it see — and then panic; it must
    /// not panic otherwise.
    fn waking(
        &mut self,
        at: &str,
        model: impl FnOnce(&mut Self),
        real: impl FnOnce(),
    ) -> Result<(), TestCaseError> {
        let queued_hostile: Vec<u64> = self
            .pending
            .iter()
            .filter(|acquire| {
                matches!(acquire.task, Poller::Hostile { ref waker, .. } if waker.panics_on_wake())
                    && self.model.fate(acquire.id) == Fate::Queued
            })
            .map(|acquire| acquire.id)
            .collect();
        model(self);
        let completed = queued_hostile
            .iter()
            .any(|&id| self.model.fate_if_known(id) != Some(Fate::Queued));
        let panicked = catch_unwind(AssertUnwindSafe(real)).is_err();
        if panicked != completed {
            return Err(fail(
                at,
                format_args!(
                    "the operation {} although it {} a waiter whose wake panics",
                    if panicked { "panicked" } else { "returned" },
                    if completed {
                        "completed"
                    } else {
                        "completed no"
                    },
                ),
            ));
        }
        Ok(())
    }

    /// `acquire_many(n)` polled once with a hostile waker (see [`Hostility`]).
    fn acquire_hostile(&mut self, n: u32, how: Hostility, at: &str) -> Result<(), TestCaseError> {
        let needed = n as usize;
        let waker = match how {
            Hostility::PanicOnClone => HostileWaker::panicking_on(Event::Clone),
            Hostility::PanicOnWake => HostileWaker::panicking_on(Event::Wake),
        };
        let mut future = S::acquire_many(&self.semaphore, n);
        let polled = catch_unwind(AssertUnwindSafe(|| {
            future
                .as_mut()
                .poll(&mut Context::from_waker(&waker.waker()))
        }));
        let would_queue = self.model.would_queue(needed);
        match (how, polled) {
            // It had to queue and could not store its waker: nothing changed, and the future is
            // dropped with the unwinding task.
            (Hostility::PanicOnClone, Err(_)) if would_queue => {
                drop(future);
                return Ok(());
            }
            (_, Err(_)) => {
                return Err(fail(
                    at,
                    format_args!("acquire({n}) with a {how:?} waker panicked in its first poll"),
                ));
            }
            (_, Ok(got)) => {
                let id = self.next_id;
                self.next_id += 1;
                let expected = self.model.acquire(id, needed);
                match (expected, got) {
                    (Fate::Granted, Poll::Ready(Ok(permit))) => self.held.push(HeldPermit {
                        permits: needed,
                        permit,
                    }),
                    (Fate::Closed, Poll::Ready(Err(Closed))) => {}
                    (Fate::Queued, Poll::Pending) => self.pending.push(PendingAcquire {
                        id,
                        needed,
                        task: Poller::hostile(future, waker),
                    }),
                    (expected, got) => {
                        return Err(fail(
                            at,
                            format_args!(
                                "first poll of hostile acquire #{id} (needs {needed}, {how:?}) \
                                 gave {}, but the model says {expected:?}",
                                describe(&got)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Polls `pending[k]` and checks the outcome against the model; a future that completes moves
    /// out of `pending` (its permit, if any, into `held`).
    fn poll_pending(&mut self, k: usize, at: &str) -> Result<(), TestCaseError> {
        let acquire = &mut self.pending[k];
        let (id, needed) = (acquire.id, acquire.needed);
        let expected = self.model.fate(id);
        let woken = acquire.task.is_woken();
        let got = acquire.task.poll();
        match (expected, got) {
            (Fate::Queued, Poll::Pending) => return Ok(()),
            (Fate::Granted, Poll::Ready(Ok(permit))) => {
                if !woken {
                    return Err(fail(
                        at,
                        format_args!(
                            "{LOST_WAKEUP}: acquire #{id} (needs {needed}) was granted but its \
                             task was never woken"
                        ),
                    ));
                }
                self.held.push(HeldPermit {
                    permits: needed,
                    permit,
                });
            }
            (Fate::Closed, Poll::Ready(Err(Closed))) => {
                if !woken {
                    return Err(fail(
                        at,
                        format_args!(
                            "{LOST_WAKEUP}: acquire #{id} was closed out but its task was never woken"
                        ),
                    ));
                }
            }
            (Fate::Queued, got) => {
                return Err(fail(
                    at,
                    format_args!(
                        "{OUT_OF_ORDER}: acquire #{id} (needs {needed}) polled {} while the \
                         model still queues it (waiters ahead of it, or too few permits)",
                        describe(&got)
                    ),
                ));
            }
            (Fate::Granted, Poll::Pending) => {
                if let Some(ahead) = self.granted_out_of_order(k) {
                    return Err(fail(
                        at,
                        format_args!(
                            "{OUT_OF_ORDER}: acquire #{ahead} was granted while #{id} (needs \
                             {needed}), which queued before it, still waits"
                        ),
                    ));
                }
                return Err(fail(
                    at,
                    format_args!(
                        "acquire #{id} (needs {needed}) {NOT_GRANTED}: \
                         it is first in line and enough permits were released (permits were lost, \
                         or assigned to a waiter behind it)"
                    ),
                ));
            }
            (expected, got) => {
                return Err(fail(
                    at,
                    format_args!(
                        "acquire #{id} (needs {needed}) polled {}, but the model says {expected:?}",
                        describe(&got)
                    ),
                ));
            }
        }
        self.model.observe(id);
        self.pending.remove(k);
        Ok(())
    }

    /// Diagnosis only, once a check has already failed: finds a future that the model still
    /// queues but that the semaphore has granted, which tells a grant-order bug from a count bug.
    fn granted_out_of_order(&mut self, except: usize) -> Option<u64> {
        for k in 0..self.pending.len() {
            let acquire = &mut self.pending[k];
            if k != except
                && self.model.fate(acquire.id) == Fate::Queued
                && matches!(acquire.task.poll(), Poll::Ready(Ok(_)))
            {
                return Some(acquire.id);
            }
        }
        None
    }

    /// The checks run after every operation.
    fn check(&mut self, at: &str) -> Result<(), TestCaseError> {
        if self.model.accounted() != self.model.created - self.model.forgotten {
            return Err(fail(
                at,
                format_args!(
                    "the model lost track of permits (a bug in the test): {:?}",
                    self.model
                ),
            ));
        }
        let available = self.semaphore.available_permits();
        if available != self.model.available {
            return Err(fail(
                at,
                format_args!(
                    "{MISCOUNT} {available}, the model says {} (permits leaked or double counted)",
                    self.model.available
                ),
            ));
        }
        let mut k = 0;
        while k < self.pending.len() {
            let before = self.pending.len();
            match self.model.fate(self.pending[k].id) {
                // Polling a queued future checks it was not granted out of order, and re-registers
                // the waker exactly as a real executor would.
                Fate::Queued => self.poll_pending(k, at)?,
                // A settled future that was woken is left unpolled, so that a later `Cancel` can
                // drop it before it sees its grant. One that was not woken is polled only to tell a
                // lost wakeup (it is `Ready`) from a missing grant (it is `Pending`): both fail.
                Fate::Granted | Fate::Closed => {
                    if !self.pending[k].task.is_woken() {
                        self.poll_pending(k, at)?;
                    }
                }
            }
            if self.pending.len() == before {
                k += 1;
            }
        }
        Ok(())
    }
}

/// Runs one case against `S` and the model; `Err` names the step and what disagreed.
fn check_against_model<S: SemaphoreUnderTest>(case: &Case) -> Result<(), TestCaseError> {
    support::hostile::quiet_hostile_panics();
    quiet_add_permits_panics();
    let mut harness = Harness::<S>::new(case.initial);
    harness.check("initially")?;
    for (step, &op) in case.ops.iter().enumerate() {
        let at = format!("step {step} ({op:?})");
        harness.apply(op, &at)?;
        harness.check(&at)?;
    }
    // Draining one by one, with the checks after each, exercises the hand-on of partial and full
    // grants from cancelled futures to the waiters behind them.
    while !harness.pending.is_empty() {
        let at = format!("final drain: cancel acquire #{}", harness.pending[0].id);
        harness.apply(Op::Cancel(0), &at)?;
        harness.check(&at)?;
    }
    while !harness.held.is_empty() {
        let at = format!("final drain: drop a permit of {}", harness.held[0].permits);
        harness.apply(Op::DropPermit(0), &at)?;
        harness.check(&at)?;
    }
    let expected = harness.model.created - harness.model.forgotten;
    let available = harness.semaphore.available_permits();
    if available as u128 != expected {
        return Err(fail(
            "at the end, with everything dropped",
            format_args!("{MISCOUNT} {available}, but initial + added - forgotten is {expected}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_support::persisted("semaphore_model.txt"))]

    #[test]
    fn semaphore_matches_fifo_model(case in cases()) {
        check_against_model::<Semaphore>(&case)?;
    }

    /// A second, lock-everything implementation passes too: the model is not tailored to ours.
    #[test]
    fn correct_naive_matches_fifo_model(case in cases()) {
        check_against_model::<Correct>(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker rejects each naive bug
// ---------------------------------------------------------------------------------------------

/// Cases the self-tests may try before giving up; each bug is found well within this.
const HUNT_CASES: u32 = 2_000;

/// Runs the checker on `S` with a fixed seed; returns the failure reason and the minimal case,
/// which must pass on a correct semaphore (so that it tells the bug apart).
fn hunt<S: SemaphoreUnderTest>(bug: &str) -> (String, Case) {
    let caught = proptest_support::hunt(bug, HUNT_CASES, &cases(), check_against_model::<S>);
    let minimal = caught.minimal;
    if let Err(why) = check_against_model::<Correct>(&minimal) {
        panic!("{bug}: the minimal case {minimal:?} also fails a correct semaphore: {why}");
    }
    println!(
        "{bug}: caught after {} case(s); minimal case {minimal:?}\n  {}",
        caught.tried, caught.reason
    );
    (caught.reason, minimal)
}

#[test]
fn model_catches_leak_on_cancel_after_grant() {
    let (reason, _) = hunt::<LeakOnCancelAfterGrant>("LeakOnCancelAfterGrant");
    assert!(
        reason.contains(MISCOUNT) || reason.contains(NOT_GRANTED),
        "caught for an unexpected reason: {reason}"
    );
}

#[test]
fn model_catches_lifo_grant_order() {
    let (reason, minimal) = hunt::<Lifo>("Lifo");
    assert!(
        reason.contains(OUT_OF_ORDER) || reason.contains(NOT_GRANTED),
        "caught for an unexpected reason: {reason}"
    );
    // A naive semaphore takes a hostile acquire as a plain one.
    let acquires = minimal
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Acquire(_) | Op::AcquireHostile(..)))
        .count();
    assert!(acquires >= 2, "an order bug needs two waiters: {minimal:?}");
}

#[test]
fn model_catches_lost_wakeup() {
    let (reason, _) = hunt::<LostWakeup>("LostWakeup");
    assert!(
        reason.contains(LOST_WAKEUP),
        "caught for an unexpected reason: {reason}"
    );
}
