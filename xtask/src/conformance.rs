//! `cargo xtask conformance`: the conformance kit's matrix — every checker on every adapter —
//! written to target/conformance/matrix.{md,json}; with `--pin`, against other published versions
//! of the peers, in a scratch workspace so that the project's lockfile is untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub const HELP: &str = "\
cargo xtask conformance: every conformance checker on every adapter, as a matrix

USAGE:
    cargo xtask conformance [--preset quick|deep] [--check] [--write-readme]
                            [--pin CRATE@VERSION]...

Writes target/conformance/matrix.md and matrix.json: guarantee x implementation, each cell
holds (✓), violated (✗, a bug by the implementation's own docs, with its counterexample in the
notes), or not claimed by its docs (nc, with the citation and what was observed).

OPTIONS:
    --preset quick|deep    cases per guarantee: quick (the gate's) or deep (25 times as many)
    --pin CRATE@VERSION    check VERSION of CRATE (tokio, tokio-util, async-lock, async-channel,
                           flume, kanal, governor, leaky-bucket, deadpool, bb8, futures) instead of the one
                           in Cargo.lock: the kit is copied to a scratch workspace under
                           target/conformance/pin/, the dependency set to =VERSION, and the matrix
                           written there. Repeatable. Adapters that need a newer version than the
                           pin are left out (tokio-util's TaskTracker: 0.7.10).
    --check                first lint, document and test the kit with every adapter (clippy -D
                           warnings, rustdoc -D warnings, its doc examples): what the gate's other
                           steps, which build the kit without features, leave out
    --write-readme         put the quick preset's tables into README.md (between its
                           conformance-matrix markers); without it, a README whose tables differ
                           from the run's is reported (and fails --check)
    -h, --help             this message

ENVIRONMENT:
    CONFORMANCE_CASES, CONFORMANCE_SEED, CONFORMANCE_REPLAY    override the preset's cases and
                           seed, or replay the one case a counterexample printed

Exits non-zero if one of async-patterns' own types violates a guarantee it claims.
";

/// Every adapter feature of the kit.
const FEATURES: &[&str] = &[
    "async-patterns",
    "tokio-util",
    "tokio-util-tracker",
    "async-lock",
    "async-channel",
    "flume",
    "kanal",
    "governor",
    "leaky-bucket",
    "deadpool",
    "bb8",
    "futures",
];

/// Features whose adapter needs at least this version of their crate: (feature, crate, version).
const MIN_VERSIONS: &[(&str, &str, (u64, u64, u64))] =
    &[("tokio-util-tracker", "tokio-util", (0, 7, 10))];

/// Whether `name` is a crate the kit has adapters for, and so labels columns with its version:
/// tokio's need no feature, every other is a feature named after its crate (`tokio-util-tracker`
/// is tokio-util's second).
fn is_adapted_crate(name: &str) -> bool {
    name == "tokio" || (name != "tokio-util-tracker" && FEATURES.contains(&name))
}

#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    preset: String,
    pins: Vec<(String, String)>,
    check: bool,
    write_readme: bool,
}

impl Options {
    /// `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<Options>, String> {
        let mut options = Options {
            preset: "quick".into(),
            pins: Vec::new(),
            check: false,
            write_readme: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--check" => options.check = true,
                "--write-readme" => options.write_readme = true,
                "--preset" => match args.next().map(String::as_str) {
                    Some(p @ ("quick" | "deep")) => options.preset = p.into(),
                    other => {
                        return Err(format!("--preset: expected quick or deep, got {other:?}"));
                    }
                },
                "--pin" => {
                    let pin = args.next().ok_or("--pin needs CRATE@VERSION")?;
                    let (krate, version) = pin
                        .split_once('@')
                        .ok_or_else(|| format!("--pin {pin}: expected CRATE@VERSION"))?;
                    if krate == "async-patterns" || !is_adapted_crate(krate) {
                        return Err(format!("--pin {pin}: no adapter for {krate}"));
                    }
                    if parse_version(version).is_none() {
                        return Err(format!("--pin {pin}: {version} is not a version (X.Y.Z)"));
                    }
                    options.pins.push((krate.into(), version.into()));
                }
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if (options.check || options.write_readme) && !options.pins.is_empty() {
            return Err(
                "--check and --write-readme are about the kit as it is: not with --pin".into(),
            );
        }
        if options.write_readme && options.preset != "quick" {
            return Err("--write-readme: the README shows the quick preset's matrix".into());
        }
        Ok(Some(options))
    }
}

