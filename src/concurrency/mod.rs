//! At most N of these in flight: a concurrency limiter, and bounded concurrent maps built on it.
//!
//! The usual recipe spawns one task per input up front and makes each task wait for a semaphore
//! permit before it does its work. That limits how many *run*, not how many *exist*: with 200 000
//! inputs it creates 200 000 tasks (each with its future, its captured input and its waker) that
//! mostly sit in the semaphore's queue. The types here never create a future before it can run.
//!
//! | type | what it limits |
//! |---|---|
//! | [`ConcurrencyLimiter`] | N slots on the crate's fair [`Semaphore`](crate::sync::Semaphore); [`run`](ConcurrencyLimiter::run) waits (FIFO) for a slot before the future is first polled, and holds it for the future's whole life; [`try_run`](ConcurrencyLimiter::try_run) admits now or hands the future back |
//! | [`BoundedMap`] | a `Stream` over an iterator: pulls the next input, and creates its future, only when a slot is free; at most N futures exist; yields `(input, Result<output, Panicked>)` |
//! | [`SpawnedBoundedMap`] | the same with each future on its own tokio task (a `JoinSet`): at most N tasks exist; yields `(input, Result<output, TaskError>)` |
//!
//! # Guarantees
//!
//! - **At most N in flight**: a future holds a slot from before its first poll until after it is
//!   dropped. All users of one limiter (and of its clones) share its N slots.
//! - **No work created before it can run**: the maps take a slot, *then* pull an input and call
//!   the closure that makes its future.
//! - **FIFO**: slots are granted in the order waiters asked for them.
//! - **Cancel safety**: dropping `run` while it waits gives up its place (and hands on a slot
//!   granted to it); dropping it while running drops the future, then frees the slot. Dropping a
//!   map drops (or aborts) its futures and frees their slots.
//! - **Every input answered exactly once** by the maps, a panicking future included: its panic is
//!   caught and reported with its message, next to its input, and the other inputs go on.
//! - **Typed errors**: a limit of 0 or above [`Semaphore::MAX_PERMITS`](crate::sync::Semaphore::MAX_PERMITS)
//!   is a [`LimitError`], never a hang or a panic.
//!
//! Each guarantee is tested in `tests/concurrency.rs` (tokio, both runtime flavours, 200 000
//! inputs), `tests/concurrency_model.rs` (proptest: random limits and job sets in paused time,
//! against a list-scheduling model, and the naive spawn-everything version rejected by the same
//! checker), and `loom-tests/concurrency.rs` (every interleaving of two `run`s and a cancelled one
//! on a limit of 1).
//!
//! # Example
//!
//! ```
//! use async_patterns::concurrency::ConcurrencyLimiter;
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn run() {
//! // Fetch 10 000 pages, at most 8 at a time: only 8 futures ever exist.
//! let limiter = ConcurrencyLimiter::new(8).expect("8 is a valid limit");
//! let pages = limiter.bounded_map(0..10_000u32, |&page| async move {
//!     tokio::task::yield_now().await; // stands for the request
//!     page % 7
//! });
//! let results = pages.collect_in_input_order().await;
//!
//! assert_eq!(results.len(), 10_000);
//! assert!(results.iter().all(|(page, result)| result.as_ref() == Ok(&(page % 7))));
//! assert_eq!(limiter.in_flight(), 0);
//! # }
//! ```

mod error;
mod feed;
mod limiter;
mod map;
mod spawned;

pub use crate::Panicked;
pub use error::{Busy, LimitError};
pub use limiter::{Admitted, ConcurrencyLimiter};
pub use map::BoundedMap;
pub use spawned::{SpawnedBoundedMap, TaskError};
