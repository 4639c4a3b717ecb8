//! Parsing libtest's output and rendering the gate's summary (text, JSON, Markdown).

use std::fmt::Write as _;
use std::path::Path;

use crate::matrix::{Matrix, TIERS, Tier};

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
    /// Each test binary's run, in order, named from cargo's `Running` lines.
    pub runs: Vec<Run>,
    /// The `loom model` lines the loom models printed.
    pub models: Vec<ModelLine>,
    /// The `shuttle test` lines the shuttle tests printed (one per call and scheduler).
    pub shuttle: Vec<ShuttleLine>,
}

/// What one test binary ran (one `running N tests` block of libtest's output).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// The binary's name: `mutex` for `tests/mutex.rs`, `async_patterns` for the unit tests,
    /// `doctests`, `loom`, `sim`; `?` if cargo's `Running` line was not seen.
    pub binary: String,
    pub tests: Vec<(String, Status)>,
    /// Whether its `test result:` line was seen (else it crashed or was killed).
    pub finished: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Ignored,
}

/// A `test NAME ... ok|FAILED|ignored[, reason]` line.
pub fn parse_test_line(line: &str) -> Option<(&str, Status)> {
    let (name, status) = line
        .trim_end()
        .strip_prefix("test ")?
        .rsplit_once(" ... ")?;
    let status = match status {
        "ok" => Status::Passed,
        "FAILED" => Status::Failed,
        s if s.starts_with("ignored") => Status::Ignored,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, status))
}

/// The binary named by one of cargo's lines announcing a test binary:
/// `Running tests/mutex.rs (target/debug/deps/mutex-0123abcd)` gives `mutex`,
/// `Doc-tests async_patterns` gives `doctests`.
pub fn parse_cargo_running(line: &str) -> Option<String> {
    let line = line.trim();
    if line.starts_with("Doc-tests ") {
        return Some("doctests".to_owned());
    }
    let rest = line.strip_prefix("Running ")?;
    let path = rest.rsplit_once(" (")?.1.strip_suffix(')')?;
    let file = path.rsplit(['/', '\\']).next()?;
    let file = file.strip_suffix(".exe").unwrap_or(file);
    let name = match file.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
        _ => file,
    };
    Some(name.to_owned())
}

/// One `loom model `NAME`: completed in N iterations (preemption bound B, T)` line, or its
/// `loom model `NAME` FAILED in iteration N (preemption bound B, …` counterpart, or, for a model
/// that must fail on a naive version, `loom model `NAME`: naive version rejected as required in
/// iteration N (preemption bound B, …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelLine {
    pub name: String,
    pub passed: bool,
    pub iterations: u64,
    /// The preemption bound as printed (`3`, or `none`).
    pub bound: String,
}

pub fn parse_model_line(line: &str) -> Option<ModelLine> {
    let rest = line.trim().strip_prefix("loom model `")?;
    let (name, rest) = rest.split_once('`')?;
    let (passed, rest) = if let Some(rest) = rest.strip_prefix(": completed in ") {
        (true, rest)
    } else if let Some(rest) =
        rest.strip_prefix(": naive version rejected as required in iteration ")
    {
        (false, rest)
    } else {
        (false, rest.strip_prefix(" FAILED in iteration ")?)
    };
    let (iterations, rest) = rest.split_once(' ')?;
    let bound = rest.split_once("(preemption bound ")?.1;
    let bound = bound.split([',', ')']).next()?.trim();
    Some(ModelLine {
        name: name.to_owned(),
        passed,
        iterations: iterations.parse().ok()?,
        bound: bound.to_owned(),
    })
}

/// One `shuttle test `NAME`: N SCHEDULER schedules (seed S) in T` line of the shuttle runner
/// (`shuttle-tests/runner.rs`): a test prints one per scheduler for every run of its checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShuttleLine {
    pub name: String,
    /// `random` or `pct`.
    pub scheduler: String,
    pub schedules: u64,
}

