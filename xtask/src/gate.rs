//! The correctness gate: a list of [`Step`]s, each one cargo invocation, run in order.
//!
//! Every step runs even if an earlier one failed, so the summary is complete; the gate fails at the
//! end, naming each failed step and the exact command that reproduces it. To add a step (fmt,
//! clippy, doc, simulation seeds, a deep preset), push it in [`steps`]; set `tests: false` for a
//! step whose output has no libtest result lines.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::report::{self, Outcome, Scanner, Summary};

pub const HELP: &str = "\
cargo xtask gate: the project's correctness gate

USAGE:
    cargo xtask gate [--quick]

Runs, in order, streaming their output:
    1. test   cargo test --no-fail-fast          (unit, tests/*.rs incl. proptest, doctests)
    2. loom   cargo test --release --test loom   (RUSTFLAGS+=\"--cfg loom\", own target dir)
then prints a summary (pass/fail, wall time, test counts per step) and writes it to
target/gate/summary.json and target/gate/summary.md. Every step runs; the exit code is non-zero
if any failed, and each failure is printed with the command that reproduces it.

OPTIONS:
    --quick     the CI preset (the default for now)
    -h, --help  print this message

ENVIRONMENT:
    PROPTEST_CASES        proptest cases per property (default 256)
    LOOM_MAX_PREEMPTIONS  loom preemption bound (default 3)
    RUSTFLAGS             kept; the loom step appends `--cfg loom`
    CARGO_TARGET_DIR      if set, the loom build goes to $CARGO_TARGET_DIR/loom (else target/loom)
";

const DEFAULT_PROPTEST_CASES: &str = "256";
const DEFAULT_LOOM_MAX_PREEMPTIONS: &str = "3";

/// How thorough the gate is. Only the CI preset exists so far; a deep preset (more proptest cases,
/// a higher loom bound, more simulation seeds) slots in here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Quick,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub profile: Profile,
}

impl Options {
    /// `Ok(None)` means help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options {
            profile: Profile::Quick,
        };
        for arg in args {
            match arg.as_str() {
                "--quick" => options.profile = Profile::Quick,
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(Some(options))
    }
}

/// One cargo invocation of the gate.
#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    /// Arguments to cargo.
    pub args: Vec<String>,
    /// Set for this step only (on top of the inherited environment), and shown in the repro.
    pub env: Vec<(String, String)>,
    /// Whether the output carries libtest `test result:` lines worth counting.
    pub tests: bool,
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
    /// The variable that carries rustflags for the loom build, and its value with `--cfg loom`.
    pub loom_rustflags: (String, String),
    pub loom_target_dir: PathBuf,
}

impl Context {
    pub fn from_env(root: PathBuf, var: impl Fn(&str) -> Option<String>) -> Context {
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
            proptest_cases: set("PROPTEST_CASES").unwrap_or(DEFAULT_PROPTEST_CASES.to_owned()),
            loom_max_preemptions: set("LOOM_MAX_PREEMPTIONS")
                .unwrap_or(DEFAULT_LOOM_MAX_PREEMPTIONS.to_owned()),
            loom_rustflags,
            loom_target_dir,
            root,
        }
    }
}

/// The gate's steps for `profile`, in the order they run.
pub fn steps(context: &Context, profile: Profile) -> Vec<Step> {
    let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect();
    match profile {
        Profile::Quick => vec![
            Step {
                name: "test",
                // Every test binary runs even after one fails, so the counts are complete.
                args: args(&["test", "--no-fail-fast"]),
                env: vec![("PROPTEST_CASES".into(), context.proptest_cases.clone())],
                tests: true,
            },
            Step {
                name: "loom",
                args: args(&["test", "--release", "--test", "loom"]),
                env: vec![
                    context.loom_rustflags.clone(),
                    (
                        "CARGO_TARGET_DIR".into(),
                        context.loom_target_dir.display().to_string(),
                    ),
                    (
                        "LOOM_MAX_PREEMPTIONS".into(),
                        context.loom_max_preemptions.clone(),
                    ),
                ],
                tests: true,
            },
        ],
    }
}

/// The workspace root: the parent of this crate's manifest directory, whatever the cwd.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

pub fn run(options: &Options) -> ExitCode {
    let context = Context::from_env(workspace_root(), |name| std::env::var(name).ok());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let start = Instant::now();

    let outcomes: Vec<Outcome> = steps(&context, options.profile)
        .iter()
        .map(|step| run_step(&cargo, &context.root, step))
        .collect();

    let summary = Summary {
        profile: options.profile.name(),
        root: context.root.display().to_string(),
        started_unix,
        seconds: start.elapsed().as_secs_f64(),
        proptest_cases: context.proptest_cases.clone(),
        loom_max_preemptions: context.loom_max_preemptions.clone(),
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

/// Runs one step: cargo's stderr (compile progress) is inherited; its stdout (libtest) is echoed
/// as it arrives and scanned for result lines.
fn run_step(cargo: &std::ffi::OsStr, root: &Path, step: &Step) -> Outcome {
    let command_line = step.command_line(root);
    println!("\n==> gate step `{}`: {command_line}", step.name);
    let start = Instant::now();
    let mut scanner = Scanner::default();
    let spawned = Command::new(cargo)
        .args(&step.args)
        .envs(step.env.iter().map(|(key, value)| (key, value)))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let status = match spawned {
        Ok(mut child) => {
            if let Some(mut stdout) = child.stdout.take() {
                echo_and_scan(&mut stdout, &mut scanner);
            }
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
        seconds: start.elapsed().as_secs_f64(),
        failure: status.err(),
        counts: scanner.finish(),
    };
    println!("==> gate step `{}`: {}", step.name, outcome.one_line());
    outcome
}

fn echo_and_scan(child_stdout: &mut impl Read, scanner: &mut Scanner) {
    let mut buffer = [0u8; 8192];
    let mut echo_ok = true;
    loop {
        match child_stdout.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining even if our stdout is gone, so the child never blocks on a pipe.
                if echo_ok {
                    let mut out = io::stdout().lock();
                    echo_ok = out
                        .write_all(&buffer[..n])
                        .and_then(|()| out.flush())
                        .is_ok();
                }
                scanner.feed(&buffer[..n]);
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
        Context::from_env(PathBuf::from("/ws"), |name| {
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
        let steps = steps(&context(&[]), Profile::Quick);
        let lines: Vec<String> = steps
            .iter()
            .map(|s| s.command_line(Path::new("/ws")))
            .collect();
        assert_eq!(lines[0], "PROPTEST_CASES=256 cargo test --no-fail-fast");
        assert_eq!(
            lines[1],
            "RUSTFLAGS='--cfg loom' CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=3 \
             cargo test --release --test loom"
        );
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
        assert_eq!(
            parse(&[]),
            Ok(Some(Options {
                profile: Profile::Quick
            }))
        );
        assert_eq!(
            parse(&["--quick"]),
            Ok(Some(Options {
                profile: Profile::Quick
            }))
        );
        assert_eq!(parse(&["--help"]), Ok(None));
        assert!(parse(&["--deep"]).is_err());
    }
}
