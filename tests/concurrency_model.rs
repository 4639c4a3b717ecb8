#![cfg(not(any(loom, shuttle)))]
//! Property test of the concurrency limiter and the bounded maps: random limits and random job
//! sets (durations in paused tokio time, some jobs panicking), checked against a list-scheduling
//! model; and self-tests showing that the same checker rejects two naive versions.
//!
//! # What is checked
//!
//! A case is a limit, a way to run the jobs, and up to 40 jobs, each sleeping 0..=20 ms of virtual
//! time (`tokio::time::sleep` on a `start_paused` runtime) and then returning or panicking. The
//! limit is mostly 1..=6, but one case in six takes an edge: 1, `Semaphore::MAX_PERMITS - 1` or
//! `Semaphore::MAX_PERMITS` (the largest allowed: every job runs at once), or an invalid one — 0,
//! `MAX_PERMITS + 1` or `usize::MAX` — which `ConcurrencyLimiter::new` must refuse with its typed
//! `LimitError` (`Zero` / `TooLarge { requested, max }`), and the case ends there.
//! The ways to run them:
//! - `Map`: [`ConcurrencyLimiter::bounded_map`] over the jobs;
//! - `SpawnedMap`: [`ConcurrencyLimiter::spawn_bounded_map`];
//! - `Run`: one task per job spawned up front, each through [`ConcurrencyLimiter::run`] (the
//!   right use of `run`: it bounds what runs, the caller decides what exists).
//!
//! The model, written here independently of the library: jobs start in input order, each as soon
//! as one of the `limit` slots is free (list scheduling), so job *i* starts at the earliest time a
//! slot frees after job *i − 1* started. In virtual time nothing else happens between events, so
//! the start times are exact: a limiter that lets more than `limit` run starts some job too early,
//! one that leaves a slot idle while work waits (or serves out of order) starts one too late.
//!
//! The checks, per case: every job started exactly at the model's time; at most `limit` jobs ran
//! at once; for the maps, at most `limit` job futures *existed* at once (counted from creation to
//! drop); every input was answered exactly once, with the job's output or, for a panicking job,
//! a `Panicked` carrying the job's message; and no slot was left taken at the end.
//!
//! # Running and reproducing a failure
//!
//! `cargo test --test concurrency_model` runs 256 cases per property; set `PROPTEST_CASES` for
//! more. On failure proptest prints the minimal case and saves its seed in
//! `proptest-regressions/concurrency_model.txt`, replayed first by every later run: commit it
//! with the fix.
//!
//! The self-tests (`model_catches_*`) run the checker with a fixed seed and no persistence on the
//! seed guide's "spawn everything, then limit with a semaphore" (caught: too many futures alive)
//! and on "run the jobs in chunks of `limit`" (caught: a job starts late, a slot was left idle).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use async_patterns::concurrency::{ConcurrencyLimiter, LimitError, TaskError};
use async_patterns::sync::Semaphore;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio::time::Instant;

mod support;
use support::proptest_support;

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Map,
    SpawnedMap,
    Run,
    /// Self-test only: the seed guide's version.
    NaiveSpawnEverything,
    /// Self-test only: `limit` jobs at a time, waiting for the whole chunk.
    NaiveChunks,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    millis: u64,
    panics: bool,
}

#[derive(Debug, Clone)]
struct Case {
    limit: usize,
    mode: Mode,
    jobs: Vec<Job>,
}

/// Limits at the edges; 0 and the last two are refused.
const LIMIT_EDGES: [usize; 6] = [
    0,
    1,
    Semaphore::MAX_PERMITS - 1,
    Semaphore::MAX_PERMITS,
    Semaphore::MAX_PERMITS + 1,
    usize::MAX,
];

/// What `ConcurrencyLimiter::new(limit)` must refuse, as documented.
fn refused_limit(limit: usize) -> Option<LimitError> {
    if limit == 0 {
        Some(LimitError::Zero)
    } else if limit > Semaphore::MAX_PERMITS {
        Some(LimitError::TooLarge {
            requested: limit,
            max: Semaphore::MAX_PERMITS,
        })
    } else {
        None
    }
}

