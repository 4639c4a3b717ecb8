//! `cargo xtask miri`: the tests that reach `unsafe` code (the lock guards, the semaphore's
//! permits, its batch of wakers, the worker pool's job cells, the channel's ring of slots) under
//! Miri, on the nightly toolchain.

use std::process::{Command, ExitCode};

pub const HELP: &str = "\
cargo xtask miri: the tests that reach unsafe code, under Miri

USAGE:
    cargo xtask miri [-- <libtest args>]

Installs the miri component of the nightly toolchain if it is missing
(`rustup +nightly component add miri`), then runs
    cargo +nightly miri test --lib -- sync::semaphore::wake_list
    cargo +nightly miri test --test mutex --test rwlock --test semaphore --test pool --test channel [-- <libtest args>]
MIRIFLAGS is passed through (e.g. MIRIFLAGS=-Zmiri-disable-isolation).
";

/// The test binaries that exercise the crate's `unsafe` code.
pub const TESTS: [&str; 5] = ["mutex", "rwlock", "semaphore", "pool", "channel"];

/// The `cargo` arguments of the Miri run.
pub fn args(extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["+nightly", "miri", "test"].map(String::from).to_vec();
    for test in TESTS {
        args.extend(["--test".to_owned(), test.to_owned()]);
    }
    if !extra.is_empty() {
        args.push("--".to_owned());
        args.extend(extra.iter().cloned());
    }
    args
}

pub fn run(extra: &[String]) -> ExitCode {
    // `cargo` and `rustup` from PATH (the rustup proxies), not $CARGO: that is the stable
    // toolchain's cargo, which does not understand `+nightly`.
    let installed = Command::new("rustup")
        .args(["+nightly", "component", "list", "--installed"])
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.starts_with("miri"))
        });
    if !installed {
        println!("==> rustup +nightly component add miri");
        let added = Command::new("rustup")
            .args(["+nightly", "component", "add", "miri", "rust-src"])
            .status()
            .is_ok_and(|status| status.success());
        if !added {
            eprintln!("error: could not install miri for the nightly toolchain");
            return ExitCode::FAILURE;
        }
    }
    let unit = cargo(&lib_args());
    if unit != ExitCode::SUCCESS {
        return unit;
    }
    cargo(&args(extra))
}

/// The library's own unit tests that reach `unsafe` (the semaphore's batch of wakers).
pub fn lib_args() -> Vec<String> {
    ["+nightly", "miri", "test", "--lib", "--", LIB_FILTER]
        .map(String::from)
        .to_vec()
}

/// The unit tests `lib_args` selects.
pub const LIB_FILTER: &str = "sync::semaphore::wake_list";

/// Runs one Miri `cargo` command from the workspace root.
fn cargo(args: &[String]) -> ExitCode {
    println!("==> cargo {}", args.join(" "));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match Command::new("cargo").args(args).current_dir(root).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!(
                "miri: FAILED ({status}); reproduce with: cargo {}",
                args.join(" ")
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: could not start cargo: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn miri_command() {
        assert_eq!(
            super::args(&[]).join(" "),
            "+nightly miri test --test mutex --test rwlock --test semaphore --test pool --test channel"
        );
        assert_eq!(
            super::args(&["fifo".to_owned()]).join(" "),
            "+nightly miri test --test mutex --test rwlock --test semaphore --test pool --test channel -- fifo"
        );
        assert_eq!(
            super::lib_args().join(" "),
            "+nightly miri test --lib -- sync::semaphore::wake_list"
        );
    }
}
