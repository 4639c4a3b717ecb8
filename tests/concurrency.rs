#![cfg(not(any(loom, shuttle)))]
//! Behaviour of the concurrency limiter and the bounded maps on a real tokio runtime: the limit
//! (in flight and alive, both runtime flavours, 200 000 inputs), FIFO, cancel safety of `run`
//! (queued and running), panics, typed errors; and the checker's self-test against the naive
//! "spawn everything, then limit with a semaphore" version, which it must reject.
//!
//! Two gauges are kept by the jobs themselves, so they measure what exists, not what the library
//! reports: `alive` counts a job from the moment its future is *created* until it is dropped,
//! `running` from its first poll until it ends. The random-job version of these checks, against a
//! list-scheduling model in paused time, is `concurrency_model.rs`.

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::Poll;
use std::time::Duration;

use async_patterns::concurrency::{ConcurrencyLimiter, LimitError, TaskError};
use async_patterns::sync::Semaphore;
use futures::StreamExt;
use tokio::time::timeout;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

// ---------------------------------------------------------------------------------------------
// Gauges and jobs
// ---------------------------------------------------------------------------------------------

/// Counts how many of something exist at once, and the peak.
#[derive(Clone, Default)]
struct Gauge(Arc<GaugeCounts>);

#[derive(Default)]
struct GaugeCounts {
    now: AtomicUsize,
    peak: AtomicUsize,
    entered: AtomicUsize,
}

/// One unit counted by a [`Gauge`] until dropped.
struct Counted(Gauge);

impl Gauge {
    fn enter(&self) -> Counted {
        let now = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
        self.0.entered.fetch_add(1, Ordering::SeqCst);
        Counted(self.clone())
    }

    fn now(&self) -> usize {
        self.0.now.load(Ordering::SeqCst)
    }

    fn peak(&self) -> usize {
        self.0.peak.load(Ordering::SeqCst)
    }

