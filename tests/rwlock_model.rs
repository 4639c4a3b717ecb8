#![cfg(not(any(loom, shuttle)))]
//! State-machine test of the `RwLock` against a small sequential model of a fair (FIFO)
//! reader-writer lock, and self-tests showing that the same checker rejects naive locks.
//!
//! # What is checked
//!
//! A case is a `max_readers` and up to 40 operations: `Read` / `Write` (a `read_owned` /
//! `write_owned` future, polled once and kept while pending), `TryRead`, `TryWrite`, dropping a
//! held guard, downgrading a held write guard, cancelling (dropping) a pending future, and polling
//! a pending future again. The model, written here independently of the library, is the policy the
//! lock documents: a read needs 1 of `max_readers` permits, a write needs all of them; requests
//! queue in arrival order; permits released while anyone waits go to the head of the queue until it
//! has all it needs, then to the next; `try_*` fails while anyone is queued or too few permits are
//! free; a cancelled request gives back what it had (a partial assignment at the head, or the whole
//! grant when it was granted but never polled again) through the same rule; `downgrade` keeps one
//! permit and gives back the rest.
//!
//! `max_readers` is mostly 1..=4, but one case in six takes an edge: 1, `u32::MAX >> 3` (the
//! largest the lock allows) or one below it, or an invalid one — 0, `(u32::MAX >> 3) + 1` or
//! `u32::MAX` — for which `with_max_readers` must panic, as documented (and the naive locks
//! below panic alike).
//!
//! After every operation:
//!
//! - **exclusion**, counted on the guards the test holds (never a writer with any other holder,
//!   never more than `max_readers` readers) and seen through the data: the lock protects a pair
//!   that a writer sets in two halves, the second only after the next operation has run, and every
//!   holder checks on every step that the pair is still what it saw (readers) or wrote (writers).
//!   A reader or writer let in next to a writer sees a torn pair or a changed one.
//! - **grants**: a pending future the model still queues must poll `Pending` (else it overtook
//!   someone); one the model has granted must have been woken (else a wakeup was lost) and is left
//!   unpolled until a `Repoll` reaches it, so that `Cancel` also hits granted-but-unobserved
//!   futures. `try_*` results must match the model.
//!
//! At the end every pending future is cancelled and every guard dropped, one at a time and checked,
//! and `try_write` must then succeed: nothing leaked.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test rwlock_model` runs 256 cases per property; set `PROPTEST_CASES` for more
//! (`PROPTEST_CASES=20000 cargo test --release --test rwlock_model`). A failure prints the minimal
//! case (`max_readers` and the operations) and, in the message, the step that failed and why;
//! its seed is saved in `proptest-regressions/rwlock_model.txt`, which every later run replays
//! first, so rerunning the same command reproduces it. Commit that file with the fix.
//!
//! The self-tests (`model_catches_*`) run the checker on the naive locks at the bottom of this file
//! with a fixed seed and no persistence, and fail if the checker does not reject them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use async_patterns::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio_test::task::{Spawn, spawn};

mod support;
use support::proptest_support;

/// The protected data: a writer sets both halves to its token, one at a time.
type Pair = [u64; 2];

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One operation. An index picks among the live futures / guards modulo their number and does
/// nothing when there are none, so every sequence is valid and any operation can be shrunk away.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Poll a pending future again.
    Repoll(usize),
    /// `read_owned()`, polled once; kept if pending.
    Read,
    /// `write_owned()`, polled once; kept if pending.
    Write,
    TryRead,
    TryWrite,
    /// Drop a held read or write guard.
    DropGuard(usize),
    /// Downgrade a held write guard (the index counts write guards only).
    Downgrade(usize),
    /// Drop a pending future, queued or granted but not yet polled.
    Cancel(usize),
}

#[derive(Debug, Clone)]
struct Case {
    max_readers: u32,
    ops: Vec<Op>,
}

/// The largest `max_readers` a lock may have (`RwLock::with_max_readers` documents it).
const MAX_READERS: u32 = u32::MAX >> 3;

/// `max_readers` at the edges; 0 and the last two are refused (a panic).
const MAX_READERS_EDGES: [u32; 6] = [
    0,
    1,
    MAX_READERS - 1,
    MAX_READERS,
    MAX_READERS + 1,
    u32::MAX,
];

fn valid_max_readers(max_readers: u32) -> bool {
    (1..=MAX_READERS).contains(&max_readers)
}

fn cases() -> impl Strategy<Value = Case> {
    let index = 0..8usize;
    // Weighted so that queues form (more requests than releases) but also drain.
    let op = prop_oneof![
        6 => index.clone().prop_map(Op::Repoll),
        10 => Just(Op::Read),
        7 => Just(Op::Write),
        3 => Just(Op::TryRead),
        2 => Just(Op::TryWrite),
        8 => index.clone().prop_map(Op::DropGuard),
        5 => index.clone().prop_map(Op::Downgrade),
        3 => index.prop_map(Op::Cancel),
    ];
    let max_readers = proptest_support::with_edges(1..=4u32, &MAX_READERS_EDGES, 6);
    (max_readers, prop::collection::vec(op, 0..=40))
        .prop_map(|(max_readers, ops)| Case { max_readers, ops })
}

