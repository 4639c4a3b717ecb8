#![cfg(not(any(loom, shuttle)))]
//! Random job sets through the worker pool in virtual time, with a random shutdown, checked for
//! what the pool promises; and a self-test showing that the same checker rejects a pool whose
//! panicking jobs kill their worker (the guide's bug).
//!
//! # A case
//!
//! 1..=4 workers, a queue of 1..=8, and 1..=30 jobs submitted one after another by one submitter,
//! each after a random pause (0..=10 ms) and each with `submit` (waiting while the queue is full)
//! or, for about a third, `try_submit` (refused when it is full). A job is one of: an async job that
//! sleeps 0..=40 ms and returns a value, one that sleeps and then panics, a blocking job that
//! computes a value (no sleeping: blocking jobs run on real threads), or a blocking job that
//! panics. At a random time (0..=200 ms) a second branch calls `shutdown()` or
//! `shutdown_within(0..=80 ms)`; the submitter carries on regardless, so later submissions race
//! with the shutdown and are refused.
//!
//! Edges, each drawn about one time in six to eight: the deadline `Duration::ZERO` (abort and
//! cancel at once), 1 ns and `Duration::MAX` (documented: no deadline, as `shutdown()`); the queue
//! capacity 1, or an invalid 0, `MAX_CAPACITY + 1` or `usize::MAX` (and, one case in 80, as each
//! allocates 2^20 slots up front, `channel::MAX_CAPACITY - 1` or `MAX_CAPACITY`); 1 worker, or
//! an invalid 0, `MAX_WORKERS + 1` or `usize::MAX`. `build` must refuse an invalid configuration
//! with its typed `BuildError`, and the case ends there. A deadline takes effect on tokio's timer,
//! which fires on whole milliseconds: 1 ns aborts and cancels at 1 ms.
//!
//! Each case runs on a fresh current-thread tokio runtime with `start_paused(true)`, so time is
//! virtual: the clock jumps to the next timer whenever the runtime is idle. Every job records in
//! a probe of its own when it started and ended (in virtual ms), whether it reached its end, and
//! whether it was dropped without ever starting; counters inside the jobs track how many run at
//! once.
//!
//! # What is checked
//!
//! - every accepted job's handle has resolved by the time the shutdown returns, exactly once, with
//!   the right kind: its value (`1000 + i` for async job `i`, the sum of squares `0..=i` for a
//!   blocking one), `Panicked` with its exact message, `Cancelled` only for a job that never
//!   started (and was dropped by the pool), `Aborted` only for a job that was still running when
//!   the `shutdown_within` deadline passed (its body was stopped exactly at the deadline); a plain
//!   `shutdown` neither cancels nor aborts anything; no job body runs twice;
//! - at most `workers` jobs run at once, async and blocking together;
//! - the report adds up — `accepted == completed + panicked + cancelled + aborted` — and matches
//!   the handles: the counts, and the ids in `cancelled` / `aborted`;
//! - a refused submission gives the very job back, unstarted (dropping what came back marks that
//!   job's probe): `try_submit` says `Full` only before the shutdown and `Closed` only after it,
//!   and `submit` refuses only after it; nothing is accepted once the shutdown has started;
//! - determinism: every case is run twice and must give the same trace (outcomes, times, report).
//!
//! Blocking jobs and virtual time: tokio does not advance a paused clock while a `spawn_blocking`
//! task is pending, so a blocking job starts and ends at one virtual instant; but its completion
//! reaches the runtime from another thread at a real-time moment. So that this cannot change what
//! the test does, the submitter and the shutdown branch only act when the pool has no blocking
//! job outstanding (`pool.running()` equals the async jobs running, counted inside the jobs);
//! they yield until then, which takes no virtual time.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test pool_model` runs 256 cases per property (each run twice); set
//! `PROPTEST_CASES` for more. On failure proptest prints the minimal case (workers, queue, jobs,
//! shutdown) and the broken rule, and saves the seed in `proptest-regressions/pool_model.txt`;
//! later runs replay saved seeds first, so the same command reproduces it. Commit that file with
//! the fix.
//!
//! The self-test `checker_catches_a_pool_whose_panics_kill_workers` runs the checker on
//! [`PanicKillsWorker`] (this crate's channel and a correct tally, but no `catch_unwind`: a panic
//! unwinds out of the worker task) with a fixed seed and no persistence, and fails unless the
//! checker rejects it with a case the shipped pool passes. `generator_reaches_every_outcome`
//! shows that the generated cases do produce every kind of outcome and refusal.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_patterns::channel;
use async_patterns::pool::{
    BuildError, JobError, JobHandle, JobId, MAX_WORKERS, ShutdownReport, TrySubmitError, WorkerPool,
};
use futures::FutureExt;
use proptest::prelude::*;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod support;
use support::proptest_support;

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Async: sleeps `ms`, returns `1000 + i`.
    Sleep { ms: u64 },
    /// Async: sleeps `ms`, then panics.
    SleepThenPanic { ms: u64 },
    /// Blocking: returns the sum of squares `0..=i`.
    Compute,
    /// Blocking: panics at once.
    ComputeThenPanic,
}

impl Kind {
    fn is_blocking(self) -> bool {
        matches!(self, Kind::Compute | Kind::ComputeThenPanic)
    }

    fn panics(self) -> bool {
        matches!(self, Kind::SleepThenPanic { .. } | Kind::ComputeThenPanic)
    }
}

#[derive(Debug, Clone, Copy)]
struct JobSpec {
    kind: Kind,
    /// Virtual ms the submitter waits before submitting this job.
    pause_ms: u64,
    /// `try_submit` (refused when full) instead of `submit` (waits for room).
    try_submit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    /// `shutdown()` at `at_ms`.
    Drain { at_ms: u64 },
    /// `shutdown_within(deadline)` at `at_ms`.
    Within { at_ms: u64, deadline: Duration },
}

