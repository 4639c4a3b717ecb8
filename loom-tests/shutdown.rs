//! Loom models of the shipped graceful shutdown (`async_patterns::shutdown`): a `track` racing
//! the trigger is refused or waited for (no task missed), `wait` is woken when the last task ends
//! or the trigger comes (no lost wakeup), a task tracked in a child scope while the parent is
//! triggered, concurrent triggers each returning only once every token sees the trigger, a
//! dropped and re-created `triggered()` future racing the trigger, and the deadline path on a
//! manual clock.
//!
//! `trigger`, tokens, `track` and `wait` are runtime-agnostic (waker-based, no runtime calls), so
//! these models drive the shipped code on loom threads with `model::block_on`; only
//! `Shutdown::spawn` (a thin `tokio::spawn` layer) is left to `tests/shutdown.rs`.
//!
//! The first two models are generic over [`TrackerUnderTest`] and also run on trackers written
//! here: `LockedTracker`, correct (a lock around everything), which they must accept, and two
//! broken ones they must reject — `CheckThenTrack` (checks the trigger and counts the task in two
//! steps: a task tracked between them is missed by `wait`) and `LostWakeup` (checks "done" and
//! registers its waker in two steps: the last task ending between them is never seen, which loom
//! reports as a deadlock).
//!
//! The models also reject these mutations of the shipped `src/shutdown/scope.rs` (each tried by
//! hand, then reverted): `track` checking only its own scope's `triggered` flag instead of every
//! ancestor's (`child_track_racing_parent_trigger...` fails: the parent's `wait` returns while the
//! child's task runs); `trigger` returning early when the flag is already set
//! (`concurrent_triggers...` fails: a trigger returns before the child sees it); `trigger` not
//! closing `drained` when no task is live (`last_task_ending_wakes_wait` deadlocks).
//!
//! Bounding: 2 spawned threads + main, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides it,
//! see `model.rs`).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use async_patterns::shutdown::{Shutdown, Tracked};
use async_patterns::time::{Clock, ManualClock};
use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use crate::model::{block_on, model, poll_once};

const MISSED: &str = "wait returned while a tracked task was still running";

/// What the generic models need from a shutdown tracker.
trait TrackerUnderTest: Send + Sync + Sized + 'static {
    /// Proof that a task is tracked; [`finish`](Self::finish) ends it.
    type Task: Send + 'static;

    fn new() -> Arc<Self>;
    /// `None` if refused (after the trigger).
    fn track(this: &Arc<Self>) -> Option<Self::Task>;
    fn finish(task: Self::Task);
    fn trigger(&self);
    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + '_>>;
}

impl TrackerUnderTest for Shutdown {
    type Task = Tracked<std::future::Ready<()>>;

    fn new() -> Arc<Self> {
        Arc::new(Shutdown::new())
    }

    fn track(this: &Arc<Self>) -> Option<Self::Task> {
        Shutdown::track(this, std::future::ready(())).ok()
    }

    fn finish(task: Self::Task) {
        // Runs it to completion: tracking ends on `Ready`.
        block_on(task);
    }

    fn trigger(&self) {
        Shutdown::trigger(self);
    }

    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(Shutdown::wait(self))
    }
}

/// Track racing trigger, and both racing wait: thread A tracks a task, does its work and ends it
/// (or is refused); thread B triggers; main waits. Whenever A's task was tracked, `wait` must not
/// return before the task's work is done. The trigger always comes, so a hang is a lost wakeup.
fn track_racing_trigger_and_wait<T: TrackerUnderTest>() {
    model(|| {
        let tracker = T::new();
        let work_done = Arc::new(AtomicBool::new(false));

        let tracking = {
            let tracker = Arc::clone(&tracker);
            let work_done = Arc::clone(&work_done);
            thread::spawn(move || match T::track(&tracker) {
                Some(task) => {
                    work_done.store(true, Ordering::SeqCst);
                    T::finish(task);
                    true
                }
                None => false,
            })
        };
        let triggering = {
            let tracker = Arc::clone(&tracker);
            thread::spawn(move || tracker.trigger())
        };

        block_on(tracker.wait());
        let done_when_wait_returned = work_done.load(Ordering::SeqCst);

        let tracked = tracking.join().unwrap();
        triggering.join().unwrap();
        assert!(!tracked || done_when_wait_returned, "{MISSED}");
    });
}

