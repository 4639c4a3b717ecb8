//! `cargo xtask tokio-tests`: tokio's own integration tests of `Semaphore`, `Mutex` and `RwLock`,
//! run against ours, one verdict per test.
//!
//! The tests are taken from the tokio crate cargo already downloaded (the version of our
//! `Cargo.lock`), never copied into the repository: a scratch crate is generated under
//! `target/tokio-tests/` with their imports of our types pointed at `async_patterns::sync`.
//! A drop-in replacement that lacks part of tokio's API would make a whole file fail to
//! compile and hide the verdicts of its other tests, so the items the compiler rejects are
//! blanked out one build at a time and reported as not compiling, each with its first error.
//!
//! This file is the command: its options, finding tokio's tests, the scratch crate, the build
//! loop and the verdicts. Beside it: `rewrite.rs` (the import swap and the items a file is cut
//! into for blanking), `parse.rs` (cargo's and libtest's output), `render.rs` (the report) and
//! `process.rs` (a child run under a timeout).

mod parse;
mod process;
mod render;
mod rewrite;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::report::Status;
use parse::{BinaryRun, BuildError, parse_build_errors, parse_test_output};
use process::run_streaming;
use render::{render_markdown, render_text};
use rewrite::{Kind, TestFile, split_items, swap_imports};

pub const HELP: &str = "\
cargo xtask tokio-tests: tokio's own tests of Semaphore, Mutex and RwLock, run against ours

USAGE:
    cargo xtask tokio-tests [--timeout SECS]

