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