/// The last task ending racing the trigger, both racing `wait`: a task tracked before the threads
/// start is ended by thread A while thread B triggers and main waits. `wait` must be woken by
/// whichever of the two comes last (else loom reports a deadlock) and not return before the end.
fn last_task_ending_races_trigger_and_wait<T: TrackerUnderTest>() {
    model(|| {
        let tracker = T::new();
        let task = T::track(&tracker).expect("not triggered yet");
        let work_done = Arc::new(AtomicBool::new(false));

        let ending = {
            let work_done = Arc::clone(&work_done);
            thread::spawn(move || {
                work_done.store(true, Ordering::SeqCst);
                T::finish(task);
            })
        };
        let triggering = {
            let tracker = Arc::clone(&tracker);
            thread::spawn(move || tracker.trigger())
        };

        block_on(tracker.wait());
        assert!(work_done.load(Ordering::SeqCst), "{MISSED}");
        ending.join().unwrap();
        triggering.join().unwrap();
    });
}

#[test]
fn track_racing_trigger_is_refused_or_waited_for() {
    track_racing_trigger_and_wait::<Shutdown>();
}

#[test]
fn track_racing_trigger_accepts_locked_tracker() {
    track_racing_trigger_and_wait::<LockedTracker>();
}

#[test]
#[should_panic(expected = "wait returned while a tracked task was still running")]
fn track_racing_trigger_catches_check_then_track() {
    track_racing_trigger_and_wait::<CheckThenTrack>();
}

#[test]
fn last_task_ending_wakes_wait() {
    last_task_ending_races_trigger_and_wait::<Shutdown>();
}

#[test]
fn last_task_ending_accepts_locked_tracker() {
    last_task_ending_races_trigger_and_wait::<LockedTracker>();
}

#[test]
#[should_panic(expected = "deadlock")]
fn last_task_ending_catches_lost_wakeup() {
    last_task_ending_races_trigger_and_wait::<LostWakeup>();
}

/// A task tracked in a child scope while the parent is triggered: it is refused, or the parent's
/// `wait` waits for it. Also: once the parent's `trigger` has returned, the child sees it and
/// refuses tracking. This is the race that the root-first locking of the scope chain decides.
#[test]
fn child_track_racing_parent_trigger_is_refused_or_waited_for() {
    model(|| {
        let parent = Shutdown::new();
        let child = parent.child();
        let work_done = Arc::new(AtomicBool::new(false));

        let tracking = {
            let work_done = Arc::clone(&work_done);
            thread::spawn(move || match child.track(std::future::ready(())) {
                Ok(task) => {
                    work_done.store(true, Ordering::SeqCst);
                    block_on(task);
                    true
                }
                Err(_) => false,
            })
        };
        let triggering = {
            let parent = parent.clone();
            let child_token = parent.child().token();
            thread::spawn(move || {
                parent.trigger();
                assert!(
                    child_token.is_triggered(),
                    "trigger returned before a child saw it"
                );
            })
        };

        block_on(parent.wait());
        let done_when_wait_returned = work_done.load(Ordering::SeqCst);
        let tracked = tracking.join().unwrap();
        triggering.join().unwrap();
        assert!(!tracked || done_when_wait_returned, "{MISSED}");
    });
}

/// Two concurrent triggers of the parent: each returns only once every token below sees the
/// trigger (the second caller does not return early while the first is still walking the
/// children), and main, waiting on a child's token, is woken.
#[test]
fn concurrent_triggers_each_return_with_every_token_triggered() {
    model(|| {
        let parent = Shutdown::new();
        let child = parent.child();

        let triggers: Vec<_> = (0..2)
            .map(|_| {
                let parent = parent.clone();
                let token = child.token();
                thread::spawn(move || {
                    parent.trigger();
                    assert!(
                        token.is_triggered(),
                        "trigger returned before a child saw it"
                    );
                })
            })
            .collect();

        block_on(child.token().triggered());
        for trigger in triggers {
            trigger.join().unwrap();
        }
    });
}

/// A `triggered()` future polled once and dropped (a `select!` that lost) while the trigger
/// comes, then re-created: the new one is woken, and so is another token's waiter.
#[test]
fn a_dropped_triggered_future_can_be_recreated_while_triggering() {
    model(|| {
        let shutdown = Shutdown::new();
        let waiting = {
            let token = shutdown.token();
            thread::spawn(move || block_on(token.triggered()))
        };
        let triggering = {
            let shutdown = shutdown.clone();
            thread::spawn(move || shutdown.trigger())
        };

        let token = shutdown.token();
        {
            let mut dropped = pin!(token.triggered());
            let _ = poll_once(dropped.as_mut());
        }
        block_on(token.triggered());
        waiting.join().unwrap();
        triggering.join().unwrap();
    });
}

