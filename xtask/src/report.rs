//! Parsing libtest's output and rendering the gate's summary (text, JSON, Markdown).

use std::fmt::Write as _;
use std::path::Path;

/// Test counts of one step, summed over its test binaries (doctests count as one binary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Number of `test result:` lines seen.
    pub binaries: u64,
    /// Number of `running N tests` lines seen: more than `binaries` means a binary crashed.
    pub started: u64,
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    pub measured: u64,
    pub filtered_out: u64,
    /// Names from `test NAME ... FAILED` lines.
    pub failed_tests: Vec<String>,
}

/// One `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResultLine {
    pub ok: bool,
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    pub measured: u64,
    pub filtered_out: u64,
}

/// Parses a libtest summary line; `None` for any other line.
pub fn parse_result_line(line: &str) -> Option<ResultLine> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (ok, rest) = if let Some(rest) = rest.strip_prefix("ok.") {
        (true, rest)
    } else {
        (false, rest.strip_prefix("FAILED.")?)
    };
    let mut result = ResultLine {
        ok,
        ..ResultLine::default()
    };
    let mut saw_passed = false;
    for part in rest.split(';') {
        let Some((number, label)) = part.trim().split_once(' ') else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label.trim() {
            "passed" => {
                result.passed = number;
                saw_passed = true;
            }
            "failed" => result.failed = number,
            "ignored" => result.ignored = number,
            "measured" => result.measured = number,
            "filtered out" => result.filtered_out = number,
            _ => {}
        }
    }
    saw_passed.then_some(result)
}

/// The name in a `test NAME ... FAILED` line.
pub fn parse_failed_test(line: &str) -> Option<&str> {
    let name = line
        .trim_end()
        .strip_prefix("test ")?
        .strip_suffix(" ... FAILED")?;
    (!name.is_empty()).then_some(name)
}

/// Whether `line` is libtest's `running N test(s)` header of one binary.
pub fn is_running_line(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix("running ") else {
        return false;
    };
    match rest.split_once(' ') {
        Some((number, "test" | "tests")) => number.parse::<u64>().is_ok(),
        _ => false,
    }
}

/// Accumulates [`Counts`] from output arriving in arbitrary chunks.
#[derive(Debug, Default)]
pub struct Scanner {
    partial: Vec<u8>,
    counts: Counts,
}

impl Scanner {
    pub fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.scan_line(&String::from_utf8_lossy(&line));
            } else {
                self.partial.push(byte);
            }
        }
    }

    pub fn finish(mut self) -> Counts {
        let rest = std::mem::take(&mut self.partial);
        self.scan_line(&String::from_utf8_lossy(&rest));
        self.counts
    }

    fn scan_line(&mut self, line: &str) {
        let counts = &mut self.counts;
        if let Some(result) = parse_result_line(line) {
            counts.binaries += 1;
            counts.passed += result.passed;
            counts.failed += result.failed;
            counts.ignored += result.ignored;
            counts.measured += result.measured;
            counts.filtered_out += result.filtered_out;
        } else if is_running_line(line) {
            counts.started += 1;
        } else if let Some(name) = parse_failed_test(line) {
            counts.failed_tests.push(name.to_owned());
        }
    }
}