Takes tokio's published integration tests tests/sync_semaphore.rs, sync_semaphore_owned.rs,
sync_mutex.rs, sync_mutex_owned.rs and sync_rwlock.rs from the tokio crate in cargo's registry
($CARGO_HOME/registry/src/*/tokio-<version>/, the version of the workspace's Cargo.lock; runs
`cargo fetch` if it is missing), points their paths to tokio::sync's Semaphore*, Mutex*,
RwLock* (and Owned*, Mapped*) types and AcquireError, TryAcquireError, TryLockError at
async_patterns::sync instead (everything else stays tokio's), and runs them in a scratch crate,
target/tokio-tests/crate, with its own workspace and target directory (target/tokio-tests/target).
Nothing of tokio's is copied into the repository.

A test (or helper) the compiler rejects is blanked out (its lines emptied, so line numbers stay
tokio's) and the build retried, so that one missing method does not hide the verdicts of the
rest of its file; an error outside any function (in the imports) leaves the whole file out, each
of its tests reported as not compiling.

Prints libtest's output (its `test result:` lines are what the gate counts), then a table
(file, test, passed / FAILED: panic message / not compiling: first error) and the totals per
file and overall, also written to target/tokio-tests/report.md. Tests compiled out on this
target (tokio's 32-bit-only ones) are listed in a note and not counted.

OPTIONS:
    --timeout SECS  kill a file's test binary after SECS seconds (default 300), so that a test
                    that deadlocks is reported as such instead of hanging the gate (each file
                    runs as its own `cargo test --test <file>`: the other files still run)
    -h, --help      print this message

Exit status: non-zero unless every test compiled and passed (an ignored test is not a pass),
and non-zero if a file has no test at all (tokio restructured its tests).
Measured on 2 cores (beside a mutation run): 54 s from a cold target/tokio-tests (tokio with
all its features, our crate), 2 s when nothing changed; each round of blanking rebuilds the test
files (about 1 s each).
";

/// tokio's test files this command runs, without `.rs`.
pub const FILES: [&str; 5] = [
    "sync_semaphore",
    "sync_semaphore_owned",
    "sync_mutex",
    "sync_mutex_owned",
    "sync_rwlock",
];

/// More rounds than that means the blanking is not converging (every round removes at least one
/// item, and the five files have about 90).
const MAX_ROUNDS: usize = 200;

#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub timeout: Duration,
}

impl Options {
    /// `Ok(None)` means help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options {
            timeout: Duration::from_secs(300),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--timeout" => {
                    let secs = args.next().ok_or("`--timeout` needs a number of seconds")?;
                    let secs: u64 = secs
                        .parse()
                        .ok()
                        .filter(|&secs| secs > 0)
                        .ok_or_else(|| format!("`--timeout {secs}`: expected seconds > 0"))?;
                    options.timeout = Duration::from_secs(secs);
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(Some(options))
    }
}

/// One test's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// With the panic message, or why it has no result (crashed, killed).
    Failed(String),
    Ignored,
    /// With the first error.
    NotCompiling(String),
}

/// A row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub file: &'static str,
    pub test: String,
    pub verdict: Verdict,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub not_compiling: usize,
}

impl Totals {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Totals {
        let mut totals = Totals::default();
        for row in rows {
            match row.verdict {
                Verdict::Passed => totals.passed += 1,
                Verdict::Failed(_) => totals.failed += 1,
                Verdict::Ignored => totals.ignored += 1,
                Verdict::NotCompiling(_) => totals.not_compiling += 1,
            }
        }
        totals
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.ignored + self.not_compiling
    }

    /// `63 of 78 pass, 1 fail, 14 do not compile` (`, 2 ignored` when some are).
    pub fn text(&self) -> String {
        let mut text = format!(
            "{} of {} pass, {} fail, {} do not compile",
            self.passed,
            self.total(),
            self.failed,
            self.not_compiling
        );
        if self.ignored > 0 {
            let _ = write!(text, ", {} ignored", self.ignored);
        }
        text
    }

    pub fn all_passed(&self) -> bool {
        self.total() > 0 && self.passed == self.total()
    }
}

impl Verdict {
    fn text(&self) -> String {
        match self {
            Verdict::Passed => "passed".to_owned(),
            Verdict::Failed(why) => format!("FAILED: {why}"),
            Verdict::Ignored => "ignored".to_owned(),
            Verdict::NotCompiling(error) => format!("not compiling: {error}"),
        }
    }
}

/// Everything the command found, for the report.
struct Outcome {
    tokio_version: String,
    tests_dir: PathBuf,
    rows: Vec<Row>,
    /// Notes: blanked helpers, tests compiled out on this target, files without tests.
    notes: Vec<String>,
    /// Files in which no test was found.
    empty_files: Vec<&'static str>,
    rounds: usize,
    build: Duration,
    run: Duration,
    /// The files whose binary was killed at the timeout.
    killed: Vec<&'static str>,
}

pub fn run(options: &Options) -> ExitCode {
    match run_inner(options) {
        Ok(outcome) => report(&outcome),
        Err(message) => {
            eprintln!("error: tokio-tests: {message}");
            ExitCode::FAILURE
        }
    }
}

fn cargo_command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run_inner(options: &Options) -> Result<Outcome, String> {
    let root = crate::gate::workspace_root();
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path)
        .map_err(|error| format!("reading {}: {error}", lock_path.display()))?;
    let version = |name: &str| {
        locked_version(&lock, name).ok_or_else(|| format!("no `{name}` in {}", lock_path.display()))
    };
    let tokio_version = version("tokio")?;
    let tests_dir = match find_tokio_tests(&tokio_version) {
        Some(dir) => dir,
        None => {
            println!("==> tokio {tokio_version}'s source is not in cargo's registry: cargo fetch");
            let fetched = cargo_command()
                .arg("fetch")
                .current_dir(&root)
                .status()
                .map_err(|error| format!("could not start cargo fetch: {error}"))?;
            find_tokio_tests(&tokio_version).ok_or_else(|| {
                format!(
                    "tokio-{tokio_version}/tests/ is not in {}/registry/src/*/ even after \
                     `cargo fetch` ({fetched})",
                    cargo_home().display()
                )
            })?
        }
    };
    println!(
        "==> tokio {tokio_version}'s tests from {}",
        tests_dir.display()
    );

    let mut files = Vec::new();
    for name in FILES {
        let path = tests_dir.join(format!("{name}.rs"));
        let original = fs::read_to_string(&path).map_err(|error| {
            format!(
                "{}: {error} (tokio {tokio_version} has no such test file: did tokio \
                 restructure its tests?)",
                path.display()
            )
        })?;
        let source = swap_imports(&original);
        let items = split_items(&source);
        files.push(TestFile {
            name,
            source,
            items,
            blanked: BTreeMap::new(),
            dropped: None,
        });
    }

    let base = root.join("target").join("tokio-tests");
    let crate_dir = base.join("crate");
    let target_dir = base.join("target");
    write_crate(&root, &crate_dir, &lock, &tokio_version, &version)?;

    let build_start = Instant::now();
    let rounds = build_until_it_compiles(&mut files, &crate_dir, &target_dir)?;
    let build = build_start.elapsed();

    let live: Vec<&'static str> = files
        .iter()
        .filter(|file| file.dropped.is_none())
        .map(|file| file.name)
        .collect();
    // One cargo invocation per file, each under its own timeout: a test that deadlocks then
    // costs the verdicts of its own binary only, not those of the binaries cargo would run after.
    let run_start = Instant::now();
    let mut runs = Vec::new();
    let mut killed = Vec::new();
    for name in live {
        let args = [
            "test",
            "--no-fail-fast",
            "--message-format=short",
            "--test",
            name,
        ];
        println!(
            "\n==> CARGO_TARGET_DIR={} cargo {} (in {})",
            target_dir.display(),
            args.join(" "),
            crate_dir.display()
        );
        let mut command = cargo_command();
        command
            .args(args)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("CARGO_TERM_COLOR", "never");
        let run = run_streaming(command, options.timeout)
            .map_err(|error| format!("could not run cargo test: {error}"))?;
        if run.timed_out {
            eprintln!(
                "error: tokio-tests: {name} was still running after {} s: killed",
                options.timeout.as_secs()
            );
            killed.push(name);
        }
        runs.extend(parse_test_output(&run.stdout, &run.stderr));
    }
    let run = run_start.elapsed();

    let (rows, notes, empty_files) = verdicts(&files, &runs, &killed);
    Ok(Outcome {
        tokio_version,
        tests_dir,
        rows,
        notes,
        empty_files,
        rounds,
        build,
        run,
        killed,
    })
}