/// Parses a `shuttle test` line; `None` for any other line, including the runner's `shuttle test
/// `NAME` FAILED under …` report (the failure itself is the test's `FAILED` status).
pub fn parse_shuttle_line(line: &str) -> Option<ShuttleLine> {
    let rest = line.trim().strip_prefix("shuttle test `")?;
    let (name, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(": ")?;
    let (schedules, rest) = rest.split_once(' ')?;
    let (scheduler, rest) = rest.split_once(' ')?;
    let seed = rest.strip_prefix("schedules (seed ")?.split_once(')')?.0;
    let valid_scheduler = !scheduler.is_empty()
        && scheduler
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() || !valid_scheduler || seed.parse::<u64>().is_err() {
        return None;
    }
    Some(ShuttleLine {
        name: name.to_owned(),
        scheduler: scheduler.to_owned(),
        schedules: schedules.parse().ok()?,
    })
}

/// Splits bytes arriving in arbitrary chunks into lines.
#[derive(Debug, Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(&str)) {
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.partial);
                each(&strip_ansi(&String::from_utf8_lossy(&line)));
            } else {
                self.partial.push(byte);
            }
        }
    }

    fn finish(&mut self, mut each: impl FnMut(&str)) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            each(&strip_ansi(&String::from_utf8_lossy(&rest)));
        }
    }
}

/// `line` without ANSI colour escapes (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Scans a step's stderr (cargo's and the tests'): which binary runs next, the loom models and
/// the shuttle tests' schedules.
#[derive(Debug, Default)]
pub struct ErrScanner {
    lines: Lines,
    found: ErrFound,
}

/// What a step's stderr told.
#[derive(Debug, Default)]
struct ErrFound {
    /// From cargo's `Running` lines, in order.
    binaries: Vec<String>,
    models: Vec<ModelLine>,
    shuttle: Vec<ShuttleLine>,
}

impl ErrScanner {
    pub fn feed(&mut self, bytes: &[u8]) {
        let found = &mut self.found;
        self.lines.feed(bytes, |line| found.scan(line));
    }

    fn finish(mut self) -> ErrFound {
        let found = &mut self.found;
        self.lines.finish(|line| found.scan(line));
        self.found
    }
}

impl ErrFound {
    fn scan(&mut self, line: &str) {
        if let Some(binary) = parse_cargo_running(line) {
            self.binaries.push(binary);
        } else if let Some(model) = parse_model_line(line) {
            self.models.push(model);
        } else if let Some(shuttle) = parse_shuttle_line(line) {
            self.shuttle.push(shuttle);
        }
    }
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

/// Accumulates [`Counts`] from a step's stdout (libtest's), arriving in arbitrary chunks.
#[derive(Debug, Default)]
pub struct Scanner {
    lines: Lines,
    counts: Counts,
}

impl Scanner {
    pub fn feed(&mut self, bytes: &[u8]) {
        let counts = &mut self.counts;
        self.lines.feed(bytes, |line| scan_line(line, counts));
    }

