#![cfg(not(any(loom, shuttle)))]
//! The connection pool as a state machine: random sequences of get / return / return broken /
//! cancel / finish or fail a creation / advance time / "restart the server" / close, run against
//! the shipped pool and against a reference model, compared after every step; and self-tests
//! showing that the same checker rejects naive pools.
//!
//! # The setup
//!
//! A pool with a fake manager whose creations stay pending until the case finishes them
//! (`Finish(k, ok)`), whose recycle is instant and fails for every object created before the last
//! `Restart`, and a [`ManualClock`] that only `Advance` moves. Every `get` future is polled once
//! when made and then whenever its waker fires, in the order the gets were made, until nothing is
//! left to poll.
//!
//! A case draws the pool's configuration. Mostly: max size 1..=3, wait timeout 30 ms, create
//! timeout 20.001 ms, recycle timeout 5 ms, and no total `get` timeout or one of 50 ms. About one
//! draw in six to ten is an edge instead: a max size of 1, `Semaphore::MAX_PERMITS - 1` or
//! `MAX_PERMITS`, or an invalid 0, `MAX_PERMITS + 1` or `usize::MAX`; any timeout `Duration::ZERO`,
//! 1 ns or `Duration::MAX`. A zero create or recycle timeout, and a max size out of range, must be
//! refused by `build` with its typed `BuildError` (the case ends there); a zero wait timeout means
//! "fail at once when no slot is free"; `Duration::MAX` (any timeout too long to add to the clock)
//! means no deadline. `Advance` moves the clock by 1..=35 ms, or by an edge: 0, 1 ns, or
//! `Duration::MAX`, which `ManualClock::advance` documents to stop the clock at the farthest
//! instant it can hold; from there on, no timeout but a zero one can be represented as a deadline,
//! so none fires.
//!
//! # The model and what is checked after every step
//!
//! Slots are handed out FIFO: a free slot goes to the oldest waiting `get`, which takes the
//! oldest idle object that passes recycle (discarding stale ones) or starts a creation; a
//! cancelled `get` frees what it held; a creation that fails or times out frees its slot; an
//! object returned broken, or after close, is discarded. When the clock reaches deadlines, the
//! gets are served oldest first, as the harness polls them: each first sees whether it was handed
//! a slot (a phase's future is polled before its deadline, so a slot handed on at the very instant
//! of a wait deadline is taken), then its phase's deadline (wait or create), then its total `get`
//! deadline; a slot that a timeout frees goes on at once to the next waiter. Checked: every
//! `get`'s state (waiting, creating which creation, or its outcome: which object, or which error);
//! `status()` (size, idle, waiting) and size ≤ max; the set of objects alive equals the model's
//! (idle + checked out), no object dropped twice; and that the clock stands where the model says.
//! At the end everything is returned or cancelled, then `max` gets (at most 3) must do what the
//! model says — succeed without waiting, as no slot leaked — then after `close` nothing is left
//! alive.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test conn_pool_model` runs 256 cases (`PROPTEST_CASES` for more); a failure
//! prints the minimal case and the step that diverged, and is saved in
//! `proptest-regressions/conn_pool_model.txt`, replayed first on later runs.
//!
//! The self-tests run the checker on pools with one bug each (built on the shipped pool, the bug
//! in a thin wrapper): one that leaks a cancelled `get` (the future is forgotten instead of
//! dropped, as a hand-written pool without drop guards does), one that puts broken objects back,
//! and the guide's configuration (no wait timeout). Each must be rejected with a minimal case the
//! shipped pool passes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_patterns::conn_pool::{BuildError, GetPhase, Manager, Object, Pool, PoolError};
use async_patterns::sync::Semaphore;
use async_patterns::time::{Clock, Instant, ManualClock};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

mod support;
use support::proptest_support;

/// The typical timeouts: operations happen at whole milliseconds, so with these a wait deadline
/// never falls on the instant a create deadline frees a slot (the edges make such instants happen
/// now and then, and the model orders them as the pool does).
const WAIT: Duration = Duration::from_millis(30);
const CREATE: Duration = Duration::from_micros(20_001);
const RECYCLE: Duration = Duration::from_millis(5);
const GET: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// The fake manager
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct CreateFailed;

impl fmt::Display for CreateFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("create failed")
    }
}

impl std::error::Error for CreateFailed {}

#[derive(Default)]
struct Creation {
    /// Set by the case: `Some(true)` succeed, `Some(false)` fail.
    outcome: Option<bool>,
    waker: Option<Waker>,
    done: bool,
    abandoned: bool,
}