impl Shutdown {
    fn at_ms(self) -> u64 {
        match self {
            Shutdown::Drain { at_ms } | Shutdown::Within { at_ms, .. } => at_ms,
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    workers: usize,
    capacity: usize,
    jobs: Vec<JobSpec>,
    shutdown: Shutdown,
}

/// Worker counts at the edges (0 and the last two are refused).
const WORKER_EDGES: [usize; 4] = [0, 1, MAX_WORKERS + 1, usize::MAX];

/// Queue capacities at the edges: 0 and the last two are refused.
const CAPACITY_EDGES: [usize; 4] = [0, 1, channel::MAX_CAPACITY + 1, usize::MAX];

/// The largest valid queue capacities, drawn apart and rarely: each allocates 2^20 slots up front
/// (about 70 ms in a debug build), twice per case.
const HUGE_CAPACITIES: [usize; 2] = [channel::MAX_CAPACITY - 1, channel::MAX_CAPACITY];

/// What `build` must refuse, as documented; any of them when several apply (which one is reported
/// first is not documented).
fn refusals(workers: usize, capacity: usize) -> Vec<BuildError> {
    let mut refusals = Vec::new();
    if workers == 0 {
        refusals.push(BuildError::ZeroWorkers);
    }
    if workers > MAX_WORKERS {
        refusals.push(BuildError::TooManyWorkers);
    }
    if capacity == 0 {
        refusals.push(BuildError::ZeroQueueCapacity);
    }
    if capacity > channel::MAX_CAPACITY {
        refusals.push(BuildError::QueueTooLarge);
    }
    refusals
}

/// The deadline `shutdown_within` works to, in whole virtual ms after it was called: tokio's
/// timers fire on whole milliseconds, so a deadline takes effect rounded up to one (1 ns is 1 ms,
/// as `Duration::ZERO` is 0). `None` for `Duration::MAX`, documented as no deadline.
fn effective_deadline_ms(deadline: Duration) -> Option<u64> {
    (deadline != Duration::MAX).then(|| {
        u64::try_from(deadline.as_nanos().div_ceil(1_000_000)).expect("drawn deadlines are short")
    })
}

fn cases() -> impl Strategy<Value = Case> {
    // The simplest alternative first: proptest shrinks a value it cannot remove towards it.
    let kind = prop_oneof![
        4 => (0..=40u64).prop_map(|ms| Kind::Sleep { ms }),
        2 => Just(Kind::Compute),
        2 => (0..=40u64).prop_map(|ms| Kind::SleepThenPanic { ms }),
        1 => Just(Kind::ComputeThenPanic),
    ];
    let job =
        (kind, 0..=10u64, prop::bool::weighted(0.3)).prop_map(|(kind, pause_ms, try_submit)| {
            JobSpec {
                kind,
                pause_ms,
                try_submit,
            }
        });
    let shutdown = prop_oneof![
        (0..=200u64).prop_map(|at_ms| Shutdown::Drain { at_ms }),
        (
            0..=200u64,
            proptest_support::with_edges(
                (0..=80u64).prop_map(Duration::from_millis),
                &proptest_support::DURATION_EDGES,
                6
            )
        )
            .prop_map(|(at_ms, deadline)| Shutdown::Within { at_ms, deadline }),
    ];
    (
        proptest_support::with_edges(1..=4usize, &WORKER_EDGES, 8),
        proptest_support::with_edges(
            proptest_support::with_edges(1..=8usize, &CAPACITY_EDGES, 8),
            &HUGE_CAPACITIES,
            80,
        ),
        prop::collection::vec(job, 1..=30),
        shutdown,
    )
        .prop_map(|(workers, capacity, jobs, shutdown)| Case {
            workers,
            capacity,
            jobs,
            shutdown,
        })
}

fn expected_value(index: usize, kind: Kind) -> u64 {
    if kind.is_blocking() {
        (0..=index as u64).map(|k| k * k).sum()
    } else {
        1000 + index as u64
    }
}

/// Every panic raised by a job carries this, so the quiet panic hook can drop its report.
const MARKER: &str = "[pool_model job]";

fn expected_panic(index: usize, kind: Kind) -> String {
    match kind {
        Kind::SleepThenPanic { ms } => format!("{MARKER} job {index} panics after {ms} ms"),
        _ => format!("{MARKER} blocking job {index} panics"),
    }
}

/// Jobs panic on purpose in most cases; their reports (printed from blocking-pool threads, which
/// the test harness does not capture) would bury real failures. Other panics are reported as usual.
fn quiet_job_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.starts_with(MARKER) {
                previous(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// Probes: what each job records about itself
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProbeState {
    /// How many times the job's body started (more than 1: the job ran twice).
    starts: u32,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    /// The body got to its end (returned, or reached its deliberate panic).
    reached_end: bool,
    /// The job was dropped without ever being started (refused and given back, or cancelled).
    dropped_unstarted: u32,
}

struct Counters {
    t0: Instant,
    /// Jobs inside their body now, and the most at once.
    running: AtomicUsize,
    peak: AtomicUsize,
    /// Async jobs inside their body now (for settling; see the module docs).
    async_running: AtomicUsize,
}

impl Counters {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_millis()).expect("a case lasts minutes at most")
    }
}

type Probe = Arc<Mutex<ProbeState>>;

/// Owned by a job until it starts; dropped unstarted, it marks the probe.
struct Unstarted {
    probe: Option<Probe>,
    counters: Arc<Counters>,
    is_async: bool,
}

impl Unstarted {
    fn start(mut self) -> Running {
        let probe = self.probe.take().expect("started once");
        let counters = Arc::clone(&self.counters);
        let now = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(now, Ordering::SeqCst);
        if self.is_async {
            counters.async_running.fetch_add(1, Ordering::SeqCst);
        }
        {
            let mut state = probe.lock().unwrap();
            state.starts += 1;
            state.start_ms = Some(counters.now_ms());
        }
        Running {
            probe,
            counters,
            is_async: self.is_async,
        }
    }
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        if let Some(probe) = &self.probe {
            probe.lock().unwrap().dropped_unstarted += 1;
        }
    }
}

/// Held by a job's body while it runs; dropped when the body ends, however it ends.
struct Running {
    probe: Probe,
    counters: Arc<Counters>,
    is_async: bool,
}

impl Running {
    fn reached_end(&self) {
        self.probe.lock().unwrap().reached_end = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.probe.lock().unwrap().end_ms = Some(self.counters.now_ms());
        self.counters.running.fetch_sub(1, Ordering::SeqCst);
        if self.is_async {
            self.counters.async_running.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

type AsyncBody = Pin<Box<dyn Future<Output = u64> + Send>>;
type BlockingBody = Box<dyn FnOnce() -> u64 + Send>;

enum Body {
    Async(AsyncBody),
    Blocking(BlockingBody),
}

fn make_job(index: usize, kind: Kind, probe: &Probe, counters: &Arc<Counters>) -> Body {
    let unstarted = Unstarted {
        probe: Some(Arc::clone(probe)),
        counters: Arc::clone(counters),
        is_async: !kind.is_blocking(),
    };
    let value = expected_value(index, kind);
    match kind {
        Kind::Sleep { ms } | Kind::SleepThenPanic { ms } => Body::Async(Box::pin(async move {
            let running = unstarted.start();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            running.reached_end();
            if kind.panics() {
                panic!("{MARKER} job {index} panics after {ms} ms");
            }
            value
        })),
        Kind::Compute | Kind::ComputeThenPanic => Body::Blocking(Box::new(move || {
            let running = unstarted.start();
            let computed: u64 = (0..=index as u64).map(|k| k * k).sum();
            running.reached_end();
            if kind.panics() {
                panic!("{MARKER} blocking job {index} panics");
            }
            computed
        })),
    }
}

// ---------------------------------------------------------------------------------------------
// The pool under test: the shipped one, or the naive one the checker must reject
// ---------------------------------------------------------------------------------------------

enum Refused<J> {
    Full(J),
    Closed(J),
}

trait HandleUnderTest: Future<Output = Result<u64, JobError>> + Unpin {
    fn id(&self) -> JobId;
    fn is_finished(&self) -> bool;
}

trait PoolUnderTest: Sized {
    type Handle: HandleUnderTest;

    /// Builds the pool inside the current runtime.
    fn build(workers: usize, capacity: usize) -> Result<Self, BuildError>;
    async fn submit(&self, job: AsyncBody) -> Result<Self::Handle, AsyncBody>;
    fn try_submit(&self, job: AsyncBody) -> Result<Self::Handle, Refused<AsyncBody>>;
    async fn submit_blocking(&self, job: BlockingBody) -> Result<Self::Handle, BlockingBody>;
    fn try_submit_blocking(&self, job: BlockingBody)
    -> Result<Self::Handle, Refused<BlockingBody>>;
    async fn shutdown(&self) -> ShutdownReport;
    async fn shutdown_within(&self, timeout: Duration) -> ShutdownReport;
    /// Jobs started and not yet resolved.
    fn running(&self) -> usize;
}

impl HandleUnderTest for JobHandle<u64> {
    fn id(&self) -> JobId {
        JobHandle::id(self)
    }

    fn is_finished(&self) -> bool {
        JobHandle::is_finished(self)
    }
}

fn refused<J>(error: TrySubmitError<J>) -> Refused<J> {
    match error {
        TrySubmitError::Full(job) => Refused::Full(job),
        TrySubmitError::Closed(job) => Refused::Closed(job),
    }
}

impl PoolUnderTest for WorkerPool {
    type Handle = JobHandle<u64>;

    fn build(workers: usize, capacity: usize) -> Result<Self, BuildError> {
        WorkerPool::builder()
            .workers(workers)
            .queue_capacity(capacity)
            .build()
    }

    async fn submit(&self, job: AsyncBody) -> Result<Self::Handle, AsyncBody> {
        WorkerPool::submit(self, job)
            .await
            .map_err(|error| error.into_inner())
    }

    fn try_submit(&self, job: AsyncBody) -> Result<Self::Handle, Refused<AsyncBody>> {
        WorkerPool::try_submit(self, job).map_err(refused)
    }

    async fn submit_blocking(&self, job: BlockingBody) -> Result<Self::Handle, BlockingBody> {
        WorkerPool::submit_blocking(self, job)
            .await
            .map_err(|error| error.into_inner())
    }

    fn try_submit_blocking(
        &self,
        job: BlockingBody,
    ) -> Result<Self::Handle, Refused<BlockingBody>> {
        WorkerPool::try_submit_blocking(self, job).map_err(refused)
    }

    async fn shutdown(&self) -> ShutdownReport {
        WorkerPool::shutdown(self).await
    }

    async fn shutdown_within(&self, timeout: Duration) -> ShutdownReport {
        WorkerPool::shutdown_within(self, timeout).await
    }

    fn running(&self) -> usize {
        WorkerPool::running(self)
    }
}

/// A pool that gets everything right except what the guide's pool gets wrong about panics: it runs
/// each job without `catch_unwind`, so a panic unwinds out of the worker task and that worker is
/// gone (the job's outcome sender, dropped while unwinding, reports the job as aborted). Same
/// channel, handles, tally and shutdowns as a correct pool.
struct PanicKillsWorker {
    sender: channel::Sender<NaiveJob>,
    receiver: channel::Receiver<NaiveJob>,
    workers: Mutex<Option<Vec<JoinHandle<()>>>>,
    tally: Arc<NaiveTally>,
    next_id: AtomicU64,
}

struct NaiveJob {
    body: Body,
    outcome: NaiveOutcome,
}

#[derive(Default)]
struct NaiveTally {
    accepted: AtomicUsize,
    running: AtomicUsize,
    completed: AtomicUsize,
    panicked: AtomicUsize,
    cancelled: Mutex<Vec<JobId>>,
    aborted: Mutex<Vec<JobId>>,
}

#[derive(Default)]
struct NaiveSlot {
    outcome: Option<Result<u64, JobError>>,
    resolved: bool,
    waker: Option<Waker>,
}

struct NaiveOutcome {
    slot: Arc<Mutex<NaiveSlot>>,
    id: JobId,
    tally: Arc<NaiveTally>,
    started: bool,
    resolved: bool,
}

impl NaiveOutcome {
    fn start(&mut self) {
        self.started = true;
        self.tally.running.fetch_add(1, Ordering::SeqCst);
    }

    fn resolve(&mut self, outcome: Result<u64, JobError>) {
        self.resolved = true;
        if self.started {
            self.tally.running.fetch_sub(1, Ordering::SeqCst);
        }
        match &outcome {
            Ok(_) => {
                self.tally.completed.fetch_add(1, Ordering::SeqCst);
            }
            Err(JobError::Panicked(_)) => {
                self.tally.panicked.fetch_add(1, Ordering::SeqCst);
            }
            Err(JobError::Cancelled) => self.tally.cancelled.lock().unwrap().push(self.id),
            Err(_) => self.tally.aborted.lock().unwrap().push(self.id),
        }
        let mut slot = self.slot.lock().unwrap();
        slot.outcome = Some(outcome);
        slot.resolved = true;
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

impl Drop for NaiveOutcome {
    fn drop(&mut self) {
        if !self.resolved {
            let error = if self.started {
                JobError::Aborted
            } else {
                JobError::Cancelled
            };
            self.resolve(Err(error));
        }
    }
}

struct NaiveHandle {
    slot: Arc<Mutex<NaiveSlot>>,
    id: JobId,
}

impl Future for NaiveHandle {
    type Output = Result<u64, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap();
        match slot.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl HandleUnderTest for NaiveHandle {
    fn id(&self) -> JobId {
        self.id
    }

    fn is_finished(&self) -> bool {
        self.slot.lock().unwrap().resolved
    }
}

impl PanicKillsWorker {
    fn job(&self, body: Body) -> (NaiveJob, NaiveHandle) {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let slot = Arc::new(Mutex::new(NaiveSlot::default()));
        let outcome = NaiveOutcome {
            slot: Arc::clone(&slot),
            id,
            tally: Arc::clone(&self.tally),
            started: false,
            resolved: false,
        };
        (NaiveJob { body, outcome }, NaiveHandle { slot, id })
    }

    /// A refused job goes back to its owner unrecorded.
    fn take_back(job: NaiveJob) -> Body {
        let NaiveJob { body, mut outcome } = job;
        outcome.resolved = true;
        body
    }

    fn accepted(&self, handle: NaiveHandle) -> NaiveHandle {
        self.tally.accepted.fetch_add(1, Ordering::SeqCst);
        handle
    }

    async fn send(&self, body: Body) -> Result<NaiveHandle, Body> {
        let (job, handle) = self.job(body);
        match self.sender.send(job).await {
            Ok(()) => Ok(self.accepted(handle)),
            Err(error) => Err(Self::take_back(error.into_inner())),
        }
    }

    fn try_send(&self, body: Body) -> Result<NaiveHandle, Refused<Body>> {
        let (job, handle) = self.job(body);
        match self.sender.try_send(job) {
            Ok(()) => Ok(self.accepted(handle)),
            Err(channel::TrySendError::Full(job)) => Err(Refused::Full(Self::take_back(job))),
            Err(channel::TrySendError::Closed(job)) => Err(Refused::Closed(Self::take_back(job))),
        }
    }

    fn report(&self, start: Instant) -> ShutdownReport {
        let mut report = ShutdownReport::default();
        report.accepted = self.tally.accepted.load(Ordering::SeqCst);
        report.completed = self.tally.completed.load(Ordering::SeqCst);
        report.panicked = self.tally.panicked.load(Ordering::SeqCst);
        report.cancelled = self.tally.cancelled.lock().unwrap().clone();
        report.cancelled.sort_unstable();
        report.aborted = self.tally.aborted.lock().unwrap().clone();
        report.aborted.sort_unstable();
        report.elapsed = start.elapsed();
        report
    }
}

fn async_only(body: Body) -> AsyncBody {
    match body {
        Body::Async(job) => job,
        Body::Blocking(_) => unreachable!("an async job comes back async"),
    }
}

fn blocking_only(body: Body) -> BlockingBody {
    match body {
        Body::Blocking(job) => job,
        Body::Async(_) => unreachable!("a blocking job comes back blocking"),
    }
}

fn map_refused<J>(refused: Refused<Body>, take: fn(Body) -> J) -> Refused<J> {
    match refused {
        Refused::Full(body) => Refused::Full(take(body)),
        Refused::Closed(body) => Refused::Closed(take(body)),
    }
}

impl PoolUnderTest for PanicKillsWorker {
    type Handle = NaiveHandle;

    fn build(workers: usize, capacity: usize) -> Result<Self, BuildError> {
        if workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers);
        }
        let (sender, receiver) =
            channel::bounded::<NaiveJob>(capacity).map_err(|error| match error {
                channel::CapacityError::Zero => BuildError::ZeroQueueCapacity,
                _ => BuildError::QueueTooLarge,
            })?;
        let handles = (0..workers)
            .map(|_| {
                let jobs = receiver.clone();
                tokio::spawn(async move {
                    while let Some(job) = jobs.recv().await {
                        let NaiveJob { body, mut outcome } = job;
                        outcome.start();
                        // The bug: no catch_unwind. A panic leaves this loop for good.
                        let value = match body {
                            Body::Async(job) => job.await,
                            Body::Blocking(job) => tokio::task::spawn_blocking(job)
                                .await
                                .expect("blocking job failed"),
                        };
                        outcome.resolve(Ok(value));
                    }
                })
            })
            .collect();
        Ok(PanicKillsWorker {
            sender,
            receiver,
            workers: Mutex::new(Some(handles)),
            tally: Arc::default(),
            next_id: AtomicU64::new(0),
        })
    }

    async fn submit(&self, job: AsyncBody) -> Result<Self::Handle, AsyncBody> {
        self.send(Body::Async(job)).await.map_err(async_only)
    }

    fn try_submit(&self, job: AsyncBody) -> Result<Self::Handle, Refused<AsyncBody>> {
        self.try_send(Body::Async(job))
            .map_err(|refused| map_refused(refused, async_only))
    }

    async fn submit_blocking(&self, job: BlockingBody) -> Result<Self::Handle, BlockingBody> {
        self.send(Body::Blocking(job)).await.map_err(blocking_only)
    }

    fn try_submit_blocking(
        &self,
        job: BlockingBody,
    ) -> Result<Self::Handle, Refused<BlockingBody>> {
        self.try_send(Body::Blocking(job))
            .map_err(|refused| map_refused(refused, blocking_only))
    }

    async fn shutdown(&self) -> ShutdownReport {
        let start = Instant::now();
        self.sender.close();
        let workers = self.workers.lock().unwrap().take();
        for worker in workers.into_iter().flatten() {
            let _ = worker.await;
        }
        self.report(start)
    }

    async fn shutdown_within(&self, timeout: Duration) -> ShutdownReport {
        let start = Instant::now();
        self.sender.close();
        let workers = self.workers.lock().unwrap().take();
        if let Some(mut workers) = workers {
            let drained = tokio::time::timeout(timeout, async {
                for worker in &mut workers {
                    let _ = worker.await;
                }
            })
            .await;
            if drained.is_err() {
                for worker in &workers {
                    worker.abort();
                }
                for worker in workers {
                    let _ = worker.await;
                }
                while let Ok(job) = self.receiver.try_recv() {
                    drop(job);
                }
            }
        }
        self.report(start)
    }

    fn running(&self) -> usize {
        self.tally.running.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

/// What became of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Submission {
    /// Accepted as job `id`; `seq` orders it among the submitter's and the shutdown's actions.
    Accepted { id: JobId, at_ms: u64, seq: u64 },
    /// `try_submit` said the queue was full.
    Full { at_ms: u64, seq: u64 },
    /// `try_submit` said the pool was shut down.
    Closed { at_ms: u64, seq: u64 },
    /// `submit` gave the job back (the pool was shut down).
    Refused { at_ms: u64, seq: u64 },
}

/// Everything a run observed; two runs of one case must produce equal traces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trace {
    submissions: Vec<Submission>,
    /// For each job: its probe at the end of the case.
    probes: Vec<ProbeState>,
    /// For each job: whether a refused job came back (its probe marked when what came back was
    /// dropped, and not before).
    came_back: Vec<bool>,
    /// For each accepted job (by index): its handle's outcome, or `None` if it never resolved.
    outcomes: Vec<Option<Option<Result<u64, JobError>>>>,
    /// Jobs whose handles had not resolved when the shutdown returned.
    unresolved_at_shutdown: Vec<usize>,
    report: ShutdownReport,
    shutdown_seq: u64,
    shutdown_called_ms: u64,
    shutdown_returned_ms: u64,
    /// The most jobs running at once (the one field that may differ between two runs).
    peak: usize,
}

/// Real time a branch may wait for blocking jobs to come back before the case fails.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// Yields (taking no virtual time) until the pool is quiet at this instant: no blocking job
/// outstanding (every job it has started and not resolved is an async job sleeping in virtual
/// time), and no action by either branch since this one last yielded (each action bumps
/// `actions`), so every task that action woke has run. At such a point both branches see the same
/// state whatever the real timing was, and the first in `join!` order acts first.
async fn settle<P: PoolUnderTest>(
    pool: &P,
    counters: &Counters,
    actions: &Cell<u64>,
) -> Result<(), String> {
    let start = std::time::Instant::now();
    loop {
        let seen = actions.get();
        tokio::task::yield_now().await;
        let outstanding = pool.running();
        let async_running = counters.async_running.load(Ordering::SeqCst);
        if outstanding <= async_running && actions.get() == seen {
            return Ok(());
        }
        if start.elapsed() > SETTLE_LIMIT {
            return Err(format!(
                "the pool reported {outstanding} jobs running, {async_running} of them async, \
                 for {SETTLE_LIMIT:?} of real time: a blocking job never came back"
            ));
        }
    }
}

/// Virtual time after which a case counts as hung.
const HANG_LIMIT: Duration = Duration::from_secs(3600);

fn run_case<P: PoolUnderTest>(case: &Case) -> Result<Trace, String> {
    quiet_job_panics();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match tokio::time::timeout(HANG_LIMIT, drive::<P>(case)).await {
            Ok(trace) => trace,
            Err(_) => Err(format!(
                "the case did not finish within {HANG_LIMIT:?} of virtual time"
            )),
        }
    })
}

async fn drive<P: PoolUnderTest>(case: &Case) -> Result<Trace, String> {
    let pool = P::build(case.workers, case.capacity)
        .map_err(|error| format!("build refused a valid configuration: {error:?}"))?;
    let t0 = Instant::now();
    let counters = Arc::new(Counters {
        t0,
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        async_running: AtomicUsize::new(0),
    });
    let probes: Vec<Probe> = case.jobs.iter().map(|_| Probe::default()).collect();
    let actions = Cell::new(0u64);
    let seq = Cell::new(0u64);
    let next_seq = || {
        actions.set(actions.get() + 1);
        seq.set(seq.get() + 1);
        seq.get()
    };
    let handles: RefCell<Vec<(usize, P::Handle)>> = RefCell::new(Vec::new());

    let submitter = async {
        let mut submissions = Vec::new();
        let mut came_back = vec![false; case.jobs.len()];
        for (index, spec) in case.jobs.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(spec.pause_ms)).await;
            settle(&pool, &counters, &actions).await?;
            let job = make_job(index, spec.kind, &probes[index], &counters);
            // Starting a submission is an action too: a `submit` that waits has joined the queue
            // for room.
            actions.set(actions.get() + 1);
            let result: Result<P::Handle, Refused<Body>> = match (job, spec.try_submit) {
                (Body::Async(job), false) => pool
                    .submit(job)
                    .await
                    .map_err(|job| Refused::Closed(Body::Async(job))),
                (Body::Blocking(job), false) => pool
                    .submit_blocking(job)
                    .await
                    .map_err(|job| Refused::Closed(Body::Blocking(job))),
                (Body::Async(job), true) => pool
                    .try_submit(job)
                    .map_err(|refused| map_refused_body(refused, Body::Async)),
                (Body::Blocking(job), true) => pool
                    .try_submit_blocking(job)
                    .map_err(|refused| map_refused_body(refused, Body::Blocking)),
            };
            let at_ms = counters.now_ms();
            let seq = next_seq();
            let job_back = match result {
                Ok(handle) => {
                    submissions.push(Submission::Accepted {
                        id: handle.id(),
                        at_ms,
                        seq,
                    });
                    handles.borrow_mut().push((index, handle));
                    continue;
                }
                Err(Refused::Full(job)) => {
                    submissions.push(Submission::Full { at_ms, seq });
                    job
                }
                Err(Refused::Closed(job)) if spec.try_submit => {
                    submissions.push(Submission::Closed { at_ms, seq });
                    job
                }
                Err(Refused::Closed(job)) => {
                    submissions.push(Submission::Refused { at_ms, seq });
                    job
                }
            };
            // The job that came back is this one, unstarted: dropping it marks its probe.
            let before = probes[index].lock().unwrap().clone();
            drop(job_back);
            let after = probes[index].lock().unwrap().clone();
            came_back[index] =
                before.starts == 0 && before.dropped_unstarted == 0 && after.dropped_unstarted == 1;
        }
        Ok::<_, String>((submissions, came_back))
    };