// ---------------------------------------------------------------------------------------------
// The locks under test
// ---------------------------------------------------------------------------------------------

type LockFuture<G> = Pin<Box<dyn Future<Output = G>>>;

/// What the checker needs from a reader-writer lock; implemented by the shipped `RwLock` and by
/// the naive locks below, so the checker can be shown to reject them.
trait LockUnderTest: 'static {
    type Read: 'static;
    type Write: 'static;

    fn with_max_readers(max_readers: u32) -> Arc<Self>;
    fn read(this: &Arc<Self>) -> LockFuture<Self::Read>;
    fn write(this: &Arc<Self>) -> LockFuture<Self::Write>;
    fn try_read(this: &Arc<Self>) -> Option<Self::Read>;
    fn try_write(this: &Arc<Self>) -> Option<Self::Write>;
    fn downgrade(guard: Self::Write) -> Self::Read;
    fn load(guard: &Self::Read) -> Pair;
    fn load_written(guard: &Self::Write) -> Pair;
    fn store(guard: &mut Self::Write, value: Pair);
}

impl LockUnderTest for RwLock<Pair> {
    type Read = OwnedRwLockReadGuard<Pair>;
    type Write = OwnedRwLockWriteGuard<Pair>;

    fn with_max_readers(max_readers: u32) -> Arc<Self> {
        Arc::new(RwLock::with_max_readers([0; 2], max_readers))
    }

    fn read(this: &Arc<Self>) -> LockFuture<Self::Read> {
        Box::pin(Arc::clone(this).read_owned())
    }

    fn write(this: &Arc<Self>) -> LockFuture<Self::Write> {
        Box::pin(Arc::clone(this).write_owned())
    }

    fn try_read(this: &Arc<Self>) -> Option<Self::Read> {
        Arc::clone(this).try_read_owned().ok()
    }

    fn try_write(this: &Arc<Self>) -> Option<Self::Write> {
        Arc::clone(this).try_write_owned().ok()
    }

    fn downgrade(guard: Self::Write) -> Self::Read {
        OwnedRwLockWriteGuard::downgrade(guard)
    }

    fn load(guard: &Self::Read) -> Pair {
        **guard
    }

    fn load_written(guard: &Self::Write) -> Pair {
        **guard
    }

    fn store(guard: &mut Self::Write, value: Pair) {
        **guard = value;
    }
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// Where the model says a pending future stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    /// All its permits are assigned; it holds the lock once it is polled.
    Granted,
}

#[derive(Debug)]
struct Request {
    id: u64,
    kind: Kind,
    needs: u32,
    /// Permits handed to it so far; only the head of the queue ever has any.
    assigned: u32,
}

/// A fair reader-writer lock over `max_readers` permits, sequential and deliberately plain.
#[derive(Debug)]
struct Model {
    max_readers: u32,
    /// Permits neither held, nor assigned to a queued request, nor granted to an unpolled one.
    free: u32,
    readers: u32,
    writer: bool,
    queue: VecDeque<Request>,
    /// Granted requests whose future has not been polled since: id → permits.
    unobserved: HashMap<u64, u32>,
}

impl Model {
    fn new(max_readers: u32) -> Self {
        Model {
            max_readers,
            free: max_readers,
            readers: 0,
            writer: false,
            queue: VecDeque::new(),
            unobserved: HashMap::new(),
        }
    }

