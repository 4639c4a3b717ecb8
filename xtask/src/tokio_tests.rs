//! `cargo xtask tokio-tests`: tokio's own integration tests of `Semaphore`, `Mutex` and `RwLock`,
//! run against ours, one verdict per test.
//!
//! The tests are taken from the tokio crate cargo already downloaded (the version of our
//! `Cargo.lock`), never copied into the repository: a scratch crate is generated under
//! `target/tokio-tests/` with their imports of our types pointed at `async_patterns::sync`.
//! A drop-in replacement that lacks part of tokio's API would make a whole file fail to
//! compile and hide the verdicts of its other tests, so the items the compiler rejects are
//! blanked out one build at a time and reported as not compiling, each with its first error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::report::{
    Status, is_running_line, parse_cargo_running, parse_result_line, parse_test_line,
};

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

/// The prefixes of the `tokio::sync` names that are ours: the types, their guards, permits and
/// their owned and mapped variants all start with one of these.
const OUR_PREFIXES: [&str; 8] = [
    "Semaphore",
    "OwnedSemaphore",
    "Mutex",
    "OwnedMutex",
    "MappedMutex",
    "OwnedMappedMutex",
    "RwLock",
    "OwnedRwLock",
];

/// The error types ours share with tokio's names.
const OUR_ERRORS: [&str; 3] = ["AcquireError", "TryAcquireError", "TryLockError"];

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

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier `text` starts with (empty if none).
fn leading_ident(text: &str) -> &str {
    let end = text.find(|c: char| !is_ident_char(c)).unwrap_or(text.len());
    &text[..end]
}