#[derive(Default)]
struct Books {
    /// Every creation started, by sequence number (= the id of the object it makes).
    creations: Mutex<Vec<Arc<Mutex<Creation>>>>,
    alive: Mutex<BTreeSet<usize>>,
    dropped_twice: Mutex<Vec<usize>>,
    /// Objects created before this fail their recycle.
    stale_before: Mutex<usize>,
}

struct Conn {
    id: usize,
    books: Arc<Books>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if !self.books.alive.lock().unwrap().remove(&self.id) {
            self.books.dropped_twice.lock().unwrap().push(self.id);
        }
    }
}

struct Fake(Arc<Books>);

struct PendingCreate {
    seq: usize,
    entry: Arc<Mutex<Creation>>,
    books: Arc<Books>,
}

impl Future for PendingCreate {
    type Output = Result<Conn, CreateFailed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut entry = self.entry.lock().unwrap();
        match entry.outcome {
            None => {
                entry.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Some(ok) => {
                entry.done = true;
                if !ok {
                    return Poll::Ready(Err(CreateFailed));
                }
                self.books.alive.lock().unwrap().insert(self.seq);
                Poll::Ready(Ok(Conn {
                    id: self.seq,
                    books: Arc::clone(&self.books),
                }))
            }
        }
    }
}

impl Drop for PendingCreate {
    fn drop(&mut self) {
        let mut entry = self.entry.lock().unwrap();
        if !entry.done {
            entry.abandoned = true;
        }
    }
}

impl Manager for Fake {
    type Object = Conn;
    type Error = CreateFailed;

    fn create(&self) -> impl Future<Output = Result<Conn, CreateFailed>> + Send {
        let entry = Arc::new(Mutex::new(Creation::default()));
        let mut creations = self.0.creations.lock().unwrap();
        creations.push(Arc::clone(&entry));
        PendingCreate {
            seq: creations.len() - 1,
            entry,
            books: Arc::clone(&self.0),
        }
    }

    fn recycle(&self, conn: &mut Conn) -> impl Future<Output = Result<(), CreateFailed>> + Send {
        let stale = conn.id < *self.0.stale_before.lock().unwrap();
        std::future::ready(if stale { Err(CreateFailed) } else { Ok(()) })
    }
}

// ---------------------------------------------------------------------------------------------
// Pools under test
// ---------------------------------------------------------------------------------------------

/// How a `get` ended without an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Closed,
    WaitTimeout,
    CreateTimeout,
    RecycleTimeout,
    GetTimeout,
    CreateFailed,
    Other,
}

fn failure(error: PoolError<CreateFailed>) -> Failure {
    match error {
        PoolError::Closed => Failure::Closed,
        PoolError::Timeout {
            phase: GetPhase::Wait,
            ..
        } => Failure::WaitTimeout,
        PoolError::Timeout {
            phase: GetPhase::Create,
            ..
        } => Failure::CreateTimeout,
        PoolError::Timeout {
            phase: GetPhase::Recycle,
            ..
        } => Failure::RecycleTimeout,
        PoolError::Timeout {
            phase: GetPhase::Get,
            ..
        } => Failure::GetTimeout,
        PoolError::Create(_) => Failure::CreateFailed,
        _ => Failure::Other,
    }
}

trait Held: Send {
    fn id(&self) -> usize;
    fn mark_broken(&mut self);
}

type Handle = Box<dyn Held>;
type GetFuture = Pin<Box<dyn Future<Output = Result<Handle, Failure>> + Send>>;

trait PoolUnderTest: Sized {
    fn build(config: &Config, manager: Fake, clock: ManualClock) -> Result<Self, BuildError>;
    fn get(&self) -> GetFuture;
    /// (size, idle, waiting)
    fn status(&self) -> (usize, usize, usize);
    fn close(&self);
}

type Real = Pool<Fake, ManualClock>;

impl Held for Object<Fake, ManualClock> {
    fn id(&self) -> usize {
        self.id
    }

    fn mark_broken(&mut self) {
        Object::mark_broken(self);
    }
}

fn build_real(config: &Config, manager: Fake, clock: ManualClock) -> Result<Real, BuildError> {
    let builder = Pool::builder(manager)
        .max_size(config.max)
        .wait_timeout(config.wait)
        .create_timeout(config.create)
        .recycle_timeout(config.recycle);
    let builder = match config.get {
        Some(total) => builder.get_timeout(total),
        None => builder,
    };
    builder.clock(clock).build()
}

fn real_get(pool: &Real) -> GetFuture {
    let pool = pool.clone();
    Box::pin(async move {
        pool.get()
            .await
            .map(|object| Box::new(object) as Handle)
            .map_err(failure)
    })
}

fn real_status(pool: &Real) -> (usize, usize, usize) {
    let status = pool.status();
    (status.size, status.idle, status.waiting)
}