    fn needs(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Read => 1,
            Kind::Write => self.max_readers,
        }
    }

    fn hold(&mut self, kind: Kind) {
        match kind {
            Kind::Read => self.readers += 1,
            Kind::Write => self.writer = true,
        }
    }

    fn status(&self, id: u64) -> Status {
        if self.unobserved.contains_key(&id) {
            Status::Granted
        } else {
            Status::Queued
        }
    }

    /// The first poll of a `read()` / `write()` future. `Granted` means it is `Ready` at once (and
    /// the lock is held from here on).
    fn request(&mut self, id: u64, kind: Kind) -> Status {
        if self.try_lock(kind) {
            return Status::Granted;
        }
        // Behind others nothing is free (it all went to the head); a newcomer that becomes the
        // head takes what is free and waits for the rest.
        let assigned = std::mem::take(&mut self.free);
        let needs = self.needs(kind);
        self.queue.push_back(Request {
            id,
            kind,
            needs,
            assigned,
        });
        Status::Queued
    }

    fn try_lock(&mut self, kind: Kind) -> bool {
        let needs = self.needs(kind);
        if !self.queue.is_empty() || self.free < needs {
            return false;
        }
        self.free -= needs;
        self.hold(kind);
        true
    }

    /// Hands `n` permits to the head of the queue until it has all it needs, then to the next;
    /// what is left is free.
    fn release(&mut self, mut n: u32) {
        while n > 0 {
            let Some(head) = self.queue.front_mut() else {
                break;
            };
            let given = n.min(head.needs - head.assigned);
            head.assigned += given;
            n -= given;
            if head.assigned < head.needs {
                break;
            }
            let head = self.queue.pop_front().expect("the head is there");
            self.unobserved.insert(head.id, head.needs);
        }
        self.free += n;
    }

    /// A granted future was polled and returned its guard.
    fn observe(&mut self, id: u64, kind: Kind) {
        self.unobserved
            .remove(&id)
            .expect("only granted futures are observed");
        self.hold(kind);
    }

    /// A pending future was dropped: whatever was assigned to it goes on to the others.
    fn cancel(&mut self, id: u64) {
        if let Some(permits) = self.unobserved.remove(&id) {
            self.release(permits);
        } else {
            let at = self
                .queue
                .iter()
                .position(|r| r.id == id)
                .expect("a pending future is queued or granted");
            let request = self.queue.remove(at).expect("position is in range");
            self.release(request.assigned);
        }
    }

    fn unlock(&mut self, kind: Kind) {
        match kind {
            Kind::Read => self.readers -= 1,
            Kind::Write => self.writer = false,
        }
        self.release(self.needs(kind));
    }

    fn downgrade(&mut self) {
        self.writer = false;
        self.readers += 1;
        self.release(self.max_readers - 1);
    }

    /// The model's own invariants; a failure here is a bug in the test, not in the lock.
    fn consistent(&self) -> Result<(), String> {
        let assigned: u32 = self.queue.iter().map(|r| r.assigned).sum();
        let unobserved: u32 = self.unobserved.values().sum();
        let held = self.readers + if self.writer { self.max_readers } else { 0 };
        if self.free + assigned + unobserved + held != self.max_readers {
            return Err("permits do not add up to max_readers".into());
        }
        if !self.queue.is_empty() && self.free != 0 {
            return Err("permits are free while someone is queued".into());
        }
        if self.queue.iter().skip(1).any(|r| r.assigned != 0) {
            return Err("a request behind the head has permits".into());
        }
        if self.queue.iter().any(|r| r.assigned >= r.needs) {
            return Err("a queued request has all it needs".into());
        }
        if self.writer && self.readers != 0 {
            return Err("a writer together with readers".into());
        }
        Ok(())
    }

    fn describe_queue(&self) -> String {
        let queue: Vec<String> = self
            .queue
            .iter()
            .map(|r| format!("{:?} #{} ({}/{})", r.kind, r.id, r.assigned, r.needs))
            .collect();
        format!(
            "queue [{}], {} free, {} reader(s){}",
            queue.join(", "),
            self.free,
            self.readers,
            if self.writer { " + a writer" } else { "" }
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

enum Guard<L: LockUnderTest> {
    Read(L::Read),
    Write(L::Write),
}

impl<L: LockUnderTest> Guard<L> {
    fn kind(&self) -> Kind {
        match self {
            Guard::Read(_) => Kind::Read,
            Guard::Write(_) => Kind::Write,
        }
    }

    fn load(&self) -> Pair {
        match self {
            Guard::Read(g) => L::load(g),
            Guard::Write(g) => L::load_written(g),
        }
    }
}

struct Waiting<L: LockUnderTest> {
    id: u64,
    kind: Kind,
    task: Spawn<LockFuture<Guard<L>>>,
}

struct Holding<L: LockUnderTest> {
    id: u64,
    guard: Guard<L>,
    /// What the data must be while this guard is held.
    expect: Pair,
    /// For a writer that has set only the first half: the step it did so in.
    half_written_in: Option<usize>,
}

// How failure messages name what went wrong; the self-tests match on them.
const OVERTOOK: &str = "FIFO order violated";
const NOT_GRANTED: &str = "not granted";
const LOST_WAKEUP: &str = "lost wakeup";
const EXCLUSION: &str = "exclusion violated";

struct Harness<L: LockUnderTest> {
    lock: Arc<L>,
    model: Model,
    /// Pending futures, in creation order.
    waiting: Vec<Waiting<L>>,
    holding: Vec<Holding<L>>,
    /// The last value a writer finished writing: what a newly admitted holder must see.
    committed: Pair,
    next_id: u64,
    step: usize,
    at: String,
}

impl<L: LockUnderTest> Harness<L> {
    fn new(max_readers: u32) -> Self {
        Harness {
            lock: L::with_max_readers(max_readers),
            model: Model::new(max_readers),
            waiting: Vec::new(),
            holding: Vec::new(),
            committed: [0; 2],
            next_id: 0,
            step: 0,
            at: "initially".into(),
        }
    }

    fn fail(&self, why: impl fmt::Display) -> TestCaseError {
        TestCaseError::fail(format!(
            "{}: {why}\n  model: {}",
            self.at,
            self.model.describe_queue()
        ))
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Read => self.request(Kind::Read),
            Op::Write => self.request(Kind::Write),
            Op::TryRead | Op::TryWrite => {
                let kind = if matches!(op, Op::TryRead) {
                    Kind::Read
                } else {
                    Kind::Write
                };
                let id = self.new_id();
                let expected = self.model.try_lock(kind);
                let got = match kind {
                    Kind::Read => L::try_read(&self.lock).map(Guard::Read),
                    Kind::Write => L::try_write(&self.lock).map(Guard::Write),
                };
                match (expected, got) {
                    (true, Some(guard)) => self.acquired(id, guard),
                    (false, None) => Ok(()),
                    (true, None) => Err(self.fail(format_args!(
                        "try_{kind:?} #{id} failed: {NOT_GRANTED}, though nobody is queued and \
                         enough permits are free"
                    ))),
                    (false, Some(_)) => Err(self.fail(format_args!(
                        "{OVERTOOK}: try_{kind:?} #{id} succeeded while others are queued or too \
                         few permits are free"
                    ))),
                }
            }
            Op::Repoll(i) => {
                if self.waiting.is_empty() {
                    return Ok(());
                }
                self.repoll(i % self.waiting.len())
            }
            Op::Cancel(i) => {
                if self.waiting.is_empty() {
                    return Ok(());
                }
                let waiting = self.waiting.remove(i % self.waiting.len());
                drop(waiting.task);
                self.model.cancel(waiting.id);
                Ok(())
            }
            Op::DropGuard(i) => {
                if self.holding.is_empty() {
                    return Ok(());
                }
                let k = i % self.holding.len();
                // A writer finishes its write before it unlocks, as any real critical section.
                self.finish_write(k);
                let holding = self.holding.remove(k);
                let kind = holding.guard.kind();
                drop(holding.guard);
                self.model.unlock(kind);
                Ok(())
            }
            Op::Downgrade(i) => {
                let writers: Vec<usize> = (0..self.holding.len())
                    .filter(|&k| self.holding[k].guard.kind() == Kind::Write)
                    .collect();
                if writers.is_empty() {
                    return Ok(());
                }
                let k = writers[i % writers.len()];
                self.finish_write(k);
                let holding = self.holding.remove(k);
                let Guard::Write(guard) = holding.guard else {
                    unreachable!("picked among write guards");
                };
                let read = L::downgrade(guard);
                self.model.downgrade();
                // Downgrading must not unlock: the reader sees exactly what it wrote, and the
                // per-step data check keeps verifying that no writer gets in while it reads.
                let seen = L::load(&read);
                if seen != holding.expect {
                    return Err(self.fail(format_args!(
                        "{EXCLUSION}: #{} wrote {:?} and downgraded, but then read {seen:?}",
                        holding.id, holding.expect
                    )));
                }
                self.holding.push(Holding {
                    id: holding.id,
                    guard: Guard::Read(read),
                    expect: seen,
                    half_written_in: None,
                });
                Ok(())
            }
        }
    }

    /// `read()` / `write()`, polled once.
    fn request(&mut self, kind: Kind) -> Result<(), TestCaseError> {
        let id = self.new_id();
        let future: LockFuture<Guard<L>> = match kind {
            Kind::Read => {
                let read = L::read(&self.lock);
                Box::pin(async move { Guard::Read(read.await) })
            }
            Kind::Write => {
                let write = L::write(&self.lock);
                Box::pin(async move { Guard::Write(write.await) })
            }
        };
        let mut task = spawn(future);
        let queue_before = self.model.describe_queue();
        match (self.model.request(id, kind), task.poll()) {
            (Status::Granted, Poll::Ready(guard)) => self.acquired(id, guard),
            (Status::Queued, Poll::Pending) => {
                self.waiting.push(Waiting { id, kind, task });
                Ok(())
            }
            (Status::Queued, Poll::Ready(_)) => Err(self.fail(format_args!(
                "{OVERTOOK}: {kind:?} #{id} got the lock on its first poll, but the model queues \
                 it (before it: {queue_before})"
            ))),
            (Status::Granted, Poll::Pending) => Err(self.fail(format_args!(
                "{kind:?} #{id} is Pending on its first poll: {NOT_GRANTED}, though nobody is \
                 queued and enough permits are free (before it: {queue_before})"
            ))),
        }
    }

    fn repoll(&mut self, k: usize) -> Result<(), TestCaseError> {
        let waiting = &mut self.waiting[k];
        let (id, kind) = (waiting.id, waiting.kind);
        let woken = waiting.task.is_woken();
        match (self.model.status(id), waiting.task.poll()) {
            (Status::Queued, Poll::Pending) => Ok(()),
            (Status::Granted, Poll::Ready(guard)) => {
                if !woken {
                    return Err(self.fail(format_args!(
                        "{LOST_WAKEUP}: {kind:?} #{id} was granted but its task was never woken"
                    )));
                }
                self.waiting.remove(k);
                self.model.observe(id, kind);
                self.acquired(id, guard)
            }
            (Status::Queued, Poll::Ready(_)) => Err(self.fail(format_args!(
                "{OVERTOOK}: {kind:?} #{id} got the lock while the model still queues it"
            ))),
            (Status::Granted, Poll::Pending) => Err(self.fail(format_args!(
                "{kind:?} #{id} is still Pending: {NOT_GRANTED}, though the model has given it \
                 all its permits (permits lost, or assigned to someone else)"
            ))),
        }
    }

    /// A guard was handed out: it must find the last committed value (no write in progress), and a
    /// writer starts its two-step write.
    fn acquired(&mut self, id: u64, mut guard: Guard<L>) -> Result<(), TestCaseError> {
        let kind = guard.kind();
        let seen = guard.load();
        if seen != self.committed {
            return Err(self.fail(format_args!(
                "{EXCLUSION}: {kind:?} #{id} got the lock and found {seen:?}, not the last \
                 finished write {:?} (a writer is still in the middle of writing)",
                self.committed
            )));
        }
        let (expect, half_written_in) = match &mut guard {
            Guard::Read(_) => (seen, None),
            Guard::Write(write) => {
                let first_half = [id, seen[1]];
                L::store(write, first_half);
                (first_half, Some(self.step))
            }
        };
        self.holding.push(Holding {
            id,
            guard,
            expect,
            half_written_in,
        });
        Ok(())
    }

    fn finish_write(&mut self, k: usize) {
        let holding = &mut self.holding[k];
        if holding.half_written_in.take().is_some() {
            let Guard::Write(write) = &mut holding.guard else {
                unreachable!("only writers write");
            };
            let done = [holding.id, holding.id];
            L::store(write, done);
            holding.expect = done;
            self.committed = done;
        }
    }

    /// The checks after every operation.
    fn check(&mut self) -> Result<(), TestCaseError> {
        if let Err(why) = self.model.consistent() {
            return Err(self.fail(format_args!(
                "the model is inconsistent (a bug in the test): {why}"
            )));
        }

        // Exclusion, counted on the guards actually held.
        let readers = self
            .holding
            .iter()
            .filter(|h| h.guard.kind() == Kind::Read)
            .count();
        let writers = self.holding.len() - readers;
        if writers > 1 || (writers == 1 && readers > 0) {
            return Err(self.fail(format_args!(
                "{EXCLUSION}: {writers} writer(s) and {readers} reader(s) hold the lock at once"
            )));
        }
        if readers > self.model.max_readers as usize {
            return Err(self.fail(format_args!(
                "{EXCLUSION}: {readers} readers hold a lock with max_readers {}",
                self.model.max_readers
            )));
        }
        if (readers as u32, writers == 1) != (self.model.readers, self.model.writer) {
            return Err(self.fail("the held guards disagree with the model (a bug in the test)"));
        }

        // Exclusion, seen through the data: nobody changed it under a holder.
        for holding in &self.holding {
            let now = holding.guard.load();
            if now != holding.expect {
                return Err(self.fail(format_args!(
                    "{EXCLUSION}: the data changed from {:?} to {now:?} while {:?} #{} held the \
                     lock",
                    holding.expect,
                    holding.guard.kind(),
                    holding.id
                )));
            }
        }
        // Writers that set their first half in an earlier step finish now: the half-written pair
        // stayed visible across one whole operation, for any wrongly admitted holder to find.
        for k in 0..self.holding.len() {
            if self.holding[k]
                .half_written_in
                .is_some_and(|step| step < self.step)
            {
                self.finish_write(k);
            }
        }

        // Grants and wakeups.
        for k in 0..self.waiting.len() {
            let waiting = &mut self.waiting[k];
            let (id, kind) = (waiting.id, waiting.kind);
            match self.model.status(id) {
                // Polling re-registers the waker as an executor would, and shows whether the lock
                // let it overtake someone.
                Status::Queued => {
                    if waiting.task.poll().is_ready() {
                        return Err(self.fail(format_args!(
                            "{OVERTOOK}: {kind:?} #{id} got the lock while the model still queues it"
                        )));
                    }
                }
                // Left unpolled when woken, so that a later `Cancel` can drop it unobserved.
                // Otherwise it is polled, only to tell a lost wakeup from a missing grant.
                Status::Granted => {
                    if !waiting.task.is_woken() {
                        let why = match waiting.task.poll() {
                            Poll::Ready(_) => format!(
                                "{LOST_WAKEUP}: {kind:?} #{id} was granted but its task was not \
                                 woken"
                            ),
                            Poll::Pending => format!(
                                "{kind:?} #{id} is Pending and not woken: {NOT_GRANTED}, though \
                                 the model has given it all its permits"
                            ),
                        };
                        return Err(self.fail(why));
                    }
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, label: String, op: Op) -> Result<(), TestCaseError> {
        self.step += 1;
        self.at = label;
        self.apply(op)?;
        self.check()
    }
}

/// Keeps the expected panics of `with_max_readers` (an invalid `max_readers`) out of the output of
/// a failing case; every other panic is reported as usual.
fn quiet_refused_max_readers() {
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
            if !message.starts_with("a RwLock may not be created with") {
                previous(info);
            }
        }));
    });
}

