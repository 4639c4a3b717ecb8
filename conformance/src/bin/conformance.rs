//! Runs every checker on every adapter compiled in and writes the matrix: `matrix.md` (with the
//! notes), `matrix.json` and `tables.md` (the tables alone, as the README shows them) in the
//! output directory. `cargo xtask conformance` runs it (with every adapter,
//! and for `--pin`, in a scratch workspace).
//!
//! Usage: `conformance [--preset quick|deep] [--out DIR] [--only TEXT] [--version CRATE=VERSION]...`
//! (`--only`: the columns whose name contains TEXT, e.g. `async-lock` or `RwLock`).
//!
//! Exits with 1 if a guarantee that async-patterns claims is violated in its own types (a peer's
//! violation is a finding for the notes, not a failure of this project).

use std::path::PathBuf;
use std::time::Instant;

use async_patterns_conformance::matrix::Matrix;
use async_patterns_conformance::{Config, Report};

/// One column: a pattern's checker on one implementation.
struct Column {
    /// The crate, whose version labels the column.
    krate: &'static str,
    /// The type, e.g. `Semaphore`.
    name: &'static str,
    run: fn(&str, &Config) -> Report,
}

/// The columns whose feature is on (each push is behind its own `cfg`, hence no `vec![]`).
macro_rules! columns {
    ($($feature:literal, $krate:literal, $name:literal, $module:ident, $ty:ty;)*) => {{
        let mut columns: Vec<Column> = Vec::new();
        $(
            #[cfg(feature = $feature)]
            columns.push(Column { krate: $krate, name: $name, run: $module::check::<$ty> });
        )*
        columns
    }};
}

// Each push has its own `cfg`; with few features on, some imports go unused.
#[allow(clippy::vec_init_then_push, unused_imports, unused_mut)]
fn columns() -> Vec<Column> {
    use async_patterns_conformance::adapters::*;
    use async_patterns_conformance::{
        channel, conn_pool, lock, rate, semaphore, token, tracker, worker_pool,
    };
    let mut columns = vec![
        Column {
            krate: "tokio",
            name: "Semaphore",
            run: semaphore::check::<tokio::Semaphore>,
        },
        Column {
            krate: "tokio",
            name: "Mutex",
            run: lock::check::<tokio::Mutex>,
        },
        Column {
            krate: "tokio",
            name: "RwLock",
            run: lock::check::<tokio::RwLock>,
        },
        Column {
            krate: "tokio",
            name: "mpsc::channel",
            run: channel::check::<tokio::Mpsc>,
        },
    ];
    columns.extend(columns! {
        "async-patterns", "async-patterns", "Semaphore", semaphore, ours::Semaphore;
        "async-lock", "async-lock", "Semaphore", semaphore, async_lock::Semaphore;
        "async-patterns", "async-patterns", "Mutex", lock, ours::Mutex;
        "async-lock", "async-lock", "Mutex", lock, async_lock::Mutex;
        "futures", "futures", "lock::Mutex", lock, futures::FuturesMutex;
        "async-patterns", "async-patterns", "RwLock", lock, ours::RwLock;
        "async-lock", "async-lock", "RwLock", lock, async_lock::RwLock;
        "async-patterns", "async-patterns", "channel::bounded", channel, ours::Channel;
        "async-channel", "async-channel", "bounded", channel, async_channel::Channel;
        "flume", "flume", "bounded", channel, flume::Channel;
        "kanal", "kanal", "bounded_async", channel, kanal::Channel;
        "futures", "futures", "channel::mpsc", channel, futures::Mpsc;
        "async-patterns", "async-patterns", "RateLimiter (strict)", rate, ours::StrictRateLimiter;
        "async-patterns", "async-patterns", "RateLimiter (bucket)", rate, ours::BucketRateLimiter;
        "governor", "governor", "RateLimiter", rate, governor::RateLimiter;
        "leaky-bucket", "leaky-bucket", "RateLimiter", rate, leaky_bucket::RateLimiter;
        "async-patterns", "async-patterns", "conn_pool::Pool", conn_pool, ours::ConnPool;
        "deadpool", "deadpool", "managed::Pool", conn_pool, deadpool::Pool;
        "bb8", "bb8", "Pool", conn_pool, bb8::Pool;
        "async-patterns", "async-patterns", "Shutdown", token, ours::ShutdownToken;
        "tokio-util", "tokio-util", "CancellationToken", token, tokio_util::CancellationToken;
        "async-patterns", "async-patterns", "Shutdown", tracker, ours::ShutdownTracker;
        "tokio-util-tracker", "tokio-util", "TaskTracker", tracker, tokio_util::TaskTracker;
        "async-patterns", "async-patterns", "pool::WorkerPool", worker_pool, ours::WorkerPool;
    });
    columns
}

fn main() {
    let mut config = Config::quick();
    let mut preset = "quick";
    let mut out = PathBuf::from("target/conformance");
    let mut versions: Vec<(String, String)> = Vec::new();
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| fail(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--preset" => match value("--preset").as_str() {
                "quick" => (config, preset) = (Config::quick(), "quick"),
                "deep" => (config, preset) = (Config::deep(), "deep"),
                other => fail(&format!("unknown preset {other:?} (quick, deep)")),
            },
            "--out" => out = PathBuf::from(value("--out")),
            "--only" => only = Some(value("--only")),
            "--version" => {
                let v = value("--version");
                let (krate, version) = v
                    .split_once('=')
                    .unwrap_or_else(|| fail(&format!("--version {v:?}: expected CRATE=VERSION")));
                versions.push((krate.to_string(), version.to_string()));
            }
            "-h" | "--help" => {
                println!(
                    "conformance [--preset quick|deep] [--out DIR] [--version CRATE=VERSION]..."
                );
                return;
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let config = config.from_env();
    let version = |krate: &str| {
        versions
            .iter()
            .find(|(k, _)| k == krate)
            .map_or(String::new(), |(_, v)| format!(" {v}"))
    };
    let started = Instant::now();
    let mut reports = Vec::new();
    for column in columns() {
        let name = format!("{}{} {}", column.krate, version(column.krate), column.name);
        if only
            .as_ref()
            .is_some_and(|text| !name.contains(text.as_str()))
        {
            continue;
        }
        let t = Instant::now();
        let report = (column.run)(&name, &config);
        let bugs = report.bugs().count();
        println!(
            "{:<10} {:<48} {} guarantees, {} violated, {:.2?}",
            report.pattern,
            name,
            report.findings.len(),
            bugs,
            t.elapsed()
        );
        reports.push(report);
    }
    let seed = config.seed;
    let matrix = Matrix {
        settings: format!(
            "Preset `{preset}`: {} cases of up to {} operations per guarantee, seed {seed:#x}; \
             {} implementations checked in {:.1?}. Reproduce: `cargo xtask conformance{}`.",
            config.cases,
            config.max_steps,
            reports.len(),
            started.elapsed(),
            if preset == "quick" {
                ""
            } else {
                " --preset deep"
            }
        ),
        reports,
    };
    std::fs::create_dir_all(&out).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    let files = [
        ("matrix.md", matrix.to_markdown()),
        ("matrix.json", matrix.to_json()),
        ("tables.md", matrix.tables_markdown()),
    ];
    for (file, text) in files {
        let path = out.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        println!("wrote {}", path.display());
    }
    let ours: Vec<String> = matrix.bugs_in("async-patterns").collect();
    if !ours.is_empty() {
        eprintln!("async-patterns violates what it claims:");
        for bug in &ours {
            eprintln!("  {bug}");
        }
        std::process::exit(1);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("conformance: {message}");
    std::process::exit(2);
}