/// What one step did.
#[derive(Debug)]
pub struct Outcome {
    pub name: &'static str,
    /// The command that reproduces it, from the workspace root.
    pub command: String,
    pub env: Vec<(String, String)>,
    /// Whether test counts are meaningful for this step.
    pub tests: bool,
    pub seconds: f64,
    /// `None` if the step passed, else why not (exit status, or could not start).
    pub failure: Option<String>,
    pub counts: Counts,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    fn result(&self) -> &'static str {
        if self.passed() { "ok" } else { "FAILED" }
    }

    fn counts_text(&self) -> String {
        let c = &self.counts;
        format!(
            "{} binaries, {} passed, {} failed, {} ignored",
            c.binaries, c.passed, c.failed, c.ignored
        )
    }

    pub fn one_line(&self) -> String {
        let mut line = format!("{} in {}", self.result(), seconds(self.seconds));
        if self.tests {
            let _ = write!(line, " ({})", self.counts_text());
        }
        if let Some(failure) = &self.failure {
            let _ = write!(line, " [{failure}]");
        }
        line
    }

    /// Test binaries that started but never printed their result (aborted or crashed).
    pub fn crashed_binaries(&self) -> u64 {
        self.counts.started.saturating_sub(self.counts.binaries)
    }

    /// Why a failed step failed, beyond its exit status, as far as its output tells.
    fn diagnosis(&self) -> Vec<String> {
        let c = &self.counts;
        let mut lines = Vec::new();
        if !c.failed_tests.is_empty() {
            lines.push(format!("failed tests: {}", c.failed_tests.join(", ")));
        }
        if self.crashed_binaries() > 0 {
            lines.push(format!(
                "{} test binary(ies) stopped before printing a result (abort or crash: see the \
                 panic in the output above)",
                self.crashed_binaries()
            ));
        }
        if self.tests && c.started == 0 {
            lines.push("no test binary ran (a build error? see the output above)".to_owned());
        }
        lines
    }

    /// Something suspicious about a step that passed: a test step that ran no tests at all.
    pub fn warning(&self) -> Option<String> {
        let ran = self.counts.passed + self.counts.failed;
        (self.passed() && self.tests && ran == 0)
            .then(|| format!("step `{}` passed but ran no tests", self.name))
    }
}

/// The whole gate run.
#[derive(Debug)]
pub struct Summary {
    pub profile: &'static str,
    pub root: String,
    pub started_unix: u64,
    pub seconds: f64,
    pub proptest_cases: String,
    pub loom_max_preemptions: String,
    pub outcomes: Vec<Outcome>,
}

fn seconds(value: f64) -> String {
    format!("{value:.1}s")
}