/// Runs one case against `L` and the model; `Err` names the step and what disagreed.
fn check_against_model<L: LockUnderTest>(case: &Case) -> Result<(), TestCaseError> {
    if !valid_max_readers(case.max_readers) {
        // Documented: 0, or more than `u32::MAX >> 3`, is a programming error and panics.
        quiet_refused_max_readers();
        let built = std::panic::catch_unwind(|| L::with_max_readers(case.max_readers));
        return match built {
            Err(_) => Ok(()),
            Ok(_) => Err(TestCaseError::fail(format!(
                "with_max_readers({}) returned a lock; it must panic (max_readers must be in \
                 1..={MAX_READERS})",
                case.max_readers
            ))),
        };
    }
    let mut harness = Harness::<L>::new(case.max_readers);
    harness.check()?;
    for (step, &op) in case.ops.iter().enumerate() {
        harness.run(format!("step {step} ({op:?})"), op)?;
    }
    // One at a time, checked after each: cancelled heads and dropped guards must hand their
    // permits on to the waiters behind them.
    while let Some(first) = harness.waiting.first() {
        let label = format!("final drain: cancel {:?} #{}", first.kind, first.id);
        harness.run(label, Op::Cancel(0))?;
    }
    while let Some(first) = harness.holding.first() {
        let label = format!("final drain: drop {:?} #{}", first.guard.kind(), first.id);
        harness.run(label, Op::DropGuard(0))?;
    }
    harness.at = "at the end, with everything dropped".into();
    match L::try_write(&harness.lock) {
        Some(guard) if L::load_written(&guard) == harness.committed => Ok(()),
        Some(guard) => Err(harness.fail(format_args!(
            "the data is {:?}, not the last write {:?}",
            L::load_written(&guard),
            harness.committed
        ))),
        None => Err(harness.fail("try_write fails: the lock is not fully free (permits leaked)")),
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_support::persisted("rwlock_model.txt"))]

    #[test]
    fn rwlock_matches_fifo_model(case in cases()) {
        check_against_model::<RwLock<Pair>>(&case)?;
    }

    /// The flawless naive lock below (a plain counter and queue under one mutex, no partial
    /// assignment) passes too: the model states the policy, not our implementation's internals.
    #[test]
    fn plain_fifo_lock_matches_fifo_model(case in cases()) {
        check_against_model::<NaiveRwLock<NoFlaw>>(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker rejects the naive locks
// ---------------------------------------------------------------------------------------------

/// Cases a self-test may try before concluding the checker has no teeth.
const HUNT_CASES: u32 = 2_000;

/// Runs the checker on `L` with a fixed seed; returns the failure reason, the minimal case and the
/// number of cases run up to the first failure.
fn hunt<L: LockUnderTest>(name: &str) -> (String, Case, u32) {
    let caught = proptest_support::hunt(name, HUNT_CASES, &cases(), check_against_model::<L>);
    let minimal = minimize::<L>(caught.minimal);
    let reason = check_against_model::<L>(&minimal).expect_err("minimize keeps it failing");
    // The minimal case must show the flaw, not a disagreement between model and policy.
    for (other, outcome) in [
        ("RwLock", check_against_model::<RwLock<Pair>>(&minimal)),
        (
            "NaiveRwLock<NoFlaw>",
            check_against_model::<NaiveRwLock<NoFlaw>>(&minimal),
        ),
    ] {
        if let Err(why) = outcome {
            panic!("{name}: the minimal case {minimal:?} also fails {other}: {why}");
        }
    }
    println!(
        "{name}: caught after {} case(s); minimal case {minimal:?}\n  {reason}",
        caught.tried
    );
    (reason.to_string(), minimal, caught.tried)
}

/// proptest deletes each operation once, front to back, and then shrinks the rest in place; as
/// operations pick futures and guards by position, deleting one early often changes what a later
/// one picks, and that leaves needless steps behind. So the self-tests shrink further, to a fixed
/// point: drop any one or two operations, pick the first future / guard, lower `max_readers`.
fn minimize<L: LockUnderTest>(mut case: Case) -> Case {
    let fails = |c: &Case| check_against_model::<L>(c).is_err();
    loop {
        let mut simpler = Vec::new();
        for k in 0..case.ops.len() {
            let mut c = case.clone();
            c.ops.remove(k);
            simpler.push(c);
            let first = match case.ops[k] {
                Op::Repoll(i) if i > 0 => Op::Repoll(0),
                Op::DropGuard(i) if i > 0 => Op::DropGuard(0),
                Op::Downgrade(i) if i > 0 => Op::Downgrade(0),
                Op::Cancel(i) if i > 0 => Op::Cancel(0),
                _ => continue,
            };
            let mut c = case.clone();
            c.ops[k] = first;
            simpler.push(c);
        }
        // Pairs too: a request and the release that serves it often only go away together.
        for k in 0..case.ops.len() {
            for j in k + 1..case.ops.len() {
                let mut c = case.clone();
                c.ops.remove(j);
                c.ops.remove(k);
                simpler.push(c);
            }
        }
        // Lower `max_readers` one at a time while it is small, and by halves (or straight to 1)
        // while it is an edge: one at a time from `u32::MAX >> 3` would never end.
        let lower = if case.max_readers <= 4 {
            vec![case.max_readers - 1]
        } else {
            vec![1, case.max_readers / 2, case.max_readers - 1]
        };
        for max_readers in lower.into_iter().filter(|&m| valid_max_readers(m)) {
            simpler.push(Case {
                max_readers,
                ..case.clone()
            });
        }
        match simpler.into_iter().find(fails) {
            Some(c) => case = c,
            None => return case,
        }
    }
}

#[test]
fn model_catches_reader_preferring_lock() {
    let (reason, minimal, _) = hunt::<NaiveRwLock<ReaderPreferring>>("ReaderPreferring");
    assert!(
        reason.contains(OVERTOOK),
        "caught for an unexpected reason: {reason}"
    );
    // Starvation needs a waiting writer and a reader that barges past it.
    assert!(
        minimal.ops.iter().any(|op| matches!(op, Op::Write)),
        "no queued writer in {minimal:?}"
    );
}

#[test]
fn model_catches_downgrade_that_unlocks() {
    let (reason, minimal, _) = hunt::<NaiveRwLock<DowngradeUnlocks>>("DowngradeUnlocks");
    assert!(
        reason.contains(OVERTOOK) || reason.contains(EXCLUSION),
        "caught for an unexpected reason: {reason}"
    );
    assert!(
        minimal.ops.iter().any(|op| matches!(op, Op::Downgrade(_))),
        "no downgrade in {minimal:?}"
    );
}

/// The classic starvation scenario, spelled out: a reader holds the lock, a writer queues, and a
/// second reader arrives. A fair lock queues the second reader behind the writer; a
/// reader-preferring one lets it in, and the checker says so on that very step.
#[test]
fn late_reader_behind_a_queued_writer_fails_only_the_reader_preferring_lock() {
    let case = Case {
        max_readers: 2,
        ops: vec![Op::TryRead, Op::Write, Op::Read],
    };
    check_against_model::<RwLock<Pair>>(&case).expect("the shipped lock queues the late reader");
    check_against_model::<NaiveRwLock<NoFlaw>>(&case).expect("a plain FIFO lock queues it too");
    let Err(why) = check_against_model::<NaiveRwLock<ReaderPreferring>>(&case) else {
        panic!("the reader-preferring lock passed");
    };
    let why = why.to_string();
    assert!(
        why.contains("step 2 (Read)") && why.contains(OVERTOOK),
        "{why}"
    );
}

// ---------------------------------------------------------------------------------------------
// The naive locks
// ---------------------------------------------------------------------------------------------

/// Which bug a [`NaiveRwLock`] carries.
trait Flaw: 'static {
    /// A new reader joins as soon as a permit is free, even while a writer waits: the classic
    /// reader-preferring lock, where a stream of readers starves writers.
    const READERS_BARGE: bool = false;
    /// `downgrade` gives every permit back and then takes one read permit without waiting,
    /// assuming nobody got in between; a queued writer did.
    const DOWNGRADE_UNLOCKS: bool = false;
}

struct NoFlaw;
impl Flaw for NoFlaw {}

struct ReaderPreferring;
impl Flaw for ReaderPreferring {
    const READERS_BARGE: bool = true;
}

struct DowngradeUnlocks;
impl Flaw for DowngradeUnlocks {
    const DOWNGRADE_UNLOCKS: bool = true;
}

/// A lock built the obvious way: a count of free permits and a FIFO queue under one mutex; the
/// head is granted once enough permits are free (no partial assignment). The data sits in a
/// mutex of its own, so even a flawed lock stays memory safe.
struct NaiveRwLock<F: Flaw> {
    max_readers: u32,
    state: Mutex<NaiveState>,
    data: Mutex<Pair>,
    flaw: PhantomData<F>,
}

#[derive(Default)]
struct NaiveState {
    /// Signed: the `DowngradeUnlocks` flaw takes a permit that may not be there.
    free: i64,
    queue: VecDeque<NaiveWaiter>,
    /// Tickets granted but not yet collected by their future.
    granted: HashSet<u64>,
    next_ticket: u64,
}

struct NaiveWaiter {
    ticket: u64,
    needs: i64,
    waker: Waker,
}

impl<F: Flaw> NaiveRwLock<F> {
    fn needs(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Read => 1,
            Kind::Write => i64::from(self.max_readers),
        }
    }

    fn state(&self) -> MutexGuard<'_, NaiveState> {
        self.state.lock().expect("never poisoned")
    }

    /// Takes the permits for `kind` if it may enter now.
    fn try_enter(&self, state: &mut NaiveState, kind: Kind) -> bool {
        let needs = self.needs(kind);
        let may_pass_queue = F::READERS_BARGE && kind == Kind::Read;
        if state.free >= needs && (state.queue.is_empty() || may_pass_queue) {
            state.free -= needs;
            true
        } else {
            false
        }
    }

    /// Adds `n` free permits and grants queued waiters in order while the head fits; wakes them
    /// after unlocking.
    fn give_back(&self, mut state: MutexGuard<'_, NaiveState>, n: i64) {
        state.free += n;
        let mut wakers = Vec::new();
        while state.queue.front().is_some_and(|w| w.needs <= state.free) {
            let waiter = state.queue.pop_front().expect("the head is there");
            state.free -= waiter.needs;
            state.granted.insert(waiter.ticket);
            wakers.push(waiter.waker);
        }
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    fn data(&self) -> Pair {
        *self.data.lock().expect("never poisoned")
    }
}

