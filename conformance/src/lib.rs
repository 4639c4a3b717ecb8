//! Conformance checkers for async concurrency primitives.
//!
//! Point a checker at any implementation — your own, or a crate's — through a small adapter
//! trait, and get a [`Report`]: for each guarantee of the pattern, whether it **holds**, is
//! **violated** (with the smallest failing sequence of operations found, and the seed that
//! replays it), or is **not claimed** by the implementation's own documentation (the checker
//! still runs, so a reader sees the documented difference).
//!
//! | pattern | adapter | checker |
//! |---|---|---|
//! | semaphore | [`semaphore::SemaphoreUnderTest`] | [`semaphore::check`] |
//! | mutex, RwLock | [`lock::LockUnderTest`] | [`lock::check`] |
//! | bounded channel | [`channel::ChannelUnderTest`] | [`channel::check`] |
//! | rate limiter | [`rate::RateLimiterUnderTest`] | [`rate::check`] |
//! | connection pool | [`conn_pool::PoolUnderTest`] | [`conn_pool::check`] |
//! | cancellation token | [`token::CancelTokenUnderTest`] | [`token::check`] |
//! | task tracker | [`tracker::TaskTrackerUnderTest`] | [`tracker::check`] |
//! | worker pool | [`worker_pool::WorkerPoolUnderTest`] | [`worker_pool::check`] |
//!
//! The checkers are deterministic: a case is a pure function of its seed, futures are polled by
//! hand with counting wakers ([`waker::Polled`]), and the time-based checkers run on a
//! current-thread tokio runtime with paused time. [`Config::quick`] is what CI runs,
//! [`Config::deep`] runs 25 times as many cases; [`Config::from_env`] reads overrides and the
//! replay seed.
//!
//! # Checking your own implementation
//!
//! A mutex written by hand, with the classic bug — `unlock` hands the lock to nobody and wakes
//! nobody, so a waiter that queued while it was held sleeps forever:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::future::poll_fn;
//! use std::sync::{Arc, Mutex};
//! use std::task::{Poll, Waker};
//! use async_patterns_conformance::{BoxFuture, Config};
//! use async_patterns_conformance::lock::{self, LockUnderTest};
//!
//! #[derive(Default)]
//! struct State { locked: bool, waiters: VecDeque<Waker> }
//!
//! struct MyMutex(Arc<Mutex<State>>);
//! struct Guard(Arc<Mutex<State>>);
//!
//! impl Drop for Guard {
//!     fn drop(&mut self) {
//!         self.0.lock().unwrap().locked = false; // the bug: no waiter is woken
//!     }
//! }
//!
//! impl LockUnderTest for MyMutex {
//!     type Shared = ();
//!     type Exclusive = Guard;
//!     const HAS_SHARED: bool = false;
//!     fn new() -> Self {
//!         MyMutex(Arc::default())
//!     }
//!     fn write(&self) -> BoxFuture<Guard> {
//!         let state = Arc::clone(&self.0);
//!         Box::pin(poll_fn(move |cx| {
//!             let mut s = state.lock().unwrap();
//!             if s.locked {
//!                 s.waiters.push_back(cx.waker().clone());
//!                 Poll::Pending
//!             } else {
//!                 s.locked = true;
//!                 Poll::Ready(Guard(Arc::clone(&state)))
//!             }
//!         }))
//!     }
//!     fn try_write(&self) -> Option<Guard> {
//!         let mut s = self.0.lock().unwrap();
//!         (!std::mem::replace(&mut s.locked, true)).then(|| Guard(Arc::clone(&self.0)))
//!     }
//! }
//!
//! let report = lock::check::<MyMutex>("my mutex", &Config::quick());
//! assert!(!report.findings[1].verdict.holds()); // no_lost_wakeup
//! println!("{report}");
//! ```
//!
//! The report names the guarantee, the steps and the replay seed, e.g.:
//!
//! ```text
//! mutex conformance of my mutex:
//!   mutual_exclusion       holds (1000 cases)
//!   no_lost_wakeup         VIOLATED
//!       nothing is held and all 1024 permits are free, but the oldest waiter (for 1024)
//!       sleeps: nothing will ever wake it
//!         setup: 1024
//!          1. Acquire(1024)
//!          2. Acquire(1024)
//!          3. Release(0)
//!          4. PollAll
//!         replay: CONFORMANCE_REPLAY=0x…
//! ```
//!
//! In a test, [`Report::assert_conforms`] panics with that report unless every guarantee the
//! implementation claims holds.

#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;

pub mod adapters;
pub mod channel;
pub mod conn_pool;
pub mod lock;
pub mod matrix;
pub mod rate;
mod rng;
mod run;
pub mod semaphore;
pub mod token;
pub mod tracker;
mod verdict;
pub mod waker;
pub mod worker_pool;
pub mod zoo;

pub use run::Config;
pub use verdict::{Claim, Counterexample, Finding, Report, Verdict};

/// A boxed future, as the adapter traits return them: `'static`, so the checkers can keep pending
/// futures across steps and drop them at any point.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