impl Summary {
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(Outcome::passed)
    }

    fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed())
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            s,
            "=== gate summary ({} profile): {verdict} ===",
            self.profile
        );
        let _ = writeln!(
            s,
            "{:<8} {:<7} {:>8} {:>9} {:>7} {:>7} {:>8}",
            "step", "result", "time", "binaries", "passed", "failed", "ignored"
        );
        for o in &self.outcomes {
            let c = &o.counts;
            let _ = writeln!(
                s,
                "{:<8} {:<7} {:>8} {:>9} {:>7} {:>7} {:>8}",
                o.name,
                o.result(),
                seconds(o.seconds),
                c.binaries,
                c.passed,
                c.failed,
                c.ignored
            );
        }
        let _ = writeln!(
            s,
            "proptest cases: {}   loom max preemptions: {}   total: {}",
            self.proptest_cases,
            self.loom_max_preemptions,
            seconds(self.seconds)
        );
        for warning in self.outcomes.iter().filter_map(Outcome::warning) {
            let _ = writeln!(s, "warning: {warning}");
        }
        for o in self.failed() {
            let why = o.failure.as_deref().unwrap_or_default();
            let _ = writeln!(s, "\nFAILED step `{}` ({why}); reproduce with:", o.name);
            let _ = writeln!(
                s,
                "    cd {} && {}",
                crate::gate::shell_quote(&self.root),
                o.command
            );
            for line in o.diagnosis() {
                let _ = writeln!(s, "  {line}");
            }
        }
        s
    }

    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"passed\": {},", self.passed());
        let _ = writeln!(s, "  \"profile\": {},", json_string(self.profile));
        let _ = writeln!(s, "  \"root\": {},", json_string(&self.root));
        let _ = writeln!(s, "  \"started_unix\": {},", self.started_unix);
        let _ = writeln!(s, "  \"seconds\": {:.3},", self.seconds);
        let _ = writeln!(
            s,
            "  \"proptest_cases\": {},",
            json_string(&self.proptest_cases)
        );
        let _ = writeln!(
            s,
            "  \"loom_max_preemptions\": {},",
            json_string(&self.loom_max_preemptions)
        );
        let failed: Vec<String> = self.failed().map(|o| json_string(o.name)).collect();
        let _ = writeln!(s, "  \"failed_steps\": [{}],", failed.join(", "));
        s.push_str("  \"steps\": [");
        for (i, o) in self.outcomes.iter().enumerate() {
            let c = &o.counts;
            let env: Vec<String> = o
                .env
                .iter()
                .map(|(k, v)| format!("{}: {}", json_string(k), json_string(v)))
                .collect();
            let failed_tests: Vec<String> = c.failed_tests.iter().map(|t| json_string(t)).collect();
            s.push_str(if i == 0 { "\n" } else { ",\n" });
            let _ = write!(
                s,
                "    {{\"name\": {}, \"passed\": {}, \"failure\": {}, \"seconds\": {:.3}, \
                 \"command\": {}, \"env\": {{{}}}, \"binaries\": {}, \"tests_passed\": {}, \
                 \"tests_failed\": {}, \"tests_ignored\": {}, \"tests_measured\": {}, \
                 \"tests_filtered_out\": {}, \"crashed_binaries\": {}, \"failed_tests\": [{}]}}",
                json_string(o.name),
                o.passed(),
                o.failure.as_deref().map_or("null".to_owned(), json_string),
                o.seconds,
                json_string(&o.command),
                env.join(", "),
                c.binaries,
                c.passed,
                c.failed,
                c.ignored,
                c.measured,
                c.filtered_out,
                o.crashed_binaries(),
                failed_tests.join(", ")
            );
        }
        s.push_str("\n  ]\n}\n");
        s
    }

    pub fn to_markdown(&self) -> String {
        let mut s = String::from("# Gate summary\n\n");
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            s,
            "**{verdict}** — profile `{}`, {} total, `PROPTEST_CASES={}`, `LOOM_MAX_PREEMPTIONS={}`\n",
            self.profile,
            seconds(self.seconds),
            self.proptest_cases,
            self.loom_max_preemptions
        );
        s.push_str("| step | result | time | binaries | passed | failed | ignored | command |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
        for o in &self.outcomes {
            let c = &o.counts;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | `{}` |",
                o.name,
                o.result(),
                seconds(o.seconds),
                c.binaries,
                c.passed,
                c.failed,
                c.ignored,
                o.command.replace('|', "\\|")
            );
        }
        for warning in self.outcomes.iter().filter_map(Outcome::warning) {
            let _ = writeln!(s, "\n> warning: {warning}");
        }
        for o in self.failed() {
            let why = o.failure.as_deref().unwrap_or_default();
            let _ = writeln!(s, "\n## Failed: `{}` ({why})\n", o.name);
            let _ = writeln!(
                s,
                "Reproduce from the workspace root:\n\n```sh\n{}\n```",
                o.command
            );
            for line in o.diagnosis() {
                let _ = writeln!(s, "\n{line}");
            }
        }
        s
    }
}

/// Writes `summary.json` and `summary.md` into `dir`.
pub fn write_files(summary: &Summary, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("summary.json"), summary.to_json())?;
    std::fs::write(dir.join("summary.md"), summary.to_markdown())
}

