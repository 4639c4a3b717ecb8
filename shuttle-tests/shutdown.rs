//! The graceful shutdown (`async_patterns::shutdown`) with more parties than its loom models can
//! afford: a parent scope, its child and grandchild; two concurrent triggers (of the parent and
//! of the child), each called twice; a task tracked in each scope (the grandchild's cancelled
//! after one poll); a thread waiting on the child, one on a grandchild token, and main on the
//! parent (after a `wait` it polled once and dropped).
//!
//! Checked on every schedule, with `std` counters of the tasks started (tracked) and finished
//! (completed, or dropped) in each scope: when a trigger returns, every token of its subtree sees
//! it, even when the other trigger got there first; when a `wait` returns, every task tracked in
//! its subtree has finished; a refused `track` gives its future back, unpolled. After joining all
//! threads: every token — made before or after — sees the trigger, a child made now is born
//! triggered, tracking is refused everywhere with the future given back, every scope is finished
//! with no live task, and triggering again changes nothing. Every task ends: a lost wakeup is
//! shuttle's deadlock.
//!
//! A refused `track` and a returned `wait` must each come after the scope's tokens see the
//! trigger: this test found both coming before it (the trigger set its flag before it closed the
//! tokens' signal); the two regression tests at the end pin each half down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use async_patterns::shutdown::{Shutdown, ShutdownToken};
use shuttle::future::block_on;
use shuttle::thread;

use crate::runner::check_here;

/// Parent, child, grandchild: scope `i`'s subtree is scopes `i..SCOPES`.
const SCOPES: usize = 3;

/// Tasks started (tracked) and finished in each scope, and the triggers called on each.
#[derive(Default)]
struct Books {
    started: [AtomicUsize; SCOPES],
    finished: [AtomicUsize; SCOPES],
    triggers: [AtomicUsize; SCOPES],
}

impl Books {
    /// Every task tracked in scope `scope` or below has finished.
    fn assert_subtree_done(&self, scope: usize, what: &str) {
        for i in scope..SCOPES {
            let started = self.started[i].load(Ordering::SeqCst);
            let finished = self.finished[i].load(Ordering::SeqCst);
            assert_eq!(
                started, finished,
                "{what} returned while a task tracked in scope {i} was still running"
            );
        }
    }

    /// A refused `track` or a returned `wait` in scope `scope` proves that a trigger has been
    /// called on the scope or an ancestor (and, checked beside this, that its tokens see it).
    fn assert_trigger_called(&self, scope: usize, what: &str) {
        assert!(
            self.triggers[..=scope]
                .iter()
                .any(|count| count.load(Ordering::SeqCst) > 0),
            "{what} in scope {scope} before any trigger was called on it"
        );
    }
}

/// Counts its task finished when fired or, armed, when dropped (a task cancelled part-way).
struct Finish {
    books: Arc<Books>,
    scope: usize,
    armed: bool,
}

impl Finish {
    fn fire(&mut self) {
        assert!(self.armed, "a task finished twice");
        self.armed = false;
        self.books.finished[self.scope].fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        if self.armed {
            self.fire();
        }
    }
}

/// A task's work: yields once (the tracking thread is preempted half-way through it), then
/// finishes and returns its id.
struct Work {
    id: usize,
    finish: Finish,
    polled: bool,
}

impl Work {
    fn new(books: &Arc<Books>, scope: usize, id: usize) -> Work {
        Work {
            id,
            finish: Finish {
                books: Arc::clone(books),
                scope,
                armed: true,
            },
            polled: false,
        }
    }

    /// A refused future must come back as it went in: this very one, never polled. It was never
    /// tracked, so it counts as nothing.
    fn came_back(mut self, id: usize) {
        assert_eq!(self.id, id, "a refused track gave back another future");
        assert!(!self.polled, "a refused track polled the future");
        self.finish.armed = false;
    }
}

impl Future for Work {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.finish.fire();
        Poll::Ready(self.id)
    }
}

/// Tracks task `scope` in `scopes[scope]` and runs it to completion, or (the grandchild's) polls
/// it once and drops it; or sees it refused and checks the future that came back.
fn tracker(scopes: &[Shutdown; SCOPES], books: &Arc<Books>, scope: usize) {
    let id = scope;
    match scopes[scope].track(Work::new(books, scope, id)) {
        Ok(task) => {
            books.started[scope].fetch_add(1, Ordering::SeqCst);
            if scope == SCOPES - 1 {
                let mut task = std::pin::pin!(task);
                let polled = task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(polled.is_pending(), "the work yields on its first poll");
            } else {
                assert_eq!(block_on(task), id);
            }
        }
        Err(refused) => {
            books.assert_trigger_called(scope, "a track was refused");
            assert!(
                scopes[scope].token().is_triggered(),
                "a track was refused in scope {scope} while its tokens do not see the trigger"
            );
            refused.into_inner().came_back(id);
        }
    }
}

/// Triggers `scopes[scope]` twice; each time, when it returns, every token of its subtree sees
/// the trigger.
fn triggerer(
    scopes: &[Shutdown; SCOPES],
    tokens: &[ShutdownToken; SCOPES],
    books: &Books,
    scope: usize,
) {
    for _ in 0..2 {
        books.triggers[scope].fetch_add(1, Ordering::SeqCst);
        scopes[scope].trigger();
        for (i, token) in tokens.iter().enumerate().skip(scope) {
            assert!(
                token.is_triggered(),
                "trigger of scope {scope} returned before a token of scope {i} saw it"
            );
        }
    }
}