fn cargo_home() -> PathBuf {
    match std::env::var_os("CARGO_HOME").filter(|home| !home.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".cargo"),
    }
}

/// `$CARGO_HOME/registry/src/<index>/tokio-<version>/tests`, in whichever index has it.
fn find_tokio_tests(version: &str) -> Option<PathBuf> {
    let mut indexes: Vec<PathBuf> = fs::read_dir(cargo_home().join("registry").join("src"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    indexes.sort();
    indexes
        .into_iter()
        .map(|index| index.join(format!("tokio-{version}")).join("tests"))
        .find(|dir| dir.is_dir())
}

/// The version of package `name` in a `Cargo.lock` (the first, if several are locked).
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let mut current: Option<&str> = None;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            current = None;
        } else if let Some(value) = line.strip_prefix("name = ") {
            current = Some(value.trim_matches('"'));
        } else if let Some(value) = line.strip_prefix("version = ")
            && current == Some(name)
        {
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

/// Writes `path` only if its content differs, so that cargo's fingerprints (mtimes) stay valid
/// and an unchanged test file is not rebuilt.
fn write_if_changed(path: &Path, content: &str) -> Result<(), String> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|error| format!("creating {}: {error}", dir.display()))?;
    }
    fs::write(path, content).map_err(|error| format!("writing {}: {error}", path.display()))
}

