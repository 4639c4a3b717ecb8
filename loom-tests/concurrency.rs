//! Loom model of the concurrency limiter's `run`: the limit holds and a cancelled `run` gives its
//! place (or its slot) back, under every interleaving up to the preemption bound.
//!
//! The limiter is a thin layer over the shipped `Semaphore`, whose atomics and lock are loom's
//! under `--cfg loom`, so this explores the real acquire / release / cancel paths underneath `run`.
//!
//! Bounding: 2 spawned threads + main, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides it,
//! see `model.rs`).

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use async_patterns::concurrency::ConcurrencyLimiter;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::model::{block_on, model, poll_once};

/// Counts one future as in flight from its first poll until it is dropped, and fails the model if
/// that makes more than 1.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        let now = counter.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(now <= 1, "{now} futures in flight for a limit of 1");
        InFlight(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Pending once (waking itself, so `block_on` polls again), then ready: a point where a future
/// holding the slot is suspended and the other threads may interleave.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The job run through the limiter: in flight while it exists, suspended once in the middle.
async fn job(counter: Arc<AtomicUsize>) {
    let _in_flight = InFlight::enter(&counter);
    YieldOnce(false).await;
}

/// Two threads run a job each through `run` on a limiter of 1, while main starts a third `run`,
/// polls it once with a no-op waker and drops it. Main's `run` is either queued (and cancelled
/// while waiting, perhaps just after the slot was granted to it) or holds the slot (and is
/// cancelled while its job is suspended). Whatever the interleaving: never 2 jobs in flight, both
/// threads finish (a place or slot kept by the cancelled `run` would leave one waiting forever:
/// loom's deadlock), and the slot is free at the end.
#[test]
fn run_keeps_one_in_flight_and_a_cancelled_run_frees_its_place_or_slot() {
    model(|| {
        let limiter = ConcurrencyLimiter::new(1).expect("1 is a valid limit");
        let counter = Arc::new(AtomicUsize::new(0));

        let spawn_runner = || {
            let limiter = limiter.clone();
            let counter = Arc::clone(&counter);
            thread::spawn(move || block_on(limiter.run(job(counter))))
        };
        let first = spawn_runner();
        let second = spawn_runner();

        {
            let mut cancelled = pin!(limiter.run(job(Arc::clone(&counter))));
            // Ready only if it got the slot at once and its job ran to the end in one poll,
            // which `YieldOnce` prevents.
            assert!(poll_once(cancelled.as_mut()).is_pending());
        }

        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(counter.load(Ordering::SeqCst), 0, "a job was not dropped");
        assert_eq!(limiter.in_flight(), 0, "the slot was not given back");
        assert!(
            limiter.try_run(async {}).is_ok(),
            "the slot is not free at the end (or a cancelled waiter is still queued)"
        );
    });
}