impl PoolUnderTest for Real {
    fn build(config: &Config, manager: Fake, clock: ManualClock) -> Result<Self, BuildError> {
        build_real(config, manager, clock)
    }

    fn get(&self) -> GetFuture {
        real_get(self)
    }

    fn status(&self) -> (usize, usize, usize) {
        real_status(self)
    }

    fn close(&self) {
        Pool::close(self);
    }
}

/// Naive: a cancelled `get` is forgotten, not dropped — its slot, its place in the queue and
/// its creation are never given back (a hand-written pool without drop guards).
struct LeaksCancelledGet(Real);

struct Forgetful(Option<GetFuture>);

impl Future for Forgetful {
    type Output = Result<Handle, Failure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut().expect("polled after completion");
        let output = future.as_mut().poll(cx);
        if output.is_ready() {
            self.0 = None;
        }
        output
    }
}

impl Drop for Forgetful {
    fn drop(&mut self) {
        std::mem::forget(self.0.take());
    }
}

impl PoolUnderTest for LeaksCancelledGet {
    fn build(config: &Config, manager: Fake, clock: ManualClock) -> Result<Self, BuildError> {
        Real::build(config, manager, clock).map(LeaksCancelledGet)
    }

    fn get(&self) -> GetFuture {
        Box::pin(Forgetful(Some(real_get(&self.0))))
    }

    fn status(&self) -> (usize, usize, usize) {
        real_status(&self.0)
    }

    fn close(&self) {
        self.0.close();
    }
}

/// Naive: an object returned broken goes back to the idle queue.
struct KeepsBroken(Real);

struct Unbreakable(Handle);

impl Held for Unbreakable {
    fn id(&self) -> usize {
        self.0.id()
    }

    fn mark_broken(&mut self) {}
}

impl PoolUnderTest for KeepsBroken {
    fn build(config: &Config, manager: Fake, clock: ManualClock) -> Result<Self, BuildError> {
        Real::build(config, manager, clock).map(KeepsBroken)
    }

    fn get(&self) -> GetFuture {
        let get = real_get(&self.0);
        Box::pin(async move { get.await.map(|held| Box::new(Unbreakable(held)) as Handle) })
    }

    fn status(&self) -> (usize, usize, usize) {
        real_status(&self.0)
    }

    fn close(&self) {
        self.0.close();
    }
}

/// The guide's configuration: no wait timeout (deadpool's `PoolConfig::new(10)`).
struct NoWaitTimeout(Real);

impl PoolUnderTest for NoWaitTimeout {
    fn build(config: &Config, manager: Fake, clock: ManualClock) -> Result<Self, BuildError> {
        let unbounded = Config {
            wait: Duration::MAX,
            ..*config
        };
        build_real(&unbounded, manager, clock).map(NoWaitTimeout)
    }

    fn get(&self) -> GetFuture {
        real_get(&self.0)
    }

    fn status(&self) -> (usize, usize, usize) {
        real_status(&self.0)
    }