/// The scratch crate's manifest and lock file (its only targets are the test files).
fn write_crate(
    root: &Path,
    crate_dir: &Path,
    lock: &str,
    tokio_version: &str,
    version: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    let toml_string =
        |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let manifest = format!(
        "# Generated by `cargo xtask tokio-tests` (xtask/src/tokio_tests/mod.rs) on every run.\n\
         [package]\n\
         name = \"tokio-tests-on-async-patterns\"\n\
         version = \"0.0.0\"\n\
         # tokio's tests are 2021 code.\n\
         edition = \"2021\"\n\
         publish = false\n\
         \n\
         # Not a member of the repository's workspace.\n\
         [workspace]\n\
         \n\
         # tokio's test files are gated on tokio's own features: these make the gates true.\n\
         [features]\n\
         default = [\"sync\", \"full\"]\n\
         sync = []\n\
         full = []\n\
         \n\
         [dependencies]\n\
         async-patterns = {{ path = {} }}\n\
         \n\
         [dev-dependencies]\n\
         tokio = {{ version = \"={tokio_version}\", features = [\"full\", \"test-util\"] }}\n\
         tokio-test = \"{}\"\n\
         futures = \"{}\"\n",
        toml_string(&root.display().to_string()),
        version("tokio-test")?,
        version("futures")?,
    );
    write_if_changed(&crate_dir.join("Cargo.toml"), &manifest)?;
    // Our lock, so the same versions resolve without asking the registry; cargo trims it.
    write_if_changed(&crate_dir.join("Cargo.lock"), lock)
}

/// Builds the test files, blanking what does not compile, until the build passes; returns the
/// number of builds.
fn build_until_it_compiles(
    files: &mut [TestFile],
    crate_dir: &Path,
    target_dir: &Path,
) -> Result<usize, String> {
    let tests_dir = crate_dir.join("tests");
    for round in 1..=MAX_ROUNDS {
        let live: Vec<&'static str> = files
            .iter()
            .filter(|file| file.dropped.is_none())
            .map(|file| file.name)
            .collect();
        write_tests(files, &tests_dir)?;
        if live.is_empty() {
            return Ok(round - 1);
        }
        let mut args = vec![
            "test",
            "--no-run",
            "--no-fail-fast",
            "--message-format=short",
        ];
        for name in &live {
            args.extend(["--test", name]);
        }
        println!(
            "==> build {round}: CARGO_TARGET_DIR={} cargo {}{}",
            target_dir.display(),
            args.join(" "),
            if round == 1 {
                " (about a minute if target/tokio-tests is cold: tokio and our crate)"
            } else {
                ""
            }
        );
        let output = cargo_command()
            .args(&args)
            .current_dir(crate_dir)
            .env("CARGO_TARGET_DIR", target_dir)
            .env("CARGO_TERM_COLOR", "never")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("could not start cargo: {error}"))?;
        if output.status.success() {
            return Ok(round);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let changes = blank_what_failed(files, &parse_build_errors(&stderr));
        if changes.is_empty() {
            eprint!("{stderr}");
            return Err(format!(
                "the scratch crate in {} does not build, and no error points into a test \
                 file's items (our crate itself, or the dependencies? cargo's output is above)",
                crate_dir.display()
            ));
        }
        for change in changes {
            println!("    {change}");
        }
    }
    Err(format!(
        "still not compiling after {MAX_ROUNDS} builds: the blanking is not converging"
    ))
}