    fn entered(&self) -> usize {
        self.0.entered.load(Ordering::SeqCst)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The job every implementation under test runs for input `i`: counted `alive` from creation,
/// `running` from its first poll; yields once (so others interleave) and returns `2 * i`, or
/// panics with a message naming `i` when `panics(i)`.
#[derive(Clone, Default)]
struct Jobs {
    alive: Gauge,
    running: Gauge,
    panic_every: Option<usize>,
}

type BoxJob = Pin<Box<dyn Future<Output = usize> + Send>>;

impl Jobs {
    fn panicking_every(n: usize) -> Self {
        Jobs {
            panic_every: Some(n),
            ..Jobs::default()
        }
    }

    fn panics(&self, i: usize) -> bool {
        self.panic_every.is_some_and(|n| i % n == n - 1)
    }

    fn make(&self, i: usize) -> BoxJob {
        let alive = self.alive.enter();
        let running = self.running.clone();
        let panics = self.panics(i);
        Box::pin(async move {
            let _alive = alive;
            let _running = running.enter();
            tokio::task::yield_now().await;
            if panics {
                panic!("deliberate panic: job {i}");
            }
            2 * i
        })
    }
}

/// Deliberate panics are expected; keeps them out of the test output (other panics print as
/// usual). The hook is process-wide, hence installed once and filtering by message.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = payload_message(info.payload()).unwrap_or_default();
            if !message.starts_with("deliberate panic") {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// The bounded-map checker, and the implementations it is run on
// ---------------------------------------------------------------------------------------------

/// What one run of a bounded-map implementation showed.
#[derive(Debug)]
struct Observed {
    limit: usize,
    inputs: usize,
    alive_peak: usize,
    running_peak: usize,
    /// How many times each input was answered.
    answers: Vec<usize>,
    /// Answers that were not what the job returns (or panicked without the job's message).
    wrong: Vec<String>,
}

/// Runs `implementation` over `inputs` inputs with `limit` and gathers what the jobs saw.
async fn observe<Run, Done>(
    limit: usize,
    inputs: usize,
    jobs: Jobs,
    implementation: Run,
) -> Observed
where
    Run: FnOnce(usize, usize, Jobs) -> Done,
    Done: Future<Output = Vec<(usize, Result<usize, Option<String>>)>>,
{
    let results = implementation(limit, inputs, jobs.clone()).await;
    let mut answers = vec![0; inputs];
    let mut wrong = Vec::new();
    for (i, result) in results {
        answers[i] += 1;
        let expected_panic = format!("deliberate panic: job {i}");
        match result {
            Ok(output) if !jobs.panics(i) && output == 2 * i => {}
            Err(Some(message)) if jobs.panics(i) && message == expected_panic => {}
            other => wrong.push(format!("input {i}: {other:?}")),
        }
    }
    Observed {
        limit,
        inputs,
        alive_peak: jobs.alive.peak(),
        running_peak: jobs.running.peak(),
        answers,
        wrong,
    }
}

/// The property: never more than `limit` futures alive (so never more running), and every input
/// answered exactly once, correctly.
fn check(observed: &Observed) -> Result<(), String> {
    let limit = observed.limit;
    if observed.alive_peak > limit {
        return Err(format!(
            "{} futures were alive at once for a limit of {limit} ({} inputs)",
            observed.alive_peak, observed.inputs
        ));
    }
    if observed.running_peak > limit {
        return Err(format!(
            "{} futures were running at once for a limit of {limit}",
            observed.running_peak
        ));
    }
    if let Some((i, times)) = observed.answers.iter().enumerate().find(|(_, n)| **n != 1) {
        return Err(format!("input {i} was answered {times} times"));
    }
    if let Some(wrong) = observed.wrong.first() {
        return Err(format!("wrong answer: {wrong}"));
    }
    Ok(())
}

type Answers = Vec<(usize, Result<usize, Option<String>>)>;

async fn with_bounded_map(limit: usize, inputs: usize, jobs: Jobs) -> Answers {
    let limiter = ConcurrencyLimiter::new(limit).unwrap();
    let mut map = limiter.bounded_map(0..inputs, |&i| jobs.make(i));
    let mut answers = Vec::with_capacity(inputs);
    while let Some((i, result)) = map.next().await {
        assert!(map.in_flight() <= limit);
        answers.push((i, result.map_err(|p| p.message().map(str::to_owned))));
    }
    assert_eq!(limiter.in_flight(), 0, "a slot was not given back");
    answers
}

async fn with_spawned_bounded_map(limit: usize, inputs: usize, jobs: Jobs) -> Answers {
    let limiter = ConcurrencyLimiter::new(limit).unwrap();
    let mut map = limiter.spawn_bounded_map(0..inputs, |&i| jobs.make(i));
    let mut answers = Vec::with_capacity(inputs);
    while let Some((i, result)) = map.next().await {
        assert!(map.in_flight() <= limit);
        let result = result.map_err(|error| match error {
            TaskError::Panicked(p) => p.message().map(str::to_owned),
            other => Some(format!("unexpected: {other}")),
        });
        answers.push((i, result));
    }
    assert_eq!(limiter.in_flight(), 0, "a slot was not given back");
    answers
}

/// The seed guide's version: spawn a task per input at once, each waiting for a permit before it
/// runs. The semaphore limits how many *run*; nothing limits how many *exist*.
async fn naive_spawn_everything_then_limit(limit: usize, inputs: usize, jobs: Jobs) -> Answers {
    let semaphore = Arc::new(Semaphore::new(limit));
    let tasks: Vec<_> = (0..inputs)
        .map(|i| {
            let job = jobs.make(i);
            let semaphore = Arc::clone(&semaphore);
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.unwrap();
                job.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(inputs);
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task
            .await
            .map_err(|error| payload_message(&*error.into_panic()));
        answers.push((i, result));
    }
    answers
}

/// The message of a panic payload, as the default hook reads it.
fn payload_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Constructor
// ---------------------------------------------------------------------------------------------

#[test]
fn new_rejects_a_limit_of_zero_with_a_typed_error() {
    let error = ConcurrencyLimiter::new(0).unwrap_err();
    assert_eq!(error, LimitError::Zero);
    assert_eq!(
        error.to_string(),
        "a concurrency limit of 0 would never let anything run"
    );
    let _: &dyn std::error::Error = &error;
}

#[test]
fn new_rejects_a_limit_above_max_permits_with_a_typed_error() {
    let too_many = Semaphore::MAX_PERMITS + 1;
    let error = ConcurrencyLimiter::new(too_many).unwrap_err();
    assert_eq!(
        error,
        LimitError::TooLarge {
            requested: too_many,
            max: Semaphore::MAX_PERMITS
        }
    );
    assert!(error.to_string().contains(&too_many.to_string()));
    assert_eq!(
        ConcurrencyLimiter::new(Semaphore::MAX_PERMITS)
            .unwrap()
            .limit(),
        Semaphore::MAX_PERMITS
    );
}

#[test]
fn clones_share_the_same_slots_and_debug_shows_them() {
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let clone = limiter.clone();
    let held = clone.try_run(pending::<()>()).unwrap();
    assert_eq!(limiter.in_flight(), 1);
    assert_eq!(
        format!("{limiter:?}"),
        "ConcurrencyLimiter { limit: 2, in_flight: 1 }"
    );
    drop(held);
    assert_eq!(limiter.in_flight(), 0);
}

// ---------------------------------------------------------------------------------------------
// run / try_run: poll-level contracts
// ---------------------------------------------------------------------------------------------

#[test]
fn run_does_not_poll_the_future_before_it_holds_a_slot() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let holder = limiter.try_run(pending::<()>()).unwrap();
    let polled = Arc::new(AtomicBool::new(false));
    let future = {
        let polled = Arc::clone(&polled);
        poll_fn(move |_| {
            polled.store(true, Ordering::SeqCst);
            Poll::Ready(5)
        })
    };
    let mut waiting = spawn(limiter.run(future));
    assert_pending!(waiting.poll());
    assert!(!polled.load(Ordering::SeqCst), "polled without a slot");

    drop(holder);
    assert!(waiting.is_woken());
    assert_eq!(assert_ready!(waiting.poll()), 5);
    assert!(polled.load(Ordering::SeqCst));
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn run_grants_slots_in_the_order_the_callers_started_waiting() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let holder = limiter.try_run(pending::<()>()).unwrap();
    let mut waiters: Vec<_> = (0..4)
        .map(|i| {
            let order = Arc::clone(&order);
            spawn(limiter.run(async move { order.lock().unwrap().push(i) }))
        })
        .collect();
    // Start waiting in the order 2, 0, 3, 1.
    for i in [2, 0, 3, 1] {
        assert_pending!(waiters[i].poll());
    }
    drop(holder);
    // Each completion hands the slot to the next in line; poll all, repeatedly, in index order,
    // so that index order would win if FIFO did not hold.
    while order.lock().unwrap().len() < 4 {
        for waiter in &mut waiters {
            if !waiter.is_woken() {
                continue;
            }
            let _ = waiter.poll();
        }
    }
    assert_eq!(*order.lock().unwrap(), [2, 0, 3, 1]);
}

#[test]
fn slot_is_held_until_the_future_is_dropped() {
    /// Records how many slots were taken when it was dropped.
    struct OnDrop(ConcurrencyLimiter, Arc<AtomicUsize>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.1.store(self.0.in_flight(), Ordering::SeqCst);
        }
    }
    let limiter = ConcurrencyLimiter::new(3).unwrap();
    let seen = Arc::new(AtomicUsize::new(usize::MAX));

    // Completed.
    let guard = OnDrop(limiter.clone(), Arc::clone(&seen));
    let mut done = spawn(limiter.run(async move {
        let _guard = guard;
    }));
    assert_ready!(done.poll());
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "slot freed before the future was dropped"
    );
    assert_eq!(limiter.in_flight(), 0);

    // Cancelled while running.
    let guard = OnDrop(limiter.clone(), Arc::clone(&seen));
    let mut running = spawn(limiter.run(async move {
        let _guard = guard;
        pending::<()>().await;
    }));
    assert_pending!(running.poll());
    drop(running);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "slot freed before the future was dropped"
    );
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn try_run_admits_when_a_slot_is_free_and_hands_the_future_back_when_not() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let admitted = limiter.try_run(async { 1 }).unwrap();
    assert_eq!(
        limiter.in_flight(),
        1,
        "an admitted future holds its slot at once"
    );
    let busy = limiter.try_run(async { 2 }).unwrap_err();
    assert_eq!(
        busy.to_string(),
        "every slot of the concurrency limiter is taken or queued for"
    );
    let mut admitted = spawn(admitted);
    assert_eq!(assert_ready!(admitted.poll()), 1);
    drop(admitted);
    // The future handed back is intact: run it now.
    let mut again = spawn(limiter.try_run(busy.into_inner()).unwrap());
    assert_eq!(assert_ready!(again.poll()), 2);
}

