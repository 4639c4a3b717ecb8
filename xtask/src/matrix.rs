//! The per-pattern × tier table: which tests, properties, loom models and simulations ran for each
//! pattern, and whether they passed.
//!
//! A test is mapped to a pattern by its binary (`tests/<pattern>.rs`, `tests/<pattern>_model.rs`,
//! `tests/postgres.rs` → conn_pool, `sim-tests/` → fetch) or, for binaries that cover several
//! patterns (the unit tests, doctests, `drop_in`, the loom and shuttle binaries), by the first word
//! of its name that is a pattern (`sync::semaphore::tests::x`, `src/sync/mutex.rs - …`,
//! `rwlock_behaves_like…`, `channel::close_races`). Tests no pattern claims land in the `other`
//! row.

use std::collections::BTreeSet;

use crate::report::{Outcome, Status};

pub const PATTERNS: [&str; 10] = [
    "semaphore",
    "mutex",
    "rwlock",
    "concurrency",
    "rate",
    "channel",
    "shutdown",
    "pool",
    "conn_pool",
    "fetch",
];

/// The row for tests no pattern claims.
pub const OTHER: &str = "other";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Example-based tokio tests, unit tests and doctests.
    Tests,
    /// The `tests/*_model.rs` state machines.
    Proptest,
    Loom,
    /// The shuttle tests (`shuttle-tests/`): sampled schedules of many parties.
    Shuttle,
    /// The turmoil simulations (`sim-tests/`).
    Sim,
}

/// The columns of the pattern table, in order.
pub const TIERS: [Tier; 5] = [
    Tier::Tests,
    Tier::Proptest,
    Tier::Loom,
    Tier::Shuttle,
    Tier::Sim,
];

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Tests => "tests",
            Tier::Proptest => "proptest",
            Tier::Loom => "loom",
            Tier::Shuttle => "shuttle",
            Tier::Sim => "sim",
        }
    }

    fn index(self) -> usize {
        TIERS.iter().position(|&tier| tier == self).unwrap_or(0)
    }
}

/// The first word of `name` (words are split on anything but letters, digits and `_`) that is a
/// pattern, or starts with one followed by `_` (`rwlock_behaves_like…`, `conn_pool`).
fn pattern_in(name: &str) -> Option<&'static str> {
    name.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find_map(|word| {
            let exact = PATTERNS.iter().find(|&&pattern| pattern == word);
            let prefix = PATTERNS.iter().find(|&&pattern| {
                word.strip_prefix(pattern)
                    .is_some_and(|rest| rest.starts_with('_'))
            });
            exact.or(prefix).copied()
        })
}

/// The pattern (or [`OTHER`]) and tier of test `test` of binary `binary`.
pub fn classify(binary: &str, test: &str) -> (&'static str, Tier) {
    match binary {
        "sim" => ("fetch", Tier::Sim),
        "test_server" => ("fetch", Tier::Tests),
        "postgres" => ("conn_pool", Tier::Tests),
        "loom" => (pattern_in(test).unwrap_or(OTHER), Tier::Loom),
        "shuttle" => (pattern_in(test).unwrap_or(OTHER), Tier::Shuttle),
        _ => {
            if let Some(pattern) = binary.strip_suffix("_model").and_then(pattern_in) {
                return (pattern, Tier::Proptest);
            }
            if let Some(&pattern) = PATTERNS.iter().find(|&&p| p == binary) {
                return (pattern, Tier::Tests);
            }
            // Unit tests, doctests, drop_in: by the test's own name.
            (pattern_in(test).unwrap_or(OTHER), Tier::Tests)
        }
    }
}

