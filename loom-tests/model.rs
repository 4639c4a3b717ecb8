//! The bounded model runner and the small helpers every loom model shares.
//!
//! Bounding: every model runs under a preemption bound, so that it stays well inside the 60 s
//! budget in release (DESIGN.md, "verification tiers"). The bound is `LOOM_MAX_PREEMPTIONS` when
//! set (e.g. larger in a nightly job), else the model's own default — [`DEFAULT_PREEMPTION_BOUND`]
//! for [`model`], or the one passed to [`model_with_bound`]. Other loom settings
//! (`LOOM_MAX_BRANCHES`, `LOOM_CHECKPOINT_FILE`, `LOOM_LOCATION`, `LOOM_LOG`, ...) are read by
//! `loom::model::Builder::new` as usual.
//!
//! Driving futures: [`block_on`] here, not `loom::future::block_on`. Loom reports a lost wakeup
//! as a deadlock — a panic raised inside whichever thread blocks last — and if that thread is
//! inside loom's `block_on`, unwinding drops the loom `Arc` that backs its waker while loom has
//! already torn down the execution: a panic during a panic, and the whole test binary aborts
//! instead of the model failing. The `block_on` here waits on a [`loom::sync::Notify`] held in a
//! `std` `Arc` (loom still sees the thread blocked, the notification orders the waker's thread
//! before the woken one, and no loom object with a destructor is dropped during that unwinding),
//! so a lost wakeup fails the model with loom's `deadlock` message, which the checker self-tests
//! expect. Not `loom::thread::park`: loom's `unpark` makes a thread runnable whatever it is
//! blocked on, so a waker called late — legal, e.g. when the waiter saw its outcome without the
//! waker and moved on to `join` another thread — would wake that `join` (or a lock) and trip
//! loom's own assertion (`state.notified`). A `Notify` keeps the wake for its own `wait`.
//!
//! Reporting: each model prints the number of interleavings it explored and how long that took
//! (visible with `-- --nocapture`), and a failing model prints the bound and the environment that
//! reproduce it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// The bound used in CI (the gate runs the models optimized): one deeper than tokio's own loom
/// CI (2), and still below the 60 s per model budget for 2 spawned threads + main.
#[cfg(not(unoptimized))]
pub const DEFAULT_PREEMPTION_BOUND: usize = 3;

/// In an unoptimized build (the plain `RUSTFLAGS="--cfg loom" cargo test`) each interleaving costs
/// many times more, so the default bound is one lower — tokio's own CI bound — to keep that
/// command within minutes. `cfg(unoptimized)` comes from `build.rs`. `LOOM_MAX_PREEMPTIONS` still
/// overrides it.
#[cfg(unoptimized)]
pub const DEFAULT_PREEMPTION_BOUND: usize = 2;

/// Checks `f` under every interleaving up to the default preemption bound (or
/// `LOOM_MAX_PREEMPTIONS`).
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    model_with_bound(DEFAULT_PREEMPTION_BOUND, f);
}

/// As [`model`], for a model of one spawned thread plus main whose unbounded search is affordable:
/// in the deep gate (`LOOM_EXHAUSTIVE_PAIRS=1`) it runs with no preemption bound at all — every
/// interleaving — otherwise as [`model`]. Measured unbounded in release: the six pair models that
/// use it take 5–10 985 iterations, at most 1.3 s each; two other pair models
/// (`channel::competing_receivers_get_each_value_once_then_none`,
/// `concurrency::run_keeps_one_in_flight_and_a_cancelled_run_frees_its_place_or_slot`) did not
/// finish in 150 s unbounded and stay under the bound.
pub fn model_pair<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    if std::env::var("LOOM_EXHAUSTIVE_PAIRS").is_ok_and(|v| v == "1") {
        run(None, f);
    } else {
        model(f);
    }
}

/// As [`model`], with `default_bound` instead of [`DEFAULT_PREEMPTION_BOUND`] when
/// `LOOM_MAX_PREEMPTIONS` is unset: for a model that needs a deeper (or cheaper) search.
pub fn model_with_bound<F>(default_bound: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let bound = loom::model::Builder::new()
        .preemption_bound
        .or(Some(default_bound));
    run(bound, f);
}