/// The deadline path on a manual clock: thread A moves the clock past the deadline while thread
/// B ends the last task; main triggers and waits with the deadline. Either wakeup must reach it
/// (else a deadlock), and the outcome is consistent: `Ok` only once the task ended, a report only
/// with the task in it.
#[test]
fn deadline_racing_the_last_task_reports_consistently() {
    model(|| {
        let clock = ManualClock::new();
        let deadline = clock.now() + Duration::from_secs(1);
        let shutdown = Shutdown::new();
        let task = shutdown
            .track_named("last", std::future::ready(()))
            .expect("not triggered yet");
        let work_done = Arc::new(AtomicBool::new(false));

        let advancing = {
            let clock = clock.clone();
            thread::spawn(move || clock.advance(Duration::from_secs(1)))
        };
        let ending = {
            let work_done = Arc::clone(&work_done);
            thread::spawn(move || {
                work_done.store(true, Ordering::SeqCst);
                block_on(task);
            })
        };

        shutdown.trigger();
        match block_on(shutdown.wait_until_with_clock(&clock, deadline)) {
            Ok(()) => assert!(work_done.load(Ordering::SeqCst), "{MISSED}"),
            Err(unfinished) => {
                assert!(unfinished.was_triggered());
                assert_eq!(
                    unfinished.count(),
                    1,
                    "a report must name what is unfinished"
                );
                assert_eq!(unfinished.tasks()[0].name(), Some("last"));
            }
        }
        advancing.join().unwrap();
        ending.join().unwrap();
    });
}

// ---- trackers written here: one correct, two broken ------------------------------------------

/// A tracker written here: one lock around its state, and each bug switchable.
/// `Naive<false, false>` is correct; `CHECK_THEN_TRACK` and `LOST_WAKEUP` each add one bug.
struct Naive<const CHECK_THEN_TRACK: bool, const LOST_WAKEUP: bool> {
    state: Mutex<TrackerState>,
}

/// Correct: every decision under one lock, the waker registered under the same lock as the
/// check. (It wakes under the lock: fine for a model.)
type LockedTracker = Naive<false, false>;
/// Broken: checks the trigger, lets go of the lock, then counts the task. A trigger and a `wait`
/// that both run in between see zero live tasks, and `wait` returns while the task runs.
type CheckThenTrack = Naive<true, false>;
/// Broken: `wait` checks "done", lets go of the lock, then registers its waker. The last task
/// ending (or the trigger) in between wakes nobody, and `wait` sleeps forever.
type LostWakeup = Naive<false, true>;

#[derive(Default)]
struct TrackerState {
    triggered: bool,
    live: usize,
    waiters: Vec<Waker>,
}

impl TrackerState {
    fn done(&self) -> bool {
        self.triggered && self.live == 0
    }

    fn wake_if_done(&mut self) {
        if self.done() {
            self.waiters.drain(..).for_each(Waker::wake);
        }
    }
}

/// One tracked task of a [`Naive`] tracker; dropping it ends the task.
struct NaiveTask<const C: bool, const L: bool>(Arc<Naive<C, L>>);

impl<const C: bool, const L: bool> Drop for NaiveTask<C, L> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap();
        state.live -= 1;
        state.wake_if_done();
    }
}

impl<const CHECK_THEN_TRACK: bool, const LOST_WAKEUP: bool> TrackerUnderTest
    for Naive<CHECK_THEN_TRACK, LOST_WAKEUP>
{
    type Task = NaiveTask<CHECK_THEN_TRACK, LOST_WAKEUP>;

    fn new() -> Arc<Self> {
        Arc::new(Naive {
            state: Mutex::new(TrackerState::default()),
        })
    }

    fn track(this: &Arc<Self>) -> Option<Self::Task> {
        if CHECK_THEN_TRACK {
            if this.state.lock().unwrap().triggered {
                return None;
            }
            this.state.lock().unwrap().live += 1;
        } else {
            let mut state = this.state.lock().unwrap();
            if state.triggered {
                return None;
            }
            state.live += 1;
        }
        Some(NaiveTask(Arc::clone(this)))
    }

    fn finish(task: Self::Task) {
        drop(task);
    }

    fn trigger(&self) {
        let mut state = self.state.lock().unwrap();
        state.triggered = true;
        state.wake_if_done();
    }

    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(poll_fn(move |cx| {
            if LOST_WAKEUP {
                if self.state.lock().unwrap().done() {
                    return Poll::Ready(());
                }
                self.state.lock().unwrap().waiters.push(cx.waker().clone());
                return Poll::Pending;
            }
            let mut state = self.state.lock().unwrap();
            if state.done() {
                Poll::Ready(())
            } else {
                state.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}