fn cases(modes: Vec<Mode>) -> impl Strategy<Value = Case> {
    let job =
        (0u64..=20, prop::bool::weighted(0.15)).prop_map(|(millis, panics)| Job { millis, panics });
    (
        proptest_support::with_edges(1usize..=6, &LIMIT_EDGES, 6),
        prop::sample::select(modes),
        prop::collection::vec(job, 0..40),
    )
        .prop_map(|(limit, mode, jobs)| Case { limit, mode, jobs })
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// Start time (ms) of each job under list scheduling with `limit` slots, in input order.
fn model_starts(limit: usize, jobs: &[Job]) -> Vec<u64> {
    // Slots beyond one per job are never used: no need to make `MAX_PERMITS` of them.
    let slots = limit.min(jobs.len());
    let mut slots_free_at: BinaryHeap<Reverse<u64>> = (0..slots).map(|_| Reverse(0)).collect();
    jobs.iter()
        .map(|job| {
            let Reverse(start) = slots_free_at.pop().expect("limit >= 1");
            slots_free_at.push(Reverse(start + job.millis));
            start
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

/// What the jobs record about themselves.
#[derive(Default)]
struct Record {
    /// Start time (ms since the case began) of each job, set at its first poll.
    starts: Mutex<Vec<Option<u64>>>,
    running_now: AtomicUsize,
    running_peak: AtomicUsize,
    alive_now: AtomicUsize,
    alive_peak: AtomicUsize,
}

/// Decrements a counter when dropped.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn enter<'a>(now: &'a AtomicUsize, peak: &AtomicUsize) -> Leave<'a> {
    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(current, Ordering::SeqCst);
    Leave(now)
}

type BoxJob = Pin<Box<dyn Future<Output = usize> + Send>>;

/// The future of job `i`: counted alive from here, running from its first poll.
fn make_job(record: &Arc<Record>, origin: Instant, i: usize, job: Job) -> BoxJob {
    let record = Arc::clone(record);
    let alive = {
        let current = record.alive_now.fetch_add(1, Ordering::SeqCst) + 1;
        record.alive_peak.fetch_max(current, Ordering::SeqCst);
        AliveToken(Arc::clone(&record))
    };
    Box::pin(async move {
        let _alive = alive;
        let _running = enter(&record.running_now, &record.running_peak);
        let started = (Instant::now() - origin).as_millis() as u64;
        let first = record.starts.lock().unwrap()[i].replace(started);
        assert!(first.is_none(), "job {i} was started twice");
        tokio::time::sleep(Duration::from_millis(job.millis)).await;
        if job.panics {
            panic!("deliberate panic: job {i}");
        }
        i * 3
    })
}

/// Counts a job future as alive until dropped (owning the record, so it can move into the job).
struct AliveToken(Arc<Record>);

impl Drop for AliveToken {
    fn drop(&mut self) {
        self.0.alive_now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Each input's answer: the output, or the panic message (`None` if it had none).
type Answers = Vec<(usize, Result<usize, Option<String>>)>;

fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
}

/// Runs `case` (with a valid limit) on a fresh paused-time runtime; returns the answers, the
/// record and the slots still taken at the end (always 0 for the naive modes, which use no
/// limiter).
fn run_case(case: &Case) -> (Answers, Arc<Record>, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let record = Arc::new(Record {
        starts: Mutex::new(vec![None; case.jobs.len()]),
        ..Record::default()
    });
    let limiter = ConcurrencyLimiter::new(case.limit).unwrap();
    let answers = runtime.block_on(async {
        let origin = Instant::now();
        let jobs: Vec<(usize, Job)> = case.jobs.iter().copied().enumerate().collect();
        let make = |&(i, job): &(usize, Job)| make_job(&record, origin, i, job);
        let mut answers = Answers::new();
        match case.mode {
            Mode::Map => {
                let mut map = limiter.bounded_map(jobs, make);
                while let Some(((i, _), result)) = map.next().await {
                    answers.push((i, result.map_err(|p| p.message().map(str::to_owned))));
                }
            }
            Mode::SpawnedMap => {
                let mut map = limiter.spawn_bounded_map(jobs, make);
                while let Some(((i, _), result)) = map.next().await {
                    let result = result.map_err(|error| match error {
                        TaskError::Panicked(p) => p.message().map(str::to_owned),
                        other => Some(format!("unexpected: {other}")),
                    });
                    answers.push((i, result));
                }
            }
            Mode::Run => {
                let tasks: Vec<_> = jobs
                    .iter()
                    .map(|job| tokio::spawn(limiter.run(make(job))))
                    .collect();
                for (i, task) in tasks.into_iter().enumerate() {
                    let result = task.await.map_err(|e| panic_message(&*e.into_panic()));
                    answers.push((i, result));
                }
            }
            Mode::NaiveSpawnEverything => {
                let semaphore = Arc::new(Semaphore::new(case.limit));
                let tasks: Vec<_> = jobs
                    .iter()
                    .map(|job| {
                        let job = make(job);
                        let semaphore = Arc::clone(&semaphore);
                        tokio::spawn(async move {
                            let _permit = semaphore.acquire_owned().await.unwrap();
                            job.await
                        })
                    })
                    .collect();
                for (i, task) in tasks.into_iter().enumerate() {
                    let result = task.await.map_err(|e| panic_message(&*e.into_panic()));
                    answers.push((i, result));
                }
            }
            Mode::NaiveChunks => {
                for (chunk_index, chunk) in jobs.chunks(case.limit).enumerate() {
                    let tasks: Vec<_> = chunk.iter().map(|job| tokio::spawn(make(job))).collect();
                    for (offset, task) in tasks.into_iter().enumerate() {
                        let result = task.await.map_err(|e| panic_message(&*e.into_panic()));
                        answers.push((chunk_index * case.limit + offset, result));
                    }
                }
            }
        }
        answers
    });
    (answers, record, limiter.in_flight())
}

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    quiet_deliberate_panics();
    if let Some(expected) = refused_limit(case.limit) {
        let got = ConcurrencyLimiter::new(case.limit).map(drop);
        prop_assert_eq!(got, Err(expected), "limit {}", case.limit);
        return Ok(());
    }
    let (answers, record, slots_left) = run_case(case);
    let limit = case.limit;

    let running_peak = record.running_peak.load(Ordering::SeqCst);
    prop_assert!(
        running_peak <= limit,
        "{running_peak} jobs ran at once for a limit of {limit}"
    );
    // `Run` bounds what runs; the caller spawned every task up front on purpose.
    if case.mode != Mode::Run {
        let alive_peak = record.alive_peak.load(Ordering::SeqCst);
        prop_assert!(
            alive_peak <= limit,
            "{alive_peak} job futures existed at once for a limit of {limit}"
        );
    }

    let mut answered = vec![0usize; case.jobs.len()];
    for (i, result) in &answers {
        answered[*i] += 1;
        let expected = if case.jobs[*i].panics {
            Err(Some(format!("deliberate panic: job {i}")))
        } else {
            Ok(i * 3)
        };
        prop_assert_eq!(result, &expected, "wrong answer for input {}", i);
    }
    for (i, times) in answered.iter().enumerate() {
        prop_assert_eq!(*times, 1, "input {} was answered {} times", i, times);
    }

    let starts = record.starts.lock().unwrap().clone();
    let model = model_starts(limit, &case.jobs);
    for (i, (start, expected)) in starts.iter().zip(&model).enumerate() {
        prop_assert_eq!(
            *start,
            Some(*expected),
            "job {} started at {:?} ms, the model says {} ms (all starts: {:?}, model: {:?})",
            i,
            start,
            expected,
            starts,
            model
        );
    }
    prop_assert_eq!(slots_left, 0, "slots still taken at the end");
    Ok(())
}

/// Deliberate panics are expected; keeps them out of the test output (other panics print as
/// usual). The hook is process-wide, hence installed once and filtering by message.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = panic_message(info.payload()).unwrap_or_default();
            if !message.starts_with("deliberate panic") {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_support::persisted("concurrency_model.txt"))]

    #[test]
    fn limiter_and_maps_match_the_list_scheduling_model(
        case in cases(vec![Mode::Map, Mode::SpawnedMap, Mode::Run])
    ) {
        check_case(&case)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker rejects the naive versions
// ---------------------------------------------------------------------------------------------

const HUNT_CASES: u32 = 1_000;

/// Runs the checker on `mode` with a fixed seed; returns the failure reason and the minimal case.
fn hunt(mode: Mode) -> (String, Case) {
    let name = format!("{mode:?}");
    let caught = proptest_support::hunt(&name, HUNT_CASES, &cases(vec![mode]), check_case);
    let minimal = caught.minimal;
    // The case must tell the bug apart: the limiter passes it.
    let fixed = Case {
        mode: Mode::Map,
        ..minimal.clone()
    };
    if let Err(why) = check_case(&fixed) {
        panic!("{mode:?}: the minimal case {minimal:?} also fails the limiter: {why}");
    }
    println!(
        "{mode:?} rejected; minimal case {minimal:?}\n  {}",
        caught.reason
    );
    (caught.reason, minimal)
}

#[test]
fn model_catches_naive_spawn_everything_then_limit() {
    let (reason, minimal) = hunt(Mode::NaiveSpawnEverything);
    assert!(
        reason.contains("job futures existed at once"),
        "caught for an unexpected reason: {reason}"
    );
    assert_eq!(
        minimal.jobs.len(),
        minimal.limit + 1,
        "not minimal: {minimal:?}"
    );
}

#[test]
fn model_catches_naive_chunks_leaving_slots_idle() {
    let (reason, _) = hunt(Mode::NaiveChunks);
    assert!(
        reason.contains("the model says"),
        "caught for an unexpected reason: {reason}"
    );
}
