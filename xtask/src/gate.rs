//! The correctness gate: a list of [`Step`]s, each one cargo invocation, run in order.
//!
//! Every step runs even if an earlier one failed, so the summary is complete; the gate fails at the
//! end, naming each failed step and the exact command that reproduces it. To add a step, push it in
//! [`steps`]; set `tests: false` for a step whose output has no libtest result lines, and `tiers`
//! to the columns of the pattern table it fills (see `matrix.rs`).
//!
//! The steps: fmt, clippy (plain, loom and shuttle builds), doc, test (every test binary),
//! tokio-tests (tokio's own tests of the sync types against ours, `tokio_tests/`: counted in the
//! step table, outside the pattern table), no-overflow-checks, loom, shuttle, sim.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::matrix::Tier;
use crate::report::{ErrScanner, Outcome, Scanner, Summary};

pub const HELP: &str = "\
cargo xtask gate: the project's correctness gate

USAGE:
    cargo xtask gate [--quick | --deep] [--partition K/N] [--skip <step>]...

Runs, in order, streaming their output:
    1. fmt            cargo fmt --all --check
    2. clippy         cargo clippy --workspace --all-targets -- -D warnings
    3. clippy-loom    the same under RUSTFLAGS+=\"--cfg loom\" in target/loom (the loom build's dir)
    4. clippy-shuttle the same under RUSTFLAGS+=\"--cfg shuttle\" in target/shuttle (the shuttle
                      build's dir)
    5. doc            RUSTDOCFLAGS=\"-D warnings\" cargo doc --no-deps --document-private-items
                      (a dead link in private docs fails too)
    5b. doc-loom      the same under RUSTFLAGS+=\"--cfg loom\" in target/loom
    6. test           cargo test --workspace --tests --no-fail-fast   (unit, tests/*.rs incl.
                      proptest, sim-tests, the test server's and the xtask's own tests; all but
                      the turmoil property, which the sim step runs)
    7. doctest        cargo test --workspace --doc   (the examples in the docs; whole, in slice
                      1 of a partitioned gate: rustdoc cannot filter by a name with spaces)
    8. tokio-tests    cargo xtask tokio-tests   (tokio's own integration tests of Semaphore,
                      Mutex and RwLock with their imports swapped for ours, in a scratch crate
                      under target/tokio-tests; a verdict per test in
                      target/tokio-tests/report.md; its tests count in the step table, not in
                      the pattern table)
    8b. conformance   cargo xtask conformance --check --preset quick|deep   (the conformance
                      kit linted and documented, and its doc examples run, with every adapter;
                      then its matrix: every checker on ours and on the peers' types, written to
                      target/conformance/matrix.{md,json}; fails if one of ours violates a
                      guarantee it claims; whole, in slice 1)
    9. no-overflow-checks
                      cargo test --release --test <each *_model> --test semaphore --test rate,
                      with overflow checks and debug assertions off (the profile users ship),
                      in target/release-arith
   10. loom           cargo test --release --test loom -- --nocapture --test-threads=1
                      (--cfg loom, target/loom; one model at a time)
   11. shuttle        cargo test --release --test shuttle -- --nocapture --test-threads=1
                      (--cfg shuttle, target/shuttle; SHUTTLE_ITERATIONS random and as many PCT
                      schedules per test, one test at a time)
   12. sim            cargo test --release --test sim   (the simulation seed sweep, SIM_SEEDS, and
                      the turmoil property, PROPTEST_CASES)
then prints a summary: per step pass/fail, wall time and test counts, and per pattern x tier
(tests, proptest, loom, shuttle, sim) what ran (tests; properties x cases; loom models, their
bound and iterations; shuttle tests and the schedules they ran; simulations x seeds) and whether
it passed. Written to target/gate/summary.json and target/gate/summary.md, with every test,
model and shuttle line in target/gate/record.txt (what `cargo xtask gate merge` reads). Every
step runs; the exit code is non-zero if any failed, and each failure is printed with the command
that reproduces it.

cargo xtask gate merge <DIR>...
    one summary from the records of the slices of a partitioned gate (see --partition):
    `cargo xtask gate merge --help`

OPTIONS:
    --quick         the CI preset (default): PROPTEST_CASES=256, LOOM_MAX_PREEMPTIONS=3,
                    SHUTTLE_ITERATIONS=20000, SIM_SEEDS=32
    --deep          the nightly preset: PROPTEST_CASES=10000, LOOM_MAX_PREEMPTIONS=4,
                    LOOM_EXHAUSTIVE_PAIRS=1 (models of one spawned thread + main run with no
                    bound), SHUTTLE_ITERATIONS=500000, SIM_SEEDS=10000
    --partition K/N run the K-th of N slices (1-based) of the test, loom, shuttle and sim steps,
                    so N machines share a (deep) gate; fmt, the clippy steps, doc and
                    tokio-tests (about a minute) run in slice 1 only.
                    Tests are dealt round-robin by name, as cargo-nextest's `count:K/N` does,
                    but through libtest (`--list`, then `--exact` names) so that the summary
                    still reads libtest's output and no extra tool is needed. Every test runs
                    in exactly one slice (a name shared by two binaries may run in two).
    --skip <step>   leave a step out (repeatable), e.g. --skip doc; the step names are those
                    listed above
    -h, --help      print this message

ENVIRONMENT (each overrides the preset):
    PROPTEST_CASES        proptest cases per property
    LOOM_MAX_PREEMPTIONS  loom preemption bound
    LOOM_EXHAUSTIVE_PAIRS 1: the affordable one-spawned-thread models run unbounded (deep default)
    SHUTTLE_ITERATIONS    shuttle schedules per scheduler (random, PCT) and run of a test's checker
    SHUTTLE_SEED          the shuttle schedulers' seed (unset: each test's own, from its name);
                          when set it is passed on, and shown in the shuttle step's command
    SIM_SEEDS             seeds per simulation scenario
    RUSTFLAGS             kept; the loom steps append `--cfg loom`, the shuttle steps
                          `--cfg shuttle`
    CARGO_TARGET_DIR      if set, the loom and shuttle builds go to $CARGO_TARGET_DIR/loom and
                          $CARGO_TARGET_DIR/shuttle (else target/loom and target/shuttle)

TIMES (measured on 2 cores):
    quick gate: about 3m20s on a warm cache, 6-10 min from a clean clone (cold target/).
    deep test step: about 3 min (PROPTEST_CASES=10000; the turmoil property runs in sim).
    deep loom step: 24 min (69 tests, 15.7 million interleavings, a spurious wakeup explored in
      every block_on; longest model 7 min).
    sim step: about 0.11 s per seed (all 43 scenarios): 32 seeds ~70 s, 10000 (deep) ~19 min.
    deep gate on one machine: 47 min from a fresh clone; --partition K/4 spreads it over four.
    (These figures predate the shuttle steps: the shuttle step's time is measured in the
    summary, target/gate/summary.{json,md}.)
";

/// The test binaries the `no-overflow-checks` step runs: the state machines, and the semaphore's
/// and the rate limiter's tests (their counts reach `MAX_PERMITS` and the top of `u32`).
const RELEASE_ARITH_TESTS: [&str; 9] = [
    "semaphore",
    "semaphore_model",
    "rwlock_model",
    "channel_model",
    "concurrency_model",
    "pool_model",
    "conn_pool_model",
    "rate_model",
    "rate",
];

/// The turmoil property (`sim-tests/properties.rs`): run by the sim step only.
const SIM_PROPERTY: &str = "properties::fetch_invariants";

/// The step names, in the order they run.
pub const STEP_NAMES: [&str; 14] = [
    "fmt",
    "clippy",
    "clippy-loom",
    "clippy-shuttle",
    "doc",
    "doc-loom",
    "test",
    "doctest",
    "tokio-tests",
    "conformance",
    "no-overflow-checks",
    "loom",
    "shuttle",
    "sim",
];

/// How thorough the gate is: the defaults of its depth settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// CI, every push.
    Quick,
    /// Nightly.
    Deep,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Deep => "deep",
        }
    }

    /// The preset's depth settings.
    fn defaults(self) -> Defaults {
        match self {
            Profile::Quick => Defaults {
                proptest_cases: "256",
                loom_max_preemptions: "3",
                shuttle_iterations: "20000",
                sim_seeds: "32",
            },
            Profile::Deep => Defaults {
                proptest_cases: "10000",
                loom_max_preemptions: "4",
                shuttle_iterations: "500000",
                sim_seeds: "10000",
            },
        }
    }
}

/// The depth settings of a [`Profile`], each overridable by the variable of the same name.
struct Defaults {
    proptest_cases: &'static str,
    loom_max_preemptions: &'static str,
    shuttle_iterations: &'static str,
    sim_seeds: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub profile: Profile,
    pub skip: Vec<String>,
    /// `(k, n)`, 1-based: run the k-th of n slices of the tests.
    pub partition: Option<(usize, usize)>,
}

impl Options {
    /// `Ok(None)` means help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options {
            profile: Profile::Quick,
            skip: Vec::new(),
            partition: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.profile = Profile::Quick,
                "--deep" => options.profile = Profile::Deep,
                "--skip" => {
                    let step = args.next().ok_or("`--skip` needs a step name")?;
                    if !STEP_NAMES.contains(&step.as_str()) {
                        return Err(format!(
                            "unknown step `{step}` (steps: {})",
                            STEP_NAMES.join(", ")
                        ));
                    }
                    options.skip.push(step.clone());
                }
                "--partition" => {
                    let spec = args.next().ok_or("`--partition` needs K/N")?;
                    options.partition = Some(parse_partition(spec)?);
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(Some(options))
    }
}

/// `K/N` with `1 <= K <= N`.
fn parse_partition(spec: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`--partition {spec}`: expected K/N with 1 <= K <= N");
    let (k, n) = spec.split_once('/').ok_or_else(bad)?;
    let k: usize = k.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// One cargo invocation of the gate.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    /// Arguments to cargo.
    pub args: Vec<String>,
    /// Set for this step only (on top of the inherited environment), and shown in the repro.
    pub env: Vec<(String, String)>,
    /// Whether the output carries libtest `test result:` lines worth counting.
    pub tests: bool,
    /// Whether `--partition` deals its tests among the slices (by libtest name, through `cargo
    /// test -- --list`); a step that is not runs whole, in slice 1.
    pub partitioned: bool,
    /// The columns of the pattern table this step fills.
    pub tiers: &'static [Tier],
}

impl Step {
    /// The command line that reproduces this step from the workspace root.
    pub fn command_line(&self, root: &Path) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(key, value)| format!("{key}={}", shell_quote(&display_path(value, root))))
            .collect();
        words.push("cargo".to_owned());
        words.extend(self.args.iter().map(|arg| shell_quote(arg)));
        words.join(" ")
    }
}

/// The settings the steps are built from, read once from the environment.
#[derive(Debug)]
pub struct Context {
    pub root: PathBuf,
    /// The profile's name (`quick`, `deep`): the conformance step's preset.
    pub profile_name: &'static str,
    pub proptest_cases: String,
    pub loom_max_preemptions: String,
    /// Schedules per scheduler and run of a shuttle test's checker (`SHUTTLE_ITERATIONS`).
    pub shuttle_iterations: String,
    /// `SHUTTLE_SEED`, if set: passed on to the shuttle step (else each test seeds from its name).
    pub shuttle_seed: Option<String>,
    pub sim_seeds: String,
    /// The variable that carries rustflags for the loom build, and its value with `--cfg loom`.
    pub loom_rustflags: (String, String),
    pub loom_target_dir: PathBuf,
    /// The same for the shuttle build, with `--cfg shuttle`.
    pub shuttle_rustflags: (String, String),
    pub shuttle_target_dir: PathBuf,
    /// Where the `no-overflow-checks` step builds (its profile differs from the release one).
    pub release_arith_target_dir: PathBuf,
    /// Loom models of one spawned thread + main run unbounded (`LOOM_EXHAUSTIVE_PAIRS=1`).
    pub exhaustive_pairs: bool,
}

impl Context {
    pub fn from_env(
        root: PathBuf,
        profile: Profile,
        var: impl Fn(&str) -> Option<String>,
    ) -> Context {
        let defaults = profile.defaults();
        let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        // The rustflags of a build with `--cfg <cfg>` on top of the caller's.
        let rustflags_with = |cfg: &str| match var("CARGO_ENCODED_RUSTFLAGS") {
            // Cargo prefers the encoded form over RUSTFLAGS when it is set (even empty).
            Some(encoded) if encoded.is_empty() => (
                "CARGO_ENCODED_RUSTFLAGS".to_owned(),
                format!("--cfg\x1f{cfg}"),
            ),
            Some(encoded) => (
                "CARGO_ENCODED_RUSTFLAGS".to_owned(),
                format!("{encoded}\x1f--cfg\x1f{cfg}"),
            ),
            None => match set("RUSTFLAGS") {
                Some(flags) => (
                    "RUSTFLAGS".to_owned(),
                    format!("{} --cfg {cfg}", flags.trim()),
                ),
                None => ("RUSTFLAGS".to_owned(), format!("--cfg {cfg}")),
            },
        };
        // Each build with its own cfg gets its own target directory, so none rebuilds another's.
        let target_dir = |cfg: &str| match set("CARGO_TARGET_DIR") {
            Some(dir) => root.join(dir).join(cfg),
            None => root.join("target").join(cfg),
        };
        Context {
            proptest_cases: set("PROPTEST_CASES").unwrap_or(defaults.proptest_cases.to_owned()),
            loom_max_preemptions: set("LOOM_MAX_PREEMPTIONS")
                .unwrap_or(defaults.loom_max_preemptions.to_owned()),
            shuttle_iterations: set("SHUTTLE_ITERATIONS")
                .unwrap_or(defaults.shuttle_iterations.to_owned()),
            shuttle_seed: set("SHUTTLE_SEED").map(|seed| seed.trim().to_owned()),
            sim_seeds: set("SIM_SEEDS").unwrap_or(defaults.sim_seeds.to_owned()),
            loom_rustflags: rustflags_with("loom"),
            loom_target_dir: target_dir("loom"),
            shuttle_rustflags: rustflags_with("shuttle"),
            shuttle_target_dir: target_dir("shuttle"),
            release_arith_target_dir: target_dir("release-arith"),
            profile_name: profile.name(),
            exhaustive_pairs: set("LOOM_EXHAUSTIVE_PAIRS")
                .map_or(profile == Profile::Deep, |value| value == "1"),
            root,
        }
    }
}

/// The gate's steps, in the order they run.
pub fn steps(context: &Context) -> Vec<Step> {
    let step = |name, list: &[&str], env: Vec<(String, String)>, tiers| {
        let tests = !matches!(
            name,
            "fmt" | "clippy" | "clippy-loom" | "clippy-shuttle" | "doc" | "doc-loom"
        );
        Step {
            name,
            args: list.iter().map(|arg| (*arg).to_owned()).collect(),
            env,
            tests,
            // tokio-tests is not `cargo test`: it cannot list its tests for a slice, and it is
            // short enough to run whole. Nor can the doctests be sliced: rustdoc splits its
            // filters at spaces, and every doctest's name has some.
            partitioned: tests && !matches!(name, "tokio-tests" | "doctest" | "conformance"),
            tiers,
        }
    };
    // A model checker's build: its rustflags and its own target directory.
    let model_build = |rustflags: &(String, String), target_dir: &Path| {
        vec![
            rustflags.clone(),
            (
                "CARGO_TARGET_DIR".to_owned(),
                target_dir.display().to_string(),
            ),
        ]
    };
    let loom_build = || model_build(&context.loom_rustflags, &context.loom_target_dir);
    let mut loom_env = loom_build();
    loom_env.push((
        "LOOM_MAX_PREEMPTIONS".into(),
        context.loom_max_preemptions.clone(),
    ));
    if context.exhaustive_pairs {
        loom_env.push(("LOOM_EXHAUSTIVE_PAIRS".into(), "1".into()));
    }
    let shuttle_build = || model_build(&context.shuttle_rustflags, &context.shuttle_target_dir);
    let mut shuttle_env = shuttle_build();
    shuttle_env.push((
        "SHUTTLE_ITERATIONS".into(),
        context.shuttle_iterations.clone(),
    ));
    if let Some(seed) = &context.shuttle_seed {
        shuttle_env.push(("SHUTTLE_SEED".into(), seed.clone()));
    }
    let clippy = ["clippy", "--all-targets", "--", "-D", "warnings"];
    // The std build covers the whole workspace: the test server's and the xtask's own tests (the
    // summary merge, the workflow files) run and are linted with the crate's.
    let clippy_workspace = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ];
    let mut release_models = vec!["test", "--release", "--no-fail-fast"];
    for model in RELEASE_ARITH_TESTS {
        release_models.extend(["--test", model]);
    }
    let release_env = vec![
        (
            "CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS".into(),
            "false".into(),
        ),
        (
            "CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS".into(),
            "false".into(),
        ),
        (
            "CARGO_TARGET_DIR".into(),
            context.release_arith_target_dir.display().to_string(),
        ),
        ("PROPTEST_CASES".into(), context.proptest_cases.clone()),
    ];
    vec![
        step("fmt", &["fmt", "--all", "--check"], vec![], &[]),
        step("clippy", &clippy_workspace, vec![], &[]),
        // Same flags and target directory as the loom step, which then builds incrementally.
        step("clippy-loom", &clippy, loom_build(), &[]),
        // Likewise for the shuttle step.
        step("clippy-shuttle", &clippy, shuttle_build(), &[]),
        step(
            "doc",
            &["doc", "--no-deps", "--document-private-items"],
            vec![("RUSTDOCFLAGS".into(), "-D warnings".into())],
            &[],
        ),
        // The loom build leaves modules out (the fetch path, the signal helper): a link to one of
        // them from a page that stays is dead only there.
        step(
            "doc-loom",
            &["doc", "--no-deps", "--document-private-items"],
            {
                let mut env = loom_build();
                env.push(("RUSTDOCFLAGS".into(), "-D warnings".into()));
                env
            },
            &[],
        ),
        // Every test binary runs even after one fails, so the counts are complete. The turmoil
        // property is a simulation: it runs at the gate's depth in the (release) sim step, not
        // again here in debug, where 10 000 cases took most of the deep test step.
        step(
            "test",
            &[
                "test",
                "--workspace",
                "--tests",
                "--no-fail-fast",
                "--",
                "--skip",
                SIM_PROPERTY,
            ],
            vec![("PROPTEST_CASES".into(), context.proptest_cases.clone())],
            &[Tier::Tests, Tier::Proptest],
        ),
        // The examples in the docs, whole in slice 1 (see `partitioned` above).
        step(
            "doctest",
            &["test", "--workspace", "--doc", "--no-fail-fast"],
            vec![],
            &[Tier::Tests],
        ),
        // tokio's own tests of the types we replace, against ours (`cargo xtask tokio-tests`,
        // through the alias in .cargo/config.toml): its libtest lines count in the step table.
        // No tiers: the pattern table keeps counting our own tests, and tokio's binaries
        // (`sync_mutex`, …) name no pattern.
        step("tokio-tests", &["xtask", "tokio-tests"], vec![], &[]),
        // The conformance kit's matrix (`cargo xtask conformance`): the kit's checkers on our
        // types and the peers'. Its own zoo tests ran in the test step. Not `cargo test`: whole,
        // in slice 1, like tokio-tests.
        step(
            "conformance",
            &[
                "xtask",
                "conformance",
                "--check",
                "--preset",
                context.profile_name,
            ],
            vec![],
            &[],
        ),
        // The state machines again, built as users ship the crate: no overflow checks and no
        // debug assertions, so that a wrap a debug panic would catch in the step above cannot
        // pass unnoticed in a release build. Its own target directory (the profile change would
        // otherwise rebuild the sim step's release build back and forth). Not in the pattern
        // table: the test step's columns already count these tests.
        step("no-overflow-checks", &release_models, release_env, &[]),
        // `--nocapture`: the models' `loom model …: completed in N iterations` lines are the
        // figures the summary reports. One model at a time: two at once on the 2-core machine
        // gained little (loom's threads spend much of their time in the kernel, mapping stacks)
        // and stretched each model's time past the 60 s a model may take (the channel's three
        // largest: 21-24 s alone, 69-78 s beside another).
        step(
            "loom",
            &[
                "test",
                "--release",
                "--test",
                "loom",
                "--",
                "--nocapture",
                "--test-threads=1",
            ],
            loom_env,
            &[Tier::Loom],
        ),
        // `--nocapture`: the runner's `shuttle test …: N random schedules (seed S) in T` lines
        // (one per scheduler and checker run) are the figures the summary reports. One test at a
        // time, as for loom: each test's time is then its own.
        step(
            "shuttle",
            &[
                "test",
                "--release",
                "--test",
                "shuttle",
                "--",
                "--nocapture",
                "--test-threads=1",
            ],
            shuttle_env,
            &[Tier::Shuttle],
        ),
        step(
            "sim",
            &["test", "--release", "--test", "sim"],
            vec![
                ("PROPTEST_CASES".into(), context.proptest_cases.clone()),
                ("SIM_SEEDS".into(), context.sim_seeds.clone()),
            ],
            &[Tier::Sim],
        ),
    ]
}

/// The workspace root: the parent of this crate's manifest directory, whatever the cwd.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

pub fn run(options: &Options) -> ExitCode {
    let context = Context::from_env(workspace_root(), options.profile, |name| {
        std::env::var(name).ok()
    });
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let start = Instant::now();

    let (steps, skipped): (Vec<Step>, Vec<Step>) = steps(&context).into_iter().partition(|step| {
        !options.skip.iter().any(|name| name == step.name) && runs_in_slice(step, options.partition)
    });
    let outcomes: Vec<Outcome> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let position = (i + 1, steps.len());
            match options.partition {
                Some(slice) => match sliced(&cargo, &context.root, step, slice) {
                    Ok(step) => run_step(&cargo, &context.root, &step, position),
                    Err(failure) => Outcome::failed_to_start(step, &context.root, failure),
                },
                None => run_step(&cargo, &context.root, step, position),
            }
        })
        .collect();
    let profile = match options.partition {
        Some((k, n)) => format!("{}, partition {k}/{n}", options.profile.name()),
        None => options.profile.name().to_owned(),
    };

    let summary = Summary {
        profile,
        root: context.root.display().to_string(),
        started_unix,
        seconds: start.elapsed().as_secs_f64(),
        proptest_cases: context.proptest_cases.clone(),
        loom_max_preemptions: context.loom_max_preemptions.clone(),
        shuttle_iterations: context.shuttle_iterations.clone(),
        sim_seeds: context.sim_seeds.clone(),
        skipped: skipped.iter().map(|step| step.name.to_owned()).collect(),
        outcomes,
    };
    println!();
    print!("{}", summary.to_text());
    let out_dir = context.root.join("target").join("gate");
    match crate::merge::write_all(&summary, &out_dir) {
        Ok(()) => println!(
            "summary written to {} and {}",
            display_path(
                &out_dir.join("summary.json").display().to_string(),
                &context.root
            ),
            display_path(
                &out_dir.join("summary.md").display().to_string(),
                &context.root
            ),
        ),
        Err(error) => eprintln!(
            "error: could not write the summary to {}: {error}",
            out_dir.display()
        ),
    }
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Whether `step` runs in slice `partition` of the gate: the partitioned steps (test,
/// no-overflow-checks, loom, shuttle, sim) run in every slice, each its own share of the tests
/// ([`sliced`]); the others once, in the first.
fn runs_in_slice(step: &Step, partition: Option<(usize, usize)>) -> bool {
    match partition {
        Some((k, _)) => k == 1 || step.partitioned,
        None => true,
    }
}

/// `step` restricted to its share of slice `(k, n)`: its tests are listed (`-- --list --format
/// terse`, the same build), dealt round-robin by name, and the step runs its share by `--exact`
/// name. Steps that are not partitioned are returned unchanged.
fn sliced(
    cargo: &std::ffi::OsStr,
    root: &Path,
    step: &Step,
    (k, n): (usize, usize),
) -> Result<Step, String> {
    let mut sliced = step.clone();
    if !step.partitioned {
        return Ok(sliced);
    }
    let mut list_args: Vec<String> = step
        .args
        .iter()
        .take_while(|arg| *arg != "--")
        .cloned()
        .collect();
    list_args.retain(|arg| arg != "--no-fail-fast");
    list_args.extend(["--", "--list", "--format", "terse"].map(String::from));
    println!(
        "==> listing the tests of step `{}` for slice {k}/{n}",
        step.name
    );
    let listed = Command::new(cargo)
        .args(&list_args)
        .envs(step.env.iter().map(|(key, value)| (key, value)))
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("could not start cargo to list the tests: {error}"))?;
    if !listed.status.success() {
        return Err(format!("listing the tests failed: {}", listed.status));
    }
    let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    let mine = deal(names, k, n);
    println!(
        "    slice {k}/{n} of step `{}`: {} tests",
        step.name,
        mine.len()
    );
    if !sliced.args.iter().any(|arg| arg == "--") {
        sliced.args.push("--".to_owned());
    }
    if mine.is_empty() {
        // Nothing of this step falls in the slice: a filter that matches no test.
        sliced
            .args
            .extend(["--exact", "<no test in this slice>"].map(String::from));
    } else {
        sliced.args.push("--exact".to_owned());
        sliced.args.extend(mine);
    }
    Ok(sliced)
}

/// The names of slice `k` of `n` (1-based): sorted, duplicates removed, dealt round-robin.
pub fn deal(mut names: Vec<String>, k: usize, n: usize) -> Vec<String> {
    names.sort();
    names.dedup();
    names
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, name)| name)
        .collect()
}

/// The step named `name` with the default settings (its shape does not depend on them).
fn step_named(name: &str) -> Option<Step> {
    let context = Context::from_env(workspace_root(), Profile::Quick, |_| None);
    steps(&context).into_iter().find(|step| step.name == name)
}

/// Whether step `name` counts tests, and the columns of the pattern table it fills.
pub fn step_template(name: &str) -> (bool, &'static [Tier]) {
    step_named(name).map_or((false, &[]), |step| (step.tests, step.tiers))
}

/// Whether `--partition` deals step `name`'s tests among the slices (the merge's tests slice a
/// summary as the gate would).
#[cfg(test)]
pub fn step_is_partitioned(name: &str) -> bool {
    step_named(name).is_some_and(|step| step.partitioned)
}

/// Runs one step: its stdout (libtest) and stderr (cargo, the models' reports) are echoed as they
/// arrive and scanned for test results, the binary each belongs to, and loom model lines.
fn run_step(cargo: &std::ffi::OsStr, root: &Path, step: &Step, (k, n): (usize, usize)) -> Outcome {
    let command_line = step.command_line(root);
    println!(
        "\n==> [{k}/{n}] gate step `{}` started: {command_line}",
        step.name
    );
    let start = Instant::now();
    let mut scanner = Scanner::default();
    let mut err_scanner = ErrScanner::default();
    let spawned = Command::new(cargo)
        .args(&step.args)
        .envs(step.env.iter().map(|(key, value)| (key, value)))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let status = match spawned {
        Ok(mut child) => {
            let stdout = child.stdout.take();
            let stderr = child.stderr.take();
            std::thread::scope(|scope| {
                if let Some(mut stderr) = stderr {
                    let err_scanner = &mut err_scanner;
                    scope.spawn(move || {
                        echo_and_scan(&mut stderr, &mut io::stderr(), |b| err_scanner.feed(b))
                    });
                }
                if let Some(mut stdout) = stdout {
                    echo_and_scan(&mut stdout, &mut io::stdout(), |b| scanner.feed(b));
                }
            });
            match child.wait() {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(status.to_string()),
                Err(error) => Err(format!("could not wait for cargo: {error}")),
            }
        }
        Err(error) => Err(format!("could not start cargo: {error}")),
    };
    let outcome = Outcome {
        name: step.name,
        command: command_line,
        env: step.env.clone(),
        tests: step.tests,
        tiers: step.tiers,
        seconds: start.elapsed().as_secs_f64(),
        failure: status.err(),
        counts: scanner.finish(err_scanner),
    };
    println!(
        "==> [{k}/{n}] gate step `{}` finished: {}",
        step.name,
        outcome.one_line()
    );
    outcome
}

/// Copies `child` to `echo` as it arrives, handing every chunk to `scan`.
fn echo_and_scan(child: &mut impl Read, echo: &mut impl Write, mut scan: impl FnMut(&[u8])) {
    let mut buffer = [0u8; 8192];
    let mut echo_ok = true;
    loop {
        match child.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining even if our output is gone, so the child never blocks on a pipe.
                if echo_ok {
                    echo_ok = echo
                        .write_all(&buffer[..n])
                        .and_then(|()| echo.flush())
                        .is_ok();
                }
                scan(&buffer[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                eprintln!("error: reading cargo's output: {error}");
                break;
            }
        }
    }
}

/// `path` relative to `root` when it lies inside it (for commands run from the root).
fn display_path(path: &str, root: &Path) -> String {
    match Path::new(path).strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
        _ => path.to_owned(),
    }
}

/// Quotes `word` for a POSIX shell (bash's `$'…'` for control characters such as the 0x1f
/// separator of `CARGO_ENCODED_RUSTFLAGS`).
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else if word.chars().any(char::is_control) {
        let mut quoted = String::from("$'");
        for c in word.chars() {
            match c {
                '\'' | '\\' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", c as u32)),
                c => quoted.push(c),
            }
        }
        quoted.push('\'');
        quoted
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(vars: &[(&str, &str)]) -> Context {
        context_for(Profile::Quick, vars)
    }

    fn context_for(profile: Profile, vars: &[(&str, &str)]) -> Context {
        Context::from_env(PathBuf::from("/ws"), profile, |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_when_the_environment_is_empty() {
        let context = context(&[]);
        assert_eq!(context.proptest_cases, "256");
        assert_eq!(context.loom_max_preemptions, "3");
        assert_eq!(context.sim_seeds, "32");
        assert_eq!(
            context.loom_rustflags,
            ("RUSTFLAGS".into(), "--cfg loom".into())
        );
        assert_eq!(context.loom_target_dir, PathBuf::from("/ws/target/loom"));
        assert_eq!(context.shuttle_iterations, "20000");
        assert_eq!(context.shuttle_seed, None);
        assert_eq!(
            context.shuttle_rustflags,
            ("RUSTFLAGS".into(), "--cfg shuttle".into())
        );
        assert_eq!(
            context.shuttle_target_dir,
            PathBuf::from("/ws/target/shuttle")
        );
    }

    #[test]
    fn environment_overrides_are_passed_through() {
        let context = context(&[
            ("PROPTEST_CASES", "10000"),
            ("LOOM_MAX_PREEMPTIONS", "2"),
            ("RUSTFLAGS", "-D warnings "),
            ("CARGO_TARGET_DIR", "/tmp/t"),
            ("SHUTTLE_ITERATIONS", "777"),
            ("SHUTTLE_SEED", " 42 "),
        ]);
        assert_eq!(context.proptest_cases, "10000");
        assert_eq!(context.loom_max_preemptions, "2");
        assert_eq!(context.loom_rustflags.1, "-D warnings --cfg loom");
        assert_eq!(context.loom_target_dir, PathBuf::from("/tmp/t/loom"));
        assert_eq!(context.shuttle_iterations, "777");
        assert_eq!(context.shuttle_seed.as_deref(), Some("42"));
        assert_eq!(context.shuttle_rustflags.1, "-D warnings --cfg shuttle");
        assert_eq!(context.shuttle_target_dir, PathBuf::from("/tmp/t/shuttle"));
        // A relative CARGO_TARGET_DIR is the workspace root's.
        let relative = context_for(Profile::Quick, &[("CARGO_TARGET_DIR", "out")]);
        assert_eq!(relative.loom_target_dir, PathBuf::from("/ws/out/loom"));
        assert_eq!(
            relative.shuttle_target_dir,
            PathBuf::from("/ws/out/shuttle")
        );
    }

    #[test]
    fn deep_preset_and_environment_over_it() {
        let deep = context_for(Profile::Deep, &[]);
        assert_eq!(
            (
                deep.proptest_cases.as_str(),
                deep.loom_max_preemptions.as_str(),
                deep.shuttle_iterations.as_str(),
                deep.sim_seeds.as_str()
            ),
            ("10000", "4", "500000", "10000")
        );
        assert!(deep.exhaustive_pairs);
        assert!(!context_for(Profile::Quick, &[]).exhaustive_pairs);
        let deep = context_for(
            Profile::Deep,
            &[
                ("SIM_SEEDS", "50"),
                ("LOOM_EXHAUSTIVE_PAIRS", "0"),
                ("SHUTTLE_ITERATIONS", "1000"),
            ],
        );
        assert_eq!(deep.sim_seeds, "50");
        assert_eq!(deep.shuttle_iterations, "1000");
        assert!(!deep.exhaustive_pairs);
        // An empty variable is unset: the preset's value stands.
        let deep = context_for(Profile::Deep, &[("SHUTTLE_ITERATIONS", " ")]);
        assert_eq!(deep.shuttle_iterations, "500000");
    }

    #[test]
    fn encoded_rustflags_win_over_rustflags() {
        let context = context(&[
            ("CARGO_ENCODED_RUSTFLAGS", "-Dwarnings"),
            ("RUSTFLAGS", "x"),
        ]);
        assert_eq!(
            context.loom_rustflags,
            (
                "CARGO_ENCODED_RUSTFLAGS".into(),
                "-Dwarnings\x1f--cfg\x1floom".into()
            )
        );
        assert_eq!(
            context.shuttle_rustflags,
            (
                "CARGO_ENCODED_RUSTFLAGS".into(),
                "-Dwarnings\x1f--cfg\x1fshuttle".into()
            )
        );
        let empty = context_for(Profile::Quick, &[("CARGO_ENCODED_RUSTFLAGS", "")]);
        assert_eq!(
            empty.shuttle_rustflags,
            ("CARGO_ENCODED_RUSTFLAGS".into(), "--cfg\x1fshuttle".into())
        );
    }

    #[test]
    fn repro_commands_are_copy_pasteable() {
        let steps = steps(&context(&[]));
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        assert_eq!(names, STEP_NAMES);
        let lines: Vec<String> = steps
            .iter()
            .map(|s| s.command_line(Path::new("/ws")))
            .collect();
        assert_eq!(
            lines,
            [
                "cargo fmt --all --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom \
                 cargo clippy --all-targets -- -D warnings",
                "RUSTFLAGS='--cfg shuttle' CARGO_TARGET_DIR=target/shuttle \
                 cargo clippy --all-targets -- -D warnings",
                "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps --document-private-items",
                "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom RUSTDOCFLAGS='-D warnings' \
                 cargo doc --no-deps --document-private-items",
                "PROPTEST_CASES=256 cargo test --workspace --tests --no-fail-fast -- --skip \
                 properties::fetch_invariants",
                "cargo test --workspace --doc --no-fail-fast",
                "cargo xtask tokio-tests",
                "cargo xtask conformance --check --preset quick",
                "CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=false \
                 CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false \
                 CARGO_TARGET_DIR=target/release-arith PROPTEST_CASES=256 \
                 cargo test --release --no-fail-fast --test semaphore --test semaphore_model \
                 --test rwlock_model \
                 --test channel_model --test concurrency_model --test pool_model \
                 --test conn_pool_model --test rate_model --test rate",
                "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=3 \
                 cargo test --release --test loom -- --nocapture --test-threads=1",
                "RUSTFLAGS='--cfg shuttle' CARGO_TARGET_DIR=target/shuttle SHUTTLE_ITERATIONS=20000 \
                 cargo test --release --test shuttle -- --nocapture --test-threads=1",
                "PROPTEST_CASES=256 SIM_SEEDS=32 cargo test --release --test sim",
            ]
        );
        let tests: Vec<bool> = steps.iter().map(|s| s.tests).collect();
        assert_eq!(
            tests,
            [
                false, false, false, false, false, false, true, true, true, true, true, true, true,
                true
            ]
        );
        let partitioned: Vec<&str> = steps
            .iter()
            .filter(|s| s.partitioned)
            .map(|s| s.name)
            .collect();
        assert_eq!(
            partitioned,
            ["test", "no-overflow-checks", "loom", "shuttle", "sim"]
        );
    }

    /// The shuttle step of `steps(context)`.
    fn shuttle_step(context: &Context) -> Step {
        steps(context)
            .into_iter()
            .find(|step| step.name == "shuttle")
            .expect("a shuttle step")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn partitions_slice_the_test_steps_and_run_the_others_once() {
        let steps = steps(&context(&[]));
        let running = |partition| -> Vec<&str> {
            steps
                .iter()
                .filter(|step| runs_in_slice(step, partition))
                .map(|step| step.name)
                .collect()
        };
        assert_eq!(running(None), STEP_NAMES);
        assert_eq!(running(Some((1, 4))), STEP_NAMES);
        for k in 2..=4 {
            assert_eq!(
                running(Some((k, 4))),
                ["test", "no-overflow-checks", "loom", "shuttle", "sim"]
            );
        }
    }

    #[test]
    fn the_tokio_tests_step_follows_the_test_step_and_runs_whole_in_slice_one() {
        let steps = steps(&context(&[]));
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert_eq!(at("tokio-tests"), at("doctest") + 1);
        let step = &steps[at("tokio-tests")];
        assert_eq!(step.args, ["xtask", "tokio-tests"]);
        assert!(step.env.is_empty());
        assert!(step.tests, "its libtest lines are counted");
        assert!(step.tiers.is_empty(), "the pattern table is left as it was");
        for k in 1..=4 {
            assert_eq!(runs_in_slice(step, Some((k, 4))), k == 1);
        }
        // Never listed for a slice (`cargo xtask tokio-tests -- --list` means nothing): the cargo
        // given here would fail if it were run.
        let unchanged = sliced(
            std::ffi::OsStr::new("/nonexistent/cargo"),
            Path::new("/ws"),
            step,
            (1, 4),
        )
        .expect("not sliced");
        assert_eq!(unchanged.args, step.args);
        // Every profile runs it, the quick one included.
        for profile in [Profile::Quick, Profile::Deep] {
            assert!(steps_for(profile).contains(&"tokio-tests"), "{profile:?}");
        }
    }

    fn steps_for(profile: Profile) -> Vec<&'static str> {
        steps(&context_for(profile, &[]))
            .iter()
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn the_shuttle_steps_follow_their_loom_counterparts() {
        let names: Vec<&str> = steps(&context(&[])).iter().map(|s| s.name).collect();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert_eq!(at("clippy-shuttle"), at("clippy-loom") + 1);
        assert_eq!(at("shuttle"), at("loom") + 1);
        assert!(at("shuttle") < at("sim"));
    }

    #[test]
    fn the_shuttle_step_per_preset() {
        let args = [
            "test",
            "--release",
            "--test",
            "shuttle",
            "--",
            "--nocapture",
            "--test-threads=1",
        ];
        for (profile, iterations) in [(Profile::Quick, "20000"), (Profile::Deep, "500000")] {
            let step = shuttle_step(&context_for(profile, &[]));
            assert_eq!(step.args, args, "{profile:?}");
            assert_eq!(
                step.env,
                env(&[
                    ("RUSTFLAGS", "--cfg shuttle"),
                    ("CARGO_TARGET_DIR", "/ws/target/shuttle"),
                    ("SHUTTLE_ITERATIONS", iterations),
                ]),
                "{profile:?}"
            );
            assert!(step.tests);
            assert_eq!(step.tiers, [Tier::Shuttle]);
        }
        // The environment over the preset; a seed, when set, is passed on (and so in the repro).
        let step = shuttle_step(&context_for(
            Profile::Deep,
            &[
                ("SHUTTLE_ITERATIONS", "3000"),
                ("SHUTTLE_SEED", "4355332447452599874"),
                ("RUSTFLAGS", "-C debug-assertions"),
                ("CARGO_TARGET_DIR", "/tmp/t"),
            ],
        ));
        assert_eq!(
            step.env,
            env(&[
                ("RUSTFLAGS", "-C debug-assertions --cfg shuttle"),
                ("CARGO_TARGET_DIR", "/tmp/t/shuttle"),
                ("SHUTTLE_ITERATIONS", "3000"),
                ("SHUTTLE_SEED", "4355332447452599874"),
            ])
        );
        // The shuttle settings stay out of every other step.
        for step in steps(&context_for(Profile::Deep, &[("SHUTTLE_SEED", "1")])) {
            let shuttle = matches!(step.name, "shuttle" | "clippy-shuttle");
            let mentions = step
                .env
                .iter()
                .any(|(key, value)| key.starts_with("SHUTTLE_") || value.contains("shuttle"));
            assert_eq!(mentions, shuttle, "step `{}`", step.name);
        }
        let clippy = steps(&context_for(Profile::Deep, &[]))
            .into_iter()
            .find(|step| step.name == "clippy-shuttle")
            .unwrap();
        assert_eq!(
            clippy.env,
            env(&[
                ("RUSTFLAGS", "--cfg shuttle"),
                ("CARGO_TARGET_DIR", "/ws/target/shuttle"),
            ])
        );
        assert!(!clippy.tests);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("plain-1.0"), "plain-1.0");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("a\x1fb"), r"$'a\x1fb'");
    }

    #[test]
    fn options() {
        let parse = |args: &[&str]| {
            Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
        };
        let options = |profile, skip: &[&str]| {
            Ok(Some(Options {
                profile,
                skip: skip.iter().map(|s| (*s).to_owned()).collect(),
                partition: None,
            }))
        };
        assert_eq!(parse(&[]), options(Profile::Quick, &[]));
        assert_eq!(parse(&["--quick"]), options(Profile::Quick, &[]));
        assert_eq!(parse(&["--deep"]), options(Profile::Deep, &[]));
        assert_eq!(
            parse(&["--skip", "doc", "--deep", "--skip", "clippy-loom"]),
            options(Profile::Deep, &["doc", "clippy-loom"])
        );
        assert_eq!(
            parse(&["--skip", "shuttle", "--skip", "clippy-shuttle"]),
            options(Profile::Quick, &["shuttle", "clippy-shuttle"])
        );
        for step in STEP_NAMES {
            assert_eq!(parse(&["--skip", step]), options(Profile::Quick, &[step]));
        }
        assert!(parse(&["--skip", "shuttles"]).is_err());
        assert_eq!(parse(&["--help"]), Ok(None));
        assert!(parse(&["--skip"]).is_err());
        assert!(parse(&["--skip", "tests"]).is_err());
        let Ok(Some(sliced)) = parse(&["--deep", "--partition", "2/4"]) else {
            panic!("--partition 2/4 refused");
        };
        assert_eq!(sliced.partition, Some((2, 4)));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(parse(&["--partition", bad]).is_err(), "{bad} accepted");
        }
    }
}