struct NaiveAcquire<F: Flaw> {
    lock: Arc<NaiveRwLock<F>>,
    kind: Kind,
    ticket: Option<u64>,
}

impl<F: Flaw> Future for NaiveAcquire<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let lock = &this.lock;
        let mut state = lock.state();
        match this.ticket {
            None => {
                if lock.try_enter(&mut state, this.kind) {
                    return Poll::Ready(());
                }
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                let needs = lock.needs(this.kind);
                state.queue.push_back(NaiveWaiter {
                    ticket,
                    needs,
                    waker: cx.waker().clone(),
                });
                this.ticket = Some(ticket);
                Poll::Pending
            }
            Some(ticket) => {
                if state.granted.remove(&ticket) {
                    this.ticket = None;
                    return Poll::Ready(());
                }
                if let Some(waiter) = state.queue.iter_mut().find(|w| w.ticket == ticket) {
                    waiter.waker = cx.waker().clone();
                }
                Poll::Pending
            }
        }
    }
}

impl<F: Flaw> Drop for NaiveAcquire<F> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut state = self.lock.state();
        let returned = if state.granted.remove(&ticket) {
            self.lock.needs(self.kind)
        } else {
            state.queue.retain(|w| w.ticket != ticket);
            0
        };
        // Even with nothing returned, the head may have changed and now fit.
        self.lock.give_back(state, returned);
    }
}

