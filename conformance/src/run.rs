//! How a checker runs a guarantee: random cases from a seed, each run from scratch; the first
//! failing case is shrunk (operations removed while it still fails) and returned as a
//! [`Counterexample`].

use std::fmt::Debug;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::rng::{Rng, case_seed};
use crate::verdict::{Claim, Counterexample, Finding, Report, Verdict};

/// How many cases to run and from which seed.
///
/// [`Config::quick`] is what the matrix runs in CI; [`Config::deep`] runs more and longer cases.
/// The environment can override either ([`Config::from_env`]): `CONFORMANCE_CASES`,
/// `CONFORMANCE_SEED`, and `CONFORMANCE_REPLAY` (the seed a counterexample printed: only that case
/// runs, unshrunk, so a failure reproduces exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Cases per guarantee.
    pub cases: u32,
    /// The most operations in a case.
    pub max_steps: usize,
    /// The run's seed; case `i` is generated from a seed derived from it and `i`.
    pub seed: u64,
    /// Run only the case with this seed.
    pub replay: Option<u64>,
}

impl Config {
    /// 1 000 cases of up to 24 operations per guarantee.
    #[must_use]
    pub const fn quick() -> Self {
        Config {
            cases: 1_000,
            max_steps: 24,
            seed: 0x00C0_FFEE,
            replay: None,
        }
    }

    /// 25 000 cases of up to 48 operations per guarantee.
    #[must_use]
    pub const fn deep() -> Self {
        Config {
            cases: 25_000,
            max_steps: 48,
            seed: 0x00C0_FFEE,
            replay: None,
        }
    }

    /// This configuration with the environment's overrides (see the type's docs). A value that
    /// does not parse is an error naming the variable, not silently ignored.
    ///
    /// # Panics
    ///
    /// If a variable is set to something that is not a number (decimal, or hex with `0x`).
    #[must_use]
    pub fn from_env(mut self) -> Self {
        if let Some(cases) = env_number("CONFORMANCE_CASES") {
            self.cases = u32::try_from(cases).expect("CONFORMANCE_CASES: at most u32::MAX");
        }
        if let Some(seed) = env_number("CONFORMANCE_SEED") {
            self.seed = seed;
        }
        if let Some(seed) = env_number("CONFORMANCE_REPLAY") {
            self.replay = Some(seed);
        }
        self
    }

    /// Runs only the case with this seed (as a counterexample printed it).
    #[must_use]
    pub const fn replay(mut self, seed: u64) -> Self {
        self.replay = Some(seed);
        self
    }

    /// The seeds of the cases to run.
    fn seeds(&self) -> Vec<u64> {
        match self.replay {
            Some(seed) => vec![seed],
            None => (0..self.cases).map(|i| case_seed(self.seed, i)).collect(),
        }
    }
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

/// Why a case failed: the step (index into its operations; `len` for the checks at the end) and
/// what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub step: usize,
    pub message: String,
}

impl Failure {
    pub fn at(step: usize, message: impl Into<String>) -> Self {
        Failure {
            step,
            message: message.into(),
        }
    }
}

/// A failure of `guarantee` at `step`, if it is the `target` a run checks; otherwise nothing (a
/// run checks one guarantee, and another's failure is that run's to report).
pub(crate) fn failure<G: PartialEq>(
    target: G,
    guarantee: G,
    step: usize,
    message: String,
) -> Result<(), Failure> {
    if guarantee == target {
        Err(Failure::at(step, message))
    } else {
        Ok(())
    }
}

/// The runtime a time-based case runs on: one thread, time paused (so waits are exact and a case
/// replays identically).
pub(crate) fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// Polls of woken futures in one settling after which a machine calls it a spin: a case has a
/// few dozen futures at most, each woken a few times by what one step does.
pub(crate) const SPIN_LIMIT: usize = 1_000;

/// The machine of a checker whose cases need nothing but the guarantee under check: `target` of
/// the implementation `T`.
pub(crate) struct Aimed<T, G> {
    pub target: G,
    implementation: PhantomData<fn() -> T>,
}