    let shutter = async {
        tokio::time::sleep(Duration::from_millis(case.shutdown.at_ms())).await;
        settle(&pool, &counters, &actions).await?;
        let shutdown_seq = next_seq();
        let called_ms = counters.now_ms();
        let report = match case.shutdown {
            Shutdown::Drain { .. } => pool.shutdown().await,
            Shutdown::Within { deadline, .. } => pool.shutdown_within(deadline).await,
        };
        let returned_ms = counters.now_ms();
        let unresolved: Vec<usize> = handles
            .borrow()
            .iter()
            .filter(|(_, handle)| !handle.is_finished())
            .map(|(index, _)| *index)
            .collect();
        Ok::<_, String>((report, shutdown_seq, called_ms, returned_ms, unresolved))
    };

    // `futures::join!` polls its branches in a fixed order (tokio's rotates), so a case always
    // runs the same way.
    let (submitted, shut) = futures::join!(submitter, shutter);
    let (submissions, came_back) = submitted?;
    let (report, shutdown_seq, shutdown_called_ms, shutdown_returned_ms, unresolved) = shut?;

    let mut outcomes = vec![None; case.jobs.len()];
    for (index, mut handle) in handles.into_inner() {
        outcomes[index] = Some((&mut handle).now_or_never());
    }
    drop(pool);
    Ok(Trace {
        submissions,
        probes: probes
            .iter()
            .map(|probe| probe.lock().unwrap().clone())
            .collect(),
        came_back,
        outcomes,
        unresolved_at_shutdown: unresolved,
        report,
        shutdown_seq,
        shutdown_called_ms,
        shutdown_returned_ms,
        peak: counters.peak.load(Ordering::SeqCst),
    })
}

fn map_refused_body<J>(refused: Refused<J>, wrap: fn(J) -> Body) -> Refused<Body> {
    match refused {
        Refused::Full(job) => Refused::Full(wrap(job)),
        Refused::Closed(job) => Refused::Closed(wrap(job)),
    }
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

const UNRESOLVED: &str = "never resolved";
const WRONG_OUTCOME: &str = "wrong outcome";
const RAN_TWICE: &str = "ran more than once";
const TOO_MANY: &str = "jobs ran at once";
const BAD_REPORT: &str = "report";
const BAD_REFUSAL: &str = "refusal";
const NONDETERMINISTIC: &str = "two runs of the same case differed";

struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(Failure(format!($($message)+)));
        }
    };
}