/// Lints, documents and tests the kit with every adapter.
fn check_kit(root: &Path, features: &str) -> bool {
    let package = ["-p", "async-patterns-conformance", "--features", features];
    let mut clippy = Command::new(env!("CARGO"));
    clippy
        .args(["clippy", "--all-targets"])
        .args(package)
        .args(["--", "-D", "warnings"]);
    let mut doc = Command::new(env!("CARGO"));
    doc.args(["doc", "--no-deps"])
        .args(package)
        .env("RUSTDOCFLAGS", "-D warnings");
    // Only the doc examples: the test step ran the kit's tests (they need no adapter), but built
    // its docs without the features its examples are behind.
    let mut test = Command::new(env!("CARGO"));
    test.args(["test", "--doc"]).args(package);
    for mut cmd in [clippy, doc, test] {
        cmd.current_dir(root);
        println!("$ {cmd:?}");
        if !cmd.status().is_ok_and(|status| status.success()) {
            return false;
        }
    }
    true
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(str::parse::<u64>);
    let version = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    parts.next().is_none().then_some(version)
}

/// The features to build with: every one, less those whose adapter is newer than a pin.
fn features(pins: &[(String, String)]) -> Vec<&'static str> {
    FEATURES
        .iter()
        .copied()
        .filter(|feature| {
            !MIN_VERSIONS.iter().any(|(f, krate, min)| {
                f == feature
                    && pins
                        .iter()
                        .any(|(k, v)| k == krate && parse_version(v).is_some_and(|v| v < *min))
            })
        })
        .collect()
}

/// The pinned kit's manifest: the path dependency on async-patterns made absolute, each pinned
/// crate's requirement made exact, and a `[workspace]` of its own.
fn pinned_manifest(
    manifest: &str,
    root: &Path,
    pins: &[(String, String)],
) -> Result<String, String> {
    let mut out = String::new();
    let mut pinned = vec![false; pins.len()];
    for line in manifest.lines() {
        let mut line = line.to_string();
        if line.starts_with("async-patterns = ") {
            line = line.replace(
                "path = \"..\"",
                &format!("path = {:?}", root.display().to_string()),
            );
        }
        for (i, (krate, version)) in pins.iter().enumerate() {
            if line.starts_with(&format!("{krate} = ")) {
                let start = line
                    .find("version = \"")
                    .ok_or(format!("{krate}: no version in {line}"))?;
                let value = start + "version = \"".len();
                let end = value + line[value..].find('"').ok_or("unterminated version")?;
                line.replace_range(value..end, &format!("={version}"));
                pinned[i] = true;
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(i) = pinned.iter().position(|p| !p) {
        return Err(format!("{}: not a dependency of the kit", pins[i].0));
    }
    out.push_str("\n# A scratch copy, pinned by `cargo xtask conformance --pin`: its own workspace.\n[workspace]\n");
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `name=version` of each peer in the kit's dependency graph (from `cargo tree`).
fn versions(manifest: &Path, features: &str, target_dir: Option<&Path>) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["tree", "--manifest-path"])
        .arg(manifest)
        .args(["--no-default-features", "--features", features])
        .args(["-e", "normal", "--prefix", "none", "--depth", "1"]);
    if let Some(dir) = target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let Ok(output) = cmd.output() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(version)) = (words.next(), words.next())
            && is_adapted_crate(name)
            && let Some(version) = version.strip_prefix('v')
        {
            let entry = format!("{name}={version}");
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

pub fn run(options: &Options) -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let kit = root.join("conformance");
    let features = features(&options.pins).join(",");
    if options.check && !check_kit(&root, &features) {
        return ExitCode::FAILURE;
    }
    let (manifest, out, target_dir) = if options.pins.is_empty() {
        (
            kit.join("Cargo.toml"),
            root.join("target/conformance"),
            None,
        )
    } else {
        let name: Vec<String> = options
            .pins
            .iter()
            .map(|(k, v)| format!("{k}@{v}"))
            .collect();
        let scratch = root.join("target/conformance/pin").join(name.join("+"));
        let crate_dir = scratch.join("kit");
        let _ = std::fs::remove_dir_all(&crate_dir);
        if let Err(e) = copy_dir(&kit.join("src"), &crate_dir.join("src")) {
            eprintln!("error: copying the kit to {}: {e}", crate_dir.display());
            return ExitCode::FAILURE;
        }
        let manifest = std::fs::read_to_string(kit.join("Cargo.toml")).expect("the kit's manifest");
        let manifest = match pinned_manifest(&manifest, &root, &options.pins) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        std::fs::write(crate_dir.join("Cargo.toml"), manifest).expect("write the scratch manifest");
        // The manifest names it as the package's readme.
        let _ = std::fs::copy(kit.join("README.md"), crate_dir.join("README.md"));
        (
            crate_dir.join("Cargo.toml"),
            scratch,
            Some(root.join("target/conformance/pin-target")),
        )
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["run", "--manifest-path"])
        .arg(&manifest)
        .args(["--no-default-features", "--features", &features])
        .args([
            "--bin",
            "conformance",
            "--",
            "--preset",
            &options.preset,
            "--out",
        ])
        .arg(&out);
    for version in versions(&manifest, &features, target_dir.as_deref()) {
        cmd.args(["--version", &version]);
    }
    if let Some(dir) = &target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    println!("$ {cmd:?}");
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(_) => return ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: cargo: {e}");
            return ExitCode::FAILURE;
        }
    }
    if options.pins.is_empty() && options.preset == "quick" {
        return readme(&root, options);
    }
    ExitCode::SUCCESS
}

