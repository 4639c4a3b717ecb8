//! Naive semaphores: one lock around plain state, FIFO with partial assignment to the head —
//! except for the one bug each variant has.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::BoxFuture;
use crate::semaphore::{Closed, Operations, SemaphoreUnderTest};

/// Which bug a [`NaiveSemaphore`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checkers must accept it.
    None,
    /// A waiter granted its permits but dropped before it polls again keeps them: leaked.
    LeakOnCancelAfterGrant,
    /// Released permits go to the newest waiter first.
    Lifo,
    /// A waiter is granted its permits but its waker is never called.
    LostWakeup,
    /// A re-poll keeps the first waker: a future moved to another task is never woken.
    StaleWaker,
    /// `close` fails the waiters without waking them.
    CloseWakesNone,
    /// No partial assignment: permits released while the head wants more stay free, and
    /// `try_acquire` takes them even while others wait.
    Barging,
}

/// A naive semaphore with the bug `BUG` (a [`Bug`] as a number: `Bug::X as u8`).
#[derive(Debug)]
pub struct NaiveSemaphore<const BUG: u8> {
    state: Arc<Mutex<State>>,
}

/// The correct naive semaphore.
pub type Correct = NaiveSemaphore<{ Bug::None as u8 }>;
/// Leaks the permits of an acquire granted, then dropped before its next poll.
pub type LeakOnCancelAfterGrant = NaiveSemaphore<{ Bug::LeakOnCancelAfterGrant as u8 }>;
/// Serves the newest waiter first.
pub type Lifo = NaiveSemaphore<{ Bug::Lifo as u8 }>;
/// Never wakes a waiter it grants.
pub type LostWakeup = NaiveSemaphore<{ Bug::LostWakeup as u8 }>;
/// Keeps a waiter's first waker.
pub type StaleWaker = NaiveSemaphore<{ Bug::StaleWaker as u8 }>;
/// Does not wake the waiters it closes out.
pub type CloseWakesNone = NaiveSemaphore<{ Bug::CloseWakesNone as u8 }>;
/// Lets `try_acquire` overtake the queue.
pub type Barging = NaiveSemaphore<{ Bug::Barging as u8 }>;

const fn is<const BUG: u8>(bug: Bug) -> bool {
    BUG == bug as u8
}

#[derive(Debug, Default)]
struct State {
    available: usize,
    closed: bool,
    queue: VecDeque<Waiter>,
    /// Waiters that left the queue but have not seen their outcome yet.
    done: HashMap<u64, Result<(), Closed>>,
    next_id: u64,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    needed: usize,
    assigned: usize,
    waker: Waker,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// Gives `n` permits to the waiters in turn; returns the wakers to call after unlocking.
    fn release<const BUG: u8>(&mut self, mut n: usize) -> Vec<Waker> {
        let mut wake = Vec::new();
        if is::<BUG>(Bug::Barging) {
            // Whole grants only, from the pool of free permits.
            n += std::mem::take(&mut self.available);
        }
        while n > 0 {
            let lifo = is::<BUG>(Bug::Lifo);
            let next = if lifo {
                self.queue.back_mut()
            } else {
                self.queue.front_mut()
            };
            let Some(waiter) = next else { break };
            if is::<BUG>(Bug::Barging) && n < waiter.needed - waiter.assigned {
                break;
            }
            let given = n.min(waiter.needed - waiter.assigned);
            waiter.assigned += given;
            n -= given;
            if waiter.assigned < waiter.needed {
                break;
            }
            let waiter = if lifo {
                self.queue.pop_back()
            } else {
                self.queue.pop_front()
            };
            let waiter = waiter.expect("the waiter just looked at");
            self.done.insert(waiter.id, Ok(()));
            if !is::<BUG>(Bug::LostWakeup) {
                wake.push(waiter.waker);
            }
        }
        self.available += n;
        wake
    }
}

fn release<const BUG: u8>(state: &Mutex<State>, n: usize) {
    let wake = lock(state).release::<BUG>(n);
    wake.into_iter().for_each(Waker::wake);
}

/// Held permits of a [`NaiveSemaphore`].
#[derive(Debug)]
pub struct NaivePermit<const BUG: u8> {
    state: Arc<Mutex<State>>,
    permits: usize,
}