/// Runs `f` under every interleaving up to `bound` preemptions (`None`: unbounded).
fn run<F>(bound: Option<usize>, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound;
    quiet_expected_failures();

    // Counted here rather than through loom's `tracing` log, which needs a subscriber installed by
    // the caller: the count is the figure the gate reports, so it must not depend on `LOOM_LOG`.
    let iterations = Arc::new(AtomicUsize::new(0));
    let report = Report {
        name: std::thread::current()
            .name()
            .unwrap_or("<unnamed model>")
            .to_owned(),
        bound,
        iterations: Arc::clone(&iterations),
        start: Instant::now(),
    };
    builder.check(move || {
        iterations.fetch_add(1, Ordering::Relaxed);
        f();
    });
    drop(report);
}

/// Whether the model is a self-test that must fail on a naive version (`…_catches_…`, a
/// `#[should_panic]` test): its failure is expected, and reported in one calm line.
fn must_fail(name: &str) -> bool {
    name.contains("_catches_")
}

/// Keeps the panic report (message and backtrace) of a model that must fail out of the output;
/// libtest still checks its message against the test's `#[should_panic(expected = …)]`, and any
/// other panic is reported as usual. Installed once per test binary.
fn quiet_expected_failures() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !std::thread::current().name().is_some_and(must_fail) {
                previous(info);
            }
        }));
    });
}

/// Prints the outcome of one model when it ends, on success and on failure alike.
struct Report {
    name: String,
    bound: Option<usize>,
    iterations: Arc<AtomicUsize>,
    start: Instant,
}

impl Drop for Report {
    fn drop(&mut self) {
        let iterations = self.iterations.load(Ordering::Relaxed);
        let elapsed = self.start.elapsed();
        let (bound, reproduce) = match self.bound {
            Some(bound) => (bound.to_string(), format!("LOOM_MAX_PREEMPTIONS={bound}")),
            None => ("none".to_owned(), "LOOM_EXHAUSTIVE_PAIRS=1".to_owned()),
        };
        if std::thread::panicking() && must_fail(&self.name) {
            eprintln!(
                "loom model `{}`: naive version rejected as required in iteration {iterations} \
                 (preemption bound {bound}, {elapsed:.2?})",
                self.name
            );
        } else if std::thread::panicking() {
            eprintln!(
                "loom model `{}` FAILED in iteration {iterations} (preemption bound {bound}, {elapsed:.2?}). \
                 Reproduce with {reproduce}; add LOOM_CHECKPOINT_FILE=<file>.json to \
                 save the failing path, then LOOM_LOG=trace LOOM_LOCATION=1 to trace it.",
                self.name
            );
        } else {
            eprintln!(
                "loom model `{}`: completed in {iterations} iterations (preemption bound {bound}, {elapsed:.2?})",
                self.name
            );
        }
    }
}

/// Polls `future` once with a waker that does nothing, as a caller that polls a future once and
/// then drops it would (e.g. the losing branch of a `select!`). A model that needs to be woken
/// uses [`block_on`] instead.
pub fn poll_once<F>(future: Pin<&mut F>) -> Poll<F::Output>
where
    F: Future + ?Sized,
{
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Drives `future` to completion on the current loom thread, blocking it while the future is
/// pending; the future's waker notifies it. See the module docs for why this is not loom's own.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let notify = Arc::new(WakeNotify(loom::sync::Notify::new()));
    let waker = Waker::from(Arc::clone(&notify));
    let mut cx = Context::from_waker(&waker);
    let mut future = ForgetOnPanic(Some(Box::pin(future)));
    let pinned = future.0.as_mut().expect("set above");
    loop {
        if let Poll::Ready(output) = pinned.as_mut().poll(&mut cx) {
            return output;
        }
        // Returns at once if woken since the last poll (the notification is kept until then).
        notify.0.wait();
    }
}

/// A waker that notifies the one thread in [`block_on`]. A plain `std` `Arc` carries it: dropping
/// it never calls into loom.
struct WakeNotify(loom::sync::Notify);

impl Wake for WakeNotify {
    fn wake(self: Arc<Self>) {
        self.0.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify();
    }
}

/// Drops its value as usual, except while the thread panics: then it leaks it. A pending acquire
/// future takes the semaphore's (loom) lock when dropped, which must not happen while unwinding
/// from loom's deadlock report (see the module docs). The leak only ever happens in a model that
/// has already failed.
struct ForgetOnPanic<T>(Option<T>);

impl<T> Drop for ForgetOnPanic<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::mem::forget(self.0.take());
        }
    }
}