    fn close(&self) {
        self.0.close();
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Op {
    Get,
    Return(usize),
    ReturnBroken(usize),
    /// Drop the k-th pending `get` (waiting or creating).
    Cancel(usize),
    /// Complete the k-th creation in flight, successfully or not.
    Finish(usize, bool),
    /// Move the clock on by this much.
    Advance(Duration),
    /// Every object created so far fails its next recycle.
    Restart,
    Close,
}

/// The pool's configuration, as given to its builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Config {
    max: usize,
    wait: Duration,
    create: Duration,
    recycle: Duration,
    /// The total `get` timeout, if any.
    get: Option<Duration>,
}

impl Config {
    /// What `build` must refuse, as documented; any of them when several apply (which one is
    /// reported first is not documented).
    fn refusals(&self) -> Vec<BuildError> {
        let mut refusals = Vec::new();
        if self.max == 0 {
            refusals.push(BuildError::ZeroMaxSize);
        }
        if self.max > Semaphore::MAX_PERMITS {
            refusals.push(BuildError::MaxSizeTooLarge);
        }
        if self.create.is_zero() {
            refusals.push(BuildError::ZeroTimeout(GetPhase::Create));
        }
        if self.recycle.is_zero() {
            refusals.push(BuildError::ZeroTimeout(GetPhase::Recycle));
        }
        refusals
    }
}

#[derive(Debug, Clone)]
struct Case {
    config: Config,
    ops: Vec<Op>,
}

/// Max sizes at the edges: 0 and the last two are refused.
const MAX_SIZE_EDGES: [usize; 6] = [
    0,
    1,
    Semaphore::MAX_PERMITS - 1,
    Semaphore::MAX_PERMITS,
    Semaphore::MAX_PERMITS + 1,
    usize::MAX,
];

fn configs() -> impl Strategy<Value = Config> {
    use proptest_support::{DURATION_EDGES, with_edges};
    let get_edges = DURATION_EDGES.map(Some);
    (
        with_edges(1..=3usize, &MAX_SIZE_EDGES, 8),
        with_edges(Just(WAIT), &DURATION_EDGES, 6),
        // Rarer: a zero create or recycle timeout is refused, and ends the case.
        with_edges(Just(CREATE), &DURATION_EDGES, 8),
        with_edges(Just(RECYCLE), &DURATION_EDGES, 10),
        with_edges(
            prop_oneof![3 => Just(None), 1 => Just(Some(GET))],
            &get_edges,
            6,
        ),
    )
        .prop_map(|(max, wait, create, recycle, get)| Config {
            max,
            wait,
            create,
            recycle,
            get,
        })
}

fn cases() -> impl Strategy<Value = Case> {
    let advance = proptest_support::with_edges(
        (1..=35u64).prop_map(Duration::from_millis),
        &proptest_support::DURATION_EDGES,
        8,
    );
    let op = prop_oneof![
        12 => Just(Op::Get),
        6 => any::<usize>().prop_map(Op::Return),
        2 => any::<usize>().prop_map(Op::ReturnBroken),
        4 => any::<usize>().prop_map(Op::Cancel),
        10 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(k, ok)| Op::Finish(k, ok)),
        6 => advance.prop_map(Op::Advance),
        2 => Just(Op::Restart),
        1 => Just(Op::Close),
    ];
    (configs(), prop::collection::vec(op, 1..=40)).prop_map(|(config, ops)| Case { config, ops })
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetState {
    Waiting,
    Creating(usize),
    Done(Result<usize, Failure>),
}

/// `at + by`, or the farthest instant an `Instant` can hold: where `ManualClock::advance` documents
/// that it stops. Found by halving (written here, independently of the library's own).
fn saturating_add(at: Instant, by: Duration) -> Instant {
    if let Some(later) = at.checked_add(by) {
        return later;
    }
    let (mut fits, mut overflows) = (Duration::ZERO, by);
    while overflows - fits > Duration::from_nanos(1) {
        let mid = fits + (overflows - fits) / 2;
        if at.checked_add(mid).is_some() {
            fits = mid;
        } else {
            overflows = mid;
        }
    }
    at + fits
}

/// `Some(d)` with `d <= at`.
fn reached(deadline: Option<Instant>, at: Instant) -> bool {
    deadline.is_some_and(|deadline| deadline <= at)
}

#[derive(Debug)]
struct Model {
    config: Config,
    now: Instant,
    free_slots: usize,
    /// Waiting gets, oldest first.
    queue: VecDeque<usize>,
    /// Creations in flight: seq -> (get, create deadline).
    creating: BTreeMap<usize, (usize, Option<Instant>)>,
    idle: VecDeque<usize>,
    /// Checked-out objects: get -> object id.
    held: BTreeMap<usize, usize>,
    states: Vec<GetState>,
    /// Per get: when it stops waiting for a slot, and when its total `get` timeout ends it;
    /// `None` for no deadline (no timeout, or one too long to add to the clock).
    wait_deadlines: Vec<Option<Instant>>,
    get_deadlines: Vec<Option<Instant>>,
    next_seq: usize,
    stale_before: usize,
    closed: bool,
}

impl Model {
    fn new(config: Config, now: Instant) -> Self {
        Model {
            config,
            now,
            free_slots: config.max,
            queue: VecDeque::new(),
            creating: BTreeMap::new(),
            idle: VecDeque::new(),
            held: BTreeMap::new(),
            states: Vec::new(),
            wait_deadlines: Vec::new(),
            get_deadlines: Vec::new(),
            next_seq: 0,
            stale_before: 0,
            closed: false,
        }
    }

    fn size(&self) -> usize {
        self.idle.len() + self.held.len() + self.creating.len()
    }

    fn alive(&self) -> BTreeSet<usize> {
        self.idle
            .iter()
            .chain(self.held.values())
            .copied()
            .collect()
    }

