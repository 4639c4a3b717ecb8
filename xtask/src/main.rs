//! `cargo xtask`: the project's automation, written with std only.
//!
//! `cargo xtask gate` runs the correctness gate (see `gate.rs` for the steps, `report.rs` for
//! the output parsing and the summary it prints and writes to `target/gate/`, `matrix.rs` for the
//! per-pattern table); `cargo xtask tokio-tests` runs tokio's own tests of its Semaphore, Mutex and
//! RwLock against ours (`tokio_tests/`), one of the gate's steps.

mod conformance;
mod gate;
mod matrix;
mod merge;
mod miri;
mod mutants;
mod report;
mod tokio_tests;
mod workflows;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask: project automation

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    conformance
            the conformance kit's matrix: every checker on every adapter (ours, tokio, async-lock,
            governor, …) to target/conformance/matrix.{md,json}; `--pin CRATE@VERSION` checks
            another published version; `cargo xtask conformance --help` for more
    gate    run the correctness gate (fmt, clippy, doc, tests, tokio's own tests, loom
            models, shuttle schedules, simulation seeds) and write a summary to
            target/gate/summary.{json,md}; `cargo xtask gate --help` for more;
            `cargo xtask gate merge <DIR>...` merges the slices of a partitioned gate
    miri    the tests that reach unsafe code under Miri (nightly)
    mutants mutation testing of src/ with cargo-mutants, loom included;
            `cargo xtask mutants --help` for more
    tokio-tests
            tokio's own integration tests of Semaphore, Mutex and RwLock, run against ours
            (generated under target/tokio-tests/), a verdict per test;
            `cargo xtask tokio-tests --help` for more
    help    print this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("conformance") => match conformance::Options::parse(&args[1..]) {
            Ok(Some(options)) => conformance::run(&options),
            Ok(None) => {
                print!("{}", conformance::HELP);
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}\n\n{}", conformance::HELP);
                ExitCode::from(2)
            }
        },
        Some("gate") if args.get(1).is_some_and(|arg| arg == "merge") => merge::run(&args[2..]),
        Some("gate") => match gate::Options::parse(&args[1..]) {
            Ok(Some(options)) => gate::run(&options),
            Ok(None) => {
                print!("{}", gate::HELP);
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}\n\n{}", gate::HELP);
                ExitCode::from(2)
            }
        },
        Some("miri") => match args[1..].first().map(String::as_str) {
            Some("-h" | "--help") => {
                print!("{}", miri::HELP);
                ExitCode::SUCCESS
            }
            Some("--") => miri::run(&args[2..]),
            Some(other) => {
                eprintln!("error: unknown option `{other}`\n\n{}", miri::HELP);
                ExitCode::from(2)
            }
            None => miri::run(&[]),
        },
        Some("mutants") => match mutants::Options::parse(&args[1..]) {
            Ok(Some(options)) => mutants::run(&options),
            Ok(None) => {
                print!("{}", mutants::HELP);
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}\n\n{}", mutants::HELP);
                ExitCode::from(2)
            }
        },
        Some("tokio-tests") => match tokio_tests::Options::parse(&args[1..]) {
            Ok(Some(options)) => tokio_tests::run(&options),
            Ok(None) => {
                print!("{}", tokio_tests::HELP);
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}\n\n{}", tokio_tests::HELP);
                ExitCode::from(2)
            }
        },
        Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown command `{other}`\n\n{HELP}");
            ExitCode::from(2)
        }
        None => {
            eprint!("{HELP}");
            ExitCode::from(2)
        }
    }
}