/// Whether `tokio::sync::<name>` is one of the types `async_patterns::sync` replaces.
pub fn is_ours(name: &str) -> bool {
    OUR_ERRORS.contains(&name) || OUR_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// `text` with every path `tokio::sync::NAME` whose NAME [`is_ours`] pointed at
/// `async_patterns::sync::NAME`, in plain paths and in `use` groups; the other names of
/// `tokio::sync` (`oneshot`, `Barrier`) and the rest of tokio stay as they are. A group of both
/// becomes a group of two paths, `{async_patterns::sync::{..}, tokio::sync::{..}}` (valid in any
/// `use`), padded so that every later line keeps its number: the errors of the build and the
/// panics of the run then point at the same lines as tokio's file.
pub fn swap_imports(text: &str) -> String {
    const TOKIO: &str = "tokio::sync::";
    const OURS: &str = "async_patterns::sync::";
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(at) = rest.find(TOKIO) {
        out.push_str(&rest[..at]);
        let after = &rest[at + TOKIO.len()..];
        // `my_tokio::sync::` is another crate's path.
        if out.chars().next_back().is_some_and(is_ident_char) {
            out.push_str(TOKIO);
            rest = after;
            continue;
        }
        let group = after
            .starts_with('{')
            .then(|| matching_brace(after))
            .flatten();
        let Some(close) = group else {
            out.push_str(if is_ours(leading_ident(after)) {
                OURS
            } else {
                TOKIO
            });
            rest = after;
            continue;
        };
        let inner = &after[1..close];
        let (ours, theirs): (Vec<&str>, Vec<&str>) = split_top_level(inner)
            .into_iter()
            .partition(|element| is_ours(leading_ident(element)));
        if theirs.is_empty() {
            out.push_str(OURS);
            out.push_str(&after[..=close]);
        } else if ours.is_empty() {
            out.push_str(TOKIO);
            out.push_str(&after[..=close]);
        } else {
            let split = format!(
                "{{{OURS}{{{}}}, {TOKIO}{{{}}}",
                ours.join(", "),
                theirs.join(", ")
            );
            let lost = inner.matches('\n').count() - split.matches('\n').count();
            out.push_str(&split);
            out.push_str(&"\n".repeat(lost));
            out.push('}');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The index of the `}` that closes the `{` `text` starts with.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The elements of a `use` group's inside, split on its own commas (not those of nested groups),
/// trimmed, empty ones (a trailing comma's) left out.
fn split_top_level(inner: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                elements.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(inner[start..].trim());
    elements.retain(|element| !element.is_empty());
    elements
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fn,
    /// `use` and `extern crate`: blanking one would only move its error to every user of the name.
    Use,
    /// `struct`, `impl`, `const`, `macro_rules!`, …
    Other,
}

/// One top-level item of a rustfmt'd file: its lines, attributes and comments above it included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// First line, 0-based: its first attribute or comment line.
    pub start: usize,
    /// Last line, 0-based, inclusive.
    pub end: usize,
    pub kind: Kind,
    /// The function's (or type's) name; a `use` item's whole line.
    pub name: String,
    /// Whether its attributes make it a test (`#[test]`, `#[tokio::test…]`, `#[maybe_tokio_test…]`).
    pub test: bool,
}

/// The top-level items of `source`, relying on rustfmt's layout instead of parsing Rust: an item
/// starts at column 0, preceded by its attribute and comment lines (no blank line between); it
/// ends on its first line if that line ends with `;` or `}`, else at the next line at column 0
/// that starts with `}` (or is a closing `);`/`];`). Inner attributes (`#![…]`) and block
/// comments at column 0 (the tests tokio keeps commented out) are no items.
pub fn split_items(source: &str) -> Vec<Item> {
    let lines: Vec<&str> = source.lines().collect();
    let mut items = Vec::new();
    let mut prelude: Option<usize> = None;
    let mut attributes: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with(char::is_whitespace) {
            prelude = None;
            attributes.clear();
            i += 1;
        } else if line.starts_with("/*") {
            while i < lines.len() && !lines[i].contains("*/") {
                i += 1;
            }
            prelude = None;
            attributes.clear();
            i += 1;
        } else if line.starts_with("#!") {
            i = attribute_end(&lines, i) + 1;
            prelude = None;
            attributes.clear();
        } else if line.starts_with("//") {
            prelude.get_or_insert(i);
            i += 1;
        } else if line.starts_with("#[") {
            prelude.get_or_insert(i);
            let end = attribute_end(&lines, i);
            attributes.push(lines[i..=end].join("\n"));
            i = end + 1;
        } else {
            let end = item_end(&lines, i);
            let (kind, name) = describe(line);
            items.push(Item {
                start: prelude.take().unwrap_or(i),
                end,
                kind,
                name,
                test: attributes.iter().any(|a| is_test_attribute(a)),
            });
            attributes.clear();
            i = end + 1;
        }
    }
    items
}

/// `line` up to a `//` comment (one outside a string literal).
fn code_part(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '/' && previous == '/' {
            return &line[..i - 1];
        }
        previous = c;
    }
    line
}

/// The last line of the attribute starting on line `start`: where its brackets balance.
fn attribute_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i64;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let mut in_string = false;
        let mut escaped = false;
        for c in code_part(line).chars() {
            match (in_string, c) {
                (true, _) if escaped => escaped = false,
                (true, '\\') => escaped = true,
                (true, '"') | (false, '"') => in_string = !in_string,
                (false, '[') => depth += 1,
                (false, ']') => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 {
            return i;
        }
    }
    lines.len().saturating_sub(1)
}

/// The last line of the item whose first code line is `start`.
fn item_end(lines: &[&str], start: usize) -> usize {
    let first = code_part(lines[start]).trim_end();
    if first.ends_with(';') || first.ends_with('}') {
        return start;
    }
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let closes = line.starts_with('}')
            || ((line.starts_with(')') || line.starts_with(']'))
                && code_part(line).trim_end().ends_with(';'));
        if closes {
            return i;
        }
    }
    lines.len().saturating_sub(1)
}