struct NaiveRead<F: Flaw> {
    lock: Arc<NaiveRwLock<F>>,
}

impl<F: Flaw> Drop for NaiveRead<F> {
    fn drop(&mut self) {
        self.lock.give_back(self.lock.state(), 1);
    }
}

struct NaiveWrite<F: Flaw> {
    lock: Arc<NaiveRwLock<F>>,
    /// Given back on drop; 0 once downgraded.
    permits: i64,
}

impl<F: Flaw> Drop for NaiveWrite<F> {
    fn drop(&mut self) {
        self.lock.give_back(self.lock.state(), self.permits);
    }
}

impl<F: Flaw> LockUnderTest for NaiveRwLock<F> {
    type Read = NaiveRead<F>;
    type Write = NaiveWrite<F>;

    fn with_max_readers(max_readers: u32) -> Arc<Self> {
        // The same documented refusals as the shipped lock.
        assert!(
            max_readers != 0,
            "a RwLock may not be created with 0 readers"
        );
        assert!(
            max_readers <= MAX_READERS,
            "a RwLock may not be created with more than {MAX_READERS} readers"
        );
        Arc::new(NaiveRwLock {
            max_readers,
            state: Mutex::new(NaiveState {
                free: i64::from(max_readers),
                ..NaiveState::default()
            }),
            data: Mutex::new([0; 2]),
            flaw: PhantomData,
        })
    }

