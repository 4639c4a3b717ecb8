//! Proptest plumbing the `*_model` tests share: where failing cases are saved, and the self-tests'
//! hunt for a case that a deliberately broken implementation fails.

#![allow(dead_code)] // each test binary uses part of it

use std::cell::Cell;
use std::fmt::Debug;

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

/// The config of a model property: `PROPTEST_CASES` honoured (default 256), failing cases saved
/// in `proptest-regressions/<file>` and replayed first on the next run. (proptest's default
/// location looks for a `lib.rs` above the test file, finds none from `tests/`, and would save
/// beside the test instead.)
pub fn persisted(file: &str) -> Config {
    let path = format!("{}/proptest-regressions/{file}", env!("CARGO_MANIFEST_DIR"));
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(Box::leak(
            path.into_boxed_str(),
        )))),
        ..Config::default()
    }
}

/// A runner for `cases` cases from a fixed seed, saving nothing: the same cases every run.
pub fn deterministic_runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// The first failure a hunt found.
#[derive(Debug)]
pub struct Caught<T> {
    /// The checker's message.
    pub reason: String,
    /// The case, minimised by proptest.
    pub minimal: T,
    /// Cases run up to and including the first failing one (shrinking not counted).
    pub tried: u32,
}

/// Runs `check` on up to `cases` cases of `strategy`, with a fixed seed and nothing saved, and
/// returns the first failure, minimised: the self-test that a checker has teeth. Panics, naming
/// `name`, if every case passes.
pub fn hunt<S>(
    name: &str,
    cases: u32,
    strategy: &S,
    check: impl Fn(&S::Value) -> Result<(), TestCaseError>,
) -> Caught<S::Value>
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = deterministic_runner(cases);
    // Shrinking calls the check again: count only up to the first failure.
    let tried = Cell::new(0u32);
    let failed = Cell::new(false);
    let result = runner.run(strategy, |case| {
        if !failed.get() {
            tried.set(tried.get() + 1);
        }
        let outcome = check(&case);
        failed.set(failed.get() || outcome.is_err());
        outcome
    });
    match result {
        Err(TestError::Fail(reason, minimal)) => Caught {
            reason: reason.to_string(),
            minimal,
            tried: tried.get(),
        },
        Err(other) => panic!("{name}: the run stopped without a failure: {other}"),
        Ok(()) => panic!("{name}: the checker passed {cases} cases; it has no teeth"),
    }
}

/// Draws the `edges` (each as likely as the others) once in `one_in` draws, and `typical` the rest
/// of the time: the issue "Every input at its extremes" — 0, 1, MAX − 1 and MAX for counts,
/// `Duration::ZERO`, 1 ns and `Duration::MAX` for durations — with real weight, not only as the
/// rare corner of a wide range. One number picks typical or which edge, and shrinks towards
/// `typical`, or else towards the first of `edges`. (Not `prop_oneof!` and `sample::select`,
/// which cost several times more to draw: this is drawn for every operation of every case.)
pub fn with_edges<T, S>(
    typical: S,
    edges: &[T],
    one_in: u32,
) -> impl Strategy<Value = T> + Clone + use<T, S>
where
    T: Clone + Debug + 'static,
    S: Strategy<Value = T> + Clone + 'static,
{
    assert!(one_in >= 2 && !edges.is_empty());
    let edges = edges.to_vec();
    let n = u32::try_from(edges.len()).expect("a few edges");
    // Picks below `typical_picks` draw `typical`; the last `n` picks draw the edges, one each:
    // `n` picks of `one_in * n`, so one draw in `one_in`.
    let typical_picks = (one_in - 1) * n;
    (0..one_in * n, typical).prop_map(move |(pick, typical)| {
        match pick.checked_sub(typical_picks) {
            Some(edge) => edges[edge as usize].clone(),
            None => typical,
        }
    })
}

/// The durations at the edges: `Duration::ZERO`, 1 ns and `Duration::MAX`.
pub const DURATION_EDGES: [std::time::Duration; 3] = [
    std::time::Duration::ZERO,
    std::time::Duration::from_nanos(1),
    std::time::Duration::MAX,
];
