//! `cargo xtask gate merge <dir>...`: one summary from the slices of a partitioned gate.
//!
//! Every gate run writes, beside its summary, `target/gate/record.txt`: what each step ran, test by
//! test, loom model by model and shuttle line by shuttle line, in a line format this module reads
//! back. Merging the records of `--partition 1/N` … `N/N` gives the summary one unpartitioned run
//! would have printed: the same tests with the same results, the same models and schedules, the
//! same settings (a record whose settings differ is refused). A step's time is the longest of its
//! slices (they run side by side); its failure lists each slice's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::gate::{self, STEP_NAMES};
use crate::report::{self, Counts, ModelLine, Outcome, Run, ShuttleLine, Status, Summary};

/// The record's name in a gate's output directory.
pub const RECORD: &str = "record.txt";

const HEADER: &str = "gate-record 1";

pub const HELP: &str = "\
cargo xtask gate merge <DIR>...

Merges the records (DIR/record.txt, written by every `cargo xtask gate` run to target/gate/) of the
slices of a partitioned gate (`--partition K/N` on N machines) into one summary: printed, and
written as summary.{json,md} and record.txt to target/gate/merged/. The Markdown summary is
also printed when GITHUB_STEP_SUMMARY is set, appended to that file. Exits non-zero if any slice
failed, or the records do not belong to one gate (different settings).
";

pub fn run(args: &[String]) -> ExitCode {
    if args.is_empty() || args.iter().any(|arg| arg == "-h" || arg == "--help") {
        print!("{HELP}");
        return if args.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let mut parts = Vec::new();
    for dir in args {
        let path = PathBuf::from(dir).join(RECORD);
        let parsed = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))
            .and_then(|text| {
                from_record(&text).map_err(|why| format!("{}: {why}", path.display()))
            });
        match parsed {
            Ok(summary) => parts.push(summary),
            Err(why) => {
                eprintln!("error: {why}");
                return ExitCode::FAILURE;
            }
        }
    }
    let merged = match merge(parts) {
        Ok(merged) => merged,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", merged.to_text());
    let out = gate::workspace_root()
        .join("target")
        .join("gate")
        .join("merged");
    if let Err(error) = write_all(&merged, &out) {
        eprintln!("error: could not write to {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!("merged summary written to {}", out.display());
    if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&file)
            .and_then(|mut f| f.write_all(merged.to_markdown().as_bytes()));
        if let Err(error) = appended {
            eprintln!("error: could not append to GITHUB_STEP_SUMMARY: {error}");
        }
    }
    if merged.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The summary files and the record, in `dir`.
pub fn write_all(summary: &Summary, dir: &Path) -> std::io::Result<()> {
    report::write_files(summary, dir)?;
    std::fs::write(dir.join(RECORD), to_record(summary))
}

/// One value per field, with tabs, newlines and backslashes escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Ignored => "ignored",
    }
}