/// The kind and name of the item whose first code line is `line`.
fn describe(line: &str) -> (Kind, String) {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut k = 0;
    while let Some(&token) = tokens.get(k) {
        let qualifier = token == "pub"
            || token.starts_with("pub(")
            || matches!(token, "async" | "unsafe" | "extern" | "\"C\"")
            || (token == "const" && tokens.get(k + 1) == Some(&"fn"));
        if !qualifier {
            break;
        }
        k += 1;
    }
    let keyword = tokens.get(k).copied().unwrap_or_default();
    let next = tokens
        .get(k + 1)
        .map(|t| leading_ident(t))
        .unwrap_or_default();
    match keyword {
        "fn" => (Kind::Fn, next.to_owned()),
        "use" | "crate" => (Kind::Use, line.trim().to_owned()),
        _ if !next.is_empty() => (Kind::Other, next.to_owned()),
        _ => (Kind::Other, line.trim().to_owned()),
    }
}

/// Whether the attribute makes its function a test: `#[test]`, `#[tokio::test…]`, or tokio's
/// `#[maybe_tokio_test…]` (an alias of `tokio::test` off wasm).
fn is_test_attribute(attribute: &str) -> bool {
    let path = attribute
        .trim_start_matches("#[")
        .split(|c: char| c == '(' || c == ']' || c == '=' || c.is_whitespace())
        .next()
        .unwrap_or_default();
    matches!(path, "test" | "tokio::test" | "maybe_tokio_test")
}

/// One `error` diagnostic of `cargo --message-format=short` located in a test file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// The test file's name without `.rs`.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// `error[E0599]: no method named …`
    pub message: String,
}

/// The errors of `tests/<file>.rs` in cargo's short-format output
/// (`tests/sync_mutex.rs:123:5: error[E0599]: …`); warnings and errors elsewhere are left out.
pub fn parse_build_errors(stderr: &str) -> Vec<BuildError> {
    stderr
        .lines()
        .filter_map(|line| {
            let (location, message) = line.trim().split_once(": ")?;
            if !message.starts_with("error") {
                return None;
            }
            let mut parts = location.rsplitn(3, ':');
            let _column: usize = parts.next()?.parse().ok()?;
            let line: usize = parts.next()?.parse().ok()?;
            let path = Path::new(parts.next()?);
            let in_tests = path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|dir| dir == "tests");
            if !in_tests || path.extension().is_none_or(|ext| ext != "rs") {
                return None;
            }
            Some(BuildError {
                file: path.file_stem()?.to_string_lossy().into_owned(),
                line,
                message: message.to_owned(),
            })
        })
        .collect()
}

/// What one test binary's run printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinaryRun {
    /// From cargo's `Running tests/<name>.rs (…)` line.
    pub binary: String,
    /// Whether its `test result:` line was seen.
    pub finished: bool,
    pub tests: Vec<(String, Status)>,
    /// A failed test's panic (or libtest's complaint), from its `---- NAME stdout ----` section.
    pub failures: BTreeMap<String, String>,
    /// Tests libtest said had been running for over 60 seconds.
    pub slow: Vec<String>,
}

