//! Broadcast graceful shutdown: a trigger every task sees, the tasks that must finish before the
//! process may exit, a deadline with a report of what did not, and child scopes.
//!
//! The usual copy-pasted version broadcasts `()` on a channel and then sleeps. Measured against
//! it (`tests/shutdown.rs` replays each one beside this module): sleeping 1 s instead of waiting
//! for the workers lets main return while they clean up (0 of 5 two-second cleanups flushed);
//! putting the job itself in a `select!` branch next to the shutdown signal drops an in-flight job
//! half-way; and `send(()).unwrap()` panics once no receiver is left.
//!
//! | type | what it is |
//! |---|---|
//! | [`Shutdown`] | the handle: [`trigger`](Shutdown::trigger), [`token`](Shutdown::token), [`spawn`](Shutdown::spawn) / [`track`](Shutdown::track), [`wait`](Shutdown::wait) / [`wait_within`](Shutdown::wait_within), [`child`](Shutdown::child) |
//! | [`ShutdownToken`] | cheap, cloneable observer: [`is_triggered`](ShutdownToken::is_triggered), [`triggered`](ShutdownToken::triggered)`.await` |
//! | [`Tracked`] | a future whose completion the scope waits for |
//! | [`Unfinished`] | what a deadline-bounded wait reports: the live tasks (ids, names), and [`abort`](Unfinished::abort) for the spawned ones |
//! | `Shutdown::trigger_on_signal` | installs Ctrl-C / `SIGTERM` handlers now, returns a future that triggers on the first signal (not under `--cfg loom`, where tokio has no `signal`) |
//!
//! # Guarantees
//!
//! - **Trigger is idempotent and never panics of its own**, with or without listeners, inside or
//!   outside a runtime (a waiter's waker that panics when woken is raised once every scope is
//!   triggered and every other waiter woken). It is one-way: a triggered scope stays triggered.
//!   When [`trigger`](Shutdown::trigger) returns — even a second call that raced with the first —
//!   every token of the scope and of its child scopes sees it.
//! - **Every token sees the trigger**, whether it was made before or after: `is_triggered` is
//!   `true` and `triggered().await` completes at once; pending `triggered()` futures are all woken.
//! - **`wait` returns only when the scope was triggered *and* every tracked task has finished** —
//!   tasks of its child scopes included. It does not trigger. No wakeup is lost when the last
//!   task finishes, or the trigger comes, at the same time as `wait` is called (loom-checked).
//!   Once it has returned it keeps returning at once.
//! - **After the trigger, nothing new is tracked: it is refused, and given back.**
//!   [`track`](Shutdown::track) returns a [`TrackError`] and [`spawn`](Shutdown::spawn) a
//!   [`SpawnError`] that hand the future back unpolled ([`into_inner`](TrackError::into_inner)),
//!   so the caller decides what to do with it (run it inline, answer "shutting down", ...);
//!   nothing is silently dropped. A `track` racing with `trigger` is either refused or tracked
//!   and waited for. That is what makes "`wait` returned" final: no tracked task can start
//!   afterwards. (A task that wants to hand off follow-up work during shutdown does it inline:
//!   it is itself tracked.)
//! - **A task is tracked from `track`/`spawn` until it completes or is dropped.** A spawned task
//!   that panics or is aborted counts as finished once tokio has dropped its future. A dropped
//!   [`Tracked`] counts as finished after its inner future has been dropped.
//! - **Deadline**: [`wait_within`](Shutdown::wait_within) / [`wait_until`](Shutdown::wait_until)
//!   (tokio's clock, so paused time applies) and [`wait_until_with_clock`](Shutdown::wait_until_with_clock) (any
//!   [`Clock`](crate::time::Clock)) return [`Unfinished`] when the deadline passes first: whether
//!   the scope had been triggered, and the live tasks with their [`TaskId`]s and names; its
//!   [`abort`](Unfinished::abort) aborts the spawned ones, after which `wait` can finish.
//! - **Child scopes** ([`child`](Shutdown::child)): triggered with their parent, triggerable
//!   alone (the parent is not), and waited for by the parent's `wait`.
//! - **Needs no runtime** except where tokio is the point: `trigger`, tokens, `track` and `wait`
//!   are runtime-agnostic (the loom models drive them on plain threads); `spawn` needs a tokio
//!   runtime (or returns [`SpawnErrorKind::NoRuntime`]), `wait_within` tokio's time, and
//!   `trigger_on_signal` its IO driver.
//!
//! # Cancel safety
//!
//! | future | dropped before it completes |
//! |---|---|
//! | [`ShutdownToken::triggered`], [`triggered_owned`](ShutdownToken::triggered_owned) | nothing lost: it only waits; a new one sees the trigger too |
//! | [`Shutdown::wait`], `wait_within`, `wait_until`, `wait_until_with_clock` | nothing lost: they only wait |
//! | [`Tracked`] | the inner future is dropped, then the task counts as finished |
//! | `trigger_on_signal`'s future | triggers nothing; later signals are ignored |
//!
//! # Built on the semaphore
//!
//! Each scope keeps two [`Semaphore`](crate::sync::Semaphore)s with no permits, used as one-shot
//! broadcasts: one is closed by the trigger (the tokens wait on it), the other once the scope is
//! triggered with no live task (`wait` waits on it). `close` waking every waiter with an error,
//! cancel-safe waiting and no lost wakeup are the semaphore's loom-checked guarantees, so the
//! shutdown's own code is only the count of live tasks and the decision of when to close, taken
//! under the scopes' locks (a `track` holds those of the scope and of all its ancestors, so that
//! it cannot slip in after an ancestor's trigger has counted zero).
//!
//! Each guarantee is tested in `tests/shutdown.rs` (both runtime flavours, paused time, three
//! copy-pasted shutdowns' failures replayed beside ours — a sleep instead of a wait, a `select!`
//! that drops an in-flight job, a `send(()).unwrap()` that panics — a real `SIGTERM`) and
//! `loom-tests/shutdown.rs`
//! (every interleaving, up to a preemption bound, of `track`, `trigger` and `wait`, the last task
//! ending, a child's `track` against the parent's trigger, concurrent triggers and the deadline
//! path — with broken trackers the same models reject).
//!
//! # Example: the service loop
//!
//! Select on the token *between* jobs, never around a job: a job that has started runs to its
//! end, and the cleanup after the loop runs before `wait` returns.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//! use async_patterns::shutdown::Shutdown;
//! use tokio::sync::mpsc;
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn run() {
//! let shutdown = Shutdown::new();
//! let (jobs, mut queue) = mpsc::channel::<u32>(16);
//! let (started, finished, flushed) = (
//!     Arc::new(AtomicUsize::new(0)),
//!     Arc::new(AtomicUsize::new(0)),
//!     Arc::new(AtomicUsize::new(0)),
//! );
//!
//! let token = shutdown.token();
//! let (s, f, fl) = (started.clone(), finished.clone(), flushed.clone());
//! shutdown
//!     .spawn_named("worker", async move {
//!         loop {
//!             // Wait for the next job or the trigger: nothing is in flight here.
//!             let job = tokio::select! {
//!                 biased;
//!                 () = token.triggered() => break,
//!                 job = queue.recv() => match job {
//!                     Some(job) => job,
//!                     None => break,
//!                 },
//!             };
//!             // The job runs outside the select: the trigger cannot cut it in half.
//!             s.fetch_add(1, Ordering::SeqCst);
//!             tokio::time::sleep(Duration::from_millis(100 * u64::from(job))).await;
//!             f.fetch_add(1, Ordering::SeqCst);
//!         }
//!         tokio::time::sleep(Duration::from_secs(2)).await; // flush buffers, close connections
//!         fl.fetch_add(1, Ordering::SeqCst);
//!     })
//!     .expect("inside a runtime, not triggered yet");
//!
//! jobs.send(5).await.unwrap();
//! tokio::time::sleep(Duration::from_millis(10)).await; // the worker is now half-way through it
//! shutdown.trigger();
//! shutdown.trigger(); // idempotent
//! shutdown.wait().await;
//!
//! assert_eq!(started.load(Ordering::SeqCst), 1);
//! assert_eq!(finished.load(Ordering::SeqCst), 1); // the in-flight job was finished
//! assert_eq!(flushed.load(Ordering::SeqCst), 1); // and the cleanup ran
//! // After the trigger, new work is refused and handed back, not dropped.
//! let refused = shutdown.spawn(async { 42 }).unwrap_err();
//! assert!(refused.is_triggered());
//! assert_eq!(refused.into_inner().await, 42);
//! # }
//! ```

mod deadline;
mod error;
mod handle;
mod report;
mod scope;
// Not under `--cfg loom`: tokio compiles `signal` out there. Not while rustdoc collects doctests
// (`doctest`) either: in the loom build's doctest pass rustdoc sees the crate without `--cfg loom`
// (RUSTFLAGS does not reach rustdoc) but links the loom-built tokio, which has no `signal`.
#[cfg(all(not(loom), not(doctest), any(unix, windows)))]
mod signal;
mod spawn;
mod token;
mod tracked;

pub use error::{SpawnError, SpawnErrorKind, TrackError};
pub use handle::Shutdown;
pub use report::{TaskId, Unfinished, UnfinishedTask};
#[cfg(all(not(loom), not(doctest), any(unix, windows)))]
pub use signal::Signal;
pub use token::ShutdownToken;
pub use tracked::Tracked;