/// What ran in one pattern × tier cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    /// Binaries of this cell that stopped before their result line.
    pub crashed: u64,
    pub models: u64,
    /// Models that reported a failure: in a passing test, a self-test that must reject a naive
    /// version (`…_catches_…`); a real failure fails its test, which is what `passed` counts.
    pub models_failed: u64,
    pub iterations: u64,
    pub bounds: BTreeSet<String>,
    /// Shuttle schedules run, summed over the `shuttle test` lines (every scheduler and call).
    pub schedules: u64,
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        *self == Cell::default()
    }

    pub fn passed(&self) -> bool {
        self.failed == 0 && self.crashed == 0
    }

    /// E.g. `14 tests`, `5 props × 256`, `7 models @3, 412k it.`, `3 tests, 240k schedules`,
    /// `43 × 32 seeds`; `-` if empty.
    pub fn what(&self, tier: Tier, proptest_cases: &str, sim_seeds: &str) -> String {
        let ran = self.passed + self.failed;
        let mut text = match tier {
            _ if self.is_empty() => return "-".to_owned(),
            Tier::Loom if self.models > 0 => {
                let bounds: Vec<&str> = self.bounds.iter().map(String::as_str).collect();
                let must_fail = match self.models_failed {
                    0 => String::new(),
                    n => format!(" ({n} must fail)"),
                };
                let models = if self.models == 1 { "model" } else { "models" };
                format!(
                    "{} {models}{must_fail} @{}, {} it.",
                    self.models,
                    bounds.join("/"),
                    human(self.iterations)
                )
            }
            Tier::Shuttle if self.schedules > 0 => {
                format!("{ran} tests, {} schedules", human(self.schedules))
            }
            Tier::Tests | Tier::Loom | Tier::Shuttle => format!("{ran} tests"),
            Tier::Proptest => format!("{ran} props × {proptest_cases}"),
            Tier::Sim => format!("{ran} × {sim_seeds} seeds"),
        };
        if self.ignored > 0 {
            text.push_str(&format!(" (+{} ignored)", self.ignored));
        }
        if self.crashed > 0 {
            text.push_str(&format!(" ({} crashed)", self.crashed));
        }
        text
    }

    /// `what` followed by `ok` or `FAILED`.
    pub fn text(&self, tier: Tier, proptest_cases: &str, sim_seeds: &str) -> String {
        let what = self.what(tier, proptest_cases, sim_seeds);
        match (self.is_empty(), self.passed()) {
            (true, _) => what,
            (false, true) => format!("{what} ok"),
            (false, false) => format!("{what} FAILED"),
        }
    }
}