#[test]
fn try_run_never_overtakes_a_queued_run() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let holder = limiter.try_run(pending::<()>()).unwrap();
    let mut queued = spawn(limiter.run(async { "first in line" }));
    assert_pending!(queued.poll());
    drop(holder);
    // The slot is granted to the queued waiter, not to the newcomer.
    assert!(limiter.try_run(async {}).is_err());
    assert_eq!(assert_ready!(queued.poll()), "first in line");
    assert!(limiter.try_run(async {}).is_ok());
}

// ---------------------------------------------------------------------------------------------
// run: cancellation by timeout, panics
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn run_cancelled_by_timeout_while_queued_frees_its_place() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(limiter.run(async move {
        released.await.ok();
    }));
    while limiter.in_flight() == 0 {
        tokio::task::yield_now().await;
    }

    let polled = Arc::new(AtomicBool::new(false));
    let cancelled = {
        let polled = Arc::clone(&polled);
        limiter.run(async move { polled.store(true, Ordering::SeqCst) })
    };
    assert!(
        timeout(Duration::from_millis(10), cancelled).await.is_err(),
        "no slot was free: the queued run must time out"
    );
    assert!(!polled.load(Ordering::SeqCst));

    // Had the cancelled waiter kept its place, the slot would go to it and never come back.
    let next = tokio::spawn(limiter.run(async { 7 }));
    release.send(()).unwrap();
    holder.await.unwrap();
    let next = timeout(Duration::from_secs(1), next).await;
    assert_eq!(
        next.expect("the slot went to the cancelled waiter")
            .unwrap(),
        7
    );
    assert_eq!(limiter.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn run_cancelled_by_timeout_while_running_frees_its_slot() {
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let running = Gauge::default();
    let job = {
        let running = running.clone();
        async move {
            let _running = running.enter();
            pending::<()>().await;
        }
    };
    assert!(
        timeout(Duration::from_millis(10), limiter.run(job))
            .await
            .is_err()
    );
    assert_eq!(running.entered(), 1, "the future did run");
    assert_eq!(running.now(), 0, "the future was dropped");
    assert_eq!(limiter.in_flight(), 0);
    assert_eq!(limiter.try_run(async { 3 }).unwrap().await, 3);
}

#[tokio::test]
async fn run_frees_its_slot_when_the_future_panics() {
    quiet_deliberate_panics();
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let task = tokio::spawn(limiter.run(async { panic!("deliberate panic: in run") }));
    let error = task.await.unwrap_err();
    assert!(error.is_panic());
    assert_eq!(limiter.in_flight(), 0);
    assert_eq!(limiter.run(async { 1 }).await, 1);
}

// ---------------------------------------------------------------------------------------------
// The limit under load: both flavours, 200 000 inputs
// ---------------------------------------------------------------------------------------------

const MANY: usize = 200_000;

#[tokio::test(flavor = "current_thread")]
async fn bounded_map_keeps_at_most_limit_futures_alive_over_200k_inputs() {
    let observed = observe(8, MANY, Jobs::default(), with_bounded_map).await;
    check(&observed).unwrap();
    assert_eq!(
        observed.alive_peak, 8,
        "the limit was never reached: the test is vacuous"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn spawned_bounded_map_keeps_at_most_limit_tasks_alive_over_200k_inputs() {
    let observed = observe(8, MANY, Jobs::default(), with_spawned_bounded_map).await;
    check(&observed).unwrap();
    assert_eq!(
        observed.alive_peak, 8,
        "the limit was never reached: the test is vacuous"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounded_map_keeps_at_most_limit_in_flight_on_the_multi_thread_runtime() {
    for limit in [1, 3, 16] {
        let observed = observe(limit, 20_000, Jobs::default(), with_bounded_map).await;
        check(&observed).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spawned_bounded_map_keeps_at_most_limit_in_flight_on_the_multi_thread_runtime() {
    for limit in [1, 3, 16] {
        let observed = observe(limit, 20_000, Jobs::default(), with_spawned_bounded_map).await;
        check(&observed).unwrap();
    }
}

/// `run` bounds the futures *running* (not the tasks that wait to run): check it on both flavours
/// with every task spawned up front.
async fn run_keeps_at_most_limit_running(limit: usize, tasks: usize) {
    let limiter = ConcurrencyLimiter::new(limit).unwrap();
    let jobs = Jobs::default();
    let handles: Vec<_> = (0..tasks)
        .map(|i| tokio::spawn(limiter.run(jobs.make(i))))
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap(), 2 * i);
    }
    assert!(
        jobs.running.peak() <= limit,
        "{} running at once for a limit of {limit}",
        jobs.running.peak()
    );
    assert_eq!(limiter.in_flight(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn run_keeps_at_most_limit_in_flight_on_the_current_thread_runtime() {
    for limit in [1, 3, 16] {
        run_keeps_at_most_limit_running(limit, 5_000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_keeps_at_most_limit_in_flight_on_the_multi_thread_runtime() {
    for limit in [1, 3, 16] {
        run_keeps_at_most_limit_running(limit, 5_000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maps_and_run_share_the_limiters_slots() {
    let limiter = ConcurrencyLimiter::new(4).unwrap();
    let jobs = Jobs::default();
    let runs: Vec<_> = (0..2_000)
        .map(|i| tokio::spawn(limiter.run(jobs.make(i))))
        .collect();
    let local = limiter
        .bounded_map(0..2_000, |&i| jobs.make(i))
        .collect_in_input_order();
    let spawned = limiter
        .spawn_bounded_map(0..2_000, |&i| jobs.make(i))
        .collect_in_input_order();
    let (local, spawned) = tokio::join!(local, spawned);
    for run in runs {
        run.await.unwrap();
    }
    assert_eq!(local.len() + spawned.len(), 4_000);
    assert!(jobs.running.peak() <= 4, "{} running", jobs.running.peak());
    assert_eq!(limiter.in_flight(), 0);
}

// ---------------------------------------------------------------------------------------------
// Maps: pulling, answers, panics, order, drop
// ---------------------------------------------------------------------------------------------

#[test]
fn bounded_map_pulls_the_next_input_only_when_a_slot_frees() {
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let gates: Vec<_> = (0..4).map(|_| tokio::sync::Notify::new()).collect();
    let gates = Arc::new(gates);
    let inputs = {
        let pulled = Arc::clone(&pulled);
        (0..4usize).inspect(move |_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        })
    };
    let mut map = spawn(limiter.bounded_map(inputs, |&i| {
        let gates = Arc::clone(&gates);
        async move { gates[i].notified().await }
    }));
    assert_pending!(map.poll_next());
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        2,
        "pulled beyond the free slots"
    );

    gates[1].notify_one();
    assert!(map.is_woken());
    let (input, result) = assert_ready!(map.poll_next()).unwrap();
    assert_eq!((input, result), (1, Ok(())));
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        2,
        "pulled before being polled again"
    );
    assert_pending!(map.poll_next());
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
    assert_eq!(limiter.in_flight(), 2);
}

#[tokio::test]
async fn every_input_is_answered_exactly_once_and_handed_back() {
    let limiter = ConcurrencyLimiter::new(5).unwrap();
    let inputs: Vec<String> = (0..1_000).map(|i| format!("input {i}")).collect();
    let mut seen: Vec<(String, usize)> = limiter
        .bounded_map(inputs.clone(), |s| {
            let len = s.len();
            async move {
                tokio::task::yield_now().await;
                len
            }
        })
        .map(|(input, len)| (input, len.unwrap()))
        .collect()
        .await;
    seen.sort();
    let mut expected: Vec<_> = inputs
        .into_iter()
        .map(|s| {
            let len = s.len();
            (s, len)
        })
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_future_loses_no_other_result_and_its_message_is_reported() {
    quiet_deliberate_panics();
    let jobs = Jobs::panicking_every(7);
    let observed = observe(4, 1_000, jobs.clone(), with_bounded_map).await;
    check(&observed).unwrap();

    let jobs = Jobs::panicking_every(7);
    let observed = observe(4, 1_000, jobs, with_spawned_bounded_map).await;
    check(&observed).unwrap();
}

#[tokio::test]
async fn a_non_string_panic_is_reported_without_a_message() {
    quiet_deliberate_panics();
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let results = limiter
        .bounded_map([1], |_| async { std::panic::panic_any(42_u8) })
        .collect_in_input_order()
        .await;
    let panicked = results[0].1.as_ref().unwrap_err();
    assert_eq!(panicked.message(), None);
    assert_eq!(
        panicked.to_string(),
        "the future panicked with a non-string payload"
    );
}

#[tokio::test]
async fn collect_in_input_order_returns_results_in_input_order() {
    let limiter = ConcurrencyLimiter::new(4).unwrap();
    // Later inputs finish first.
    let delay = |i: u64| Duration::from_millis(50 - i);
    let local = limiter
        .bounded_map(0..50u64, |&i| async move {
            tokio::time::sleep(delay(i)).await;
            i
        })
        .collect_in_input_order()
        .await;
    let spawned = limiter
        .spawn_bounded_map(0..50u64, |&i| async move {
            tokio::time::sleep(delay(i)).await;
            i
        })
        .collect_in_input_order()
        .await;
    for results in [
        local
            .into_iter()
            .map(|(i, r)| (i, r.unwrap()))
            .collect::<Vec<_>>(),
        spawned.into_iter().map(|(i, r)| (i, r.unwrap())).collect(),
    ] {
        let expected: Vec<_> = (0..50).map(|i| (i, i)).collect();
        assert_eq!(results, expected);
    }
}

#[tokio::test]
async fn an_empty_input_ends_at_once_and_takes_no_slot() {
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let mut map = limiter.bounded_map(Vec::<u8>::new(), |_| async {});
    assert!(map.next().await.is_none());
    assert!(futures::stream::FusedStream::is_terminated(&map));
    let mut spawned = limiter.spawn_bounded_map(Vec::<u8>::new(), |_| async {});
    assert!(spawned.next().await.is_none());
    assert_eq!(limiter.in_flight(), 0);
}

#[tokio::test]
async fn dropping_a_map_drops_its_futures_and_frees_their_slots() {
    let limiter = ConcurrencyLimiter::new(3).unwrap();
    let jobs = Jobs::default();
    let make = |&i: &usize| {
        let job = jobs.make(i);
        async move {
            if i % 2 == 0 {
                pending::<()>().await;
            }
            job.await
        }
    };

    let mut map = limiter.bounded_map(0..100, make);
    assert!(map.next().await.is_some());
    assert_eq!(limiter.in_flight(), 3);
    drop(map);
    assert_eq!(jobs.alive.now(), 0, "a future outlived the map");
    assert_eq!(limiter.in_flight(), 0);

    let mut spawned = limiter.spawn_bounded_map(0..100, make);
    assert!(spawned.next().await.is_some());
    drop(spawned);
    // Aborted tasks drop their futures (and slots) when the runtime gets to them.
    while limiter.in_flight() > 0 || jobs.alive.now() > 0 {
        tokio::task::yield_now().await;
    }
}

/// The maps and `run`'s future are `Send` and `'static` when the jobs are, so they can live
/// inside a spawned task (checked by compiling `tokio::spawn` on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_and_run_can_be_moved_into_spawned_tasks() {
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let local = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            limiter
                .bounded_map(0..10u32, |&i| async move { i + 1 })
                .collect_in_input_order()
                .await
        })
    };
    let spawned = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            limiter
                .spawn_bounded_map(0..10u32, |&i| async move { i + 1 })
                .collect_in_input_order()
                .await
        })
    };
    let run = tokio::spawn(limiter.run(async { 1 }));
    assert_eq!(local.await.unwrap().len(), 10);
    assert_eq!(spawned.await.unwrap().len(), 10);
    assert_eq!(run.await.unwrap(), 1);
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn debug_output_names_the_state() {
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let map = limiter.bounded_map(0..3, |_| async {});
    let debug = format!("{map:?}");
    assert!(
        debug.starts_with("BoundedMap { limiter: ConcurrencyLimiter { limit: 2"),
        "{debug}"
    );
    let admitted = limiter.try_run(async {}).unwrap();
    assert!(format!("{admitted:?}").starts_with("Admitted { slot: OwnedSemaphorePermit"));
    let _second = limiter.try_run(async {}).unwrap();
    let busy = limiter.try_run(async {}).unwrap_err();
    assert_eq!(format!("{busy:?}"), "Busy { .. }");
}

// ---------------------------------------------------------------------------------------------
// Self-test: the checker rejects the naive version
// ---------------------------------------------------------------------------------------------

/// The checker has teeth: on the seed guide's "spawn everything, then limit with a semaphore",
/// the running count stays within the limit (the semaphore does its job) but the alive count
/// shows every future created at once — the bug this module exists to prevent.
#[tokio::test(flavor = "current_thread")]
async fn checker_catches_naive_spawn_everything_then_limit_with_a_semaphore() {
    let limit = 8;
    let observed = observe(
        limit,
        MANY,
        Jobs::default(),
        naive_spawn_everything_then_limit,
    )
    .await;
    let violation = check(&observed).expect_err("the checker accepted the naive version");
    println!("naive version rejected: {violation}");
    assert!(
        observed.alive_peak >= MANY / 2,
        "expected about {MANY} futures alive at once, saw {}",
        observed.alive_peak
    );
    assert!(
        observed.running_peak <= limit,
        "the semaphore part should hold"
    );
    assert!(
        violation.starts_with(&format!(
            "{} futures were alive at once",
            observed.alive_peak
        )),
        "{violation}"
    );
}

/// The map's own accounting, as a caller sees it between results: how many futures are alive,
/// how many results are still owed (`size_hint`), and whether the stream is finished for good.
#[tokio::test(start_paused = true)]
async fn a_bounded_map_reports_in_flight_results_owed_and_termination() {
    use futures::stream::{FusedStream, Stream};
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    assert_eq!(limiter.limit(), 2);
    let mut map = limiter.bounded_map(0..3u64, |&i| {
        tokio::time::sleep(Duration::from_millis(10 * (i + 1)))
    });
    assert_eq!(
        (map.in_flight(), Stream::size_hint(&map)),
        (0, (3, Some(3)))
    );
    assert!(!map.is_terminated());
    let (first, _) = map.next().await.unwrap();
    assert_eq!(first, 0);
    // Inputs 0 and 1 started; 0 is done, 1 still runs, 2 is not pulled yet.
    assert_eq!(
        (map.in_flight(), Stream::size_hint(&map)),
        (1, (2, Some(2)))
    );
    // The slot input 0 freed went straight to the map's queued acquire, reserved for input 2.
    assert_eq!(limiter.in_flight(), 2);
    assert!(!map.is_terminated());
    let rest: Vec<u64> = map.by_ref().map(|(input, _)| input).collect().await;
    assert_eq!(rest, [1, 2]);
    assert_eq!(
        (map.in_flight(), Stream::size_hint(&map)),
        (0, (0, Some(0)))
    );
    assert!(map.is_terminated());
}

/// The spawned map's accounting, as for the plain map: results still owed and termination.
#[tokio::test(start_paused = true)]
async fn a_spawned_bounded_map_reports_results_owed_and_termination() {
    use futures::stream::{FusedStream, Stream};
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let mut map = limiter.spawn_bounded_map(0..3u64, |&i| {
        tokio::time::sleep(Duration::from_millis(10 * (i + 1)))
    });
    assert_eq!(Stream::size_hint(&map), (3, Some(3)));
    assert!(!map.is_terminated());
    let (first, _) = map.next().await.unwrap();
    assert_eq!(first, 0);
    assert_eq!(Stream::size_hint(&map), (2, Some(2)));
    let rest: Vec<u64> = map.by_ref().map(|(input, _)| input).collect().await;
    assert_eq!(rest, [1, 2]);
    assert_eq!(Stream::size_hint(&map), (0, Some(0)));
    assert!(map.is_terminated());
}

#[tokio::test]
async fn task_errors_say_what_happened() {
    use std::error::Error as _;
    assert_eq!(
        TaskError::Cancelled.to_string(),
        "the task was cancelled before it finished"
    );
    assert!(TaskError::Cancelled.source().is_none());
    quiet_deliberate_panics();
    let limiter = ConcurrencyLimiter::new(1).unwrap();
    let mut map = limiter.spawn_bounded_map([7], |_| async { panic!("deliberate panic: boom") });
    let (_, result): (u32, Result<(), TaskError>) = map.next().await.unwrap();
    let error = result.unwrap_err();
    let panicked = error.as_panicked().expect("a panicked task");
    assert_eq!(panicked.message(), Some("deliberate panic: boom"));
    // The panic is the error's cause, for error reporters that walk `source()`, and only there:
    // the error's own message does not repeat it.
    let source = error.source().expect("a panic has a source");
    assert_eq!(source.to_string(), panicked.to_string());
    assert_eq!(error.to_string(), "the task panicked");
}

/// The spawned map's count of tasks covers finished tasks whose output is not yet taken: with a
/// limit of 2 and jobs that finish at once, a third job is never made while two outputs wait to
/// be joined, and `in_flight` reports the two. (A value made with each future and carried in its
/// output counts what exists: futures running plus outputs not yet yielded.)
#[tokio::test(flavor = "current_thread")]
async fn spawned_bounded_map_counts_unjoined_outputs_against_the_limit() {
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let alive = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let limiter = ConcurrencyLimiter::new(2).unwrap();
    let mut map = limiter.spawn_bounded_map(0..20, {
        let (alive, peak) = (Arc::clone(&alive), Arc::clone(&peak));
        move |_| {
            let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let token = Alive(Arc::clone(&alive));
            async move { token }
        }
    });
    // The first poll makes two tasks and finds neither finished.
    assert!(futures::poll!(std::pin::pin!(map.next())).is_pending());
    assert_eq!(map.in_flight(), 2, "both tasks exist");
    let mut outputs = 0;
    while let Some((_, output)) = map.next().await {
        drop(output.expect("no job fails"));
        outputs += 1;
        assert!(map.in_flight() <= 2);
        // Let the tasks spawned by the last poll finish before the next one.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(outputs, 20);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "more than 2 tasks (running or holding an unjoined output) existed at once"
    );
    assert_eq!(map.in_flight(), 0);
}