/// The runs of `cargo test`'s output: libtest's `stdout`, each run named by the k-th `Running`
/// line of cargo's `stderr` (cargo runs the binaries one after the other).
pub fn parse_test_output(stdout: &str, stderr: &str) -> Vec<BinaryRun> {
    let mut binaries = stderr.lines().filter_map(parse_cargo_running);
    let mut runs: Vec<BinaryRun> = Vec::new();
    let mut section: Option<(String, Vec<&str>)> = None;
    fn close(section: &mut Option<(String, Vec<&str>)>, runs: &mut [BinaryRun]) {
        if let (Some((name, lines)), Some(run)) = (section.take(), runs.last_mut()) {
            run.failures.insert(name, panic_message(&lines));
        }
    }
    for line in stdout.lines() {
        let trimmed = line.trim_end();
        if is_running_line(trimmed) {
            close(&mut section, &mut runs);
            runs.push(BinaryRun {
                binary: binaries.next().unwrap_or_else(|| "?".to_owned()),
                ..BinaryRun::default()
            });
        } else if parse_result_line(trimmed).is_some() {
            close(&mut section, &mut runs);
            if let Some(run) = runs.last_mut() {
                run.finished = true;
            }
        } else if let Some(name) = trimmed
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            close(&mut section, &mut runs);
            section = Some((plain_name(name).to_owned(), Vec::new()));
        } else if trimmed == "failures:" {
            close(&mut section, &mut runs);
        } else if let Some(lines) = section.as_mut().map(|(_, lines)| lines) {
            lines.push(trimmed);
        } else if let Some((name, status)) = parse_test_line(trimmed) {
            if runs.is_empty() {
                runs.push(BinaryRun {
                    binary: "?".to_owned(),
                    ..BinaryRun::default()
                });
            }
            if let Some(run) = runs.last_mut() {
                run.tests.push((plain_name(name).to_owned(), status));
            }
        } else if let Some(name) = trimmed
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" has been running for over 60 seconds"))
            && let Some(run) = runs.last_mut()
        {
            run.slow.push(name.to_owned());
        }
    }
    close(&mut section, &mut runs);
    runs
}

/// A test's name as libtest prints it without the mode it appends (`merge_unrelated_permits -
/// should panic`), so that it matches the function's.
fn plain_name(name: &str) -> &str {
    name.strip_suffix(" - should panic").unwrap_or(name)
}

/// The gist of a failed test's output section: the first panic's message (up to three lines,
/// e.g. `assert_eq!`'s left and right) and where it panicked, or libtest's own note (a
/// `should_panic` test that did not panic, or panicked with another message).
fn panic_message(section: &[&str]) -> String {
    let lines: Vec<&str> = section
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    // `thread 'name' panicked at …:`, or `thread 'name' (7038) panicked at …:` (newer toolchains
    // print the thread's id).
    let panicked = lines
        .iter()
        .position(|line| line.starts_with("thread '") && line.contains(" panicked at "));
    let Some(at) = panicked else {
        return lines.iter().take(3).copied().collect::<Vec<_>>().join("; ");
    };
    let location = lines[at]
        .split_once(" panicked at ")
        .map_or("", |(_, location)| location.trim_end_matches(':'));
    let message: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|line| {
            !line.starts_with("note:")
                && !line.starts_with("stack backtrace:")
                && !line.starts_with("thread '")
        })
        .take(3)
        .copied()
        .collect();
    let mut text = if message.is_empty() {
        format!("panicked at {location}")
    } else {
        format!("{} (at {location})", message.join("; "))
    };
    if lines
        .iter()
        .any(|line| line.starts_with("note: panic did not contain expected string"))
    {
        let expected = lines
            .iter()
            .find_map(|line| line.strip_prefix("expected substring: "))
            .unwrap_or("?");
        let _ = write!(text, "; expected a panic containing {expected}");
    }
    text
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

/// One of tokio's files on its way through the blanking rounds.
struct TestFile {
    name: &'static str,
    /// tokio's file with our imports swapped in.
    source: String,
    items: Vec<Item>,
    /// Blanked items: index in `items`, and the error that got them blanked.
    blanked: BTreeMap<usize, String>,
    /// Why the whole file is left out of the build, if it is.
    dropped: Option<String>,
}

