#![cfg(not(any(loom, shuttle)))]
//! Graceful shutdown: the guide's three failures replayed with its naive versions beside ours
//! (each naive test asserts that the failure is found), then the guarantees of
//! `async_patterns::shutdown` one by one: idempotent trigger, every token sees it, cancel-safe
//! waits, tracking refused after the trigger, `wait` semantics, the deadline report, child scopes
//! and the signal helper. The interleavings of trigger, track and wait are model-checked in
//! `loom-tests/shutdown.rs`.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_patterns::shutdown::{Shutdown, ShutdownToken, SpawnErrorKind, Tracked, Unfinished};
use async_patterns::time::{Clock, ManualClock};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{Instant, sleep};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready, assert_ready_err};

const CLEANUP: Duration = Duration::from_secs(2);
const WORKERS: usize = 5;

#[derive(Clone, Copy, Debug)]
enum Flavor {
    CurrentThreadPaused,
    MultiThread,
}

/// Runs `main` as a program's `main` would: on its own runtime, which is dropped when `main`
/// returns — and with it every task still running, as when the process exits.
fn run_as_main<F: Future<Output = ()>>(flavor: Flavor, main: F) {
    let runtime = match flavor {
        Flavor::CurrentThreadPaused => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build(),
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build(),
    }
    .unwrap();
    runtime.block_on(main);
    drop(runtime);
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn count(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

// ---- the guide's failure 1: sleeping instead of waiting for the workers ---------------------

/// The guide's shutdown: broadcast `()` to the workers, sleep `grace`, return from main. Each
/// worker runs a cleanup of `cleanup` when told to stop, then counts itself flushed.
async fn guide_sleep_shutdown(flushed: Arc<AtomicUsize>, grace: Duration, cleanup: Duration) {
    let (tx, _) = broadcast::channel::<()>(1);
    for _ in 0..WORKERS {
        let mut rx = tx.subscribe();
        let flushed = Arc::clone(&flushed);
        tokio::spawn(async move {
            let _ = rx.recv().await;
            sleep(cleanup).await;
            flushed.fetch_add(1, Ordering::SeqCst);
        });
    }
    tx.send(()).unwrap();
    sleep(grace).await;
}

/// Ours: the same workers, tracked; main triggers and waits for them.
async fn our_shutdown(flushed: Arc<AtomicUsize>, cleanup: Duration) {
    let shutdown = Shutdown::new();
    for _ in 0..WORKERS {
        let token = shutdown.token();
        let flushed = Arc::clone(&flushed);
        shutdown
            .spawn(async move {
                token.triggered().await;
                sleep(cleanup).await;
                flushed.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    shutdown.trigger();
    shutdown.wait().await;
}

#[test]
fn guide_sleep_shutdown_flushes_0_of_5_slow_cleanups() {
    let flushed = counter();
    run_as_main(
        Flavor::CurrentThreadPaused,
        guide_sleep_shutdown(Arc::clone(&flushed), Duration::from_secs(1), CLEANUP),
    );
    assert_eq!(
        count(&flushed),
        0,
        "the guide's 1 s sleep must lose every 2 s cleanup"
    );
}

#[test]
fn guide_sleep_shutdown_flushes_0_of_5_on_the_multi_thread_runtime() {
    // Real time, scaled down: a 20 ms grace against 2 s cleanups.
    let flushed = counter();
    run_as_main(
        Flavor::MultiThread,
        guide_sleep_shutdown(Arc::clone(&flushed), Duration::from_millis(20), CLEANUP),
    );
    assert_eq!(count(&flushed), 0);
}

#[test]
fn our_shutdown_waits_for_all_5_slow_cleanups() {
    let flushed = counter();
    let started = Mutex::new(None);
    run_as_main(Flavor::CurrentThreadPaused, async {
        *started.lock().unwrap() = Some(Instant::now());
        our_shutdown(Arc::clone(&flushed), CLEANUP).await;
        // Waited exactly as long as the cleanups took (they ran concurrently), no longer.
        assert_eq!(started.lock().unwrap().unwrap().elapsed(), CLEANUP);
    });
    assert_eq!(count(&flushed), WORKERS);
}

#[test]
fn our_shutdown_waits_for_all_5_cleanups_on_the_multi_thread_runtime() {
    let flushed = counter();
    run_as_main(
        Flavor::MultiThread,
        our_shutdown(Arc::clone(&flushed), Duration::from_millis(50)),
    );
    assert_eq!(count(&flushed), WORKERS);
}

// ---- the guide's failure 2: the job inside the select! --------------------------------------

/// One job in two steps, 1 s apart; counts its start and its end.
async fn two_step_job(started: &AtomicUsize, finished: &AtomicUsize) {
    started.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_secs(1)).await;
    finished.fetch_add(1, Ordering::SeqCst);
}

struct JobCounts {
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl JobCounts {
    fn new() -> Self {
        JobCounts {
            started: counter(),
            finished: counter(),
        }
    }
}

/// The guide's worker loop: the job itself is a `select!` branch next to the shutdown signal.
async fn guide_select_worker(
    mut stop: broadcast::Receiver<()>,
    mut queue: mpsc::Receiver<()>,
    counts: JobCounts,
) {
    loop {
        tokio::select! {
            _ = stop.recv() => break,
            _ = async {
                if queue.recv().await.is_some() {
                    two_step_job(&counts.started, &counts.finished).await;
                }
            } => {}
        }
    }
}

/// Ours: select on the token only while waiting for the next job; the job runs outside.
async fn our_worker(token: ShutdownToken, mut queue: mpsc::Receiver<()>, counts: JobCounts) {
    loop {
        let job = tokio::select! {
            biased;
            () = token.triggered() => break,
            job = queue.recv() => job,
        };
        if job.is_none() {
            break;
        }
        two_step_job(&counts.started, &counts.finished).await;
    }
}

/// Sends one job, triggers half-way through it, and waits for the worker to end.
async fn shutdown_mid_job(guide: bool) -> (usize, usize) {
    let counts = JobCounts::new();
    let (started, finished) = (Arc::clone(&counts.started), Arc::clone(&counts.finished));
    let (jobs, queue) = mpsc::channel(4);
    jobs.send(()).await.unwrap();
    if guide {
        let (stop, rx) = broadcast::channel(1);
        let worker = tokio::spawn(guide_select_worker(rx, queue, counts));
        sleep(Duration::from_millis(500)).await;
        stop.send(()).unwrap();
        worker.await.unwrap(); // even awaiting the worker does not save the job
    } else {
        let shutdown = Shutdown::new();
        shutdown
            .spawn(our_worker(shutdown.token(), queue, counts))
            .unwrap();
        sleep(Duration::from_millis(500)).await;
        shutdown.trigger();
        shutdown.wait().await;
    }
    (count(&started), count(&finished))
}

#[tokio::test(start_paused = true)]
async fn guide_select_loop_drops_the_in_flight_job_half_way() {
    let (started, finished) = shutdown_mid_job(true).await;
    assert_eq!(
        (started, finished),
        (1, 0),
        "the guide's loop must be caught dropping the job between its steps"
    );
}

#[tokio::test(start_paused = true)]
async fn our_worker_loop_finishes_the_in_flight_job() {
    assert_eq!(shutdown_mid_job(false).await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_worker_loop_finishes_the_in_flight_job_on_the_multi_thread_runtime() {
    assert_eq!(shutdown_mid_job(false).await, (1, 1));
}

// ---- the guide's failure 3: send(()).unwrap() with no receiver left -------------------------

#[tokio::test]
async fn guide_send_unwrap_panics_once_no_receiver_is_left() {
    let (tx, _) = broadcast::channel::<()>(1);
    // The workers ended on their own (an error, the input ran out) and dropped their receivers.
    for _ in 0..3 {
        let rx = tx.subscribe();
        tokio::spawn(async move { drop(rx) }).await.unwrap();
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| tx.send(()).unwrap()));
    let panic = outcome.expect_err("the guide's shutdown must be caught panicking");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("SendError"), "{message}");
}

#[tokio::test]
async fn our_trigger_with_no_listener_left_does_not_panic() {
    let shutdown = Shutdown::new();
    for _ in 0..3 {
        let token = shutdown.token();
        shutdown.spawn(async move { drop(token) }).unwrap();
    }
    sleep(Duration::from_millis(1)).await;
    assert_eq!(shutdown.task_count(), 0);
    shutdown.trigger();
    shutdown.wait().await;
}

#[test]
fn trigger_with_no_token_ever_made_and_no_runtime_does_not_panic() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    assert!(shutdown.is_triggered());
    assert!(shutdown.is_finished());
}

// ---- trigger and tokens ---------------------------------------------------------------------

#[test]
fn trigger_is_idempotent() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    let held = shutdown.track(std::future::pending::<()>()).unwrap();
    for _ in 0..3 {
        shutdown.trigger();
        assert!(token.is_triggered());
        assert_eq!(shutdown.task_count(), 1);
        assert!(!shutdown.is_finished());
    }
    drop(held);
    shutdown.trigger();
    assert!(shutdown.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_triggers_all_return_with_every_token_triggered() {
    for _ in 0..50 {
        let shutdown = Shutdown::new();
        let child = shutdown.child();
        let tokens = [shutdown.token(), child.token(), child.child().token()];
        let triggers: Vec<_> = (0..4)
            .map(|_| {
                let shutdown = shutdown.clone();
                let tokens = tokens.clone();
                tokio::spawn(async move {
                    shutdown.trigger();
                    // Whichever call returns, the trigger has reached every token below.
                    assert!(tokens.iter().all(ShutdownToken::is_triggered));
                })
            })
            .collect();
        for trigger in triggers {
            trigger.await.unwrap();
        }
    }
}

#[test]
fn tokens_made_before_and_after_the_trigger_see_it() {
    let shutdown = Shutdown::new();
    let before = shutdown.token();
    let before_clone = before.clone();
    let mut waiting = spawn(before.triggered());
    let mut waiting_clone = spawn(before_clone.triggered());
    assert!(!before.is_triggered());
    assert_pending!(waiting.poll());
    assert_pending!(waiting_clone.poll());

    shutdown.trigger();
    assert!(waiting.is_woken());
    assert!(waiting_clone.is_woken());
    assert_ready!(waiting.poll());
    assert_ready!(waiting_clone.poll());
    assert!(before.is_triggered());

    let after = shutdown.token();
    assert!(after.is_triggered());
    assert_ready!(spawn(after.triggered()).poll());
    assert_ready!(spawn(after.triggered_owned()).poll());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_pending_triggered_future_is_woken() {
    let shutdown = Shutdown::new();
    let woken = counter();
    let waiters: Vec<_> = (0..200)
        .map(|_| {
            let token = shutdown.token();
            let woken = Arc::clone(&woken);
            tokio::spawn(async move {
                token.triggered().await;
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    tokio::task::yield_now().await;
    shutdown.trigger();
    for waiter in waiters {
        waiter.await.unwrap();
    }
    assert_eq!(count(&woken), 200);
}

#[test]
fn a_dropped_triggered_future_can_be_recreated_and_others_are_still_woken() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    let mut other = spawn(token.triggered());
    assert_pending!(other.poll());

    let mut first = spawn(token.triggered());
    assert_pending!(first.poll());
    drop(first); // e.g. the losing branch of a select!
    let mut again = spawn(token.triggered());
    assert_pending!(again.poll());

    shutdown.trigger();
    assert!(other.is_woken());
    assert!(again.is_woken());
    assert_ready!(other.poll());
    assert_ready!(again.poll());
}

// ---- tracking, and tracking after the trigger -----------------------------------------------

/// A future that counts its polls, and is ready at once.
struct CountPolls(Arc<AtomicUsize>);

impl Future for CountPolls {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<&'static str> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Poll::Ready("ran")
    }
}

#[tokio::test]
async fn track_after_the_trigger_is_refused_and_gives_the_future_back_unpolled() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    let polls = counter();
    let refused = shutdown
        .track_named("late", CountPolls(Arc::clone(&polls)))
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "shutdown already triggered: the future was not tracked"
    );
    assert_eq!(count(&polls), 0);
    assert_eq!(shutdown.task_count(), 0);
    assert_eq!(refused.into_inner().await, "ran");
    assert_eq!(count(&polls), 1);
}

#[tokio::test]
async fn spawn_after_the_trigger_is_refused_and_gives_the_future_back_unpolled() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    let polls = counter();
    let refused = shutdown.spawn(CountPolls(Arc::clone(&polls))).unwrap_err();
    assert_eq!(refused.kind(), SpawnErrorKind::Triggered);
    assert!(refused.is_triggered());
    tokio::task::yield_now().await;
    assert_eq!(count(&polls), 0, "nothing was spawned");
    assert_eq!(shutdown.task_count(), 0);
    assert_eq!(refused.into_inner().await, "ran");
}

#[test]
fn spawn_outside_a_runtime_is_refused_not_a_panic() {
    let shutdown = Shutdown::new();
    let refused = shutdown.spawn(async { 7 }).unwrap_err();
    assert_eq!(refused.kind(), SpawnErrorKind::NoRuntime);
    assert!(
        !refused.is_triggered(),
        "refused for want of a runtime, not a trigger"
    );
    assert_eq!(
        shutdown.task_count(),
        0,
        "a refused spawn leaves nothing counted"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(refused.into_inner()), 7);
}

#[tokio::test]
async fn a_task_tracked_before_the_trigger_may_still_be_spawned_and_is_waited_for() {
    // `track` then `tokio::spawn` by hand: the tracking decision is taken at `track`.
    let shutdown = Shutdown::new();
    let tracked = shutdown.track(sleep(Duration::from_millis(5))).unwrap();
    shutdown.trigger();
    let mut wait = spawn(shutdown.wait());
    assert_pending!(wait.poll());
    tokio::spawn(tracked).await.unwrap();
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
}

// ---- wait ------------------------------------------------------------------------------------

#[test]
fn wait_waits_for_the_trigger_even_with_no_task() {
    let shutdown = Shutdown::new();
    let mut wait = spawn(shutdown.wait());
    assert_pending!(wait.poll());
    shutdown.trigger();
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
    // Final: it keeps returning at once.
    assert_ready!(spawn(shutdown.wait()).poll());
}

#[test]
fn wait_returns_only_after_every_tracked_task_finished() {
    let shutdown = Shutdown::new();
    let (finish_a, a) = oneshot::channel::<()>();
    let (finish_b, b) = oneshot::channel::<()>();
    let mut a = spawn(shutdown.track(a).unwrap());
    let mut b = spawn(shutdown.track(b).unwrap());
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    shutdown.trigger();

    let mut wait = spawn(shutdown.wait());
    assert_pending!(wait.poll());
    finish_a.send(()).unwrap();
    assert!(a.poll().is_ready());
    assert!(!wait.is_woken());
    assert_pending!(wait.poll());
    assert_eq!(shutdown.task_count(), 1);

    finish_b.send(()).unwrap();
    assert!(b.poll().is_ready());
    assert!(wait.is_woken(), "the last task's end wakes wait");
    assert_ready!(wait.poll());
    assert!(shutdown.is_finished());
}

#[test]
fn a_completed_tracked_future_is_finished_before_it_is_dropped() {
    let shutdown = Shutdown::new();
    let mut tracked = spawn(shutdown.track(async { 3 }).unwrap());
    shutdown.trigger();
    assert_eq!(assert_ready!(tracked.poll()), 3);
    assert!(
        shutdown.is_finished(),
        "finished at completion, not at drop"
    );
    drop(tracked);
}

/// Records, when dropped, whether the scope still counted its task then.
struct CheckOnDrop {
    shutdown: Shutdown,
    counted_at_drop: Arc<AtomicUsize>,
}

impl Future for CheckOnDrop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for CheckOnDrop {
    fn drop(&mut self) {
        self.counted_at_drop
            .store(self.shutdown.task_count(), Ordering::SeqCst);
    }
}

#[test]
fn a_dropped_tracked_future_counts_as_finished_after_its_inner_future_is_dropped() {
    let shutdown = Shutdown::new();
    let counted_at_drop = Arc::new(AtomicUsize::new(usize::MAX));
    let tracked: Tracked<CheckOnDrop> = shutdown
        .track(CheckOnDrop {
            shutdown: shutdown.clone(),
            counted_at_drop: Arc::clone(&counted_at_drop),
        })
        .unwrap();
    let mut tracked = spawn(tracked);
    assert_pending!(tracked.poll());
    shutdown.trigger();
    let mut wait = spawn(shutdown.wait());
    assert_pending!(wait.poll());

    drop(tracked); // cancelled
    assert_eq!(
        count(&counted_at_drop),
        1,
        "still counted while the inner future is dropped"
    );
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
}

#[tokio::test]
async fn a_panicking_spawned_task_counts_as_finished() {
    let shutdown = Shutdown::new();
    let task = shutdown.spawn(async { panic!("a job failed") }).unwrap();
    assert!(task.await.unwrap_err().is_panic());
    shutdown.trigger();
    shutdown.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_is_not_lost_when_the_last_task_ends_as_it_is_called() {
    // The loom model checks every interleaving; this checks the real thing on real threads.
    for round in 0..500 {
        let shutdown = Shutdown::new();
        let token = shutdown.token();
        shutdown
            .spawn(async move {
                token.triggered().await;
                tokio::task::yield_now().await;
            })
            .unwrap();
        let trigger = shutdown.clone();
        tokio::spawn(async move { trigger.trigger() });
        tokio::time::timeout(Duration::from_secs(10), shutdown.wait())
            .await
            .unwrap_or_else(|_| panic!("lost wakeup in round {round}"));
    }
}

// ---- the deadline report ---------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn wait_within_reports_the_tasks_that_did_not_finish_and_aborts_the_spawned_ones() {
    let shutdown = Shutdown::new();
    for (name, secs) in [("fast", 1), ("medium", 3), ("slow", 10)] {
        shutdown
            .spawn_named(name, sleep(Duration::from_secs(secs)))
            .unwrap();
    }
    let held = shutdown
        .track_named("held", std::future::pending::<()>())
        .unwrap();
    shutdown.spawn(sleep(Duration::from_secs(60))).unwrap(); // unnamed
    shutdown.trigger();

    let start = Instant::now();
    let unfinished: Unfinished = shutdown
        .wait_within(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(unfinished.was_triggered());
    assert_eq!(unfinished.count(), 3);
    let names: Vec<_> = unfinished.tasks().iter().map(|t| t.name()).collect();
    assert_eq!(names, [Some("slow"), Some("held"), None]);
    let abortable: Vec<_> = unfinished
        .tasks()
        .iter()
        .map(|t| t.is_abortable())
        .collect();
    assert_eq!(abortable, [true, false, true]);
    assert_eq!(
        unfinished.to_string(),
        "shutdown deadline passed with 3 tracked tasks unfinished: #2 \"slow\", #3 \"held\", #4"
    );

    assert_eq!(unfinished.abort(), 2);
    let mut wait = spawn(shutdown.wait());
    tokio::task::yield_now().await;
    assert_pending!(wait.poll(), "the tracked future is still held");
    assert_eq!(shutdown.unfinished().count(), 1);
    drop(held);
    assert_ready!(wait.poll());
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn wait_within_returns_when_the_last_task_ends_not_at_the_deadline() {
    let shutdown = Shutdown::new();
    for secs in [1, 2, 3] {
        shutdown.spawn(sleep(Duration::from_secs(secs))).unwrap();
    }
    shutdown.trigger();
    let start = Instant::now();
    shutdown.wait_within(Duration::from_secs(30)).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn wait_within_reports_a_shutdown_that_was_never_triggered() {
    let shutdown = Shutdown::new();
    let unfinished = shutdown
        .wait_within(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(!unfinished.was_triggered());
    assert_eq!(unfinished.count(), 0);
    assert_eq!(
        unfinished.to_string(),
        "shutdown deadline passed before the shutdown was triggered"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_within_a_huge_timeout_waits_without_a_deadline() {
    let shutdown = Shutdown::new();
    shutdown.spawn(sleep(Duration::from_secs(1))).unwrap();
    shutdown.trigger();
    shutdown.wait_within(Duration::MAX).await.unwrap();
}

#[test]
fn wait_until_with_clock_on_a_manual_clock_reports_at_the_deadline() {
    let clock = ManualClock::new();
    let shutdown = Shutdown::new();
    let held = shutdown
        .track_named("held", std::future::pending::<()>())
        .unwrap();
    shutdown.trigger();
    let deadline = clock.now() + Duration::from_secs(10);
    let mut wait = spawn(shutdown.wait_until_with_clock(&clock, deadline));
    assert_pending!(wait.poll());
    clock.advance(Duration::from_secs(9));
    assert_pending!(wait.poll());
    clock.advance(Duration::from_secs(1));
    assert!(wait.is_woken());
    let unfinished = assert_ready_err!(wait.poll());
    assert_eq!(unfinished.tasks()[0].name(), Some("held"));
    drop(held);

    let mut again = spawn(shutdown.wait_until_with_clock(&clock, deadline));
    assert!(
        assert_ready!(again.poll()).is_ok(),
        "finished wins even after the deadline"
    );
}

// ---- child scopes ------------------------------------------------------------------------------

#[test]
fn triggering_the_parent_triggers_its_children_and_grandchildren() {
    let parent = Shutdown::new();
    let child = parent.child();
    let grandchild = child.child();
    let mut child_waiting = spawn(child.token().triggered_owned());
    let mut grandchild_waiting = spawn(grandchild.token().triggered_owned());
    assert_pending!(child_waiting.poll());
    assert_pending!(grandchild_waiting.poll());

    parent.trigger();
    assert!(child.is_triggered() && grandchild.is_triggered());
    assert!(child_waiting.is_woken() && grandchild_waiting.is_woken());
    assert_ready!(child_waiting.poll());
    assert_ready!(grandchild_waiting.poll());
    assert!(child.track(async {}).is_err());
    assert!(grandchild.track(async {}).is_err());
}

#[test]
fn triggering_a_child_leaves_the_parent_and_siblings_untriggered() {
    let parent = Shutdown::new();
    let child = parent.child();
    let sibling = parent.child();
    child.trigger();
    assert!(child.is_triggered());
    assert!(!parent.is_triggered());
    assert!(!sibling.is_triggered());
    assert!(parent.track(async {}).is_ok());
    assert!(sibling.track(async {}).is_ok());
    assert!(child.track(async {}).is_err());
}

#[test]
fn the_parent_waits_for_its_childrens_tasks() {
    let parent = Shutdown::new();
    let child = parent.child();
    let grandchild = child.child();
    let (finish, task) = oneshot::channel::<()>();
    let mut task = spawn(grandchild.track_named("deep", task).unwrap());
    assert_pending!(task.poll());
    assert_eq!(parent.task_count(), 1);
    assert_eq!(child.task_count(), 1);
    drop((child, grandchild)); // the task keeps its scope registered

    parent.trigger();
    let mut wait = spawn(parent.wait());
    assert_pending!(wait.poll());
    assert_eq!(parent.unfinished().tasks()[0].name(), Some("deep"));
    finish.send(()).unwrap();
    assert!(task.poll().is_ready());
    assert!(wait.is_woken());
    assert_ready!(wait.poll());
}

#[test]
fn a_childs_wait_does_not_wait_for_its_parents_tasks() {
    let parent = Shutdown::new();
    let child = parent.child();
    let _parent_task = parent.track(std::future::pending::<()>()).unwrap();
    child.trigger();
    assert_ready!(spawn(child.wait()).poll());
    parent.trigger();
    assert_pending!(spawn(parent.wait()).poll());
}

#[test]
fn a_child_made_after_the_trigger_is_born_triggered_and_finished() {
    let parent = Shutdown::new();
    parent.trigger();
    let child = parent.child();
    assert!(child.is_triggered());
    assert!(child.is_finished());
    assert!(child.track(async {}).is_err());
    assert_ready!(spawn(child.token().triggered_owned()).poll());
}

#[test]
fn a_dropped_child_scope_is_forgotten_by_its_parent() {
    let parent = Shutdown::new();
    let child = parent.child();
    let token = child.token();
    assert!(format!("{parent:?}").contains("children: 1"), "{parent:?}");
    drop(child);
    assert!(
        format!("{parent:?}").contains("children: 1"),
        "the token keeps it"
    );
    drop(token);
    assert!(format!("{parent:?}").contains("children: 0"), "{parent:?}");
}

#[tokio::test(start_paused = true)]
async fn children_serve_a_connection_each_and_the_server_waits_for_all() {
    // The usual shape: one child scope per connection, so a connection can be closed on its own
    // and the server's shutdown still waits for every connection's tasks.
    let server = Shutdown::new();
    let closed = counter();
    let mut connections = Vec::new();
    for i in 1..=3u64 {
        let connection = server.child();
        let token = connection.token();
        let closed = Arc::clone(&closed);
        connection
            .spawn(async move {
                token.triggered().await;
                sleep(Duration::from_secs(i)).await; // say goodbye
                closed.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        connections.push(connection);
    }
    connections[0].trigger(); // one client leaves early
    connections[0].wait().await;
    assert_eq!(count(&closed), 1);
    assert!(!server.is_triggered());

    let start = Instant::now();
    server.trigger();
    server.wait().await;
    assert_eq!(count(&closed), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

// ---- types -------------------------------------------------------------------------------------

#[test]
fn handles_tokens_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    send_sync(&shutdown);
    send_sync(&token);
    send(&token.triggered());
    send(&shutdown.wait());
    send(&shutdown.wait_within(Duration::from_secs(1)));
    send_sync(&shutdown.track(async {}).unwrap());
    send_sync(&shutdown.unfinished());
    let _: Box<dyn std::error::Error + Send + Sync> = Box::new(shutdown.unfinished());
}

// ---- the signal helper -------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn trigger_on_signal_triggers_on_sigterm() {
    use async_patterns::shutdown::Signal;

    let shutdown = Shutdown::new();
    // Installed before it returns: the signal sent next cannot be missed (nor kill the tests).
    let on_signal = shutdown.trigger_on_signal().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", std::process::id()))
        .status()
        .unwrap();
    assert!(status.success());
    let signal = tokio::time::timeout(Duration::from_secs(10), on_signal)
        .await
        .expect("SIGTERM was not seen");
    assert_eq!(signal, Signal::Terminate);
    assert!(shutdown.is_triggered());
}

#[cfg(unix)]
#[test]
fn trigger_on_signal_outside_a_runtime_is_an_error() {
    let shutdown = Shutdown::new();
    assert!(shutdown.trigger_on_signal().is_err());
    assert!(!shutdown.is_triggered());
}

#[test]
fn debug_shows_the_state() {
    let shutdown = Shutdown::new();
    let _task = shutdown.track(std::future::pending::<()>()).unwrap();
    assert_eq!(
        format!("{shutdown:?}"),
        "Shutdown { triggered: false, task_count: 1, children: 0, finished: false }"
    );
    assert_eq!(
        format!("{:?}", shutdown.token()),
        "ShutdownToken { triggered: false }"
    );
}
