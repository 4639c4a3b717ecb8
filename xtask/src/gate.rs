//! The correctness gate: a list of [`Step`]s, each one cargo invocation, run in order.
//!
//! Every step runs even if an earlier one failed, so the summary is complete; the gate fails at the
//! end, naming each failed step and the exact command that reproduces it. To add a step, push it in
//! [`steps`]; set `tests: false` for a step whose output has no libtest result lines, and `tiers`
//! to the columns of the pattern table it fills (see `matrix.rs`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::matrix::Tier;
use crate::report::{self, ErrScanner, Outcome, Scanner, Summary};

pub const HELP: &str = "\
cargo xtask gate: the project's correctness gate

USAGE:
    cargo xtask gate [--quick | --deep] [--partition K/N] [--skip <step>]...

Runs, in order, streaming their output:
    1. fmt          cargo fmt --all --check
    2. clippy       cargo clippy --all-targets -- -D warnings
    3. clippy-loom  the same under RUSTFLAGS+=\"--cfg loom\" in target/loom (the loom build's dir)
    4. doc          RUSTDOCFLAGS=\"-D warnings\" cargo doc --no-deps
    5. test         cargo test --no-fail-fast   (unit, tests/*.rs incl. proptest, sim-tests, doctests;
                    all but the turmoil property, which step 7 runs)
    6. loom         cargo test --release --test loom -- --nocapture --test-threads=1
                    (--cfg loom, target/loom; one model at a time)
    7. sim          cargo test --release --test sim   (the simulation seed sweep, SIM_SEEDS, and
                    the turmoil property, PROPTEST_CASES)
then prints a summary: per step pass/fail, wall time and test counts, and per pattern x tier
(tests, proptest, loom, sim) what ran (tests; properties x cases; loom models, their bound and
iterations; simulations x seeds) and whether it passed. Written to target/gate/summary.json and
target/gate/summary.md. Every step runs; the exit code is non-zero if any failed, and each
failure is printed with the command that reproduces it.

OPTIONS:
    --quick         the CI preset (default): PROPTEST_CASES=256, LOOM_MAX_PREEMPTIONS=3, SIM_SEEDS=32
    --deep          the nightly preset: PROPTEST_CASES=10000, LOOM_MAX_PREEMPTIONS=4,
                    LOOM_EXHAUSTIVE_PAIRS=1 (models of one spawned thread + main run with no
                    bound), SIM_SEEDS=10000
    --partition K/N run the K-th of N slices (1-based) of the test, loom and sim steps, so N
                    machines share a (deep) gate; fmt, clippy and doc run in slice 1 only.
                    Tests are dealt round-robin by name, as cargo-nextest's `count:K/N` does,
                    but through libtest (`--list`, then `--exact` names) so that the summary
                    still reads libtest's output and no extra tool is needed. Every test runs
                    in exactly one slice (a name shared by two binaries may run in two).
    --skip <step>   leave a step out (repeatable), e.g. --skip doc
    -h, --help      print this message

ENVIRONMENT (each overrides the preset):
    PROPTEST_CASES        proptest cases per property
    LOOM_MAX_PREEMPTIONS  loom preemption bound
    LOOM_EXHAUSTIVE_PAIRS 1: the affordable one-spawned-thread models run unbounded (deep default)
    SIM_SEEDS             seeds per simulation scenario
    RUSTFLAGS             kept; the loom steps append `--cfg loom`
    CARGO_TARGET_DIR      if set, the loom build goes to $CARGO_TARGET_DIR/loom (else target/loom)

TIMES (measured on 2 cores):
    quick gate: about 3m20s on a warm cache, 6-10 min from a clean clone (cold target/).
    deep test step: about 3 min (PROPTEST_CASES=10000; the turmoil property runs in sim).
    deep loom step: 24 min (69 tests, 15.7 million interleavings, a spurious wakeup explored in
      every block_on; longest model 7 min).
    sim step: about 0.11 s per seed (all 43 scenarios): 32 seeds ~70 s, 10000 (deep) ~19 min.
    deep gate on one machine: 47 min from a fresh clone; --partition K/4 spreads it over four.
";

/// The turmoil property (`sim-tests/properties.rs`): run by the sim step only.
const SIM_PROPERTY: &str = "properties::fetch_invariants";

/// The step names, in the order they run.
pub const STEP_NAMES: [&str; 7] = ["fmt", "clippy", "clippy-loom", "doc", "test", "loom", "sim"];

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

    /// `(PROPTEST_CASES, LOOM_MAX_PREEMPTIONS, SIM_SEEDS)` of the preset.
    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Profile::Quick => ("256", "3", "32"),
            Profile::Deep => ("10000", "4", "10000"),
        }
    }
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
    pub proptest_cases: String,
    pub loom_max_preemptions: String,
    pub sim_seeds: String,
    /// The variable that carries rustflags for the loom build, and its value with `--cfg loom`.
    pub loom_rustflags: (String, String),
    pub loom_target_dir: PathBuf,
    /// Loom models of one spawned thread + main run unbounded (`LOOM_EXHAUSTIVE_PAIRS=1`).
    pub exhaustive_pairs: bool,
}

impl Context {
    pub fn from_env(
        root: PathBuf,
        profile: Profile,
        var: impl Fn(&str) -> Option<String>,
    ) -> Context {
        let (proptest_cases, loom_max_preemptions, sim_seeds) = profile.defaults();
        let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let loom_rustflags = match var("CARGO_ENCODED_RUSTFLAGS") {
            // Cargo prefers the encoded form over RUSTFLAGS when it is set (even empty).
            Some(encoded) if encoded.is_empty() => (
                "CARGO_ENCODED_RUSTFLAGS".to_owned(),
                "--cfg\x1floom".to_owned(),
            ),
            Some(encoded) => (
                "CARGO_ENCODED_RUSTFLAGS".to_owned(),
                format!("{encoded}\x1f--cfg\x1floom"),
            ),
            None => match set("RUSTFLAGS") {
                Some(flags) => (
                    "RUSTFLAGS".to_owned(),
                    format!("{} --cfg loom", flags.trim()),
                ),
                None => ("RUSTFLAGS".to_owned(), "--cfg loom".to_owned()),
            },
        };
        let loom_target_dir = match set("CARGO_TARGET_DIR") {
            Some(dir) => root.join(dir).join("loom"),
            None => root.join("target").join("loom"),
        };
        Context {
            proptest_cases: set("PROPTEST_CASES").unwrap_or(proptest_cases.to_owned()),
            loom_max_preemptions: set("LOOM_MAX_PREEMPTIONS")
                .unwrap_or(loom_max_preemptions.to_owned()),
            sim_seeds: set("SIM_SEEDS").unwrap_or(sim_seeds.to_owned()),
            loom_rustflags,
            loom_target_dir,
            exhaustive_pairs: set("LOOM_EXHAUSTIVE_PAIRS")
                .map_or(profile == Profile::Deep, |value| value == "1"),
            root,
        }
    }
}

/// The gate's steps, in the order they run.
pub fn steps(context: &Context) -> Vec<Step> {
    let step = |name, list: &[&str], env: Vec<(String, String)>, tiers| Step {
        name,
        args: list.iter().map(|arg| (*arg).to_owned()).collect(),
        env,
        tests: !matches!(name, "fmt" | "clippy" | "clippy-loom" | "doc"),
        tiers,
    };
    let loom_build = || {
        vec![
            context.loom_rustflags.clone(),
            (
                "CARGO_TARGET_DIR".to_owned(),
                context.loom_target_dir.display().to_string(),
            ),
        ]
    };
    let mut loom_env = loom_build();
    loom_env.push((
        "LOOM_MAX_PREEMPTIONS".into(),
        context.loom_max_preemptions.clone(),
    ));
    if context.exhaustive_pairs {
        loom_env.push(("LOOM_EXHAUSTIVE_PAIRS".into(), "1".into()));
    }
    let clippy = ["clippy", "--all-targets", "--", "-D", "warnings"];
    vec![
        step("fmt", &["fmt", "--all", "--check"], vec![], &[]),
        step("clippy", &clippy, vec![], &[]),
        // Same flags and target directory as the loom step, which then builds incrementally.
        step("clippy-loom", &clippy, loom_build(), &[]),
        step(
            "doc",
            &["doc", "--no-deps"],
            vec![("RUSTDOCFLAGS".into(), "-D warnings".into())],
            &[],
        ),
        // Every test binary runs even after one fails, so the counts are complete. The turmoil
        // property is a simulation: it runs at the gate's depth in the (release) sim step, not
        // again here in debug, where 10 000 cases took most of the deep test step.
        step(
            "test",
            &["test", "--no-fail-fast", "--", "--skip", SIM_PROPERTY],
            vec![("PROPTEST_CASES".into(), context.proptest_cases.clone())],
            &[Tier::Tests, Tier::Proptest],
        ),
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
fn workspace_root() -> PathBuf {
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

    let in_slice = |step: &Step| match options.partition {
        // The steps that are not tests run once, in the first slice.
        Some((k, _)) => k == 1 || step.tests,
        None => true,
    };
    let (steps, skipped): (Vec<Step>, Vec<Step>) = steps(&context)
        .into_iter()
        .partition(|step| !options.skip.iter().any(|name| name == step.name) && in_slice(step));
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
        sim_seeds: context.sim_seeds.clone(),
        skipped: skipped.iter().map(|step| step.name.to_owned()).collect(),
        outcomes,
    };
    println!();
    print!("{}", summary.to_text());
    let out_dir = context.root.join("target").join("gate");
    match report::write_files(&summary, &out_dir) {
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

/// `step` restricted to its share of slice `(k, n)`: its tests are listed (`-- --list --format
/// terse`, the same build), dealt round-robin by name, and the step runs its share by `--exact`
/// name. Steps without tests are returned unchanged.
fn sliced(
    cargo: &std::ffi::OsStr,
    root: &Path,
    step: &Step,
    (k, n): (usize, usize),
) -> Result<Step, String> {
    let mut sliced = step.clone();
    if !step.tests {
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
    let mut names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    let mine: Vec<String> = names
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, name)| name)
        .collect();
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
    }

    #[test]
    fn environment_overrides_are_passed_through() {
        let context = context(&[
            ("PROPTEST_CASES", "10000"),
            ("LOOM_MAX_PREEMPTIONS", "2"),
            ("RUSTFLAGS", "-D warnings "),
            ("CARGO_TARGET_DIR", "/tmp/t"),
        ]);
        assert_eq!(context.proptest_cases, "10000");
        assert_eq!(context.loom_max_preemptions, "2");
        assert_eq!(context.loom_rustflags.1, "-D warnings --cfg loom");
        assert_eq!(context.loom_target_dir, PathBuf::from("/tmp/t/loom"));
    }

    #[test]
    fn deep_preset_and_environment_over_it() {
        let deep = context_for(Profile::Deep, &[]);
        assert_eq!(
            (
                deep.proptest_cases.as_str(),
                deep.loom_max_preemptions.as_str(),
                deep.sim_seeds.as_str()
            ),
            ("10000", "4", "10000")
        );
        assert!(deep.exhaustive_pairs);
        assert!(!context_for(Profile::Quick, &[]).exhaustive_pairs);
        let deep = context_for(
            Profile::Deep,
            &[("SIM_SEEDS", "50"), ("LOOM_EXHAUSTIVE_PAIRS", "0")],
        );
        assert_eq!(deep.sim_seeds, "50");
        assert!(!deep.exhaustive_pairs);
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
                "cargo clippy --all-targets -- -D warnings",
                "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom \
                 cargo clippy --all-targets -- -D warnings",
                "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps",
                "PROPTEST_CASES=256 cargo test --no-fail-fast -- --skip properties::fetch_invariants",
                "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=3 \
                 cargo test --release --test loom -- --nocapture --test-threads=1",
                "PROPTEST_CASES=256 SIM_SEEDS=32 cargo test --release --test sim",
            ]
        );
        let tests: Vec<bool> = steps.iter().map(|s| s.tests).collect();
        assert_eq!(tests, [false, false, false, false, true, true, true]);
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
