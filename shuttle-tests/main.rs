//! Shuttle tests of the shipped primitives: many parties, sampled schedules (compiled only under
//! `--cfg shuttle`).
//!
//! Under `RUSTFLAGS="--cfg shuttle"` the library's shared state (`src/loom.rs`) is shuttle's
//! `Mutex` and atomics, so these tests drive the code that ships, as the loom models do. Loom
//! explores every interleaving of two spawned threads and main up to a preemption bound; the
//! races that need a third or fourth party to act between two steps of another (a promise made
//! under a lock and claimed after it, with a closer and a competing fast path in between) are
//! out of its reach at an affordable bound. Shuttle samples schedules of many threads instead —
//! random and PCT schedulers, [`runner`] — and checks the same invariants after each: values
//! neither lost nor duplicated, permits conserved, mutual exclusion, every accepted job resolved
//! exactly once. Shuttle runs every atomic as `SeqCst`: weak-memory reorderings stay loom's.
//!
//! Run: `RUSTFLAGS="--cfg shuttle" cargo test --release --test shuttle` (each test prints its
//! schedules and time; `SHUTTLE_ITERATIONS` and `SHUTTLE_SEED` set the budget and the seed).
#![cfg(shuttle)]

#[path = "../tests/support/hostile.rs"]
mod hostile;
#[path = "../tests/support/naive_semaphore.rs"]
mod naive_semaphore;
#[path = "../tests/support/semaphore_under_test.rs"]
mod semaphore_under_test;

mod channel;
mod conn_pool;
mod pool;
mod runner;
mod rwlock;
mod semaphore;
mod shutdown;
