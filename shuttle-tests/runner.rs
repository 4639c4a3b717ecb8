//! The runner every shuttle test goes through: a fixed budget of sampled schedules from two
//! schedulers, reproducible by seed, with the failures kept as regression files.
//!
//! # Budget and schedulers
//!
//! Each test runs `SHUTTLE_ITERATIONS` schedules (default [`DEFAULT_ITERATIONS`]; the deep gate
//! sets more) under each of two schedulers:
//!
//! - **random**: at every step, any runnable thread;
//! - **PCT** (probabilistic concurrency testing, depth [`PCT_DEPTH`]): random thread priorities
//!   with a few priority changes at random steps, which reaches the bugs that need a thread to
//!   be held back for a long stretch — a promise made and claimed much later — far more often
//!   than a uniform choice at every step.
//!
//! Both start from a seed: `SHUTTLE_SEED` if set, else one derived from the test's name, so a run
//! is the same every time and CI is deterministic; set a new `SHUTTLE_SEED` to sample other
//! schedules.
//!
//! # Reproducing a failure
//!
//! A failing test prints the scheduler, seed and iteration that failed, the command that runs
//! the same schedules again, and shuttle's encoded schedule of the failing execution. Add that
//! schedule as a line to `shuttle-tests/regressions/<test name>.txt`: every later run replays the
//! file's schedules first, before sampling (lines starting with `#` are comments). A schedule
//! kept from before a fix is replayed as far as the fixed code still follows it.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use shuttle::scheduler::{PctScheduler, RandomScheduler, ReplayScheduler};
use shuttle::{Config, FailurePersistence, Runner};

/// Schedules per scheduler and test in an optimized run (the quick gate's budget).
#[cfg(not(unoptimized))]
pub const DEFAULT_ITERATIONS: usize = 20_000;

/// In an unoptimized build (the plain `RUSTFLAGS="--cfg shuttle" cargo test`) each schedule costs
/// several times more: a tenth of the budget keeps that command within a minute or two.
/// `SHUTTLE_ITERATIONS` still overrides it.
#[cfg(unoptimized)]
pub const DEFAULT_ITERATIONS: usize = 2_000;

/// PCT's bug depth (the number of priority changes per execution, plus one) unless
/// `SHUTTLE_PCT_DEPTH` says otherwise.
pub const PCT_DEPTH: usize = 5;

fn pct_depth() -> usize {
    std::env::var("SHUTTLE_PCT_DEPTH")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(PCT_DEPTH)
}

/// The schedulers' sampling settings, read from the environment.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub iterations: usize,
    pub seed: u64,
}

impl Budget {
    pub fn from_env(name: &str) -> Budget {
        let iterations = std::env::var("SHUTTLE_ITERATIONS")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(DEFAULT_ITERATIONS);
        let seed = std::env::var("SHUTTLE_SEED")
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| name_seed(name));
        Budget { iterations, seed }
    }
}

/// A seed fixed by the test's name (FNV-1a), so that each test samples its own schedules.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The scheduler a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Random,
    Pct,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Random => "random",
            Kind::Pct => "pct",
        }
    }
}

/// Checks `f` under the regression schedules kept for `name`, then `iterations` random and
/// `iterations` PCT schedules. `name` is the test's name (the regression file's name).
pub fn check<F>(name: &str, f: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let f = Arc::new(f);
    for schedule in regressions(name) {
        let f = Arc::clone(&f);
        let mut scheduler = ReplayScheduler::new_from_encoded(&schedule);
        // A schedule kept from before a fix replays as far as the fixed code still follows it
        // (the fix usually adds steps); it then ends that execution, which must have passed.
        scheduler.set_allow_incomplete();
        Runner::new(scheduler, config(true)).run(move || f());
    }
    let budget = Budget::from_env(name);
    for kind in [Kind::Random, Kind::Pct] {
        let f = Arc::clone(&f);
        let started = Instant::now();
        let report = Report {
            name: name.to_owned(),
            kind,
            budget,
        };
        let iterations = run(kind, budget, config(true), move || f());
        std::mem::forget(report);
        eprintln!(
            "shuttle test `{name}`: {iterations} {} schedules (seed {}) in {:.2?}",
            kind.name(),
            budget.seed,
            started.elapsed()
        );
    }
}