    fn read(this: &Arc<Self>) -> LockFuture<Self::Read> {
        let lock = Arc::clone(this);
        Box::pin(async move {
            NaiveAcquire {
                lock: Arc::clone(&lock),
                kind: Kind::Read,
                ticket: None,
            }
            .await;
            NaiveRead { lock }
        })
    }

    fn write(this: &Arc<Self>) -> LockFuture<Self::Write> {
        let lock = Arc::clone(this);
        Box::pin(async move {
            NaiveAcquire {
                lock: Arc::clone(&lock),
                kind: Kind::Write,
                ticket: None,
            }
            .await;
            let permits = lock.needs(Kind::Write);
            NaiveWrite { lock, permits }
        })
    }

    fn try_read(this: &Arc<Self>) -> Option<Self::Read> {
        let entered = this.try_enter(&mut this.state(), Kind::Read);
        entered.then(|| NaiveRead {
            lock: Arc::clone(this),
        })
    }

    fn try_write(this: &Arc<Self>) -> Option<Self::Write> {
        let entered = this.try_enter(&mut this.state(), Kind::Write);
        entered.then(|| NaiveWrite {
            lock: Arc::clone(this),
            permits: this.needs(Kind::Write),
        })
    }

    fn downgrade(mut guard: Self::Write) -> Self::Read {
        let lock = Arc::clone(&guard.lock);
        let permits = std::mem::take(&mut guard.permits);
        drop(guard);
        if F::DOWNGRADE_UNLOCKS {
            lock.give_back(lock.state(), permits);
            lock.state().free -= 1;
        } else {
            lock.give_back(lock.state(), permits - 1);
        }
        NaiveRead { lock }
    }

    fn load(guard: &Self::Read) -> Pair {
        guard.lock.data()
    }

    fn load_written(guard: &Self::Write) -> Pair {
        guard.lock.data()
    }

    fn store(guard: &mut Self::Write, value: Pair) {
        *guard.lock.data.lock().expect("never poisoned") = value;
    }
}