    fn get(&mut self) {
        let get = self.states.len();
        self.states.push(GetState::Waiting);
        self.wait_deadlines
            .push(self.now.checked_add(self.config.wait));
        self.get_deadlines.push(
            self.config
                .get
                .and_then(|total| self.now.checked_add(total)),
        );
        if self.closed {
            self.states[get] = GetState::Done(Err(Failure::Closed));
        } else if self.free_slots > 0 && self.queue.is_empty() {
            self.free_slots -= 1;
            self.take_object(get);
        } else if self.config.wait.is_zero() {
            // Documented: a zero wait timeout fails at once when no slot is free.
            self.states[get] = GetState::Done(Err(Failure::WaitTimeout));
        } else {
            self.queue.push_back(get);
        }
        // A zero total timeout: its deadline is now, and a get still under way after its first
        // poll ends there.
        let pending = matches!(self.states[get], GetState::Waiting | GetState::Creating(_));
        if pending && reached(self.get_deadlines[get], self.now) {
            self.time_out(get, Failure::GetTimeout);
        }
    }

    /// `get` holds a slot: the oldest idle object that passes recycle, or a new creation.
    fn take_object(&mut self, get: usize) {
        while let Some(id) = self.idle.pop_front() {
            if id >= self.stale_before {
                self.held.insert(get, id);
                self.states[get] = GetState::Done(Ok(id));
                return;
            } // stale: discarded
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let deadline = self.now.checked_add(self.config.create);
        self.creating.insert(seq, (get, deadline));
        self.states[get] = GetState::Creating(seq);
    }

    fn free_slot(&mut self) {
        match self.queue.pop_front() {
            Some(next) => self.take_object(next),
            None => self.free_slots += 1,
        }
    }

    fn return_object(&mut self, get: usize, broken: bool) {
        let id = self.held.remove(&get).expect("held");
        if !broken && !self.closed {
            self.idle.push_back(id);
        }
        self.free_slot();
    }

    /// A pending get ends without an object: it leaves the queue, or its creation is dropped and
    /// its slot goes on.
    fn drop_pending(&mut self, get: usize) {
        match self.states[get] {
            GetState::Waiting => self.queue.retain(|waiting| *waiting != get),
            GetState::Creating(seq) => {
                self.creating.remove(&seq);
                self.free_slot();
            }
            GetState::Done(_) => unreachable!("get {get} is not pending"),
        }
    }

    fn time_out(&mut self, get: usize, why: Failure) {
        self.drop_pending(get);
        self.states[get] = GetState::Done(Err(why));
    }

    fn cancel(&mut self, get: usize) {
        self.drop_pending(get);
        self.states[get] = GetState::Done(Err(Failure::Other)); // gone; not compared again
    }

    fn finish(&mut self, seq: usize, ok: bool) {
        let (get, _) = self.creating.remove(&seq).expect("in flight");
        if !ok {
            self.states[get] = GetState::Done(Err(Failure::CreateFailed));
            self.free_slot();
        } else if self.closed {
            self.states[get] = GetState::Done(Err(Failure::Closed));
            self.free_slot();
        } else {
            self.held.insert(get, seq);
            self.states[get] = GetState::Done(Ok(seq));
        }
    }

    /// The deadlines `get` is waiting on now: its phase's (wait or create) and its total one.
    fn deadlines(&self, get: usize) -> [Option<Instant>; 2] {
        let phase = match self.states[get] {
            GetState::Waiting => self.wait_deadlines[get],
            GetState::Creating(seq) => self.creating[&seq].1,
            GetState::Done(_) => return [None, None],
        };
        [phase, self.get_deadlines[get]]
    }

    /// The earliest deadline in `(now, until]`.
    fn next_deadline(&self, until: Instant) -> Option<Instant> {
        (0..self.states.len())
            .flat_map(|get| self.deadlines(get))
            .flatten()
            .filter(|deadline| *deadline <= until)
            .min()
    }

    /// Time is `at`: every deadline reached fires. The gets are served oldest first, as the
    /// harness polls them (a get handed a slot by an older one is always younger: whoever holds a
    /// slot got it before anyone now waiting). A get first takes a slot it was handed (its future
    /// is polled before its deadline: `free_slot` has already given it its object or creation),
    /// else its phase's deadline ends it, else its total deadline.
    fn fire(&mut self, at: Instant) {
        self.now = at;
        for get in 0..self.states.len() {
            let [phase, total] = self.deadlines(get);
            if reached(phase, at) {
                let why = match self.states[get] {
                    GetState::Waiting => Failure::WaitTimeout,
                    _ => Failure::CreateTimeout,
                };
                self.time_out(get, why);
            } else if reached(total, at) {
                self.time_out(get, Failure::GetTimeout);
            }
        }
    }

    fn close(&mut self) {
        self.closed = true;
        for get in std::mem::take(&mut self.queue) {
            self.states[get] = GetState::Done(Err(Failure::Closed));
        }
        self.idle.clear();
    }

    fn pending(&self) -> Vec<usize> {
        (0..self.states.len())
            .filter(|get| matches!(self.states[*get], GetState::Waiting | GetState::Creating(_)))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The harness: the pool and the model side by side
// ---------------------------------------------------------------------------------------------

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Pending {
    future: GetFuture,
    flag: Arc<Flag>,
}

struct Harness<P> {
    pool: Option<P>,
    books: Arc<Books>,
    clock: ManualClock,
    model: Model,
    pending: BTreeMap<usize, Pending>,
    held: BTreeMap<usize, Handle>,
    outcomes: BTreeMap<usize, Result<usize, Failure>>,
    /// Creation seq -> the get that started it.
    owners: BTreeMap<usize, usize>,
    trace: Vec<String>,
}

impl<P: PoolUnderTest> Harness<P> {
    /// The harness around a freshly built pool, or the error `build` gave.
    fn new(config: Config) -> Result<Self, BuildError> {
        let books = Arc::new(Books::default());
        let clock = ManualClock::new();
        let pool = P::build(&config, Fake(Arc::clone(&books)), clock.clone())?;
        let now = clock.now();
        Ok(Harness {
            pool: Some(pool),
            books,
            clock,
            model: Model::new(config, now),
            pending: BTreeMap::new(),
            held: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            owners: BTreeMap::new(),
            trace: Vec::new(),
        })
    }

    fn pool(&self) -> &P {
        self.pool.as_ref().expect("the pool")
    }

    fn poll(&mut self, get: usize) {
        let before = self.books.creations.lock().unwrap().len();
        let entry = self.pending.get_mut(&get).expect("pending");
        let waker = Waker::from(Arc::clone(&entry.flag));
        let output = entry.future.as_mut().poll(&mut Context::from_waker(&waker));
        let after = self.books.creations.lock().unwrap().len();
        for seq in before..after {
            self.owners.insert(seq, get);
        }
        if let Poll::Ready(output) = output {
            self.pending.remove(&get);
            let outcome = output.map(|held| {
                let id = held.id();
                self.held.insert(get, held);
                id
            });
            self.outcomes.insert(get, outcome);
        }
    }

    /// Polls every woken `get`, oldest first, until none is woken.
    fn settle(&mut self) {
        loop {
            let woken: Vec<usize> = self
                .pending
                .iter()
                .filter(|(_, entry)| entry.flag.0.swap(false, Ordering::SeqCst))
                .map(|(get, _)| *get)
                .collect();
            if woken.is_empty() {
                return;
            }
            for get in woken {
                if self.pending.contains_key(&get) {
                    self.poll(get);
                }
            }
        }
    }

    fn creations_in_flight(&self) -> Vec<(usize, Arc<Mutex<Creation>>)> {
        self.books
            .creations
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                let entry = entry.lock().unwrap();
                !entry.done && !entry.abandoned && entry.outcome.is_none()
            })
            .map(|(seq, entry)| (seq, Arc::clone(entry)))
            .collect()
    }

    fn apply(&mut self, op: Op) {
        self.trace.push(format!("{op:?}"));
        match op {
            Op::Get => {
                let get = self.model.states.len();
                self.model.get();
                let future = self.pool().get();
                self.pending.insert(
                    get,
                    Pending {
                        future,
                        flag: Arc::new(Flag(AtomicBool::new(false))),
                    },
                );
                self.poll(get);
            }
            Op::Return(k) | Op::ReturnBroken(k) => {
                let gets: Vec<usize> = self.model.held.keys().copied().collect();
                if gets.is_empty() {
                    return;
                }
                let get = gets[k % gets.len()];
                let broken = matches!(op, Op::ReturnBroken(_));
                self.model.return_object(get, broken);
                if let Some(mut held) = self.held.remove(&get)
                    && broken
                {
                    held.mark_broken();
                }
            }
            Op::Cancel(k) => {
                let gets = self.model.pending();
                if gets.is_empty() {
                    return;
                }
                let get = gets[k % gets.len()];
                self.model.cancel(get);
                self.pending.remove(&get);
            }
            Op::Finish(k, ok) => {
                let seqs: Vec<usize> = self.model.creating.keys().copied().collect();
                if seqs.is_empty() {
                    return;
                }
                let seq = seqs[k % seqs.len()];
                self.model.finish(seq, ok);
                let entry = Arc::clone(&self.books.creations.lock().unwrap()[seq]);
                let waker = {
                    let mut entry = entry.lock().unwrap();
                    entry.outcome = Some(ok);
                    entry.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Op::Advance(by) => {
                let from = self.model.now;
                let until = saturating_add(from, by);
                while let Some(at) = self.model.next_deadline(until) {
                    self.clock.advance(at - self.model.now);
                    self.model.fire(at);
                    self.settle();
                }
                // The rest of `by`, whole: past the farthest instant, the clock must stop there
                // (`check` compares it with the model's).
                self.clock.advance(by - (self.model.now - from));
                self.model.now = until;
            }
            Op::Restart => {
                self.model.stale_before = self.model.next_seq;
                *self.books.stale_before.lock().unwrap() =
                    self.books.creations.lock().unwrap().len();
            }
            Op::Close => {
                self.model.close();
                self.pool().close();
            }
        }
        self.settle();
    }

    fn fail(&self, what: String) -> TestCaseError {
        TestCaseError::fail(format!(
            "{what}\n  after: {}\n  model: {:?}",
            self.trace.join(", "),
            self.model
        ))
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let now = self.clock.now();
        if now != self.model.now {
            return Err(self.fail(format!(
                "the clock reads {now:?}, the model says {:?} (ManualClock::advance saturates at \
                 the farthest instant)",
                self.model.now
            )));
        }
        for (get, expected) in self.model.states.iter().enumerate() {
            let actual = if self.pending.contains_key(&get) {
                let creating: Vec<usize> = self
                    .creations_in_flight()
                    .iter()
                    .map(|(seq, _)| *seq)
                    .filter(|seq| self.owners.get(seq) == Some(&get))
                    .collect();
                match creating.as_slice() {
                    [] => GetState::Waiting,
                    [seq] => GetState::Creating(*seq),
                    many => return Err(self.fail(format!("get {get} creates {many:?} at once"))),
                }
            } else if let Some(outcome) = self.outcomes.get(&get) {
                GetState::Done(*outcome)
            } else {
                continue; // cancelled
            };
            if matches!(expected, GetState::Done(Err(Failure::Other))) {
                continue; // cancelled in the model
            }
            if actual != *expected {
                return Err(self.fail(format!(
                    "get {get} is {actual:?}, the model says {expected:?}"
                )));
            }
        }
        let (size, idle, waiting) = self.pool().status();
        let model = (
            self.model.size(),
            self.model.idle.len(),
            self.model.queue.len(),
        );
        if (size, idle, waiting) != model {
            return Err(self.fail(format!(
                "status (size, idle, waiting) = {:?}, the model says {model:?}",
                (size, idle, waiting)
            )));
        }
        if size > self.model.config.max {
            return Err(self.fail(format!("size {size} above max {}", self.model.config.max)));
        }
        let alive = self.books.alive.lock().unwrap().clone();
        if alive != self.model.alive() {
            return Err(self.fail(format!(
                "objects alive {alive:?}, the model says {:?}",
                self.model.alive()
            )));
        }
        let twice = self.books.dropped_twice.lock().unwrap().clone();
        if !twice.is_empty() {
            return Err(self.fail(format!("objects dropped twice: {twice:?}")));
        }
        Ok(())
    }

    /// Everything back, then `max` gets (at most [`FINAL_GETS`]) without waiting, then close:
    /// nothing left.
    fn finish_and_check_ledger(&mut self) -> Result<(), TestCaseError> {
        self.trace
            .push("final: cancel every get, return every object:".into());
        // One at a time, checked after each: a cancel or a return may start another creation.
        while !self.model.pending().is_empty() || !self.model.held.is_empty() {
            let op = if self.model.pending().is_empty() {
                Op::Return(0)
            } else {
                Op::Cancel(0)
            };
            self.apply(op);
            self.check()?;
        }
        if !self.model.closed {
            let max = self.model.config.max;
            for _ in 0..max.min(FINAL_GETS) {
                self.apply(Op::Get);
                let get = self.model.states.len() - 1;
                // Finish any creation it started, so that it ends now.
                if let GetState::Creating(seq) = self.model.states[get] {
                    let k = self.model.creating.keys().position(|s| *s == seq).unwrap();
                    self.apply(Op::Finish(k, true));
                }
                // Every slot is free, so the model hands this one an object (unless a zero total
                // timeout ends a get that has to create one at once).
                let expected = self.model.states[get];
                if matches!(expected, GetState::Done(Ok(_)))
                    && !matches!(self.outcomes.get(&get), Some(Ok(_)))
                {
                    return Err(self.fail(format!(
                        "final: get {get} of {max} did not succeed at once: a slot leaked"
                    )));
                }
                self.check()?;
            }
        }
        self.apply(Op::Close);
        self.held.clear();
        self.pool = None;
        let alive = self.books.alive.lock().unwrap().clone();
        if !alive.is_empty() {
            return Err(self.fail(format!("final: objects never discarded: {alive:?}")));
        }
        Ok(())
    }
}

/// Gets the final ledger makes: all of them for a small pool, a few for a huge one.
const FINAL_GETS: usize = 3;

/// Runs `case`, checking after every step; returns every `get`'s state after the case's own
/// operations (before the final drain). A configuration `build` must refuse ends the case there
/// (no states).
fn check_case<P: PoolUnderTest>(case: &Case) -> Result<Vec<GetState>, TestCaseError> {
    let refusals = case.config.refusals();
    let mut harness = match (Harness::<P>::new(case.config), refusals.is_empty()) {
        (Ok(harness), true) => harness,
        (Err(error), false) if refusals.contains(&error) => return Ok(Vec::new()),
        (built, _) => {
            return Err(TestCaseError::fail(format!(
                "build with {:?} gave {:?}, expected {}",
                case.config,
                built.map(drop),
                if refusals.is_empty() {
                    "a pool".to_owned()
                } else {
                    format!("one of {refusals:?}")
                }
            )));
        }
    };
    for op in &case.ops {
        harness.apply(*op);
        harness.check()?;
    }
    let states = harness.model.states.clone();
    harness.finish_and_check_ledger()?;
    Ok(states)
}

// ---------------------------------------------------------------------------------------------
// Property
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_support::persisted("conn_pool_model.txt"))]