/// The whole of `summary` as lines of tab-separated fields: the settings, then per step its
/// outcome, its counts, and each test, model and shuttle line.
pub fn to_record(summary: &Summary) -> String {
    let mut lines = vec![HEADER.to_owned()];
    let mut line = |fields: &[&str]| {
        let fields: Vec<String> = fields.iter().map(|field| escape(field)).collect();
        lines.push(fields.join("\t"));
    };
    line(&["profile", &summary.profile]);
    line(&["root", &summary.root]);
    line(&["started_unix", &summary.started_unix.to_string()]);
    line(&["seconds", &summary.seconds.to_string()]);
    line(&["proptest_cases", &summary.proptest_cases]);
    line(&["loom_max_preemptions", &summary.loom_max_preemptions]);
    line(&["shuttle_iterations", &summary.shuttle_iterations]);
    line(&["sim_seeds", &summary.sim_seeds]);
    for skipped in &summary.skipped {
        line(&["skipped", skipped]);
    }
    for outcome in &summary.outcomes {
        let c = &outcome.counts;
        line(&[
            "step",
            outcome.name,
            &outcome.seconds.to_string(),
            outcome.failure.as_deref().unwrap_or("-"),
            &outcome.command,
        ]);
        for (key, value) in &outcome.env {
            line(&["env", key, value]);
        }
        line(&[
            "counts",
            &c.binaries.to_string(),
            &c.started.to_string(),
            &c.passed.to_string(),
            &c.failed.to_string(),
            &c.ignored.to_string(),
            &c.measured.to_string(),
            &c.filtered_out.to_string(),
        ]);
        for name in &c.failed_tests {
            line(&["failed_test", name]);
        }
        for run in &c.runs {
            line(&["run", &run.binary, if run.finished { "1" } else { "0" }]);
            for (name, status) in &run.tests {
                line(&["test", name, status_word(*status)]);
            }
        }
        for model in &c.models {
            line(&[
                "model",
                &model.name,
                if model.passed { "1" } else { "0" },
                &model.iterations.to_string(),
                &model.bound,
            ]);
        }
        for shuttle in &c.shuttle {
            line(&[
                "shuttle",
                &shuttle.name,
                &shuttle.scheduler,
                &shuttle.schedules.to_string(),
            ]);
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Reads back what [`to_record`] wrote.
pub fn from_record(text: &str) -> Result<Summary, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, HEADER)) => {}
        _ => return Err(format!("not a gate record (first line is not `{HEADER}`)")),
    }
    let mut summary = Summary {
        profile: String::new(),
        root: String::new(),
        started_unix: 0,
        seconds: 0.0,
        proptest_cases: String::new(),
        loom_max_preemptions: String::new(),
        shuttle_iterations: String::new(),
        sim_seeds: String::new(),
        skipped: Vec::new(),
        outcomes: Vec::new(),
    };
    for (index, line) in lines {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let bad = |why: &str| format!("line {}: {why}: {line:?}", index + 1);
        let number = |field: &str| field.parse::<u64>().map_err(|_| bad("not a number"));
        let field = |k: usize| {
            fields
                .get(k)
                .map(String::as_str)
                .ok_or_else(|| bad("missing field"))
        };
        match field(0)? {
            "profile" => summary.profile = field(1)?.to_owned(),
            "root" => summary.root = field(1)?.to_owned(),
            "started_unix" => summary.started_unix = number(field(1)?)?,
            "seconds" => summary.seconds = field(1)?.parse().map_err(|_| bad("not a time"))?,
            "proptest_cases" => summary.proptest_cases = field(1)?.to_owned(),
            "loom_max_preemptions" => summary.loom_max_preemptions = field(1)?.to_owned(),
            "shuttle_iterations" => summary.shuttle_iterations = field(1)?.to_owned(),
            "sim_seeds" => summary.sim_seeds = field(1)?.to_owned(),
            "skipped" => summary.skipped.push(field(1)?.to_owned()),
            "step" => {
                let name = step_name(field(1)?).ok_or_else(|| bad("unknown step"))?;
                let template = gate::step_template(name);
                summary.outcomes.push(Outcome {
                    name,
                    command: field(4)?.to_owned(),
                    env: Vec::new(),
                    tests: template.0,
                    tiers: template.1,
                    seconds: field(2)?.parse().map_err(|_| bad("not a time"))?,
                    failure: (field(3)? != "-").then(|| field(3).unwrap_or("").to_owned()),
                    counts: Counts::default(),
                });
            }
            "env" => summary
                .outcomes
                .last_mut()
                .ok_or_else(|| bad("before any step"))?
                .env
                .push((field(1)?.to_owned(), field(2)?.to_owned())),
            "counts" => {
                let c = &mut summary
                    .outcomes
                    .last_mut()
                    .ok_or_else(|| bad("before any step"))?
                    .counts;
                c.binaries = number(field(1)?)?;
                c.started = number(field(2)?)?;
                c.passed = number(field(3)?)?;
                c.failed = number(field(4)?)?;
                c.ignored = number(field(5)?)?;
                c.measured = number(field(6)?)?;
                c.filtered_out = number(field(7)?)?;
            }
            "failed_test" => summary
                .outcomes
                .last_mut()
                .ok_or_else(|| bad("before any step"))?
                .counts
                .failed_tests
                .push(field(1)?.to_owned()),
            "run" => summary
                .outcomes
                .last_mut()
                .ok_or_else(|| bad("before any step"))?
                .counts
                .runs
                .push(Run {
                    binary: field(1)?.to_owned(),
                    tests: Vec::new(),
                    finished: field(2)? == "1",
                }),
            "test" => {
                let status = match field(2)? {
                    "passed" => Status::Passed,
                    "failed" => Status::Failed,
                    "ignored" => Status::Ignored,
                    _ => return Err(bad("unknown status")),
                };
                let name = field(1)?.to_owned();
                summary
                    .outcomes
                    .last_mut()
                    .ok_or_else(|| bad("before any step"))?
                    .counts
                    .runs
                    .last_mut()
                    .ok_or_else(|| bad("a test before any run"))?
                    .tests
                    .push((name, status));
            }
            "model" => {
                let model = ModelLine {
                    name: field(1)?.to_owned(),
                    passed: field(2)? == "1",
                    iterations: number(field(3)?)?,
                    bound: field(4)?.to_owned(),
                };
                summary
                    .outcomes
                    .last_mut()
                    .ok_or_else(|| bad("before any step"))?
                    .counts
                    .models
                    .push(model);
            }
            "shuttle" => {
                let shuttle = ShuttleLine {
                    name: field(1)?.to_owned(),
                    scheduler: field(2)?.to_owned(),
                    schedules: number(field(3)?)?,
                };
                summary
                    .outcomes
                    .last_mut()
                    .ok_or_else(|| bad("before any step"))?
                    .counts
                    .shuttle
                    .push(shuttle);
            }
            _ => return Err(bad("unknown line")),
        }
    }
    Ok(summary)
}