const README_START: &str = "<!-- conformance-matrix:start -->\n";
const README_END: &str = "<!-- conformance-matrix:end -->";

/// The README with `tables` between its markers; `None` if it has no markers.
fn with_tables(readme: &str, tables: &str) -> Option<String> {
    let start = readme.find(README_START)? + README_START.len();
    let end = start + readme[start..].find(README_END)?;
    Some(format!("{}{tables}{}", &readme[..start], &readme[end..]))
}

/// Compares the README's tables with the run's, or writes them.
fn readme(root: &Path, options: &Options) -> ExitCode {
    let tables = std::fs::read_to_string(root.join("target/conformance/tables.md"))
        .expect("the run wrote its tables");
    let path = root.join("README.md");
    let current = std::fs::read_to_string(&path).expect("README.md");
    let Some(updated) = with_tables(&current, &tables) else {
        eprintln!("error: README.md has no {README_START:?} … {README_END:?} markers");
        return ExitCode::FAILURE;
    };
    if updated == current {
        println!("README.md's conformance matrix is current");
    } else if options.write_readme {
        std::fs::write(&path, updated).expect("write README.md");
        println!("wrote the matrix into README.md");
    } else {
        eprintln!(
            "README.md's conformance matrix differs from this run's \
             (target/conformance/tables.md): `cargo xtask conformance --write-readme` updates it"
        );
        if options.check {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn pins_parse_and_bad_ones_are_refused() {
        let options = Options::parse(&args("--preset deep --pin flume@0.10.10"))
            .unwrap()
            .unwrap();
        assert_eq!(options.preset, "deep");
        assert_eq!(
            options.pins,
            vec![("flume".to_string(), "0.10.10".to_string())]
        );
        assert!(Options::parse(&args("--pin flume")).is_err());
        assert!(Options::parse(&args("--pin flume@0.10")).is_err());
        assert!(Options::parse(&args("--pin serde@1.0.0")).is_err());
        assert!(Options::parse(&args("--preset slow")).is_err());
    }

    #[test]
    fn an_old_pin_leaves_out_the_adapter_it_cannot_build() {
        let pins = vec![("tokio-util".to_string(), "0.7.0".to_string())];
        assert!(!features(&pins).contains(&"tokio-util-tracker"));
        let pins = vec![("tokio-util".to_string(), "0.7.10".to_string())];
        assert!(features(&pins).contains(&"tokio-util-tracker"));
    }

    #[test]
    fn the_pinned_manifest_is_exact_and_standalone() {
        let manifest = "[dependencies]\nasync-patterns = { version = \"0.1\", path = \"..\", optional = true }\nflume = { version = \"0.11\", optional = true }\n";
        let pinned = pinned_manifest(
            manifest,
            Path::new("/repo"),
            &[("flume".into(), "0.10.10".into())],
        )
        .unwrap();
        assert!(
            pinned.contains("flume = { version = \"=0.10.10\", optional = true }"),
            "{pinned}"
        );
        assert!(pinned.contains("path = \"/repo\""), "{pinned}");
        assert!(pinned.trim_end().ends_with("[workspace]"));
        assert!(
            pinned_manifest(
                manifest,
                Path::new("/repo"),
                &[("bb8".into(), "0.8.3".into())]
            )
            .is_err()
        );
    }

    #[test]
    fn the_readme_tables_go_between_the_markers() {
        let readme =
            "# x\n<!-- conformance-matrix:start -->\nold\n<!-- conformance-matrix:end -->\nend";
        let updated = with_tables(readme, "new\n").unwrap();
        assert_eq!(
            updated,
            "# x\n<!-- conformance-matrix:start -->\nnew\n<!-- conformance-matrix:end -->\nend"
        );
        assert_eq!(with_tables(&updated, "new\n").unwrap(), updated);
        assert!(with_tables("no markers", "new").is_none());
        assert!(Options::parse(&args("--write-readme --preset deep")).is_err());
    }

    #[test]
    fn every_feature_is_one_of_the_kits() {
        let manifest = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/Cargo.toml"
        ))
        .unwrap();
        for feature in FEATURES {
            assert!(
                manifest.contains(&format!("\"{feature}\"")),
                "{feature} is not in the kit's features"
            );
        }
    }
}