fn many_parties() {
    let parent = Shutdown::new();
    let child = parent.child();
    let grandchild = child.child();
    let scopes = Arc::new([parent, child, grandchild]);
    let tokens = Arc::new(scopes.each_ref().map(Shutdown::token));
    let books = Arc::new(Books::default());

    let mut threads = Vec::new();
    for scope in 0..SCOPES {
        let (scopes, books) = (Arc::clone(&scopes), Arc::clone(&books));
        threads.push(thread::spawn(move || tracker(&scopes, &books, scope)));
    }
    for scope in [0, 1] {
        let (scopes, tokens, books) =
            (Arc::clone(&scopes), Arc::clone(&tokens), Arc::clone(&books));
        threads.push(thread::spawn(move || {
            triggerer(&scopes, &tokens, &books, scope);
        }));
    }
    {
        let (scopes, books) = (Arc::clone(&scopes), Arc::clone(&books));
        threads.push(thread::spawn(move || {
            block_on(scopes[1].wait());
            books.assert_trigger_called(1, "wait returned");
            assert!(
                scopes[1].token().is_triggered(),
                "the child's wait returned while its tokens do not see the trigger"
            );
            books.assert_subtree_done(1, "the child's wait");
        }));
    }
    {
        let token = tokens[2].clone();
        threads.push(thread::spawn(move || block_on(token.triggered())));
    }

    // Main waits on the parent, after giving up on a first `wait` polled once.
    let parent = &scopes[0];
    {
        let mut wait = std::pin::pin!(parent.wait());
        let _ = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    }
    block_on(parent.wait());
    books.assert_trigger_called(0, "wait returned");
    assert!(
        parent.token().is_triggered(),
        "the parent's wait returned while its tokens do not see the trigger"
    );
    books.assert_subtree_done(0, "the parent's wait");

    for thread in threads {
        thread.join().unwrap();
    }

    books.assert_subtree_done(0, "joining every thread");
    let born = parent.child();
    assert!(
        born.is_triggered(),
        "a child made after the trigger was not born triggered"
    );
    let all: Vec<&Shutdown> = scopes.iter().chain([&born]).collect();
    for (i, scope) in all.into_iter().enumerate() {
        assert!(
            tokens.get(i).is_none_or(ShutdownToken::is_triggered),
            "an old token of scope {i} missed the trigger"
        );
        assert!(
            scope.token().is_triggered(),
            "a new token of scope {i} missed the trigger"
        );
        assert!(scope.is_finished(), "scope {i} not finished");
        assert_eq!(scope.task_count(), 0, "scope {i} still counts live tasks");
        let id = 10 + i;
        match scope.track(Work::new(&books, i.min(SCOPES - 1), id)) {
            Ok(_) => panic!("scope {i} tracked a task after the trigger"),
            Err(refused) => refused.into_inner().came_back(id),
        }
        scope.trigger();
        assert!(scope.is_finished() && scope.is_triggered() && scope.task_count() == 0);
        block_on(scope.wait());
    }
}

#[test]
fn shutdown_many_parties_trigger_every_scope_and_wait_for_every_task() {
    check_here(many_parties);
}

// ---- regressions: a refusal or a drained scope seen before the trigger -------------------------
//
// `Node::trigger` (src/shutdown/scope.rs) sets the scope's `triggered` flag under its lock,
// releases the lock, and only then closes `signal`, the semaphore that `is_triggered` and the
// tokens read (closing it runs wakers: not under a lock). In between, the flag already refused
// `track` and let the last task's `finish` close `drained` (which `wait` and `is_finished`
// read), while every token still said "not triggered". Found by the many-parties test above
// (random scheduler, seed 10509256725044210636). Now a refusing `track` and a draining `finish`
// close the signal themselves first. These two tests show each half with the fewest parties;
// their failing schedules on the old code are kept in `regressions/`.

/// `wait` returns — and `is_finished` is true — while `is_triggered` is still false, against
/// `wait`'s doc ("completes once ... this scope has been triggered"): a task ends (thread A)
/// after the trigger (thread B) has set the flag and before it has closed the signal.
#[test]
fn shutdown_wait_returns_only_once_the_tokens_see_the_trigger() {
    check_here(|| {
        let shutdown = Shutdown::new();
        let task = shutdown
            .track(std::future::ready(()))
            .expect("not triggered yet");
        let ending = thread::spawn(move || block_on(task));
        let triggering = {
            let shutdown = shutdown.clone();
            thread::spawn(move || shutdown.trigger())
        };
        block_on(shutdown.wait());
        assert!(
            shutdown.token().is_triggered(),
            "wait returned (is_finished: {}) while the tokens do not see the trigger",
            shutdown.is_finished()
        );
        ending.join().unwrap();
        triggering.join().unwrap();
    });
}

/// `track` is refused ("this scope or an ancestor has been triggered") while `is_triggered` is
/// still false: the trigger (thread A) has set the flag and not yet closed the signal.
#[test]
fn shutdown_refuses_tracking_only_once_the_tokens_see_the_trigger() {
    check_here(|| {
        let shutdown = Shutdown::new();
        let triggering = {
            let shutdown = shutdown.clone();
            thread::spawn(move || shutdown.trigger())
        };
        match shutdown.track(std::future::ready(())) {
            Ok(task) => block_on(task),
            Err(_) => assert!(
                shutdown.token().is_triggered(),
                "track refused while the tokens do not see the trigger"
            ),
        }
        triggering.join().unwrap();
    });
}
