//! Naive cancellation tokens (a tree of nodes under one lock each) and task trackers (a count
//! and a list of wakers) — one bug per variant.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::BoxFuture;
use crate::token::CancelTokenUnderTest;
use crate::tracker::TaskTrackerUnderTest;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which bug a [`NaiveToken`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBug {
    /// None: the checker must accept it.
    None,
    /// A wait keeps the waker of its first poll (tokio-util 0.7.0's bug).
    StaleWaker,
    /// A child made after its parent was cancelled starts uncancelled.
    LateChildNotCancelled,
    /// `cancel` marks the descendants but wakes only the token's own waits.
    WakesOnlyItsOwnWaits,
}

/// A naive token tree with the bug `BUG` (a [`TokenBug`] as a number).
#[derive(Debug)]
pub struct NaiveToken<const BUG: u8>;

/// A [`NaiveToken`]'s node: its state, its children and its waits.
#[derive(Debug, Default)]
pub struct Node {
    cancelled: bool,
    children: Vec<Arc<Mutex<Node>>>,
    /// Pending waits: their wakers, by wait id.
    waits: Vec<(u64, Waker)>,
    next_wait: u64,
}

/// The correct naive token.
pub type CorrectToken = NaiveToken<{ TokenBug::None as u8 }>;
/// Keeps a wait's first waker.
pub type StaleWakerToken = NaiveToken<{ TokenBug::StaleWaker as u8 }>;
/// Makes late children uncancelled.
pub type LateChildToken = NaiveToken<{ TokenBug::LateChildNotCancelled as u8 }>;
/// Wakes only the cancelled token's own waits.
pub type ShallowWakeToken = NaiveToken<{ TokenBug::WakesOnlyItsOwnWaits as u8 }>;

fn cancel_node<const BUG: u8>(node: &Arc<Mutex<Node>>, depth: usize, wake: &mut Vec<Waker>) {
    let mut n = lock(node);
    n.cancelled = true;
    let waits = std::mem::take(&mut n.waits);
    if depth == 0 || BUG != TokenBug::WakesOnlyItsOwnWaits as u8 {
        wake.extend(waits.into_iter().map(|(_, w)| w));
    }
    let children = n.children.clone();
    drop(n);
    for child in &children {
        cancel_node::<BUG>(child, depth + 1, wake);
    }
}

impl<const BUG: u8> CancelTokenUnderTest for NaiveToken<BUG> {
    type Token = Arc<Mutex<Node>>;

    fn new() -> Self::Token {
        Arc::default()
    }

    fn child(parent: &Self::Token) -> Self::Token {
        let mut p = lock(parent);
        let late = BUG == TokenBug::LateChildNotCancelled as u8;
        let child = Arc::new(Mutex::new(Node {
            cancelled: p.cancelled && !late,
            ..Node::default()
        }));
        p.children.push(Arc::clone(&child));
        child
    }

    fn cancel(token: &Self::Token) {
        let mut wake = Vec::new();
        cancel_node::<BUG>(token, 0, &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }

    fn is_cancelled(token: &Self::Token) -> bool {
        lock(token).cancelled
    }

    fn cancelled(token: &Self::Token) -> BoxFuture<()> {
        let token = Arc::clone(token);
        let mut id = None;
        Box::pin(poll_fn(move |cx| {
            let mut n = lock(&token);
            if n.cancelled {
                return Poll::Ready(());
            }
            match id {
                None => {
                    let new = n.next_wait;
                    n.next_wait += 1;
                    n.waits.push((new, cx.waker().clone()));
                    id = Some(new);
                }
                Some(id) if BUG != TokenBug::StaleWaker as u8 => {
                    if let Some(slot) = n.waits.iter_mut().find(|(w, _)| *w == id) {
                        slot.1 = cx.waker().clone();
                    }
                }
                Some(_) => {}
            }
            Poll::Pending
        }))
    }
}

/// Which bug a [`NaiveTracker`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerBug {
    /// None: the checker must accept it.
    None,
    /// A task dropped before it completed stays counted: waits never finish.
    DroppedTaskStaysLive,
    /// `wait` completes once empty, even while the tracker is open.
    IgnoresClose,
}

/// A naive tracker with the bug `BUG` (a [`TrackerBug`] as a number).
#[derive(Debug, Default)]
pub struct NaiveTracker<const BUG: u8>(Arc<Mutex<Books>>);

#[derive(Debug, Default)]
struct Books {
    live: usize,
    closed: bool,
    waiters: Vec<Waker>,
}

/// The correct naive tracker.
pub type CorrectTracker = NaiveTracker<{ TrackerBug::None as u8 }>;
/// Never counts a dropped task as finished.
pub type LeakyTracker = NaiveTracker<{ TrackerBug::DroppedTaskStaysLive as u8 }>;
/// Lets waits through while open.
pub type OpenWaitTracker = NaiveTracker<{ TrackerBug::IgnoresClose as u8 }>;

impl<const BUG: u8> NaiveTracker<BUG> {
    fn is_done(books: &Books) -> bool {
        books.live == 0 && (books.closed || BUG == TrackerBug::IgnoresClose as u8)
    }
}

/// Counts a task finished when dropped (after completing, or not).
struct Finish<const BUG: u8> {
    books: Arc<Mutex<Books>>,
    completed: bool,
}

impl<const BUG: u8> Drop for Finish<BUG> {
    fn drop(&mut self) {
        if !self.completed && BUG == TrackerBug::DroppedTaskStaysLive as u8 {
            return;
        }
        let mut books = lock(&self.books);
        books.live -= 1;
        let wake = if NaiveTracker::<BUG>::is_done(&books) {
            std::mem::take(&mut books.waiters)
        } else {
            Vec::new()
        };
        drop(books);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<const BUG: u8> TaskTrackerUnderTest for NaiveTracker<BUG> {
    fn new() -> Self {
        NaiveTracker::default()
    }

    fn track(&self, task: BoxFuture<()>) -> Option<BoxFuture<()>> {
        let mut books = lock(&self.0);
        if books.closed {
            return None;
        }
        books.live += 1;
        let mut finish = Finish::<BUG> {
            books: Arc::clone(&self.0),
            completed: false,
        };
        let mut task = task;
        Some(Box::pin(poll_fn(move |cx| {
            // The whole guard moves into the closure, so it drops with the task.
            let finish = &mut finish;
            let poll = task.as_mut().poll(cx);
            if poll.is_ready() {
                finish.completed = true;
            }
            poll
        })))
    }

    fn close(&self) {
        let mut books = lock(&self.0);
        books.closed = true;
        let wake = if Self::is_done(&books) {
            std::mem::take(&mut books.waiters)
        } else {
            Vec::new()
        };
        drop(books);
        wake.into_iter().for_each(Waker::wake);
    }

    fn wait(&self) -> BoxFuture<()> {
        let books = Arc::clone(&self.0);
        Box::pin(poll_fn(move |cx| {
            let mut b = lock(&books);
            if Self::is_done(&b) {
                Poll::Ready(())
            } else {
                b.waiters.push(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
}