/// A JSON string literal.
pub fn json_string(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_ok_result_line() {
        let line = "test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 3 filtered out; \
                    finished in 0.52s";
        assert_eq!(
            parse_result_line(line),
            Some(ResultLine {
                ok: true,
                passed: 12,
                failed: 0,
                ignored: 2,
                measured: 0,
                filtered_out: 3
            })
        );
    }

    #[test]
    fn parses_a_failed_result_line() {
        let line = "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; \
                    finished in 1.00s";
        let result = parse_result_line(line).unwrap();
        assert!(!result.ok);
        assert_eq!((result.passed, result.failed), (3, 1));
    }

    #[test]
    fn tolerates_indentation_a_carriage_return_and_a_missing_duration() {
        let result =
            parse_result_line("  test result: ok. 0 passed; 0 failed; 0 ignored\r").unwrap();
        assert_eq!(result.passed, 0);
        assert!(result.ok);
    }

    #[test]
    fn ignores_other_lines() {
        for line in [
            "",
            "running 3 tests",
            "test foo ... ok",
            "test result: maybe. 1 passed",
            "test result: ok.",
            "warning: test result: ok. is not a result",
            "test result: ok. many passed; 0 failed",
        ] {
            assert_eq!(parse_result_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn parses_failed_test_names() {
        assert_eq!(
            parse_failed_test("test sync::tests::fifo ... FAILED"),
            Some("sync::tests::fifo")
        );
        assert_eq!(
            parse_failed_test("test src/lib.rs - sync::Semaphore (line 12) ... FAILED\r"),
            Some("src/lib.rs - sync::Semaphore (line 12)")
        );
        assert_eq!(parse_failed_test("test sync::tests::fifo ... ok"), None);
        assert_eq!(parse_failed_test("failures:"), None);
    }

    #[test]
    fn scanner_sums_binaries_across_arbitrary_chunks() {
        let output = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\
                      test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                      \nrunning 1 test\n\
                      test result: ok. 1 passed; 0 failed; 4 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        for chunk in [1, 7, 4096] {
            let mut scanner = Scanner::default();
            for piece in output.as_bytes().chunks(chunk) {
                scanner.feed(piece);
            }
            let counts = scanner.finish();
            assert_eq!(
                (
                    counts.binaries,
                    counts.passed,
                    counts.failed,
                    counts.ignored
                ),
                (2, 2, 1, 4),
                "chunk size {chunk}"
            );
            assert_eq!(counts.failed_tests, vec!["b".to_owned()]);
        }
    }

    #[test]
    fn recognises_running_lines() {
        assert!(is_running_line("running 1 test"));
        assert!(is_running_line("running 22 tests\r"));
        assert!(!is_running_line("running tests"));
        assert!(!is_running_line(
            "     Running tests/mutex.rs (target/debug/deps/mutex-1)"
        ));
    }

    #[test]
    fn a_binary_that_aborts_is_counted_as_crashed() {
        let mut scanner = Scanner::default();
        scanner.feed(b"running 1 test\ntest result: ok. 1 passed; 0 failed; 0 ignored\n");
        scanner.feed(
            b"running 22 tests\ntest a ... ok\nthread caused non-unwinding panic. aborting.\n",
        );
        let outcome = Outcome {
            name: "loom",
            command: String::new(),
            env: Vec::new(),
            tests: true,
            seconds: 0.0,
            failure: Some("exit status: 101".into()),
            counts: scanner.finish(),
        };
        assert_eq!((outcome.counts.started, outcome.counts.binaries), (2, 1));
        assert_eq!(outcome.crashed_binaries(), 1);
        assert!(outcome.diagnosis()[0].contains("stopped before printing a result"));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\x1f"), r#""a\"b\\c\nd\u001f""#);
    }

    #[test]
    fn summary_renders_failures_with_their_repro() {
        let summary = Summary {
            profile: "quick",
            root: "/ws".into(),
            started_unix: 0,
            seconds: 2.0,
            proptest_cases: "256".into(),
            loom_max_preemptions: "3".into(),
            outcomes: vec![Outcome {
                name: "loom",
                command: "LOOM_MAX_PREEMPTIONS=3 cargo test".into(),
                env: vec![("LOOM_MAX_PREEMPTIONS".into(), "3".into())],
                tests: true,
                seconds: 1.0,
                failure: Some("exit status: 101".into()),
                counts: Counts::default(),
            }],
        };
        assert!(!summary.passed());
        let text = summary.to_text();
        assert!(text.contains("FAILED step `loom`"), "{text}");
        assert!(
            text.contains("cd /ws && LOOM_MAX_PREEMPTIONS=3 cargo test"),
            "{text}"
        );
        let json = summary.to_json();
        assert!(json.contains("\"failed_steps\": [\"loom\"]"), "{json}");
        assert!(
            json.contains("\"env\": {\"LOOM_MAX_PREEMPTIONS\": \"3\"}"),
            "{json}"
        );
        assert!(summary.to_markdown().contains("## Failed: `loom`"));
    }
}