/// Writes the live files into the scratch crate's `tests/` and removes every other file there.
fn write_tests(files: &[TestFile], tests_dir: &Path) -> Result<(), String> {
    fs::create_dir_all(tests_dir)
        .map_err(|error| format!("creating {}: {error}", tests_dir.display()))?;
    let live: Vec<String> = files
        .iter()
        .filter(|file| file.dropped.is_none())
        .map(|file| format!("{}.rs", file.name))
        .collect();
    if let Ok(entries) = fs::read_dir(tests_dir) {
        for entry in entries.flatten() {
            if !live.iter().any(|name| entry.file_name() == name.as_str()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    for file in files.iter().filter(|file| file.dropped.is_none()) {
        write_if_changed(
            &tests_dir.join(format!("{}.rs", file.name)),
            &file.current(),
        )?;
    }
    Ok(())
}

/// Blanks each item an error points into (its first error is its verdict) and drops each file
/// with an error outside its blankable items; returns what it did, one line each (none: no
/// progress).
fn blank_what_failed(files: &mut [TestFile], errors: &[BuildError]) -> Vec<String> {
    let mut changes = Vec::new();
    for error in errors {
        let Some(file) = files
            .iter_mut()
            .find(|file| file.name == error.file && file.dropped.is_none())
        else {
            continue;
        };
        let message = format!("{} (line {})", error.message, error.line);
        match file.item_at(error.line) {
            Some(index) if file.items[index].kind != Kind::Use => {
                if file.blanked.contains_key(&index) {
                    continue;
                }
                let item = &file.items[index];
                let what = if item.test { "test" } else { "helper" };
                changes.push(format!(
                    "{}: {what} `{}` does not compile: {message}",
                    file.name, item.name
                ));
                file.blanked.insert(index, message);
            }
            _ => {
                changes.push(format!(
                    "{}: the file does not compile outside its tests, left out: {message}",
                    file.name
                ));
                file.dropped = Some(message);
            }
        }
    }
    changes
}

/// The table's rows, in each file's order, with the notes and the files without tests; `killed`:
/// the files whose binary was killed at the timeout.
fn verdicts(
    files: &[TestFile],
    runs: &[BinaryRun],
    killed: &[&str],
) -> (Vec<Row>, Vec<String>, Vec<&'static str>) {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut empty = Vec::new();
    for file in files {
        let run = runs.iter().find(|run| run.binary == file.name);
        let mut file_rows: Vec<Row> = Vec::new();
        let mut compiled_out = Vec::new();
        for (index, item) in file.items.iter().enumerate() {
            if let Some(error) = file.blanked.get(&index).filter(|_| !item.test) {
                notes.push(format!(
                    "{}: helper `{}` was blanked: {error}",
                    file.name, item.name
                ));
            }
            if !item.test || file_rows.iter().any(|row| row.test == item.name) {
                continue;
            }
            let verdict = if let Some(error) = file.blanked.get(&index) {
                let helpers = file.blanked_helpers_in(error);
                if helpers.is_empty() {
                    Verdict::NotCompiling(error.clone())
                } else {
                    Verdict::NotCompiling(format!(
                        "{error} (uses `{}`, which does not compile)",
                        helpers.join("`, `")
                    ))
                }
            } else if let Some(why) = &file.dropped {
                // Without a build there is no telling which tests are compiled out on this
                // target: all of them count here.
                Verdict::NotCompiling(format!("the file does not compile: {why}"))
            } else {
                let result =
                    run.and_then(|run| run.tests.iter().find(|(name, _)| *name == item.name));
                match (run, result) {
                    (_, Some((_, status))) => verdict_of(run, &item.name, *status),
                    (Some(run), None) if run.finished => {
                        compiled_out.push(item.name.clone());
                        continue;
                    }
                    (Some(run), None)
                        if killed.contains(&file.name) && run.slow.contains(&item.name) =>
                    {
                        Verdict::Failed(
                            "still running after 60 s when its binary was killed at the \
                             timeout (a deadlock?)"
                                .to_owned(),
                        )
                    }
                    (Some(_), None) if killed.contains(&file.name) => Verdict::Failed(
                        "no result: its binary was killed at the timeout first (a deadlock \
                         in this test or another?)"
                            .to_owned(),
                    ),
                    (Some(_), None) => Verdict::Failed(
                        "no result: its binary stopped first (a crash or an abort: see its \
                         output above)"
                            .to_owned(),
                    ),
                    (None, None) => Verdict::Failed(
                        "did not run: cargo did not start its binary (see cargo's output above)"
                            .to_owned(),
                    ),
                }
            };
            file_rows.push(Row {
                file: file.name,
                test: item.name.clone(),
                verdict,
            });
        }
        // Tests libtest ran that the splitter did not see as items (say, in a nested module).
        if let Some(run) = run {
            for (name, status) in &run.tests {
                if !file_rows.iter().any(|row| row.test == *name) {
                    file_rows.push(Row {
                        file: file.name,
                        test: name.clone(),
                        verdict: verdict_of(Some(run), name, *status),
                    });
                }
            }
        }
        if !compiled_out.is_empty() {
            notes.push(format!(
                "{}: compiled out on this target (cfg), not counted: {}",
                file.name,
                compiled_out.join(", ")
            ));
        }
        if file_rows.is_empty() {
            empty.push(file.name);
        }
        rows.extend(file_rows);
    }
    (rows, notes, empty)
}

fn verdict_of(run: Option<&BinaryRun>, name: &str, status: Status) -> Verdict {
    match status {
        Status::Passed => Verdict::Passed,
        Status::Ignored => Verdict::Ignored,
        Status::Failed => {
            let message = run
                .and_then(|run| run.failures.get(name))
                .filter(|message| !message.is_empty());
            Verdict::Failed(match (message, run.is_some_and(|run| run.finished)) {
                (Some(message), _) => message.clone(),
                // libtest prints the failures' output after the binary's last test.
                (None, false) => "(no message: its binary did not finish)".to_owned(),
                (None, true) => "(no message)".to_owned(),
            })
        }
    }
}

/// Prints the table and totals, writes them to `target/tokio-tests/report.md`, and gives the
/// exit status.
fn report(outcome: &Outcome) -> ExitCode {
    let text = render_text(outcome);
    println!("\n{text}");
    let path = crate::gate::workspace_root()
        .join("target")
        .join("tokio-tests")
        .join("report.md");
    match write_if_changed(&path, &render_markdown(outcome)) {
        Ok(()) => println!("report written to target/tokio-tests/report.md"),
        Err(error) => eprintln!("error: tokio-tests: {error}"),
    }
    let totals = Totals::of(&outcome.rows);
    for file in &outcome.empty_files {
        eprintln!(
            "error: tokio-tests: no test found in {file}.rs: did tokio restructure its tests?"
        );
    }
    if totals.all_passed() && outcome.empty_files.is_empty() && outcome.killed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: tokio-tests: not every test of tokio's compiles and passes against ours: {} \
             (target/tokio-tests/report.md)",
            totals.text()
        );
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_blank_their_item_or_drop_their_file() {
        let source = "use a::B;\n\nfn helper() {\n}\n\n#[test]\nfn t() {\n    helper();\n}\n";
        let mut files = [
            TestFile {
                name: "one",
                source: source.to_owned(),
                items: split_items(source),
                blanked: BTreeMap::new(),
                dropped: None,
            },
            TestFile {
                name: "two",
                source: source.to_owned(),
                items: split_items(source),
                blanked: BTreeMap::new(),
                dropped: None,
            },
        ];
        let error = |file: &str, line, message: &str| BuildError {
            file: file.into(),
            line,
            message: message.into(),
        };
        let changes = blank_what_failed(
            &mut files,
            &[
                error("one", 3, "error[E0425]: first"),
                error("one", 4, "error: second, same item"),
                error("two", 1, "error[E0432]: unresolved import `a::B`"),
                error("elsewhere", 1, "error: not ours"),
            ],
        );
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(
            files[0].blanked.get(&1).map(String::as_str),
            Some("error[E0425]: first (line 3)")
        );
        assert!(files[1].dropped.is_some());
        // The test that used the blanked helper fails next, and its verdict names the helper.
        blank_what_failed(
            &mut files,
            &[error(
                "one",
                8,
                "error[E0425]: cannot find function `helper` in this scope",
            )],
        );
        let (rows, notes, empty) = verdicts(&files, &[], &[]);
        assert!(empty.is_empty());
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].verdict,
            Verdict::NotCompiling(
                "error[E0425]: cannot find function `helper` in this scope (line 8) (uses \
                 `helper`, which does not compile)"
                    .into()
            )
        );
        assert!(matches!(&rows[1].verdict, Verdict::NotCompiling(why)
            if why.starts_with("the file does not compile: error[E0432]")));
        assert_eq!(
            notes,
            ["one: helper `helper` was blanked: error[E0425]: first (line 3)"]
        );
        // No error points anywhere new: no progress.
        assert!(blank_what_failed(&mut files, &[error("one", 3, "error: again")]).is_empty());
    }

    #[test]
    fn verdicts_of_killed_unfinished_and_compiled_out_tests() {
        let source =
            "#[test]\nfn a() {}\n#[test]\nfn b() {}\n#[test]\nfn c() {}\n#[test]\nfn d() {}\n";
        let file = |name| TestFile {
            name,
            source: source.to_owned(),
            items: split_items(source),
            blanked: BTreeMap::new(),
            dropped: None,
        };
        let files = [file("hangs"), file("finished"), file("never_ran")];
        let runs = [
            BinaryRun {
                binary: "hangs".into(),
                finished: false,
                tests: vec![("a".into(), Status::Passed), ("b".into(), Status::Failed)],
                failures: BTreeMap::new(),
                slow: vec!["c".into()],
            },
            BinaryRun {
                binary: "finished".into(),
                finished: true,
                tests: vec![("a".into(), Status::Passed), ("b".into(), Status::Ignored)],
                ..BinaryRun::default()
            },
        ];
        let (rows, notes, empty) = verdicts(&files, &runs, &["hangs"]);
        let of = |file: &str| -> Vec<String> {
            rows.iter()
                .filter(|row| row.file == file)
                .map(|row| format!("{} {}", row.test, row.verdict.text()))
                .collect()
        };
        assert_eq!(
            of("hangs"),
            [
                "a passed",
                "b FAILED: (no message: its binary did not finish)",
                "c FAILED: still running after 60 s when its binary was killed at the timeout \
                 (a deadlock?)",
                "d FAILED: no result: its binary was killed at the timeout first (a deadlock in \
                 this test or another?)",
            ]
        );
        assert_eq!(of("finished"), ["a passed", "b ignored"]);
        assert_eq!(
            notes,
            ["finished: compiled out on this target (cfg), not counted: c, d"]
        );
        assert_eq!(of("never_ran").len(), 4);
        assert!(of("never_ran")[0].contains("did not run"));
        assert!(empty.is_empty());
        let totals = Totals::of(&rows);
        assert_eq!(
            (totals.passed, totals.failed, totals.ignored, totals.total()),
            (2, 7, 1, 10)
        );
        // A file whose tests are all compiled out has no test: an error of its own.
        let (_, _, empty) = verdicts(
            &files[1..2],
            &[BinaryRun {
                binary: "finished".into(),
                finished: true,
                ..BinaryRun::default()
            }],
            &[],
        );
        assert_eq!(empty, ["finished"]);
    }

    #[test]
    fn totals_and_the_lock_file() {
        let row = |verdict| Row {
            file: "f",
            test: "t".into(),
            verdict,
        };
        let rows = [
            row(Verdict::Passed),
            row(Verdict::Passed),
            row(Verdict::Failed("x".into())),
            row(Verdict::NotCompiling("e".into())),
            row(Verdict::Ignored),
        ];
        let totals = Totals::of(&rows);
        assert_eq!(
            totals.text(),
            "2 of 5 pass, 1 fail, 1 do not compile, 1 ignored"
        );
        assert!(!totals.all_passed());
        assert!(Totals::of(&rows[..2]).all_passed());
        assert!(!Totals::default().all_passed(), "no test is no pass");

        let lock = "[[package]]\nname = \"tokio-test\"\nversion = \"0.4.6\"\n\n\
                    [[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\nsource = \"registry\"\n";
        assert_eq!(locked_version(lock, "tokio").as_deref(), Some("1.54.1"));
        assert_eq!(locked_version(lock, "tokio-test").as_deref(), Some("0.4.6"));
        assert_eq!(locked_version(lock, "futures"), None);
    }

    #[test]
    fn options() {
        let parse = |args: &[&str]| {
            Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(
            parse(&[]),
            Ok(Some(Options {
                timeout: Duration::from_secs(300)
            }))
        );
        assert_eq!(
            parse(&["--timeout", "30"]),
            Ok(Some(Options {
                timeout: Duration::from_secs(30)
            }))
        );
        assert_eq!(parse(&["-h"]), Ok(None));
        for bad in [
            &["--timeout"][..],
            &["--timeout", "0"],
            &["--timeout", "x"],
            &["--x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
