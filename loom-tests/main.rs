//! Loom models of the shipped primitives (compiled only under `--cfg loom`).
#![cfg(loom)]