    #[test]
    fn pool_matches_the_reference_model(case in cases()) {
        check_case::<Real>(&case)?;
    }
}

/// The generator is worth its cases: over a fixed-seed run the shipped pool produces every
/// outcome, and waiters that really waited.
#[test]
fn generator_reaches_every_outcome() {
    let mut runner = proptest_support::deterministic_runner(256);
    let seen = std::cell::RefCell::new(BTreeMap::<&str, usize>::new());
    runner
        .run(&cases(), |case| {
            let states = check_case::<Real>(&case)?;
            let mut seen = seen.borrow_mut();
            for state in states {
                let kind = match state {
                    GetState::Waiting => "still waiting",
                    GetState::Creating(_) => "still creating",
                    GetState::Done(Ok(_)) => "Ok",
                    GetState::Done(Err(Failure::Closed)) => "Closed",
                    GetState::Done(Err(Failure::WaitTimeout)) => "WaitTimeout",
                    GetState::Done(Err(Failure::CreateTimeout)) => "CreateTimeout",
                    GetState::Done(Err(Failure::RecycleTimeout)) => "RecycleTimeout",
                    GetState::Done(Err(Failure::GetTimeout)) => "GetTimeout",
                    GetState::Done(Err(Failure::CreateFailed)) => "CreateFailed",
                    GetState::Done(Err(Failure::Other)) => "cancelled",
                };
                *seen.entry(kind).or_default() += 1;
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    println!("outcomes over 256 cases: {seen:?}");
    for kind in [
        "Ok",
        "Closed",
        "WaitTimeout",
        "CreateTimeout",
        "GetTimeout",
        "CreateFailed",
        "cancelled",
        "still waiting",
        "still creating",
    ] {
        assert!(seen.contains_key(kind), "never {kind}: {seen:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker rejects naive pools
// ---------------------------------------------------------------------------------------------

const HUNT_CASES: u32 = 2_000;

/// Runs the checker on `P` with a fixed seed and no persistence; returns the failure reason and
/// the minimal case, which must pass on the shipped pool.
fn hunt<P: PoolUnderTest>(flaw: &str) -> (String, Case) {
    let caught = proptest_support::hunt(flaw, HUNT_CASES, &cases(), |case| {
        check_case::<P>(case).map(drop)
    });
    let minimal = caught.minimal;
    if let Err(why) = check_case::<Real>(&minimal) {
        panic!("{flaw}: the minimal case {minimal:?} also fails the shipped pool: {why}");
    }
    println!(
        "{flaw}: caught after {} case(s); minimal case {minimal:?}\n  {}",
        caught.tried, caught.reason
    );
    (caught.reason, minimal)
}

#[test]
fn checker_catches_a_pool_that_leaks_cancelled_gets() {
    // The cancel may be one of the case's or one of the final drain's.
    let (reason, _) = hunt::<LeaksCancelledGet>("LeaksCancelledGet");
    assert!(
        reason.contains("Cancel"),
        "caught at a step that cancels nothing: {reason}"
    );
}

#[test]
fn checker_catches_a_pool_that_keeps_broken_objects() {
    let (_, minimal) = hunt::<KeepsBroken>("KeepsBroken");
    assert!(
        minimal
            .ops
            .iter()
            .any(|op| matches!(op, Op::ReturnBroken(_))),
        "caught without a broken return: {minimal:?}"
    );
}

#[test]
fn checker_catches_the_guides_pool_without_a_wait_timeout() {
    let (reason, _) = hunt::<NoWaitTimeout>("NoWaitTimeout");
    assert!(
        reason.contains("WaitTimeout"),
        "caught for another reason: {reason}"
    );
}
