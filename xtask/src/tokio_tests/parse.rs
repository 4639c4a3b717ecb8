//! Reading what cargo printed: the build's errors in the test files (what gets blanked), and
//! libtest's output per test binary (each test's status, a failure's panic message, the tests
//! still running when a binary was killed), from which the verdicts are made.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::report::{
    Status, is_running_line, parse_cargo_running, parse_result_line, parse_test_line,
};

/// One `error` diagnostic of `cargo --message-format=short` located in a test file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BuildError {
    /// The test file's name without `.rs`.
    pub(super) file: String,
    /// 1-based.
    pub(super) line: usize,
    /// `error[E0599]: no method named …`
    pub(super) message: String,
}

/// The errors of `tests/<file>.rs` in cargo's short-format output
/// (`tests/sync_mutex.rs:123:5: error[E0599]: …`); warnings and errors elsewhere are left out.
pub(super) fn parse_build_errors(stderr: &str) -> Vec<BuildError> {
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
pub(super) struct BinaryRun {
    /// From cargo's `Running tests/<name>.rs (…)` line.
    pub(super) binary: String,
    /// Whether its `test result:` line was seen.
    pub(super) finished: bool,
    pub(super) tests: Vec<(String, Status)>,
    /// A failed test's panic (or libtest's complaint), from its `---- NAME stdout ----` section.
    pub(super) failures: BTreeMap<String, String>,
    /// Tests libtest said had been running for over 60 seconds.
    pub(super) slow: Vec<String>,
}

/// The runs of `cargo test`'s output: libtest's `stdout`, each run named by the k-th `Running`
/// line of cargo's `stderr` (cargo runs the binaries one after the other).
pub(super) fn parse_test_output(stdout: &str, stderr: &str) -> Vec<BinaryRun> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