impl<T, G> Aimed<T, G> {
    pub fn new(target: G) -> Self {
        Aimed {
            target,
            implementation: PhantomData,
        }
    }
}

/// Runs `machine(g)` for every guarantee `g` that `describe` names (its name, meaning and whether
/// the implementation claims it), and reports the findings.
pub(crate) fn report<G: Copy, P: Property>(
    pattern: &'static str,
    implementation: &str,
    guarantees: &[G],
    describe: impl Fn(G) -> (&'static str, &'static str, Claim),
    machine: impl Fn(G) -> P,
    config: &Config,
) -> Report {
    let findings = guarantees.iter().map(|&g| {
        let (guarantee, meaning, claim) = describe(g);
        Finding {
            guarantee,
            meaning,
            claim,
            verdict: check(&machine(g), config),
        }
    });
    Report {
        pattern,
        implementation: implementation.to_string(),
        findings: findings.collect(),
    }
}

/// A checker for one guarantee: how to make a case and how to run it.
pub(crate) trait Property {
    type Setup: Clone + Debug;
    type Op: Clone + Debug;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (Self::Setup, Vec<Self::Op>);

    /// Runs the case from scratch; `Err` if the guarantee was broken.
    fn run(&self, setup: &Self::Setup, ops: &[Self::Op]) -> Result<(), Failure>;
}

/// Runs `run`, turning a panic into a failure at the end of the case.
fn run_caught<P: Property>(property: &P, setup: &P::Setup, ops: &[P::Op]) -> Result<(), Failure> {
    match catch_unwind(AssertUnwindSafe(|| property.run(setup, ops))) {
        Ok(result) => result,
        Err(payload) => Err(Failure::at(
            ops.len(),
            format!("a panic during the case: {}", panic_message(&*payload)),
        )),
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string payload)".to_string()
    }
}

/// Runs the cases; on the first failure, shrinks it and returns the counterexample.
pub(crate) fn check<P: Property>(property: &P, config: &Config) -> Verdict {
    for seed in config.seeds() {
        let (setup, ops) = property.generate(&mut Rng::new(seed), config.max_steps.max(1));
        if let Err(failure) = run_caught(property, &setup, &ops) {
            let (ops, failure) = if config.replay.is_some() {
                (ops, failure)
            } else {
                shrink(property, &setup, ops, failure)
            };
            let steps = ops
                .iter()
                .take(failure.step + 1)
                .map(|op| format!("{op:?}"));
            let mut steps: Vec<String> = steps.collect();
            if failure.step >= ops.len() {
                steps.push("(end of case: everything dropped, then checked)".to_string());
            }
            return Verdict::Violated(Box::new(Counterexample {
                seed,
                setup: format!("{setup:?}"),
                steps,
                failure: failure.message,
            }));
        }
    }
    Verdict::Holds {
        cases: config.seeds().len() as u32,
    }
}

/// Removes operations (chunks, then single ones) while the case still fails.
fn shrink<P: Property>(
    property: &P,
    setup: &P::Setup,
    mut ops: Vec<P::Op>,
    mut failure: Failure,
) -> (Vec<P::Op>, Failure) {
    // Nothing after the failing step matters.
    ops.truncate((failure.step + 1).min(ops.len()));
    let mut chunk = ops.len().div_ceil(2).max(1);
    loop {
        let before = ops.len();
        let mut i = 0;
        while i < ops.len() {
            let mut candidate = ops.clone();
            candidate.drain(i..(i + chunk).min(candidate.len()));
            match run_caught(property, setup, &candidate) {
                Err(f) => {
                    candidate.truncate((f.step + 1).min(candidate.len()));
                    ops = candidate;
                    failure = f;
                }
                Ok(()) => i += chunk,
            }
        }
        if chunk == 1 {
            if ops.len() == before {
                break;
            }
            continue;
        }
        chunk = chunk.div_ceil(2);
    }
    (ops, failure)
}
