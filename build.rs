//! Makes `--cfg loom` and `--cfg shuttle` visible to rustdoc too, and tells the loom models
//! whether they are optimized.
//!
//! `RUSTFLAGS="--cfg loom"` reaches rustc but not rustdoc, so when `cargo test` collects the doc
//! tests of a loom build, rustdoc would see the crate without `cfg(loom)` — modules that the loom
//! build leaves out (the fetch path, the signal helper) would be compiled against a tokio that has
//! no `net` or `signal`. Cargo tells build scripts the target's cfgs (`CARGO_CFG_LOOM`) and passes
//! the cfgs a build script emits to rustdoc as well, so re-emitting it keeps both views equal.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
    println!("cargo::rustc-check-cfg=cfg(shuttle)");
    println!("cargo::rustc-check-cfg=cfg(unoptimized)");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_LOOM");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_SHUTTLE");
    if std::env::var_os("CARGO_CFG_LOOM").is_some() {
        println!("cargo::rustc-cfg=loom");
    }
    // The same for `--cfg shuttle` (the randomized scheduler tier), whose doc tests must see the
    // crate as rustc does.
    if std::env::var_os("CARGO_CFG_SHUTTLE").is_some() {
        println!("cargo::rustc-cfg=shuttle");
    }
    // The loom models pick a smaller default preemption bound in an unoptimized build (the plain
    // `RUSTFLAGS="--cfg loom" cargo test`), where each interleaving costs many times more; the
    // gate runs them optimized at the full bound. (`debug_assertions` cannot tell the two apart:
    // the release profile keeps them on.)
    if std::env::var("OPT_LEVEL").is_ok_and(|level| level == "0") {
        println!("cargo::rustc-cfg=unoptimized");
    }
}