    /// The counts, with each run named after the binary cargo announced for it on stderr (cargo
    /// runs test binaries one at a time, so the k-th `Running` line names the k-th run).
    pub fn finish(mut self, stderr: ErrScanner) -> Counts {
        let counts = &mut self.counts;
        self.lines.finish(|line| scan_line(line, counts));
        let found = stderr.finish();
        for (run, binary) in self.counts.runs.iter_mut().zip(found.binaries) {
            run.binary = binary;
        }
        self.counts.models = found.models;
        self.counts.shuttle = found.shuttle;
        self.counts
    }
}

fn scan_line(line: &str, counts: &mut Counts) {
    if let Some(result) = parse_result_line(line) {
        counts.binaries += 1;
        counts.passed += result.passed;
        counts.failed += result.failed;
        counts.ignored += result.ignored;
        counts.measured += result.measured;
        counts.filtered_out += result.filtered_out;
        if let Some(run) = counts.runs.last_mut() {
            run.finished = true;
        }
    } else if is_running_line(line) {
        counts.started += 1;
        counts.runs.push(Run {
            binary: "?".to_owned(),
            ..Run::default()
        });
    } else if let Some((name, status)) = parse_test_line(line) {
        if status == Status::Failed {
            counts.failed_tests.push(name.to_owned());
        }
        if counts.runs.is_empty() {
            counts.runs.push(Run {
                binary: "?".to_owned(),
                ..Run::default()
            });
        }
        if let Some(run) = counts.runs.last_mut() {
            run.tests.push((name.to_owned(), status));
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
    /// The columns of the pattern table this step fills.
    pub tiers: &'static [Tier],
    pub seconds: f64,
    /// `None` if the step passed, else why not (exit status, or could not start).
    pub failure: Option<String>,
    pub counts: Counts,
}

impl Outcome {
    /// A step that could not be prepared (e.g. listing its tests for a partition failed).
    pub fn failed_to_start(step: &crate::gate::Step, root: &std::path::Path, why: String) -> Self {
        Outcome {
            name: step.name,
            command: step.command_line(root),
            env: step.env.clone(),
            tests: step.tests,
            tiers: step.tiers,
            seconds: 0.0,
            failure: Some(why),
            counts: Counts::default(),
        }
    }

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
        // Its tests that do not compile against ours never reach libtest, so no count above
        // shows them.
        if self.name == "tokio-tests" {
            lines.push(
                "a verdict per test of tokio's, those that do not compile included: \
                 target/tokio-tests/report.md"
                    .to_owned(),
            );
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
    /// The preset, and the partition when the gate ran one (`deep, partition 2/4`).
    pub profile: String,
    pub root: String,
    pub started_unix: u64,
    pub seconds: f64,
    pub proptest_cases: String,
    pub loom_max_preemptions: String,
    /// Schedules per scheduler and call of the shuttle runner (`SHUTTLE_ITERATIONS`).
    pub shuttle_iterations: String,
    pub sim_seeds: String,
    /// Steps left out with `--skip`.
    pub skipped: Vec<String>,
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

    /// The pattern × tier table as text cells, the header row first.
    fn matrix_cells(&self) -> Vec<[String; TIERS.len() + 1]> {
        let mut header: [String; TIERS.len() + 1] = Default::default();
        header[0] = "pattern".to_owned();
        for (i, tier) in TIERS.iter().enumerate() {
            header[i + 1] = tier.name().to_owned();
        }
        let mut rows = vec![header];
        for (pattern, cells) in &Matrix::build(&self.outcomes).rows {
            let mut row: [String; TIERS.len() + 1] = Default::default();
            row[0] = (*pattern).to_owned();
            for (i, (cell, tier)) in cells.iter().zip(TIERS).enumerate() {
                row[i + 1] = cell.text(tier, &self.proptest_cases, &self.sim_seeds);
            }
            rows.push(row);
        }
        rows
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
            "{:<14} {:<7} {:>8} {:>9} {:>7} {:>7} {:>8}",
            "step", "result", "time", "binaries", "passed", "failed", "ignored"
        );
        for o in &self.outcomes {
            let c = &o.counts;
            let _ = writeln!(
                s,
                "{:<14} {:<7} {:>8} {:>9} {:>7} {:>7} {:>8}",
                o.name,
                o.result(),
                seconds(o.seconds),
                c.binaries,
                c.passed,
                c.failed,
                c.ignored
            );
        }
        for skipped in &self.skipped {
            let _ = writeln!(s, "{skipped:<14} skipped");
        }
        let _ = writeln!(
            s,
            "proptest cases: {}   loom max preemptions: {}   shuttle iterations: {}   \
             sim seeds: {}   total: {}",
            self.proptest_cases,
            self.loom_max_preemptions,
            self.shuttle_iterations,
            self.sim_seeds,
            seconds(self.seconds)
        );
        let matrix = self.matrix_cells();
        let mut widths = [0usize; TIERS.len() + 1];
        for row in &matrix {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let _ = writeln!(s);
        for row in &matrix {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
                .collect();
            let _ = writeln!(s, "{}", cells.join("  ").trim_end());
        }
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
        let _ = writeln!(s, "  \"profile\": {},", json_string(&self.profile));
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
        let _ = writeln!(
            s,
            "  \"shuttle_iterations\": {},",
            json_string(&self.shuttle_iterations)
        );
        let _ = writeln!(s, "  \"sim_seeds\": {},", json_string(&self.sim_seeds));
        let skipped: Vec<String> = self.skipped.iter().map(|n| json_string(n)).collect();
        let _ = writeln!(s, "  \"skipped_steps\": [{}],", skipped.join(", "));
        let failed: Vec<String> = self.failed().map(|o| json_string(o.name)).collect();
        let _ = writeln!(s, "  \"failed_steps\": [{}],", failed.join(", "));
        s.push_str("  \"patterns\": [");
        for (i, (pattern, cells)) in Matrix::build(&self.outcomes).rows.iter().enumerate() {
            s.push_str(if i == 0 { "\n" } else { ",\n" });
            let _ = write!(s, "    {{\"pattern\": {}", json_string(pattern));
            for (cell, tier) in cells.iter().zip(TIERS) {
                let bounds: Vec<String> = cell.bounds.iter().map(|b| json_string(b)).collect();
                let _ = write!(
                    s,
                    ", {}: {{\"ran\": {}, \"passed\": {}, \"tests_passed\": {}, \"tests_failed\": {}, \
                     \"tests_ignored\": {}, \"crashed_binaries\": {}, \"models\": {}, \
                     \"models_failed\": {}, \"iterations\": {}, \"bounds\": [{}], \
                     \"schedules\": {}, \"text\": {}}}",
                    json_string(tier.name()),
                    !cell.is_empty(),
                    cell.passed(),
                    cell.passed,
                    cell.failed,
                    cell.ignored,
                    cell.crashed,
                    cell.models,
                    cell.models_failed,
                    cell.iterations,
                    bounds.join(", "),
                    cell.schedules,
                    json_string(&cell.text(tier, &self.proptest_cases, &self.sim_seeds))
                );
            }
            s.push('}');
        }
        s.push_str("\n  ],\n");
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
            "**{verdict}** — profile `{}`, {} total, `PROPTEST_CASES={}`, `LOOM_MAX_PREEMPTIONS={}`, \
             `SHUTTLE_ITERATIONS={}`, `SIM_SEEDS={}`\n",
            self.profile,
            seconds(self.seconds),
            self.proptest_cases,
            self.loom_max_preemptions,
            self.shuttle_iterations,
            self.sim_seeds
        );
        for (i, row) in self.matrix_cells().iter().enumerate() {
            let _ = writeln!(s, "| {} |", row.join(" | "));
            if i == 0 {
                let _ = writeln!(s, "|{}", "---|".repeat(row.len()));
            }
        }
        s.push('\n');
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
        for skipped in &self.skipped {
            let _ = writeln!(s, "| {skipped} | skipped | | | | | | |");
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
    fn parses_test_lines() {
        assert_eq!(
            parse_test_line("test sync::tests::fifo ... FAILED"),
            Some(("sync::tests::fifo", Status::Failed))
        );
        assert_eq!(
            parse_test_line("test src/lib.rs - sync::Semaphore (line 12) ... ok\r"),
            Some(("src/lib.rs - sync::Semaphore (line 12)", Status::Passed))
        );
        assert_eq!(
            parse_test_line("test slow ... ignored, needs a network"),
            Some(("slow", Status::Ignored))
        );
        assert_eq!(parse_test_line("test result: ok. 1 passed"), None);
        assert_eq!(parse_test_line("test a ... bench: 12 ns/iter"), None);
        assert_eq!(parse_test_line("failures:"), None);
    }

    #[test]
    fn parses_cargo_running_lines() {
        let parse = |line: &str| parse_cargo_running(line);
        assert_eq!(
            parse("     Running tests/mutex.rs (target/debug/deps/mutex-0a1b2c3d4e5f6789)"),
            Some("mutex".into())
        );
        assert_eq!(
            parse("     Running unittests src/lib.rs (target/debug/deps/async_patterns-0123abcd)"),
            Some("async_patterns".into())
        );
        assert_eq!(
            parse(&strip_ansi(
                "\x1b[1m\x1b[92m     Running\x1b[0m loom-tests/main.rs (target/loom/release/deps/loom-ff00)"
            )),
            Some("loom".into())
        );
        assert_eq!(
            parse("   Doc-tests async_patterns"),
            Some("doctests".into())
        );
        assert_eq!(parse("   Compiling mutex v0.1.0"), None);
        assert_eq!(parse("Running the models"), None);
    }

    #[test]
    fn parses_loom_model_lines() {
        assert_eq!(
            parse_model_line(
                "loom model `semaphore::acquire_release`: completed in 412 iterations \
                 (preemption bound 3, 1.23s)"
            ),
            Some(ModelLine {
                name: "semaphore::acquire_release".into(),
                passed: true,
                iterations: 412,
                bound: "3".into()
            })
        );
        assert_eq!(
            parse_model_line(
                "loom model `mutex::lost_wakeup` FAILED in iteration 17 (preemption bound none, \
                 3.1ms). Reproduce with LOOM_MAX_PREEMPTIONS=none; add …"
            ),
            Some(ModelLine {
                name: "mutex::lost_wakeup".into(),
                passed: false,
                iterations: 17,
                bound: "none".into()
            })
        );
        assert_eq!(
            parse_model_line(
                "loom model `semaphore::fifo_catches_lifo_naive`: naive version rejected as \
                 required in iteration 3 (preemption bound 3, 1.0ms)"
            ),
            Some(ModelLine {
                name: "semaphore::fifo_catches_lifo_naive".into(),
                passed: false,
                iterations: 3,
                bound: "3".into()
            })
        );
        assert_eq!(
            parse_model_line("loom model `x`: completed in many iterations"),
            None
        );
        assert_eq!(parse_model_line("test mutex::x ... ok"), None);
    }

    #[test]
    fn parses_shuttle_lines() {
        let line = |name: &str, scheduler: &str, schedules| ShuttleLine {
            name: name.into(),
            scheduler: scheduler.into(),
            schedules,
        };
        assert_eq!(
            parse_shuttle_line(
                "shuttle test `channel::channel_many_parties_lose_and_duplicate_nothing`: 20000 \
                 random schedules (seed 4355332447452599874) in 1.41s"
            ),
            Some(line(
                "channel::channel_many_parties_lose_and_duplicate_nothing",
                "random",
                20000
            ))
        );
        // Indented, a carriage return, the runner's other duration formats.
        assert_eq!(
            parse_shuttle_line(
                "  shuttle test `rwlock::x`: 500000 pct schedules (seed 0) in 812.34ms\r"
            ),
            Some(line("rwlock::x", "pct", 500_000))
        );
        assert_eq!(
            parse_shuttle_line(
                "shuttle test `pool::y`: 0 pct schedules (seed 18446744073709551615) in 2.00µs"
            ),
            Some(line("pool::y", "pct", 0))
        );
        for malformed in [
            "",
            "test rwlock::x ... ok",
            // The runner's failure report: the test's FAILED status is what counts.
            "shuttle test `rwlock::x` FAILED under the random scheduler (seed 1, 20000 schedules). \
             Run the same schedules again: SHUTTLE_SEED=1 …",
            "shuttle test `rwlock::x`: many random schedules (seed 1) in 1s",
            "shuttle test `rwlock::x`: -3 random schedules (seed 1) in 1s",
            "shuttle test `rwlock::x`: 20000 random schedules in 1s",
            "shuttle test `rwlock::x`: 20000 random schedules (seed abc) in 1s",
            "shuttle test `rwlock::x`: 20000 random runs (seed 1) in 1s",
            "shuttle test `rwlock::x`: 20000  random schedules (seed 1) in 1s",
            "shuttle test `rwlock::x`: 20000 random schedules (seed 1",
            "shuttle test `rwlock::x: 20000 random schedules (seed 1) in 1s",
            "shuttle test ``: 20000 random schedules (seed 1) in 1s",
            "shuttle test `rwlock::x` 20000 random schedules (seed 1) in 1s",
            "loom model `rwlock::x`: completed in 5 iterations (preemption bound 3, 1ms)",
        ] {
            assert_eq!(parse_shuttle_line(malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn shuttle_lines_are_collected_from_stderr_across_chunks() {
        let stderr = "     Running shuttle-tests/main.rs (target/shuttle/release/deps/shuttle-0a1b)\n\
                      shuttle test `rwlock::x`: 20000 random schedules (seed 7) in 1.00s\n\
                      shuttle test `rwlock::x`: 20000 pct schedules (seed 7) in 1.20s\n\
                      shuttle test `rwlock::x` FAILED under the pct scheduler (seed 7, 20000 \
                      schedules). Run the same schedules again: …\n\
                      shuttle test `pool::y`: 300 random schedules (seed 9) in 5.1ms";
        for chunk in [1, 5, 4096] {
            let mut out = Scanner::default();
            out.feed(b"running 2 tests\ntest rwlock::x ... ok\ntest pool::y ... ok\n");
            let mut err = ErrScanner::default();
            for piece in stderr.as_bytes().chunks(chunk) {
                err.feed(piece);
            }
            let counts = out.finish(err);
            assert_eq!(counts.runs[0].binary, "shuttle", "chunk size {chunk}");
            let lines: Vec<(&str, &str, u64)> = counts
                .shuttle
                .iter()
                .map(|l| (l.name.as_str(), l.scheduler.as_str(), l.schedules))
                .collect();
            assert_eq!(
                lines,
                [
                    ("rwlock::x", "random", 20000),
                    ("rwlock::x", "pct", 20000),
                    ("pool::y", "random", 300)
                ],
                "chunk size {chunk}"
            );
            assert!(counts.models.is_empty());
        }
    }

    #[test]
    fn the_shuttle_tier_is_rendered_like_the_others() {
        let mut out = Scanner::default();
        out.feed(
            b"running 3 tests\ntest rwlock::a ... ok\ntest rwlock::b ... ok\n\
              test rwlock::c ... ok\ntest result: ok. 3 passed; 0 failed; 0 ignored\n",
        );
        let mut err = ErrScanner::default();
        err.feed(b"     Running shuttle-tests/main.rs (target/shuttle/release/deps/shuttle-0f)\n");
        for (test, scheduler) in [("a", "random"), ("a", "pct"), ("b", "random"), ("b", "pct")] {
            err.feed(
                format!(
                    "shuttle test `rwlock::{test}`: 60000 {scheduler} schedules (seed 1) in 1s\n"
                )
                .as_bytes(),
            );
        }
        let summary = Summary {
            profile: "quick".to_owned(),
            root: "/ws".into(),
            started_unix: 0,
            seconds: 2.0,
            proptest_cases: "256".into(),
            loom_max_preemptions: "3".into(),
            shuttle_iterations: "60000".into(),
            sim_seeds: "32".into(),
            skipped: Vec::new(),
            outcomes: vec![Outcome {
                name: "shuttle",
                command: "cargo test --release --test shuttle".into(),
                env: Vec::new(),
                tests: true,
                tiers: &[Tier::Shuttle],
                seconds: 1.0,
                failure: None,
                counts: out.finish(err),
            }],
        };
        let cell = "3 tests, 240k schedules ok";
        let text = summary.to_text();
        assert!(
            text.lines().any(|l| l
                .split_whitespace()
                .eq(["pattern", "tests", "proptest", "loom", "shuttle", "sim"])),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("rwlock") && l.contains(cell)),
            "{text}"
        );
        assert!(text.contains("shuttle iterations: 60000"), "{text}");

        let json = summary.to_json();
        assert!(
            json.contains("\"shuttle_iterations\": \"60000\","),
            "{json}"
        );
        let rwlock = json
            .lines()
            .find(|l| l.contains("{\"pattern\": \"rwlock\""))
            .unwrap();
        assert!(
            rwlock.contains(&format!(
                "\"shuttle\": {{\"ran\": true, \"passed\": true, \"tests_passed\": 3, \
                 \"tests_failed\": 0, \"tests_ignored\": 0, \"crashed_binaries\": 0, \
                 \"models\": 0, \"models_failed\": 0, \"iterations\": 0, \"bounds\": [], \
                 \"schedules\": 240000, \"text\": \"{cell}\"}}"
            )),
            "{rwlock}"
        );
        // Every tier is an object of the same fields, in the table's order.
        for line in json.lines().filter(|l| l.contains("{\"pattern\": ")) {
            assert_eq!(
                line.matches("\"schedules\": ").count(),
                TIERS.len(),
                "{line}"
            );
            let at = |key: &str| line.find(&format!("\"{key}\": {{\"ran\"")).unwrap();
            assert!(at("tests") < at("proptest"), "{line}");
            assert!(at("proptest") < at("loom"), "{line}");
            assert!(at("loom") < at("shuttle"), "{line}");
            assert!(at("shuttle") < at("sim"), "{line}");
        }

        let markdown = summary.to_markdown();
        assert!(
            markdown.contains("`SHUTTLE_ITERATIONS=60000`"),
            "{markdown}"
        );
        assert!(
            markdown.contains(
                "| pattern | tests | proptest | loom | shuttle | sim |\n|---|---|---|---|---|---|\n"
            ),
            "{markdown}"
        );
        assert!(
            markdown.contains(&format!("| rwlock | - | - | - | {cell} | - |")),
            "{markdown}"
        );
    }

    #[test]
    fn runs_are_named_from_cargo_and_models_collected() {
        let mut out = Scanner::default();
        out.feed(b"running 1 test\ntest a ... ok\ntest result: ok. 1 passed; 0 failed\n");
        out.feed(b"running 2 tests\ntest mutex::m ... ok\ntest b ... FAILED\n");
        let mut err = ErrScanner::default();
        err.feed(b"   Compiling x\n     Running tests/a.rs (target/debug/deps/a-0f)\n");
        err.feed(b"     Running loom-tests/main.rs (target/release/deps/loom-1e)\nloom model `mutex::m`: ");
        err.feed(b"completed in 5 iterations (preemption bound 2, 1ms)");
        let counts = out.finish(err);
        assert_eq!(counts.runs.len(), 2);
        assert_eq!(counts.runs[0].binary, "a");
        assert!(counts.runs[0].finished);
        assert_eq!(counts.runs[1].binary, "loom");
        assert!(!counts.runs[1].finished);
        assert_eq!(counts.runs[1].tests[1], ("b".to_owned(), Status::Failed));
        assert_eq!(counts.models.len(), 1);
        assert_eq!(counts.models[0].iterations, 5);
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
            let counts = scanner.finish(ErrScanner::default());
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
            tiers: &[],
            seconds: 0.0,
            failure: Some("exit status: 101".into()),
            counts: scanner.finish(ErrScanner::default()),
        };
        assert_eq!((outcome.counts.started, outcome.counts.binaries), (2, 1));
        assert_eq!(outcome.crashed_binaries(), 1);
        assert!(outcome.diagnosis()[0].contains("stopped before printing a result"));
    }

    #[test]
    fn a_failed_tokio_tests_step_points_at_its_report() {
        let outcome = Outcome {
            name: "tokio-tests",
            command: "cargo xtask tokio-tests".into(),
            env: Vec::new(),
            tests: true,
            tiers: &[],
            seconds: 0.0,
            failure: Some("exit status: 1".into()),
            counts: Counts::default(),
        };
        assert!(
            outcome
                .diagnosis()
                .iter()
                .any(|line| line.contains("target/tokio-tests/report.md")),
            "{:?}",
            outcome.diagnosis()
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\x1f"), r#""a\"b\\c\nd\u001f""#);
    }

    #[test]
    fn summary_renders_failures_with_their_repro() {
        let summary = Summary {
            profile: "quick".to_owned(),
            root: "/ws".into(),
            started_unix: 0,
            seconds: 2.0,
            proptest_cases: "256".into(),
            loom_max_preemptions: "3".into(),
            shuttle_iterations: "20000".into(),
            sim_seeds: "32".into(),
            skipped: vec!["doc".into()],
            outcomes: vec![Outcome {
                name: "loom",
                command: "LOOM_MAX_PREEMPTIONS=3 cargo test".into(),
                env: vec![("LOOM_MAX_PREEMPTIONS".into(), "3".into())],
                tests: true,
                tiers: &[],
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
