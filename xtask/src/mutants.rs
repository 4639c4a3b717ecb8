//! `cargo xtask mutants`: mutation testing of `src/` with cargo-mutants, the loom tier included.
//!
//! Each pattern's files are mutated one mutant at a time and checked by that pattern's tests
//! (scoping the tests to the pattern is what makes a run affordable: one incremental build and a
//! few test binaries per mutant). A mutant the tests miss gets a second chance to be caught: the
//! pattern's loom models, in a `--cfg loom` build. Results per group and overall go to
//! `target/mutants/summary.{md,json}`; survivors are to be killed by a new test or explained in
//! `docs/mutants.md`.
//!
//! The run happens in a copy of the tracked files under `target/mutants/tree` (mutated in place
//! there, never in the working tree), with its own target directory kept warm between runs.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

pub const HELP: &str = "\
cargo xtask mutants: mutation testing of src/ (cargo-mutants), loom included

USAGE:
    cargo xtask mutants [--group NAME]... [--shard K/N] [--no-loom] [--jobs N] [--list]

OPTIONS:
    --group NAME   only this group (repeatable): sync, concurrency, rate, channel, shutdown,
                   pool, conn_pool, fetch; default: all
    --shard K/N    only the K-th of N equal slices of each group's mutants (0-based K), to
                   spread a run over machines or sessions; scores add up across shards
    --no-loom      do not give missed mutants to the loom models (reports them as missed)
    --jobs N       cargo-mutants jobs in parallel (default 1, in place in the copy; more:
                   cargo-mutants copies the tree once per job)
    --re REGEX     only mutants whose names match (repeatable), e.g. to re-check survivors
    --reuse-tests  keep each group's first-pass (tests) results from the last run if present,
                   and run only the loom pass on its survivors
    --list         list the groups, their files and their test targets, then exit

Installs cargo-mutants if it is missing (cargo install --locked cargo-mutants).
Per mutant: an incremental build, then the group's tests with a timeout of 5x their baseline
time (at least 20 s). A mutant the tests miss is then run against the group's loom models
(RUSTFLAGS=\"--cfg loom\", release build: the gate's preemption bound, 3).
Writes target/mutants/summary.{md,json} and target/mutants/<group>/{tests,loom}/mutants.out.
Measured on 2 cores: --shard 0/5 (225 mutants, 139 viable) in 31 min; the whole run about 5x.
Exit status: non-zero if cargo-mutants itself fails, or if the score is below 90%.
";

/// What a pattern's mutants are checked by.
pub struct Group {
    pub name: &'static str,
    /// Globs of the files mutated.
    pub files: &'static [&'static str],
    /// Integration test targets (`--test`), plus the library's unit tests when `lib`.
    pub tests: &'static [&'static str],
    pub lib: bool,
    /// The loom models' name filters (module path prefixes in `loom-tests`); none: no loom pass.
    pub loom: &'static [&'static str],
}

pub const GROUPS: &[Group] = &[
    Group {
        name: "sync",
        files: &["src/sync/**", "src/loom.rs"],
        tests: &[
            "semaphore",
            "semaphore_model",
            "mutex",
            "rwlock",
            "rwlock_model",
            "drop_in",
            "allocations",
            "hostile",
        ],
        // The unit tests of `wake_list.rs` (a leak on a panicking waker is seen only there).
        lib: true,
        loom: &["semaphore::", "mutex::", "rwlock::"],
    },
    Group {
        name: "concurrency",
        files: &["src/concurrency/**"],
        tests: &["concurrency", "concurrency_model"],
        lib: false,
        loom: &["concurrency::"],
    },
    Group {
        name: "rate",
        files: &["src/rate/**", "src/time/**"],
        tests: &["rate", "rate_model", "hostile"],
        lib: true,
        loom: &["rate::"],
    },
    Group {
        name: "channel",
        files: &["src/channel/**"],
        tests: &["channel", "channel_model", "allocations", "hostile"],
        lib: false,
        loom: &["channel::"],
    },
    Group {
        name: "shutdown",
        files: &["src/shutdown/**"],
        tests: &["shutdown", "hostile"],
        lib: false,
        loom: &["shutdown::"],
    },
    Group {
        name: "pool",
        files: &["src/pool/**"],
        tests: &["pool", "pool_model", "allocations", "hostile"],
        lib: false,
        loom: &["pool::", "--skip", "conn_pool::"],
    },
    Group {
        name: "conn_pool",
        files: &["src/conn_pool/**"],
        tests: &["conn_pool", "conn_pool_model", "hostile"],
        lib: false,
        loom: &["conn_pool::"],
    },
    Group {
        name: "fetch",
        files: &["src/fetch/**"],
        tests: &["fetch", "fetch_tls", "test_server", "sim"],
        lib: true,
        loom: &[],
    },
];

