//! Loom models of the shipped primitives (compiled only under `--cfg loom`).
//!
//! Under `RUSTFLAGS="--cfg loom"` the library's shared state (`src/loom.rs`) is loom's `Mutex`,
//! atomics and `UnsafeCell`, so these models explore every interleaving — up to a preemption
//! bound, 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise — of the code that ships, not of a copy.
//!
//! One module per pattern, plus:
//! - `model`: the bounded `loom::model` runner and the poll-once helper every model shares;
//! - `semaphore_under_test` / `naive_semaphore` (shared with `tests/` through `#[path]`): the
//!   interface the semaphore models are generic over, and the deliberately buggy semaphores the
//!   models must reject (the "bug zoo" of DESIGN.md).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom -- --nocapture` (the models print
//! their iteration counts; a failure prints the bound to reproduce it with).
#![cfg(loom)]

#[path = "../tests/support/hostile.rs"]
mod hostile;
#[path = "../tests/support/naive_semaphore.rs"]
mod naive_semaphore;
#[path = "../tests/support/semaphore_under_test.rs"]
mod semaphore_under_test;

mod channel;
mod concurrency;
mod conn_pool;
mod model;
mod mutex;
mod pool;
mod rate;
mod rwlock;
mod semaphore;
mod shutdown;