impl TestFile {
    /// The source with the blanked items' lines emptied (line numbers kept).
    fn current(&self) -> String {
        let mut lines: Vec<&str> = self.source.lines().collect();
        let last = lines.len().saturating_sub(1);
        for &index in self.blanked.keys() {
            let item = &self.items[index];
            for line in &mut lines[item.start..=item.end.min(last)] {
                *line = "";
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    fn item_at(&self, line: usize) -> Option<usize> {
        let line = line.checked_sub(1)?;
        self.items
            .iter()
            .position(|item| item.start <= line && line <= item.end)
    }

    /// The blanked helpers (items that are no tests) whose names `message` mentions.
    fn blanked_helpers_in(&self, message: &str) -> Vec<&str> {
        self.blanked
            .keys()
            .map(|&index| &self.items[index])
            .filter(|item| !item.test && message.contains(&format!("`{}`", item.name)))
            .map(|item| item.name.as_str())
            .collect()
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
        "# Generated by `cargo xtask tokio-tests` (xtask/src/tokio_tests.rs) on every run.\n\
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

fn per_file(rows: &[Row]) -> Vec<(&'static str, Totals)> {
    FILES
        .iter()
        .map(|&file| (file, Totals::of(rows.iter().filter(|row| row.file == file))))
        .collect()
}

/// `1 build`, `3 builds`.
fn builds(rounds: usize) -> String {
    format!("{rounds} build{}", if rounds == 1 { "" } else { "s" })
}

fn render_text(outcome: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "=== tokio {}'s tests against async_patterns::sync ===",
        outcome.tokio_version
    );
    let file_width = outcome.rows.iter().map(|r| r.file.len()).max().unwrap_or(4);
    let test_width = outcome.rows.iter().map(|r| r.test.len()).max().unwrap_or(4);
    let _ = writeln!(
        s,
        "{:<file_width$}  {:<test_width$}  result",
        "file", "test"
    );
    for row in &outcome.rows {
        let _ = writeln!(
            s,
            "{:<file_width$}  {:<test_width$}  {}",
            row.file,
            row.test,
            row.verdict.text()
        );
    }
    let _ = writeln!(s);
    for (file, totals) in per_file(&outcome.rows) {
        let _ = writeln!(s, "{file:<file_width$}  {}", totals.text());
    }
    let _ = writeln!(
        s,
        "{:<file_width$}  {}",
        "total",
        Totals::of(&outcome.rows).text()
    );
    for note in &outcome.notes {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(
        s,
        "built in {:.1}s ({}), ran in {:.1}s",
        outcome.build.as_secs_f64(),
        builds(outcome.rounds),
        outcome.run.as_secs_f64(),
    );
    for file in &outcome.killed {
        let _ = writeln!(s, "{file}: killed at the timeout");
    }
    s
}

fn render_markdown(outcome: &Outcome) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# tokio {}'s tests against `async_patterns::sync`\n",
        outcome.tokio_version
    );
    let _ = writeln!(
        s,
        "Generated by `cargo xtask tokio-tests` from `{}` (imports of tokio's Semaphore, Mutex \
         and RwLock types swapped for ours). Built in {:.1}s ({}), ran in {:.1}s.\n",
        outcome.tests_dir.display(),
        outcome.build.as_secs_f64(),
        builds(outcome.rounds),
        outcome.run.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "| file | passed | failed | not compiling | ignored | total |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    let overall = Totals::of(&outcome.rows);
    for (file, t) in per_file(&outcome.rows)
        .into_iter()
        .chain([("**total**", overall)])
    {
        let _ = writeln!(
            s,
            "| {file} | {} | {} | {} | {} | {} |",
            t.passed,
            t.failed,
            t.not_compiling,
            t.ignored,
            t.total()
        );
    }
    let _ = writeln!(s, "\n{}\n", overall.text());
    let _ = writeln!(s, "| file | test | result |\n|---|---|---|");
    for row in &outcome.rows {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} |",
            row.file,
            row.test,
            cell(&row.verdict.text())
        );
    }
    if !outcome.notes.is_empty() {
        let _ = writeln!(s);
        for note in &outcome.notes {
            let _ = writeln!(s, "- {}", cell(note));
        }
    }
    for file in &outcome.killed {
        let _ = writeln!(s, "\n{file}: killed at the timeout.");
    }
    s
}

/// What a streamed command printed.
struct Streamed {
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs `command`, echoing its stdout and stderr as they arrive (the gate counts libtest's lines
/// as they pass) and keeping them; kills it (cargo and the test binary it runs) after `timeout`.
fn run_streaming(mut command: Command, timeout: Duration) -> io::Result<Streamed> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Its own process group, so that the timeout kills the test binary cargo started too.
        command.process_group(0);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let start = Instant::now();
    let mut timed_out = false;
    let (out, err, status) = std::thread::scope(|scope| {
        let out = scope.spawn(move || echo(stdout.as_mut(), &mut io::stdout()));
        let err = scope.spawn(move || echo(stderr.as_mut(), &mut io::stderr()));
        let status: io::Result<ExitStatus> = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if start.elapsed() >= timeout => {
                    timed_out = true;
                    kill_group(&mut child);
                    break child.wait();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(error) => break Err(error),
            }
        };
        (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
            status,
        )
    });
    status?;
    Ok(Streamed {
        stdout: out,
        stderr: err,
        timed_out,
    })
}

/// Kills `child` and, on unix, the process group it leads (see [`run_streaming`]).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let group = format!("-{}", child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .is_ok_and(|status| status.success());
        if killed {
            return;
        }
    }
    let _ = child.kill();
}