/// Not mutated: the PostgreSQL manager needs a server (`cargo test --features postgres --test
/// postgres` covers it separately). The fault-injecting test server is test equipment and not in
/// `src/` at all (the unpublished `test-server/` crate), so no group's glob holds it.
const EXCLUDED_FILES: &[&str] = &["src/conn_pool/postgres.rs"];

/// Not mutated: `Debug` output, which no behaviour depends on.
const EXCLUDED_RE: &str = r"<impl (fmt::|std::fmt::)?Debug for ";

pub struct Options {
    groups: Vec<&'static Group>,
    shard: Option<(usize, usize)>,
    loom: bool,
    jobs: usize,
    list: bool,
    /// Keep a group's first-pass results from an earlier run instead of running it again.
    reuse_tests: bool,
    /// Only mutants whose names match (cargo-mutants `--re`).
    re: Vec<String>,
}

impl Options {
    /// `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options {
            groups: Vec::new(),
            shard: None,
            loom: true,
            jobs: 1,
            list: false,
            reuse_tests: false,
            re: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--no-loom" => options.loom = false,
                "--list" => options.list = true,
                "--reuse-tests" => options.reuse_tests = true,
                "--re" => {
                    let re = args.next().ok_or("--re needs a regex")?;
                    options.re.push(re.clone());
                }
                "--group" => {
                    let name = args.next().ok_or("--group needs a name")?;
                    let group = GROUPS
                        .iter()
                        .find(|g| g.name == name)
                        .ok_or_else(|| format!("unknown group `{name}`"))?;
                    options.groups.push(group);
                }
                "--shard" => {
                    let spec = args.next().ok_or("--shard needs K/N")?;
                    options.shard = Some(parse_shard(spec)?);
                }
                "--jobs" => {
                    let n = args.next().ok_or("--jobs needs a number")?;
                    options.jobs = n
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--jobs: `{n}` is not a positive number"))?;
                }
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if options.groups.is_empty() {
            options.groups = GROUPS.iter().collect();
        }
        Ok(Some(options))
    }
}

fn parse_shard(spec: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard: `{spec}` is not K/N with 0 <= K < N");
    let (k, n) = spec.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// How one mutant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    CaughtByTests,
    CaughtByLoom,
    Timeout,
    Missed,
    Unviable,
}

struct GroupResult {
    name: &'static str,
    mutants: Vec<(String, Fate)>,
    seconds: f64,
}

impl GroupResult {
    fn count(&self, fate: Fate) -> usize {
        self.mutants.iter().filter(|(_, f)| *f == fate).count()
    }
}