/// `412345` → `412k`, `1234567` → `1.2M`, small numbers as they are.
pub fn human(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// One row per pattern (and `other` if anything landed there), one cell per tier.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matrix {
    pub rows: Vec<(&'static str, [Cell; TIERS.len()])>,
}

impl Matrix {
    /// Builds the table from the steps' outcomes; each step contributes only to its own tiers
    /// (`cargo test` also runs the simulations with a few seeds: the sim step is what counts).
    pub fn build(outcomes: &[Outcome]) -> Matrix {
        let mut rows: Vec<(&'static str, [Cell; TIERS.len()])> = PATTERNS
            .iter()
            .chain([&OTHER])
            .map(|&pattern| (pattern, Default::default()))
            .collect();
        fn cell<'a>(
            rows: &'a mut [(&'static str, [Cell; TIERS.len()])],
            pattern: &str,
            tier: Tier,
        ) -> Option<&'a mut Cell> {
            let row = rows.iter_mut().find(|(p, _)| *p == pattern)?;
            Some(&mut row.1[tier.index()])
        }
        for outcome in outcomes {
            for run in &outcome.counts.runs {
                for (test, status) in &run.tests {
                    let (pattern, tier) = classify(&run.binary, test);
                    if !outcome.tiers.contains(&tier) {
                        continue;
                    }
                    if let Some(cell) = cell(&mut rows, pattern, tier) {
                        match status {
                            Status::Passed => cell.passed += 1,
                            Status::Failed => cell.failed += 1,
                            Status::Ignored => cell.ignored += 1,
                        }
                    }
                }
                if !run.finished {
                    let (pattern, tier) = classify(&run.binary, "");
                    if outcome.tiers.contains(&tier)
                        && let Some(cell) = cell(&mut rows, pattern, tier)
                    {
                        cell.crashed += 1;
                    }
                }
            }
            if outcome.tiers.contains(&Tier::Loom) {
                for model in &outcome.counts.models {
                    if let Some(cell) = cell(
                        &mut rows,
                        pattern_in(&model.name).unwrap_or(OTHER),
                        Tier::Loom,
                    ) {
                        cell.models += 1;
                        cell.models_failed += u64::from(!model.passed);
                        cell.iterations += model.iterations;
                        cell.bounds.insert(model.bound.clone());
                    }
                }
            }
            if outcome.tiers.contains(&Tier::Shuttle) {
                for line in &outcome.counts.shuttle {
                    if let Some(cell) = cell(
                        &mut rows,
                        pattern_in(&line.name).unwrap_or(OTHER),
                        Tier::Shuttle,
                    ) {
                        cell.schedules += line.schedules;
                    }
                }
            }
        }
        rows.retain(|(pattern, cells)| *pattern != OTHER || cells.iter().any(|c| !c.is_empty()));
        Matrix { rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Counts, ModelLine, Run, ShuttleLine};

    #[test]
    fn maps_binaries_and_test_names_to_patterns() {
        assert_eq!(classify("mutex", "lock_is_fifo"), ("mutex", Tier::Tests));
        assert_eq!(
            classify("semaphore_model", "state_machine"),
            ("semaphore", Tier::Proptest)
        );
        assert_eq!(classify("rate_model", "x"), ("rate", Tier::Proptest));
        assert_eq!(classify("sim", "network::hold"), ("fetch", Tier::Sim));
        assert_eq!(classify("test_server", "x"), ("fetch", Tier::Tests));
        assert_eq!(
            classify("loom", "rwlock::writer_waits"),
            ("rwlock", Tier::Loom)
        );
        assert_eq!(classify("loom", "model::helpers"), (OTHER, Tier::Loom));
        assert_eq!(classify("shuttle", "rwlock::x"), ("rwlock", Tier::Shuttle));
        assert_eq!(
            classify(
                "shuttle",
                "conn_pool::conn_pool_many_parties_never_exceed_the_maximum"
            ),
            ("conn_pool", Tier::Shuttle)
        );
        assert_eq!(classify("shuttle", "runner::x"), (OTHER, Tier::Shuttle));
        assert_eq!(classify("shuttle", ""), (OTHER, Tier::Shuttle));
        assert_eq!(
            classify(
                "drop_in",
                "rwlock_behaves_like_tokios_when_only_the_import_changes"
            ),
            ("rwlock", Tier::Tests)
        );
        assert_eq!(
            classify("async_patterns", "sync::semaphore::wake_list::tests::x"),
            ("semaphore", Tier::Tests)
        );
        assert_eq!(
            classify(
                "doctests",
                "src/concurrency/map.rs - concurrency::map::BoundedMap (line 10)"
            ),
            ("concurrency", Tier::Tests)
        );
        assert_eq!(
            classify("async_patterns", "time::manual::tests::x"),
            (OTHER, Tier::Tests)
        );
        // A word that merely contains a pattern's name does not count.
        assert_eq!(
            classify("async_patterns", "ratelimit::generate"),
            (OTHER, Tier::Tests)
        );
        assert_eq!(classify("conn_pool", "x"), ("conn_pool", Tier::Tests));
        assert_eq!(classify("postgres", "x"), ("conn_pool", Tier::Tests));
        assert_eq!(
            classify("async_patterns", "conn_pool::tests::pool_is_reused"),
            ("conn_pool", Tier::Tests)
        );
        assert_eq!(
            classify(
                "doctests",
                "src/conn_pool/mod.rs - conn_pool::Pool (line 3)"
            ),
            ("conn_pool", Tier::Tests)
        );
        assert_eq!(
            classify("conn_pool_model", "x"),
            ("conn_pool", Tier::Proptest)
        );
    }

    fn outcome(tiers: &'static [Tier], runs: Vec<Run>, models: Vec<ModelLine>) -> Outcome {
        Outcome {
            name: "x",
            command: String::new(),
            env: Vec::new(),
            tests: true,
            tiers,
            seconds: 0.0,
            failure: None,
            counts: Counts {
                runs,
                models,
                ..Counts::default()
            },
        }
    }

    fn run(binary: &str, tests: &[(&str, Status)], finished: bool) -> Run {
        Run {
            binary: binary.into(),
            tests: tests.iter().map(|(n, s)| ((*n).into(), *s)).collect(),
            finished,
        }
    }

    #[test]
    fn builds_cells_per_step_tiers() {
        let test_step = outcome(
            &[Tier::Tests, Tier::Proptest],
            vec![
                run(
                    "mutex",
                    &[("a", Status::Passed), ("b", Status::Ignored)],
                    true,
                ),
                run("mutex_model", &[], true),
                run("rwlock_model", &[("p", Status::Failed)], true),
                // Ran with a few seeds here; only the sim step counts for the sim tier.
                run("sim", &[("s", Status::Passed)], true),
                run("pool", &[("p", Status::Passed)], false),
            ],
            Vec::new(),
        );
        let loom_step = outcome(
            &[Tier::Loom],
            vec![run(
                "loom",
                &[
                    ("mutex::m", Status::Passed),
                    ("mutex::m_catches_naive", Status::Passed),
                ],
                true,
            )],
            vec![
                ModelLine {
                    name: "mutex::m".into(),
                    passed: true,
                    iterations: 400_000,
                    bound: "3".into(),
                },
                ModelLine {
                    name: "mutex::m_catches_naive".into(),
                    passed: false,
                    iterations: 12_000,
                    bound: "3".into(),
                },
            ],
        );
        let sim_step = outcome(
            &[Tier::Sim],
            vec![run(
                "sim",
                &[("a", Status::Passed), ("b", Status::Passed)],
                true,
            )],
            Vec::new(),
        );
        let matrix = Matrix::build(&[test_step, loom_step, sim_step]);
        assert_eq!(matrix.rows.len(), PATTERNS.len(), "no `other` row");
        let row = |p: &str| &matrix.rows.iter().find(|(q, _)| *q == p).unwrap().1;
        let text = |p: &str, t: Tier| row(p)[t.index()].text(t, "256", "32");
        assert_eq!(text("mutex", Tier::Tests), "1 tests (+1 ignored) ok");
        assert_eq!(text("mutex", Tier::Proptest), "-");
        assert_eq!(
            text("mutex", Tier::Loom),
            "2 models (1 must fail) @3, 412k it. ok"
        );
        assert_eq!(text("rwlock", Tier::Proptest), "1 props × 256 FAILED");
        assert_eq!(text("fetch", Tier::Sim), "2 × 32 seeds ok");
        assert_eq!(text("pool", Tier::Tests), "1 tests (1 crashed) FAILED");
    }

    fn shuttle_line(name: &str, scheduler: &str, schedules: u64) -> ShuttleLine {
        ShuttleLine {
            name: name.into(),
            scheduler: scheduler.into(),
            schedules,
        }
    }

    #[test]
    fn shuttle_cells_count_tests_and_schedules() {
        let shuttle_step = outcome(
            &[Tier::Shuttle],
            vec![run(
                "shuttle",
                &[
                    ("rwlock::a", Status::Passed),
                    ("rwlock::b", Status::Passed),
                    // A self-test of a naive version: it prints no schedule lines.
                    ("rwlock::naive_is_caught", Status::Passed),
                    ("pool::p", Status::Failed),
                    ("semaphore::s", Status::Ignored),
                ],
                true,
            )],
            Vec::new(),
        );
        let shuttle_step = Outcome {
            counts: Counts {
                shuttle: vec![
                    shuttle_line("rwlock::a", "random", 60_000),
                    shuttle_line("rwlock::a", "pct", 60_000),
                    // A test that runs its checker twice: one line per call and scheduler.
                    shuttle_line("rwlock::b", "random", 30_000),
                    shuttle_line("rwlock::b", "pct", 30_000),
                    shuttle_line("rwlock::b", "random", 30_000),
                    shuttle_line("rwlock::b", "pct", 30_000),
                    shuttle_line("pool::p", "random", 1_234),
                    shuttle_line("helpers::x", "pct", 5),
                ],
                ..shuttle_step.counts
            },
            ..shuttle_step
        };
        // A step of other tiers does not fill the shuttle column, even from a `shuttle` binary.
        let test_step = outcome(
            &[Tier::Tests, Tier::Proptest],
            vec![run("shuttle", &[("mutex::m", Status::Passed)], true)],
            Vec::new(),
        );
        let test_step = Outcome {
            counts: Counts {
                shuttle: vec![shuttle_line("mutex::m", "random", 100)],
                ..test_step.counts
            },
            ..test_step
        };
        let matrix = Matrix::build(&[test_step, shuttle_step]);
        let row = |p: &str| &matrix.rows.iter().find(|(q, _)| *q == p).unwrap().1;
        let text = |p: &str, t: Tier| row(p)[t.index()].text(t, "256", "32");
        assert_eq!(text("rwlock", Tier::Shuttle), "3 tests, 240k schedules ok");
        assert_eq!(row("rwlock")[Tier::Shuttle.index()].schedules, 240_000);
        assert_eq!(
            text("pool", Tier::Shuttle),
            "1 tests, 1234 schedules FAILED"
        );
        assert_eq!(text("semaphore", Tier::Shuttle), "0 tests (+1 ignored) ok");
        assert_eq!(text("mutex", Tier::Shuttle), "-");
        assert_eq!(text(OTHER, Tier::Shuttle), "0 tests, 5 schedules ok");
        assert_eq!(
            matrix.rows.last().map(|(p, _)| *p),
            Some(OTHER),
            "a schedule line no pattern claims lands in `other`"
        );
        for tier in [Tier::Tests, Tier::Proptest, Tier::Loom, Tier::Sim] {
            assert_eq!(text("rwlock", tier), "-", "{tier:?}");
        }
    }

    #[test]
    fn shuttle_cell_text() {
        let cell = Cell {
            passed: 3,
            schedules: 240_000,
            ..Cell::default()
        };
        assert_eq!(
            cell.text(Tier::Shuttle, "256", "32"),
            "3 tests, 240k schedules ok"
        );
        let cell = Cell {
            passed: 2,
            failed: 1,
            crashed: 1,
            schedules: 2_500_000,
            ..Cell::default()
        };
        assert_eq!(
            cell.text(Tier::Shuttle, "256", "32"),
            "3 tests, 2.5M schedules (1 crashed) FAILED"
        );
        // No schedule line (the binary stopped first, or only self-tests ran): tests alone.
        let cell = Cell {
            passed: 4,
            ..Cell::default()
        };
        assert_eq!(cell.text(Tier::Shuttle, "256", "32"), "4 tests ok");
        assert_eq!(Cell::default().text(Tier::Shuttle, "256", "32"), "-");
    }

    #[test]
    fn tiers_are_the_table_columns_in_order() {
        let names: Vec<&str> = TIERS.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["tests", "proptest", "loom", "shuttle", "sim"]);
        for (i, tier) in TIERS.iter().enumerate() {
            assert_eq!(tier.index(), i);
        }
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(412), "412");
        assert_eq!(human(412_345), "412k");
        assert_eq!(human(1_234_567), "1.2M");
    }
}