fn check_trace(case: &Case, trace: &Trace) -> Result<(), Failure> {
    let deadline = match case.shutdown {
        Shutdown::Drain { .. } => None,
        Shutdown::Within { deadline, .. } => effective_deadline_ms(deadline),
    };
    let deadline_at = deadline.map(|d| trace.shutdown_called_ms + d);

    ensure!(
        trace.peak <= case.workers,
        "{TOO_MANY}: {} {TOO_MANY} with {} workers",
        trace.peak,
        case.workers
    );
    ensure!(
        trace.unresolved_at_shutdown.is_empty(),
        "handles of jobs {:?} had {UNRESOLVED} when the shutdown returned",
        trace.unresolved_at_shutdown
    );

    let mut accepted = 0;
    let (mut completed, mut panicked) = (0, 0);
    let (mut cancelled, mut aborted) = (Vec::new(), Vec::new());
    for (index, spec) in case.jobs.iter().enumerate() {
        let probe = &trace.probes[index];
        ensure!(probe.starts <= 1, "job {index} {RAN_TWICE}: {probe:?}");
        let (id, accepted_ms) = match trace.submissions[index] {
            Submission::Accepted { id, at_ms, seq } => {
                ensure!(
                    seq < trace.shutdown_seq,
                    "{BAD_REFUSAL}: job {index} was accepted after the shutdown stopped intake"
                );
                (id, at_ms)
            }
            Submission::Full { seq, .. } => {
                ensure!(
                    seq < trace.shutdown_seq,
                    "{BAD_REFUSAL}: try_submit of job {index} said Full after the shutdown"
                );
                ensure!(
                    trace.came_back[index] && probe.starts == 0,
                    "{BAD_REFUSAL}: job {index} refused as Full did not come back unstarted: \
                     {probe:?}"
                );
                continue;
            }
            Submission::Closed { seq, .. } | Submission::Refused { seq, .. } => {
                ensure!(
                    seq > trace.shutdown_seq,
                    "{BAD_REFUSAL}: job {index} refused as shut down before the shutdown"
                );
                ensure!(
                    trace.came_back[index] && probe.starts == 0,
                    "{BAD_REFUSAL}: refused job {index} did not come back unstarted: {probe:?}"
                );
                continue;
            }
        };
        accepted += 1;
        let outcome = match &trace.outcomes[index] {
            Some(Some(outcome)) => outcome,
            _ => {
                return Err(Failure(format!(
                    "the handle of accepted job {index} (id {id}) {UNRESOLVED}"
                )));
            }
        };
        if let Some(start) = probe.start_ms {
            ensure!(
                start >= accepted_ms && start <= trace.shutdown_returned_ms,
                "job {index} started at {start} ms: before it was accepted ({accepted_ms} ms) or \
                 after the shutdown returned ({} ms)",
                trace.shutdown_returned_ms
            );
        }
        match outcome {
            Ok(value) => {
                completed += 1;
                ensure!(
                    !spec.kind.panics()
                        && *value == expected_value(index, spec.kind)
                        && probe.starts == 1
                        && probe.reached_end,
                    "{WRONG_OUTCOME}: job {index} ({:?}) resolved Ok({value}); its probe: {probe:?}",
                    spec.kind
                );
                if let (Some(at), Some(end)) = (deadline_at, probe.end_ms) {
                    ensure!(
                        end <= at,
                        "{WRONG_OUTCOME}: job {index} completed at {end} ms, after the deadline at \
                         {at} ms"
                    );
                }
            }
            Err(JobError::Panicked(message)) => {
                panicked += 1;
                ensure!(
                    spec.kind.panics()
                        && message.message() == Some(expected_panic(index, spec.kind).as_str())
                        && probe.starts == 1
                        && probe.reached_end,
                    "{WRONG_OUTCOME}: job {index} ({:?}) resolved Panicked({message:?}); its probe: \
                     {probe:?}",
                    spec.kind
                );
            }
            Err(JobError::Cancelled) => {
                cancelled.push(id);
                ensure!(
                    deadline.is_some() && probe.starts == 0 && probe.dropped_unstarted == 1,
                    "{WRONG_OUTCOME}: job {index} resolved Cancelled under {:?}; its probe: \
                     {probe:?}",
                    case.shutdown
                );
            }
            Err(JobError::Aborted) => {
                aborted.push(id);
                ensure!(
                    deadline.is_some()
                        && probe.starts == 1
                        && !probe.reached_end
                        && probe.end_ms == deadline_at,
                    "{WRONG_OUTCOME}: job {index} ({:?}) resolved Aborted under {:?} (deadline at \
                     {deadline_at:?} ms); its probe: {probe:?}",
                    spec.kind,
                    case.shutdown
                );
            }
            Err(other) => {
                return Err(Failure(format!(
                    "{WRONG_OUTCOME}: job {index} resolved with an unknown error {other:?}"
                )));
            }
        }
    }

    let report = &trace.report;
    cancelled.sort_unstable();
    aborted.sort_unstable();
    ensure!(
        report.accepted
            == report.completed + report.panicked + report.cancelled.len() + report.aborted.len(),
        "{BAD_REPORT} does not add up: {report:?}"
    );
    ensure!(
        (report.accepted, report.completed, report.panicked) == (accepted, completed, panicked)
            && report.cancelled == cancelled
            && report.aborted == aborted,
        "{BAD_REPORT} {report:?} disagrees with the handles: {accepted} accepted, {completed} \
         completed, {panicked} panicked, cancelled {cancelled:?}, aborted {aborted:?}"
    );
    if let Some(deadline) = deadline {
        let lost = !cancelled.is_empty() || !aborted.is_empty();
        ensure!(
            !lost || report.elapsed == Duration::from_millis(deadline),
            "{BAD_REPORT}: jobs were cancelled or aborted but the shutdown took {:?}, not the \
             {deadline} ms deadline",
            report.elapsed
        );
    }
    Ok(())
}