/// Checks `f` like [`check`], under the running test's name (libtest names its thread after it).
pub fn check_here<F>(f: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("<unnamed shuttle test>")
        .to_owned();
    check(&name, f);
}

/// Runs `f` as [`check`] would, for a self-test that expects a failure (a naive version of a
/// pattern): PCT first, then random. Returns the scheduler that failed and how many schedules it
/// ran, the failing one included; `None` if neither failed. The failure's panic is not printed.
pub fn first_failure<F>(name: &str, f: F) -> Option<(Kind, usize)>
where
    F: Fn() + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let budget = Budget::from_env(name);
    [Kind::Pct, Kind::Random].into_iter().find_map(|kind| {
        let f = Arc::clone(&f);
        schedules_to_failure(kind, budget, move || f()).map(|count| (kind, count))
    })
}

/// How many schedules of `kind` (from `budget.seed`) it takes `f` to fail, the failing one
/// included; `None` if all `budget.iterations` pass. The failure's panic is not printed.
pub fn schedules_to_failure<F>(kind: Kind, budget: Budget, f: F) -> Option<usize>
where
    F: Fn() + Send + Sync + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let body = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        f();
    };
    EXPECTING_FAILURE.with(|expecting| expecting.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| run(kind, budget, config(false), body)));
    EXPECTING_FAILURE.with(|expecting| expecting.set(false));
    outcome.is_err().then(|| count.load(Ordering::SeqCst))
}

/// Runs `f` under `budget.iterations` schedules of `kind`; returns how many ran.
fn run<F>(kind: Kind, budget: Budget, config: Config, f: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    match kind {
        Kind::Random => Runner::new(
            RandomScheduler::new_from_seed(budget.seed, budget.iterations),
            config,
        )
        .run(f),
        Kind::Pct => Runner::new(
            PctScheduler::new_from_seed(budget.seed, pct_depth(), budget.iterations),
            config,
        )
        .run(f),
    }
}

/// Shuttle's settings: failing schedules printed (`persist`) or not (an expected failure).
fn config(persist: bool) -> Config {
    let mut config = Config::new();
    // Shuttle treats every atomic as SeqCst (loom covers the weaker orderings): its warning about
    // that says nothing new here.
    config.silence_warnings = true;
    if !persist {
        config.failure_persistence = FailurePersistence::None;
    }
    config
}

thread_local! {
    /// Set while a self-test runs a naive version: its panics are expected, and not printed.
    static EXPECTING_FAILURE: Cell<bool> = const { Cell::new(false) };
}

/// Keeps the panics of the naive versions (expected failures) out of the output; every other
/// panic is printed as usual. Installed once per test binary.
pub fn quiet_expected_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTING_FAILURE.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Printed if a run panics (it is forgotten on success).
struct Report {
    name: String,
    kind: Kind,
    budget: Budget,
}

impl Drop for Report {
    fn drop(&mut self) {
        let file = self.name.rsplit("::").next().unwrap_or(&self.name);
        eprintln!(
            "shuttle test `{}` FAILED under the {} scheduler (seed {}, {} schedules). Run the \
             same schedules again: SHUTTLE_SEED={} SHUTTLE_ITERATIONS={} RUSTFLAGS=\"--cfg \
             shuttle\" cargo test --release --test shuttle {} -- --exact; to keep the failing \
             schedule printed above, add it as a line of shuttle-tests/regressions/{file}.txt.",
            self.name,
            self.kind.name(),
            self.budget.seed,
            self.budget.iterations,
            self.budget.seed,
            self.budget.iterations,
            self.name,
        );
    }
}

/// The encoded schedules kept in `shuttle-tests/regressions/<name>.txt`, if any.
fn regressions(name: &str) -> Vec<String> {
    let file = name.rsplit("::").next().unwrap_or(name);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("shuttle-tests")
        .join("regressions")
        .join(format!("{file}.txt"));
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
