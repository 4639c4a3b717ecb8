//! Turmoil simulations of the fetch path (compiled only without `--cfg loom`).
#![cfg(not(loom))]