/// A case with an invalid configuration: `build` must refuse it with one of the typed errors
/// that apply.
fn check_refused<P: PoolUnderTest>(
    case: &Case,
    refusals: &[BuildError],
) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let built = runtime.block_on(async { P::build(case.workers, case.capacity).map(drop) });
    match built {
        Err(error) if refusals.contains(&error) => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{BAD_REFUSAL}: build with {} workers and a queue of {} gave {other:?}, expected one \
             of {refusals:?}",
            case.workers, case.capacity
        ))),
    }
}

/// Runs `case` twice on `P` and checks both the rules and that the runs agree; `None` when the
/// configuration is invalid and `build` refused it as it must.
fn check_case<P: PoolUnderTest>(case: &Case) -> Result<Option<Trace>, TestCaseError> {
    let refusals = refusals(case.workers, case.capacity);
    if !refusals.is_empty() {
        return check_refused::<P>(case, &refusals).map(|()| None);
    }
    let first = run_case::<P>(case).map_err(TestCaseError::fail)?;
    check_trace(case, &first).map_err(|failure| TestCaseError::fail(failure.0))?;
    let second = run_case::<P>(case).map_err(TestCaseError::fail)?;
    // How many blocking jobs overlap depends on the blocking pool's threads, in real time: two
    // taken at one virtual instant may or may not run side by side. Only its bound is checked.
    let comparable = |trace: &Trace| Trace {
        peak: 0,
        ..trace.clone()
    };
    if comparable(&first) != comparable(&second) {
        return Err(TestCaseError::fail(format!(
            "{NONDETERMINISTIC}:\n  first:  {first:?}\n  second: {second:?}"
        )));
    }
    Ok(Some(first))
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// Where failing seeds are saved and replayed from (see `semaphore_model.rs` for why it is set).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/pool_model.txt"
);

