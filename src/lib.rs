//! Small, correct async patterns for tokio services, and the verification that proves them.
//!
//! Every primitive here is built on one core, the fair [`sync::Semaphore`], whose shared state is
//! written against a sync shim so that the loom models in `loom-tests/` check the shipped code
//! under every interleaving (up to a preemption bound), and the shuttle tests sample schedules of
//! many more parties.
//!
//! | module | what it gives |
//! |---|---|
//! | [`channel`] | a bounded MPMC channel: a ring of slots claimed without a lock when no one waits, FIFO turns for the senders and receivers that wait, cancel-safe send and recv, values never lost on close |
//! | [`concurrency`] | [`ConcurrencyLimiter`](concurrency::ConcurrencyLimiter): at most N futures in flight, and bounded concurrent maps that never create more than N futures or tasks |
//! | [`conn_pool`] | [`Pool`](conn_pool::Pool): a connection pool on the semaphore: FIFO checkout, wait/create/recycle timeouts with typed errors, cancel-safe `get()`, broken objects discarded; a PostgreSQL manager behind the `postgres` feature |
//! | [`fetch`](fetch/index.html) | an HTTP/1.1 and HTTPS (rustls) client whose calls end within one deadline (connect, TLS handshake, headers, body, redirects, retries, backoff), with safe retries, seeded jitter, redirects by policy and typed errors (not built under `--cfg loom`) |
//! | [`pool`] | [`WorkerPool`](pool::WorkerPool): bounded workers and queue, blocking jobs off the async threads, every accepted job's handle resolves exactly once |
//! | [`rate`] | [`RateLimiter`](rate::RateLimiter): a strict sliding window or a token bucket, with the exact bound documented; FIFO waiters, no background task |
//! | [`shutdown`] | [`Shutdown`](shutdown::Shutdown): broadcast graceful shutdown; idempotent trigger every token sees, tracked tasks that `wait` waits for, a deadline that reports what did not finish, child scopes |
//! | [`time`] | the injected [`Clock`](time::Clock): tokio's (simulated in tests) or a [`ManualClock`](time::ManualClock) |
//! | [`sync`] | [`Semaphore`](sync::Semaphore), [`Mutex`](sync::Mutex) and [`RwLock`](sync::RwLock), drop-ins for `tokio::sync`'s (blocking methods, mapped guards and cooperative scheduling included), FIFO and cancel safe |
//!
//! Each module's page starts with what it guarantees — fairness, cancel safety, what close or
//! shutdown does — and a runnable example.
//!
//! # Example
//!
//! At most two downloads at a time, and a count behind a mutex, with tokio's API:
//!
//! ```
//! use std::sync::Arc;
//! use async_patterns::sync::{Mutex, Semaphore};
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn run() {
//! let downloads = Arc::new(Semaphore::new(2));
//! let done = Arc::new(Mutex::new(0u32));
//! let tasks: Vec<_> = (0..10)
//!     .map(|_| {
//!         let (downloads, done) = (Arc::clone(&downloads), Arc::clone(&done));
//!         tokio::spawn(async move {
//!             let _permit = downloads.acquire().await.unwrap(); // at most two in here
//!             *done.lock().await += 1;
//!         })
//!     })
//!     .collect();
//! for task in tasks {
//!     task.await.unwrap();
//! }
//! assert_eq!(*done.lock().await, 10);
//! assert_eq!(downloads.available_permits(), 2);
//! # }
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod channel;
pub mod concurrency;
pub mod conn_pool;
#[cfg(not(loom))]
pub mod fetch;
mod loom;
mod panicked;
pub mod pool;
pub mod rate;
pub mod shutdown;
pub mod sync;
pub mod time;
mod unwind;

pub use panicked::Panicked;

/// The README's examples, compiled and run with the doc tests (`cargo test --doc`), so that what
/// a reader copies from it works. Not in the model builds, whose primitives only run in a model.
#[cfg(all(doctest, not(any(loom, shuttle))))]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;

#[doc(hidden)]
pub mod __private {
    /// Whether this build uses a model checker's primitives (`--cfg loom` or `--cfg shuttle`):
    /// doc examples return early then, since those primitives only work inside a model.
    pub const MODEL_BUILD: bool = cfg!(any(loom, shuttle));
}