pub fn run(options: &Options) -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    if options.list {
        for g in &options.groups {
            println!(
                "{:12} files {:?}  tests {:?}{}  loom {:?}",
                g.name,
                g.files,
                g.tests,
                if g.lib { " + lib" } else { "" },
                g.loom
            );
        }
        return ExitCode::SUCCESS;
    }
    if !ensure_cargo_mutants() {
        return ExitCode::FAILURE;
    }
    let out_root = root.join("target/mutants");
    let tree = out_root.join("tree");
    if let Err(e) = copy_tracked_tree(&root, &tree) {
        eprintln!("error: could not copy the tree to {}: {e}", tree.display());
        return ExitCode::FAILURE;
    }
    let mut results = Vec::new();
    for group in &options.groups {
        let started = Instant::now();
        let dir = out_root.join(group.name);
        let tests_dir = dir.join("tests");
        let reuse = options.reuse_tests && tests_dir.join("mutants.out/outcomes.json").is_file();
        if reuse {
            println!(
                "==> mutants: {} (tests: reusing the last run's results)",
                group.name
            );
        } else {
            let _ = fs::remove_dir_all(&dir);
            println!("==> mutants: {} (tests)", group.name);
            if !cargo_mutants(&tree, &out_root, group, options, &tests_dir, Pass::Tests) {
                eprintln!("error: cargo mutants failed for group {}", group.name);
                return ExitCode::FAILURE;
            }
        }
        let mut mutants = read_outcomes(&tests_dir, Fate::CaughtByTests);
        let missed: Vec<String> = mutants
            .iter()
            .filter(|(_, f)| *f == Fate::Missed)
            .map(|(n, _)| n.clone())
            .collect();
        if options.loom && !group.loom.is_empty() && !missed.is_empty() {
            println!(
                "==> mutants: {} (loom, {} missed by the tests)",
                group.name,
                missed.len()
            );
            let loom_dir = dir.join("loom");
            let _ = fs::remove_dir_all(&loom_dir);
            if !cargo_mutants(
                &tree,
                &out_root,
                group,
                options,
                &loom_dir,
                Pass::Loom(&missed),
            ) {
                eprintln!(
                    "error: cargo mutants (loom) failed for group {}",
                    group.name
                );
                return ExitCode::FAILURE;
            }
            let by_loom = read_outcomes(&loom_dir, Fate::CaughtByLoom);
            for (name, fate) in &mut mutants {
                if *fate == Fate::Missed
                    && let Some((_, later)) = by_loom.iter().find(|(n, _)| n == name)
                    && matches!(later, Fate::CaughtByLoom | Fate::Timeout)
                {
                    *fate = Fate::CaughtByLoom;
                }
            }
        }
        let result = GroupResult {
            name: group.name,
            mutants,
            seconds: started.elapsed().as_secs_f64(),
        };
        println!(
            "    {}: {} mutants, {} caught by tests, {} by loom, {} timeouts, {} missed, {} unviable ({:.0} s)",
            result.name,
            result.mutants.len(),
            result.count(Fate::CaughtByTests),
            result.count(Fate::CaughtByLoom),
            result.count(Fate::Timeout),
            result.count(Fate::Missed),
            result.count(Fate::Unviable),
            result.seconds
        );
        results.push(result);
    }
    let (markdown, json, score) = summarize(&results, options);
    let _ = fs::write(out_root.join("summary.md"), &markdown);
    let _ = fs::write(out_root.join("summary.json"), &json);
    println!("\n{markdown}");
    println!("written: target/mutants/summary.md, target/mutants/summary.json");
    if score < 0.9 {
        eprintln!(
            "mutation score {:.1}% is below the 90% target",
            score * 100.0
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn ensure_cargo_mutants() -> bool {
    let present = Command::new("cargo")
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return true;
    }
    println!("==> cargo install --locked cargo-mutants");
    let installed = Command::new("cargo")
        .args(["install", "--locked", "cargo-mutants"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("error: could not install cargo-mutants");
    }
    installed
}

/// Which checks a cargo-mutants pass runs.
enum Pass<'a> {
    /// The group's tests, over the group's mutants (or the `--shard` / `--re` selection).
    Tests,
    /// The group's loom models, over exactly these mutants (the ones the tests missed).
    Loom(&'a [String]),
}

/// One cargo-mutants pass over `group` in `tree`, results under `out`.
fn cargo_mutants(
    tree: &Path,
    out_root: &Path,
    group: &Group,
    options: &Options,
    out: &Path,
    pass: Pass<'_>,
) -> bool {
    if fs::create_dir_all(out).is_err() {
        return false;
    }
    let mut cmd = Command::new("cargo");
    cmd.current_dir(tree)
        .arg("mutants")
        .args(["--no-shuffle", "--caught", "--unviable"])
        .args(["--minimum-test-timeout", "20"])
        .args(["--exclude-re", EXCLUDED_RE])
        .arg("--output")
        .arg(out);
    if options.jobs == 1 {
        // Mutate the copy under target/mutants/tree itself; its target directory stays warm.
        cmd.arg("--in-place");
    } else {
        // cargo-mutants copies the tree once per job.
        cmd.args(["--jobs", &options.jobs.to_string()]);
    }
    for file in group.files {
        cmd.args(["--file", file]);
    }
    for file in EXCLUDED_FILES {
        cmd.args(["--exclude", file]);
    }
    if let Pass::Loom(names) = pass {
        // By name: a `--cfg loom` build lists a different set of mutants, so a shard of it
        // would not be the same mutants.
        for name in names {
            cmd.args(["--re", &format!("^{}$", regex_escape(name))]);
        }
        cmd.args(["--profile", "release"])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", out_root.join("target-loom"))
            .args(["--", "--test", "loom", "--"])
            .args(group.loom);
    } else {
        if let Some((k, n)) = options.shard {
            // Round-robin: every shard samples every file.
            cmd.args(["--shard", &format!("{k}/{n}"), "--sharding", "round-robin"]);
        }
        for re in &options.re {
            cmd.args(["--re", re]);
        }
        cmd.env("CARGO_TARGET_DIR", out_root.join("target-tests"))
            .env("PROPTEST_CASES", "64")
            .env("SIM_SEEDS", "2")
            .arg("--");
        if group.lib {
            cmd.arg("--lib");
        }
        for test in group.tests {
            cmd.args(["--test", test]);
        }
    }
    println!("    {cmd:?}");
    // cargo-mutants exits 2 when mutants were missed, 3 on timeouts: results, not failures.
    cmd.status()
        .is_ok_and(|s| matches!(s.code(), Some(0 | 2 | 3)))
}

/// The mutants a pass saw and how each ended, `caught` naming who caught them.
fn read_outcomes(dir: &Path, caught: Fate) -> Vec<(String, Fate)> {
    let out = dir.join("mutants.out");
    let mut mutants = Vec::new();
    for (file, fate) in [
        ("caught.txt", caught),
        ("timeout.txt", Fate::Timeout),
        ("missed.txt", Fate::Missed),
        ("unviable.txt", Fate::Unviable),
    ] {
        if let Ok(text) = fs::read_to_string(out.join(file)) {
            mutants.extend(
                text.lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| (l.to_owned(), fate)),
            );
        }
    }
    mutants
}

fn summarize(results: &[GroupResult], options: &Options) -> (String, String, f64) {
    let mut md = String::new();
    let shard = options
        .shard
        .map(|(k, n)| format!(" (shard {k}/{n})"))
        .unwrap_or_default();
    let _ = writeln!(md, "## Mutation testing{shard}\n");
    let _ = writeln!(
        md,
        "| group | mutants | caught by tests | caught by loom | timeouts | missed | unviable | score | time |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut json_groups = Vec::new();
    let (mut total_killed, mut total_viable) = (0, 0);
    for r in results {
        let killed =
            r.count(Fate::CaughtByTests) + r.count(Fate::CaughtByLoom) + r.count(Fate::Timeout);
        let viable = killed + r.count(Fate::Missed);
        total_killed += killed;
        total_viable += viable;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            r.name,
            r.mutants.len(),
            r.count(Fate::CaughtByTests),
            r.count(Fate::CaughtByLoom),
            r.count(Fate::Timeout),
            r.count(Fate::Missed),
            r.count(Fate::Unviable),
            percent(killed, viable),
            r.seconds
        );
        let missed: Vec<String> = r
            .mutants
            .iter()
            .filter(|(_, f)| *f == Fate::Missed)
            .map(|(n, _)| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        json_groups.push(format!(
            "{{\"group\":\"{}\",\"mutants\":{},\"caught_by_tests\":{},\"caught_by_loom\":{},\"timeouts\":{},\"missed\":{},\"unviable\":{},\"seconds\":{:.0},\"survivors\":[{}]}}",
            r.name,
            r.mutants.len(),
            r.count(Fate::CaughtByTests),
            r.count(Fate::CaughtByLoom),
            r.count(Fate::Timeout),
            r.count(Fate::Missed),
            r.count(Fate::Unviable),
            r.seconds,
            missed.join(",")
        ));
    }
    let score = if total_viable == 0 {
        1.0
    } else {
        total_killed as f64 / total_viable as f64
    };
    let _ = writeln!(
        md,
        "\nScore: **{}** of viable mutants caught ({total_killed} of {total_viable}; a timeout counts as caught).",
        percent(total_killed, total_viable)
    );
    let survivors: Vec<&String> = results
        .iter()
        .flat_map(|r| r.mutants.iter())
        .filter(|(_, f)| *f == Fate::Missed)
        .map(|(n, _)| n)
        .collect();
    if !survivors.is_empty() {
        let _ = writeln!(md, "\nSurvivors (see docs/mutants.md for each):\n");
        for s in survivors {
            let _ = writeln!(md, "- `{s}`");
        }
    }
    let json = format!(
        "{{\"score\":{score:.4},\"killed\":{total_killed},\"viable\":{total_viable},\"groups\":[{}]}}\n",
        json_groups.join(",")
    );
    (md, json, score)
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// Copies the files git tracks or would track (with their working-tree contents) to `dest`, replacing what was
/// there but keeping nothing else, so a mutant run sees exactly the code under review.
fn copy_tracked_tree(root: &Path, dest: &Path) -> std::io::Result<()> {
    let listed = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()?;
    if !listed.status.success() {
        return Err(std::io::Error::other("git ls-files failed"));
    }
    let _ = fs::remove_dir_all(dest);
    for name in listed.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = PathBuf::from(String::from_utf8_lossy(name).into_owned());
        let from = root.join(&name);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dest.join(&name);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&from, &to)?;
    }
    Ok(())
}