fn step_name(name: &str) -> Option<&'static str> {
    STEP_NAMES.iter().copied().find(|step| *step == name)
}

/// `profile` without its `, partition K/N` suffix.
fn base_profile(profile: &str) -> &str {
    profile.split(", partition ").next().unwrap_or(profile)
}

/// A slice's command without its `--exact` list: the command of the whole step.
fn whole_command(command: &str) -> &str {
    command.split(" --exact ").next().unwrap_or(command)
}

/// The slices of one gate as one summary. Refuses parts whose settings differ.
pub fn merge(parts: Vec<Summary>) -> Result<Summary, String> {
    let Some(first) = parts.first() else {
        return Err("nothing to merge".to_owned());
    };
    let settings = |s: &Summary| {
        (
            base_profile(&s.profile).to_owned(),
            s.proptest_cases.clone(),
            s.loom_max_preemptions.clone(),
            s.shuttle_iterations.clone(),
            s.sim_seeds.clone(),
        )
    };
    let expected = settings(first);
    if let Some(other) = parts.iter().find(|part| settings(part) != expected) {
        return Err(format!(
            "the records are not of one gate: {:?} against {:?}",
            settings(other),
            expected
        ));
    }
    let mut merged = Summary {
        profile: format!("{}, merged from {} slices", expected.0, parts.len()),
        root: first.root.clone(),
        started_unix: parts.iter().map(|p| p.started_unix).min().unwrap_or(0),
        seconds: parts.iter().map(|p| p.seconds).fold(0.0, f64::max),
        proptest_cases: expected.1,
        loom_max_preemptions: expected.2,
        shuttle_iterations: expected.3,
        sim_seeds: expected.4,
        // Left out of every slice (a step runs whole in slice 1, and is "skipped" in the others).
        skipped: first
            .skipped
            .iter()
            .filter(|step| parts.iter().all(|part| part.skipped.contains(step)))
            .cloned()
            .collect(),
        outcomes: Vec::new(),
    };
    for name in STEP_NAMES {
        let slices: Vec<(usize, &Outcome)> = parts
            .iter()
            .enumerate()
            .filter_map(|(k, part)| {
                part.outcomes
                    .iter()
                    .find(|o| o.name == name)
                    .map(|o| (k, o))
            })
            .collect();
        let Some(&(_, template)) = slices.first() else {
            continue;
        };
        let mut outcome = Outcome {
            name,
            command: whole_command(&template.command).to_owned(),
            env: template.env.clone(),
            tests: template.tests,
            tiers: template.tiers,
            seconds: 0.0,
            failure: None,
            counts: Counts::default(),
        };
        let mut failures = Vec::new();
        for (k, slice) in slices {
            outcome.seconds = outcome.seconds.max(slice.seconds);
            if let Some(failure) = &slice.failure {
                failures.push(format!("slice {}: {failure}", k + 1));
            }
            let (c, s) = (&mut outcome.counts, &slice.counts);
            c.binaries += s.binaries;
            c.started += s.started;
            c.passed += s.passed;
            c.failed += s.failed;
            c.ignored += s.ignored;
            c.measured += s.measured;
            // Each slice filters out the others' tests: their sum says nothing of the whole.
            c.failed_tests.extend(s.failed_tests.iter().cloned());
            c.runs.extend(s.runs.iter().cloned());
            c.models.extend(s.models.iter().cloned());
            c.shuttle.extend(s.shuttle.iter().cloned());
        }
        if !failures.is_empty() {
            outcome.failure = Some(failures.join("; "));
        }
        merged.outcomes.push(outcome);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::deal;
    use crate::matrix::Matrix;

    fn test_run(binary: &str, tests: &[(&str, Status)]) -> Run {
        Run {
            binary: binary.to_owned(),
            tests: tests
                .iter()
                .map(|(name, status)| ((*name).to_owned(), *status))
                .collect(),
            finished: true,
        }
    }

    /// A whole (unpartitioned) gate: a test step over three binaries, a loom step whose tests are
    /// models, a shuttle step, a sim step, and fmt (not partitioned).
    fn whole() -> Summary {
        let outcome = |name, runs: Vec<Run>, models: Vec<ModelLine>, shuttle: Vec<ShuttleLine>| {
            let (tests, tiers) = gate::step_template(name);
            let counts = counted(runs, models, shuttle);
            Outcome {
                name,
                command: format!("cargo {name}"),
                env: vec![("PROPTEST_CASES".to_owned(), "10000".to_owned())],
                tests,
                tiers,
                seconds: 10.0,
                failure: None,
                counts,
            }
        };
        let model = |name: &str, iterations| ModelLine {
            name: name.to_owned(),
            passed: true,
            iterations,
            bound: "4".to_owned(),
        };
        let shuttle = |name: &str, scheduler: &str| ShuttleLine {
            name: name.to_owned(),
            scheduler: scheduler.to_owned(),
            schedules: 500_000,
        };
        use Status::{Ignored, Passed};
        Summary {
            profile: "deep".to_owned(),
            root: "/repo".to_owned(),
            started_unix: 1,
            seconds: 100.0,
            proptest_cases: "10000".to_owned(),
            loom_max_preemptions: "4".to_owned(),
            shuttle_iterations: "500000".to_owned(),
            sim_seeds: "10000".to_owned(),
            skipped: Vec::new(),
            outcomes: vec![
                outcome("fmt", Vec::new(), Vec::new(), Vec::new()),
                outcome(
                    "test",
                    vec![
                        test_run(
                            "semaphore_model",
                            &[
                                ("semaphore_matches_fifo_model", Passed),
                                ("model_catches_lost_wakeup", Passed),
                                ("model_catches_lifo_grant_order", Passed),
                            ],
                        ),
                        test_run(
                            "channel",
                            &[
                                ("close_wakes_every_receiver", Passed),
                                ("a\ttab and a \\ in a name", Ignored),
                            ],
                        ),
                        test_run(
                            "async_patterns",
                            &[("sync::semaphore::wake_list::tests::x", Passed)],
                        ),
                    ],
                    Vec::new(),
                    Vec::new(),
                ),
                outcome(
                    "loom",
                    vec![test_run(
                        "loom",
                        &[
                            ("semaphore::fifo_handoff", Passed),
                            ("channel::send_recv_once", Passed),
                            ("mutex::exclusive", Passed),
                        ],
                    )],
                    vec![
                        model("semaphore::fifo_handoff", 1234),
                        model("channel::send_recv_once", 99),
                        model("mutex::exclusive", 7),
                    ],
                    Vec::new(),
                ),
                outcome(
                    "shuttle",
                    vec![test_run(
                        "shuttle",
                        &[
                            ("semaphore_many_parties", Passed),
                            ("channel_many_parties", Passed),
                        ],
                    )],
                    Vec::new(),
                    vec![
                        shuttle("semaphore_many_parties", "random"),
                        shuttle("semaphore_many_parties", "pct"),
                        shuttle("channel_many_parties", "random"),
                        shuttle("channel_many_parties", "pct"),
                    ],
                ),
                outcome(
                    "sim",
                    vec![test_run("sim", &[("tls::tls_handshake_held", Passed)])],
                    Vec::new(),
                    Vec::new(),
                ),
            ],
        }
    }

    /// Slice `k` of `n` of `whole`, as `--partition k/n` runs it: each partitioned step keeps the
    /// tests dealt to slice k (with their models and shuttle lines); the others run in slice 1
    /// only and are skipped in the rest.
    fn slice(whole: &Summary, k: usize, n: usize) -> Summary {
        let mut outcomes = Vec::new();
        let mut skipped = Vec::new();
        for outcome in &whole.outcomes {
            if !gate::step_is_partitioned(outcome.name) {
                if k == 1 {
                    outcomes.push(outcome_copy(outcome, |_| true));
                } else {
                    skipped.push(outcome.name.to_owned());
                }
                continue;
            }
            let names: Vec<String> = outcome
                .counts
                .runs
                .iter()
                .flat_map(|run| run.tests.iter().map(|(name, _)| name.clone()))
                .collect();
            let mine = deal(names, k, n);
            let mut sliced = outcome_copy(outcome, |name| mine.iter().any(|m| m == name));
            sliced.command = format!("{} --exact {}", outcome.command, mine.join(" "));
            sliced.seconds = outcome.seconds / n as f64;
            outcomes.push(sliced);
        }
        Summary {
            profile: format!("{}, partition {k}/{n}", whole.profile),
            root: whole.root.clone(),
            started_unix: whole.started_unix + k as u64,
            seconds: whole.seconds / n as f64,
            proptest_cases: whole.proptest_cases.clone(),
            loom_max_preemptions: whole.loom_max_preemptions.clone(),
            shuttle_iterations: whole.shuttle_iterations.clone(),
            sim_seeds: whole.sim_seeds.clone(),
            skipped,
            outcomes,
        }
    }

    /// `outcome` with only the tests (models, shuttle lines) whose name `keep` accepts.
    fn outcome_copy(outcome: &Outcome, keep: impl Fn(&str) -> bool) -> Outcome {
        let c = &outcome.counts;
        let runs: Vec<Run> = c
            .runs
            .iter()
            .map(|run| Run {
                binary: run.binary.clone(),
                tests: run
                    .tests
                    .iter()
                    .filter(|(name, _)| keep(name))
                    .cloned()
                    .collect(),
                finished: run.finished,
            })
            .collect();
        Outcome {
            name: outcome.name,
            command: outcome.command.clone(),
            env: outcome.env.clone(),
            tests: outcome.tests,
            tiers: outcome.tiers,
            seconds: outcome.seconds,
            failure: outcome.failure.clone(),
            counts: counted(
                runs,
                c.models.iter().filter(|m| keep(&m.name)).cloned().collect(),
                c.shuttle
                    .iter()
                    .filter(|s| keep(&s.name))
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// The counts a step with these runs (all finished), models and shuttle lines reports.
    fn counted(runs: Vec<Run>, models: Vec<ModelLine>, shuttle: Vec<ShuttleLine>) -> Counts {
        let count = |status| {
            runs.iter()
                .flat_map(|run| &run.tests)
                .filter(|(_, s)| *s == status)
                .count() as u64
        };
        Counts {
            binaries: runs.len() as u64,
            started: runs.len() as u64,
            passed: count(Status::Passed),
            failed: count(Status::Failed),
            ignored: count(Status::Ignored),
            models,
            shuttle,
            runs,
            ..Counts::default()
        }
    }

    /// Every test, model and shuttle line of a step, sorted: what "the same tests" means.
    fn contents(summary: &Summary) -> Vec<String> {
        let mut all = Vec::new();
        for outcome in &summary.outcomes {
            for run in &outcome.counts.runs {
                for (name, status) in &run.tests {
                    all.push(format!("{} {} {name} {status:?}", outcome.name, run.binary));
                }
            }
            for model in &outcome.counts.models {
                all.push(format!("{} model {model:?}", outcome.name));
            }
            for shuttle in &outcome.counts.shuttle {
                all.push(format!("{} shuttle {shuttle:?}", outcome.name));
            }
        }
        all.sort();
        all
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let whole = whole();
        let again = from_record(&to_record(&whole)).unwrap();
        assert_eq!(to_record(&again), to_record(&whole));
        assert_eq!(again.to_json(), whole.to_json());
    }

    #[test]
    fn merged_slices_have_the_tests_models_and_seeds_of_the_whole_run() {
        let whole = whole();
        for n in 1..=4 {
            let parts: Vec<Summary> = (1..=n)
                .map(|k| from_record(&to_record(&slice(&whole, k, n))).unwrap())
                .collect();
            let merged = merge(parts).unwrap();
            assert_eq!(contents(&merged), contents(&whole), "{n} slices");
            assert_eq!(
                Matrix::build(&merged.outcomes),
                Matrix::build(&whole.outcomes),
                "{n} slices"
            );
            assert_eq!(merged.sim_seeds, whole.sim_seeds);
            assert_eq!(merged.proptest_cases, whole.proptest_cases);
            assert!(merged.skipped.is_empty(), "{:?}", merged.skipped);
            assert_eq!(merged.profile, format!("deep, merged from {n} slices"));
            for (m, w) in merged.outcomes.iter().zip(&whole.outcomes) {
                assert_eq!(m.name, w.name);
                assert_eq!(
                    (m.counts.passed, m.counts.failed, m.counts.ignored),
                    (w.counts.passed, w.counts.failed, w.counts.ignored),
                    "step {}",
                    m.name
                );
                assert_eq!(m.command, w.command, "the whole step's command");
            }
            assert!(merged.passed());
        }
    }

    #[test]
    fn a_failed_slice_fails_the_merge_and_says_which() {
        let whole = whole();
        let mut parts: Vec<Summary> = (1..=3).map(|k| slice(&whole, k, 3)).collect();
        parts[1].outcomes[0].failure = Some("exit status: 101".to_owned());
        let failed_step = parts[1].outcomes[0].name;
        let merged = merge(parts).unwrap();
        let outcome = merged
            .outcomes
            .iter()
            .find(|o| o.name == failed_step)
            .unwrap();
        assert_eq!(
            outcome.failure.as_deref(),
            Some("slice 2: exit status: 101")
        );
        assert!(!merged.passed());
    }

    #[test]
    fn records_of_different_gates_are_refused() {
        let whole = whole();
        let mut quick = slice(&whole, 2, 2);
        quick.sim_seeds = "32".to_owned();
        let error = merge(vec![slice(&whole, 1, 2), quick]).unwrap_err();
        assert!(error.contains("not of one gate"), "{error}");
        assert!(from_record("something else").is_err());
        assert!(from_record(&format!("{HEADER}\nstep\tnot-a-step\t1\t-\tcargo")).is_err());
    }
}