impl<const BUG: u8> Drop for NaivePermit<BUG> {
    fn drop(&mut self) {
        release::<BUG>(&self.state, self.permits);
    }
}

struct NaiveAcquire<const BUG: u8> {
    state: Arc<Mutex<State>>,
    needed: usize,
    id: Option<u64>,
}

impl<const BUG: u8> Future for NaiveAcquire<BUG> {
    type Output = Result<NaivePermit<BUG>, Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let needed = self.needed;
        let permit = |this: &Self| NaivePermit {
            state: Arc::clone(&this.state),
            permits: needed,
        };
        let shared = Arc::clone(&self.state);
        let mut state = lock(&shared);
        let Some(id) = self.id else {
            if state.closed {
                return Poll::Ready(Err(Closed));
            }
            if state.queue.is_empty() && state.available >= needed {
                state.available -= needed;
                return Poll::Ready(Ok(permit(&self)));
            }
            let assigned = if state.queue.is_empty() && !is::<BUG>(Bug::Barging) {
                std::mem::take(&mut state.available)
            } else {
                0
            };
            let id = state.next_id;
            state.next_id += 1;
            state.queue.push_back(Waiter {
                id,
                needed,
                assigned,
                waker: cx.waker().clone(),
            });
            self.id = Some(id);
            return Poll::Pending;
        };
        match state.done.remove(&id) {
            Some(outcome) => {
                self.id = None;
                Poll::Ready(outcome.map(|()| permit(&self)))
            }
            None => {
                if !is::<BUG>(Bug::StaleWaker) {
                    let waiter = state.queue.iter_mut().find(|w| w.id == id);
                    waiter.expect("a queued waiter").waker = cx.waker().clone();
                }
                Poll::Pending
            }
        }
    }
}

impl<const BUG: u8> Drop for NaiveAcquire<BUG> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let mut state = lock(&self.state);
        let returned = match state.done.remove(&id) {
            Some(Ok(())) if is::<BUG>(Bug::LeakOnCancelAfterGrant) => 0,
            Some(Ok(())) => self.needed,
            Some(Err(Closed)) => 0,
            None => {
                let at = state.queue.iter().position(|w| w.id == id);
                let waiter = state.queue.remove(at.expect("a queued waiter"));
                waiter.expect("a queued waiter").assigned
            }
        };
        let wake = state.release::<BUG>(returned);
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<const BUG: u8> NaiveSemaphore<BUG> {
    /// Takes `n` free permits even if others wait for them (the barging the naive locks need).
    pub(crate) fn try_acquire_ignoring_queue(&self, n: u32) -> Option<NaivePermit<BUG>> {
        let mut state = lock(&self.state);
        if state.closed || state.available < n as usize {
            return None;
        }
        state.available -= n as usize;
        Some(NaivePermit {
            state: Arc::clone(&self.state),
            permits: n as usize,
        })
    }
}

impl<const BUG: u8> SemaphoreUnderTest for NaiveSemaphore<BUG> {
    type Permit = NaivePermit<BUG>;

    fn new(permits: usize) -> Self {
        NaiveSemaphore {
            state: Arc::new(Mutex::new(State {
                available: permits,
                ..State::default()
            })),
        }
    }

    fn acquire(&self, n: u32) -> BoxFuture<Result<Self::Permit, Closed>> {
        Box::pin(NaiveAcquire::<BUG> {
            state: Arc::clone(&self.state),
            needed: n as usize,
            id: None,
        })
    }

    fn try_acquire(&self, n: u32) -> Option<Self::Permit> {
        if is::<BUG>(Bug::Barging) {
            return self.try_acquire_ignoring_queue(n);
        }
        if !lock(&self.state).queue.is_empty() {
            return None;
        }
        self.try_acquire_ignoring_queue(n)
    }

    fn add_permits(&self, n: usize) {
        release::<BUG>(&self.state, n);
    }

    fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        let mut wake = Vec::new();
        while let Some(waiter) = state.queue.pop_front() {
            state.available += waiter.assigned;
            state.done.insert(waiter.id, Err(Closed));
            if !is::<BUG>(Bug::CloseWakesNone) {
                wake.push(waiter.waker);
            }
        }
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }

    fn operations() -> Operations {
        Operations {
            acquire_many: true,
            add_permits: true,
            close: true,
        }
    }
}