proptest! {
    // `Config::default()` honours `PROPTEST_CASES` (default 256).
    #![proptest_config(Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    })]

    #[test]
    fn every_accepted_job_resolves_once_within_the_worker_limit(case in cases()) {
        check_case::<WorkerPool>(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests
// ---------------------------------------------------------------------------------------------

fn deterministic_runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

#[test]
fn checker_catches_a_pool_whose_panics_kill_workers() {
    const HUNT_CASES: u32 = 500;
    let mut runner = deterministic_runner(HUNT_CASES);
    let result = runner.run(&cases(), |case| {
        check_case::<PanicKillsWorker>(&case).map(drop)
    });
    match result {
        Err(TestError::Fail(reason, minimal)) => {
            if let Err(why) = check_case::<WorkerPool>(&minimal) {
                panic!("the minimal case {minimal:?} also fails the shipped pool: {why}");
            }
            let reason = reason.to_string();
            assert!(
                reason.contains(WRONG_OUTCOME) || reason.contains(UNRESOLVED),
                "caught for an unexpected reason: {reason}"
            );
            assert!(
                minimal.jobs.iter().any(|job| job.kind.panics()),
                "the bug needs a panicking job: {minimal:?}"
            );
            println!("PanicKillsWorker caught; minimal case {minimal:?}\n  {reason}");
        }
        Err(other) => panic!("the run stopped without a failure: {other}"),
        Ok(()) => panic!("the checker passed {HUNT_CASES} cases on PanicKillsWorker: no teeth"),
    }
}

/// The generator is worth its cases: over a fixed-seed run, the shipped pool produces every
/// outcome and every refusal, under both shutdowns.
#[test]
fn generator_reaches_every_outcome() {
    let mut runner = deterministic_runner(256);
    let seen = RefCell::new([0usize; 10]);
    let names = [
        "Ok (async)",
        "Ok (blocking)",
        "Panicked (async)",
        "Panicked (blocking)",
        "Cancelled",
        "Aborted",
        "try_submit Full",
        "try_submit Closed",
        "submit refused",
        "peak == workers > 1",
    ];
    runner
        .run(&cases(), |case| {
            let Some(trace) = check_case::<WorkerPool>(&case)? else {
                return Ok(());
            };
            let mut seen = seen.borrow_mut();
            for (index, spec) in case.jobs.iter().enumerate() {
                let blocking = usize::from(spec.kind.is_blocking());
                match &trace.outcomes[index] {
                    Some(Some(Ok(_))) => seen[blocking] += 1,
                    Some(Some(Err(JobError::Panicked(_)))) => seen[2 + blocking] += 1,
                    Some(Some(Err(JobError::Cancelled))) => seen[4] += 1,
                    Some(Some(Err(JobError::Aborted))) => seen[5] += 1,
                    _ => {}
                }
                match trace.submissions[index] {
                    Submission::Full { .. } => seen[6] += 1,
                    Submission::Closed { .. } => seen[7] += 1,
                    Submission::Refused { .. } => seen[8] += 1,
                    Submission::Accepted { .. } => {}
                }
            }
            if case.workers > 1 && trace.peak == case.workers {
                seen[9] += 1;
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    let summary: Vec<String> = names
        .iter()
        .zip(seen)
        .map(|(name, count)| format!("{name}: {count}"))
        .collect();
    println!("{}", summary.join(", "));
    assert!(seen.iter().all(|count| *count > 0), "{summary:?}");
}

/// Regression (found by this file's proptest): `shutdown_within` panicked with "JoinHandle polled
/// after completion" when its deadline passed after some but not all workers had exited. Minimal:
/// two workers, job 0 ends after 1 ms (its worker then finds the queue closed and empty, and
/// exits), job 1 runs past the 10 ms deadline.
#[test]
fn shutdown_within_after_one_worker_exited_returns_a_report() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(2)
            .build()
            .expect("a valid configuration");
        let quick = pool
            .submit(tokio::time::sleep(Duration::from_millis(1)))
            .await
            .expect("accepted");
        let slow = pool
            .submit(tokio::time::sleep(Duration::from_millis(100)))
            .await
            .expect("accepted");
        // Panics today: "JoinHandle polled after completion".
        let report = pool.shutdown_within(Duration::from_millis(10)).await;
        assert_eq!(
            (report.completed, report.aborted.as_slice()),
            (1, [1].as_slice())
        );
        assert_eq!(quick.await, Ok(()));
        assert_eq!(slow.await, Err(JobError::Aborted));
    });
}

/// A worker count near `usize::MAX` (or merely past `pool::MAX_WORKERS`) is a typed
/// `BuildError::TooManyWorkers`. (Found by drawing counts at their edges: `build` collected one
/// worker per count before checking it, and panicked with "capacity overflow" — or, for counts
/// whose allocation size still fit, aborted the process.)
#[test]
fn build_with_usize_max_workers_returns_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    // Inside a runtime: outside one, `build` returns `NoRuntime` before it looks at the count.
    let _entered = runtime.enter();
    let built = std::panic::catch_unwind(|| {
        WorkerPool::builder()
            .workers(usize::MAX)
            .queue_capacity(1)
            .build()
            .map(drop)
    });
    match built {
        Ok(Err(BuildError::TooManyWorkers)) => {}
        Ok(other) => panic!("build gave {other:?} for usize::MAX workers"),
        Err(_) => panic!("build panicked on workers(usize::MAX) instead of returning a BuildError"),
    }
    for workers in [MAX_WORKERS + 1, usize::MAX - 1] {
        assert!(matches!(
            WorkerPool::builder().workers(workers).build_unspawned(),
            Err(BuildError::TooManyWorkers)
        ));
    }
    // The limit itself is accepted.
    let (_pool, workers) = WorkerPool::builder()
        .workers(MAX_WORKERS)
        .build_unspawned()
        .expect("MAX_WORKERS workers are allowed");
    assert_eq!(workers.len(), MAX_WORKERS);
}