/// Copies `from` to `to` as it arrives and returns all of it.
fn echo(from: Option<&mut impl Read>, to: &mut impl Write) -> String {
    let Some(from) = from else {
        return String::new();
    };
    let mut all = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut echo_ok = true;
    loop {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining even if our output is gone, so the child never blocks on a pipe.
                if echo_ok {
                    echo_ok = to.write_all(&buffer[..n]).and_then(|()| to.flush()).is_ok();
                }
                all.extend_from_slice(&buffer[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_to_our_types_are_swapped() {
        assert_eq!(
            swap_imports("use tokio::sync::Mutex;\nlet s = tokio::sync::Semaphore::new(0);\n"),
            "use async_patterns::sync::Mutex;\nlet s = async_patterns::sync::Semaphore::new(0);\n"
        );
        for name in [
            "OwnedSemaphorePermit",
            "SemaphorePermit",
            "MutexGuard",
            "OwnedMappedMutexGuard",
            "MappedMutexGuard",
            "RwLockWriteGuard",
            "OwnedRwLockReadGuard",
            "AcquireError",
            "TryAcquireError",
            "TryLockError",
        ] {
            assert_eq!(
                swap_imports(&format!("    use tokio::sync::{name};")),
                format!("    use async_patterns::sync::{name};"),
            );
        }
    }

    #[test]
    fn the_rest_of_tokio_is_untouched() {
        let text = "let (tx, rx) = tokio::sync::oneshot::channel();\n\
                    use tokio::sync::Barrier;\n\
                    tokio::spawn(async {});\n\
                    #[tokio::test]\n\
                    tokio::task::coop::consume_budget();\n\
                    use tokio::time::{interval, timeout};\n\
                    use tokio::sync::{mpsc, Notify};\n\
                    my_tokio::sync::Mutex::new(());\n";
        assert_eq!(swap_imports(text), text);
    }

    #[test]
    fn a_mixed_group_is_split_between_the_crates_and_keeps_its_lines() {
        assert_eq!(
            swap_imports("use tokio::sync::{RwLock, RwLockWriteGuard};\n"),
            "use async_patterns::sync::{RwLock, RwLockWriteGuard};\n"
        );
        assert_eq!(
            swap_imports("use tokio::sync::{oneshot, RwLock, Barrier as B, Mutex as M};"),
            "use {async_patterns::sync::{RwLock, Mutex as M}, tokio::sync::{oneshot, Barrier as B}};"
        );
        let multi_line =
            "use tokio::sync::{\n    mpsc::{self, Sender},\n    Semaphore,\n};\nfn f() {}\n";
        let swapped = swap_imports(multi_line);
        assert_eq!(
            swapped,
            "use {async_patterns::sync::{Semaphore}, tokio::sync::{mpsc::{self, Sender}}\n\n\n};\nfn f() {}\n"
        );
        assert_eq!(swapped.lines().count(), multi_line.lines().count());
    }

    #[test]
    fn items_take_their_attributes_and_comments_and_end_at_their_brace() {
        let source = "#![cfg(feature = \"sync\")]\n\
                      \n\
                      use std::sync::Arc;\n\
                      use tokio_test::{\n    assert_pending,\n    assert_ready,\n};\n\
                      \n\
                      /// Doc.\n\
                      #[tokio::test]\n\
                      #[cfg(feature = \"full\")] // trailing comment\n\
                      async fn a_test() {\n    let x = {\n        1\n    };\n}\n\
                      \n\
                      fn helper(\n    n: usize,\n) -> usize {\n    n\n}\n\
                      \n\
                      /*\n#[test]\nfn commented_out() {\n}\n*/\n\
                      #[maybe_tokio_test]\n\
                      async fn b() {}\n\
                      #[test]\n\
                      #[should_panic(\n    expected = \"a ] in [ a string\"\n)]\n\
                      fn c() {\n}\n";
        let items = split_items(source);
        let view: Vec<(usize, usize, Kind, &str, bool)> = items
            .iter()
            .map(|i| (i.start, i.end, i.kind, i.name.as_str(), i.test))
            .collect();
        assert_eq!(
            view,
            [
                (2, 2, Kind::Use, "use std::sync::Arc;", false),
                (3, 6, Kind::Use, "use tokio_test::{", false),
                (8, 15, Kind::Fn, "a_test", true),
                (17, 21, Kind::Fn, "helper", false),
                (28, 29, Kind::Fn, "b", true),
                (30, 35, Kind::Fn, "c", true),
            ]
        );
    }

    #[test]
    fn blanking_keeps_the_line_numbers() {
        let source = "use a::B;\n\n#[test]\nfn t() {\n    x();\n}\n\nfn u() {}\n";
        let mut file = TestFile {
            name: "f",
            source: source.to_owned(),
            items: split_items(source),
            blanked: BTreeMap::new(),
            dropped: None,
        };
        assert_eq!(file.item_at(5), Some(1));
        assert_eq!(file.item_at(2), None);
        file.blanked.insert(1, "error".to_owned());
        assert_eq!(file.current(), "use a::B;\n\n\n\n\n\n\nfn u() {}\n");
    }

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
    fn build_errors_of_the_test_files_are_parsed() {
        let stderr = "   Compiling tokio-tests-on-async-patterns v0.0.0 (/ws/target/tokio-tests/crate)\n\
                      tests/sync_mutex.rs:123:5: error[E0599]: no method named `blocking_lock` found for struct `Mutex<T>` in the current scope\n\
                      tests/sync_mutex.rs:12:5: warning: unused import: `tokio_test::task::spawn`\n\
                      /ws/src/sync/mutex.rs:1:1: error: in our crate\n\
                      tests/sync_rwlock.rs:7:9: error: cannot find macro `m` in this scope\n\
                      error: could not compile `tokio-tests-on-async-patterns` (test \"sync_mutex\") due to 1 previous error\n";
        assert_eq!(
            parse_build_errors(stderr),
            [
                BuildError {
                    file: "sync_mutex".into(),
                    line: 123,
                    message: "error[E0599]: no method named `blocking_lock` found for struct \
                              `Mutex<T>` in the current scope"
                        .into()
                },
                BuildError {
                    file: "sync_rwlock".into(),
                    line: 7,
                    message: "error: cannot find macro `m` in this scope".into()
                },
            ]
        );
    }

    #[test]
    fn libtest_output_is_parsed_per_binary_with_panic_messages() {
        let stderr = "    Finished `test` profile\n\
                      \x20    Running tests/sync_mutex.rs (target/debug/deps/sync_mutex-0123abcd)\n\
                      \x20    Running tests/sync_rwlock.rs (target/debug/deps/sync_rwlock-4567ef)\n\
                      \x20    Running tests/sync_semaphore.rs (target/debug/deps/sync_semaphore-89ab)\n";
        let stdout = "\nrunning 3 tests\n\
                      test straight_execution ... ok\n\
                      test mutex_coop_drop_after_take_permit ... FAILED\n\
                      test blocking - should panic ... FAILED\n\
                      \n\
                      failures:\n\
                      \n\
                      ---- mutex_coop_drop_after_take_permit stdout ----\n\
                      \n\
                      thread 'mutex_coop_drop_after_take_permit' (7038) panicked at tests/sync_mutex.rs:217:5:\n\
                      assertion failed: m.try_lock().is_ok()\n\
                      stack backtrace:\n\
                      \x20  0: __rustc::rust_begin_unwind\n\
                      note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n\
                      ---- blocking stdout ----\n\
                      note: test did not panic as expected at tests/sync_mutex.rs:9:4\n\
                      \n\
                      failures:\n\
                      \x20   blocking\n\
                      \x20   mutex_coop_drop_after_take_permit\n\
                      \n\
                      test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                      \n\
                      running 2 tests\n\
                      test eq ... FAILED\n\
                      test skipped ... ignored\n\
                      \n\
                      failures:\n\
                      \n\
                      ---- eq stdout ----\n\
                      thread 'eq' panicked at tests/sync_rwlock.rs:30:5:\n\
                      assertion `left == right` failed\n\
                      \x20 left: 1\n\
                      \x20right: 2\n\
                      \n\
                      failures:\n\
                      \x20   eq\n\
                      \n\
                      test result: FAILED. 0 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                      \n\
                      running 1 test\n\
                      test hangs has been running for over 60 seconds\n";
        let runs = parse_test_output(stdout, stderr);
        assert_eq!(runs.len(), 3);
        let mutex = &runs[0];
        assert_eq!(mutex.binary, "sync_mutex");
        assert!(mutex.finished);
        assert_eq!(
            mutex.tests,
            [
                ("straight_execution".to_owned(), Status::Passed),
                (
                    "mutex_coop_drop_after_take_permit".to_owned(),
                    Status::Failed
                ),
                ("blocking".to_owned(), Status::Failed),
            ]
        );
        assert_eq!(
            mutex.failures["mutex_coop_drop_after_take_permit"],
            "assertion failed: m.try_lock().is_ok() (at tests/sync_mutex.rs:217:5)"
        );
        assert_eq!(
            mutex.failures["blocking"],
            "note: test did not panic as expected at tests/sync_mutex.rs:9:4"
        );
        let rwlock = &runs[1];
        assert_eq!(rwlock.binary, "sync_rwlock");
        assert_eq!(
            rwlock.failures["eq"],
            "assertion `left == right` failed; left: 1; right: 2 (at tests/sync_rwlock.rs:30:5)"
        );
        assert_eq!(rwlock.tests[1], ("skipped".to_owned(), Status::Ignored));
        let semaphore = &runs[2];
        assert_eq!(semaphore.binary, "sync_semaphore");
        assert!(!semaphore.finished);
        assert_eq!(semaphore.slow, ["hangs"]);
    }

    #[test]
    fn a_should_panic_with_another_message_says_what_was_expected() {
        let section = [
            "thread 'x' panicked at src/sync/semaphore/mod.rs:10:9:",
            "not this",
            "note: panic did not contain expected string",
            "      panic message: \"not this\"",
            " expected substring: \"Cannot block the current thread from within a runtime\"",
        ];
        assert_eq!(
            panic_message(&section),
            "not this (at src/sync/semaphore/mod.rs:10:9); expected a panic containing \
             \"Cannot block the current thread from within a runtime\""
        );
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
