//! Deliberately naive semaphores, each with one known bug, for the checkers' self-tests: every
//! checker must reject them (DESIGN.md, "the bug zoo"). They also serve as a second, lock-everything
//! implementation: `NaiveSemaphore<CORRECT>` has no bug, and the checkers must accept it.
//!
//! Written independently of the library (one lock around plain state), and shared by `tests/`
//! `loom-tests/` and `shuttle-tests/` through `#[path]`: under `--cfg loom` (`--cfg shuttle`) its
//! lock is loom's (shuttle's).

#![allow(dead_code)] // each test binary uses part of it

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

#[cfg(loom)]
use loom::sync::Mutex;
#[cfg(all(shuttle, not(loom)))]
use shuttle::sync::Mutex;
#[cfg(not(any(loom, shuttle)))]
use std::sync::Mutex;

use async_patterns::sync::TryAcquireError;

use super::semaphore_under_test::{AcquireFuture, Closed, SemaphoreUnderTest};

/// No bug: FIFO, partial assignment to the head, cancel returns everything.
pub const CORRECT: u8 = 0;
/// A waiter that was granted its permits but is dropped before it polls again keeps them: leaked.
pub const LEAK_ON_CANCEL_AFTER_GRANT: u8 = 1;
/// Released permits go to the newest waiter first (LIFO).
pub const LIFO: u8 = 2;
/// Permits are granted to a waiter but its waker is never called.
pub const LOST_WAKEUP: u8 = 3;

pub type Correct = NaiveSemaphore<CORRECT>;
pub type LeakOnCancelAfterGrant = NaiveSemaphore<LEAK_ON_CANCEL_AFTER_GRANT>;
pub type Lifo = NaiveSemaphore<LIFO>;
pub type LostWakeup = NaiveSemaphore<LOST_WAKEUP>;

pub struct NaiveSemaphore<const BUG: u8> {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    available: usize,
    closed: bool,
    queue: VecDeque<Waiter>,
    /// Waiters that left the queue but have not seen their outcome yet.
    done: HashMap<u64, Outcome>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    needed: usize,
    assigned: usize,
    waker: Waker,
}

enum Outcome {
    Granted(usize),
    Closed,
}

impl State {
    fn release<const BUG: u8>(&mut self, mut n: usize) -> Vec<Waker> {
        let mut wake = Vec::new();
        while n > 0 {
            let next = if BUG == LIFO {
                self.queue.back_mut()
            } else {
                self.queue.front_mut()
            };
            let Some(waiter) = next else { break };
            let given = n.min(waiter.needed - waiter.assigned);
            waiter.assigned += given;
            n -= given;
            if waiter.assigned < waiter.needed {
                break;
            }
            let waiter = if BUG == LIFO {
                self.queue.pop_back()
            } else {
                self.queue.pop_front()
            }
            .unwrap();
            self.done.insert(waiter.id, Outcome::Granted(waiter.needed));
            if BUG != LOST_WAKEUP {
                wake.push(waiter.waker);
            }
        }
        self.available += n;
        wake
    }
}

impl<const BUG: u8> NaiveSemaphore<BUG> {
    fn release(&self, n: usize) {
        let wake = self.state.lock().unwrap().release::<BUG>(n);
        wake.into_iter().for_each(Waker::wake);
    }
}

/// Held permits of a [`NaiveSemaphore`].
pub struct NaivePermit<const BUG: u8> {
    semaphore: Arc<NaiveSemaphore<BUG>>,
    permits: usize,
}

impl<const BUG: u8> Drop for NaivePermit<BUG> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

struct NaiveAcquire<const BUG: u8> {
    semaphore: Arc<NaiveSemaphore<BUG>>,
    needed: usize,
    id: Option<u64>,
}

impl<const BUG: u8> Future for NaiveAcquire<BUG> {
    type Output = Result<NaivePermit<BUG>, Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let needed = self.needed;
        let granted = |this: &Self| NaivePermit {
            semaphore: Arc::clone(&this.semaphore),
            permits: needed,
        };
        let mut state = self.semaphore.state.lock().unwrap();
        match self.id {
            None => {
                if state.closed {
                    return Poll::Ready(Err(Closed));
                }
                // Taking nothing overtakes no one: zero permits are granted at once (as tokio).
                if needed == 0 || (state.queue.is_empty() && state.available >= needed) {
                    state.available -= needed;
                    drop(state);
                    return Poll::Ready(Ok(granted(&self)));
                }
                let assigned = if state.queue.is_empty() {
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
                drop(state);
                self.id = Some(id);
                Poll::Pending
            }
            Some(id) => match state.done.remove(&id) {
                Some(Outcome::Granted(_)) => {
                    drop(state);
                    self.id = None;
                    Poll::Ready(Ok(granted(&self)))
                }
                Some(Outcome::Closed) => {
                    drop(state);
                    self.id = None;
                    Poll::Ready(Err(Closed))
                }
                None => {
                    let waiter = state.queue.iter_mut().find(|w| w.id == id).unwrap();
                    waiter.waker = cx.waker().clone();
                    Poll::Pending
                }
            },
        }
    }
}

impl<const BUG: u8> Drop for NaiveAcquire<BUG> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let mut state = self.semaphore.state.lock().unwrap();
        let returned = match state.done.remove(&id) {
            Some(Outcome::Granted(n)) if BUG != LEAK_ON_CANCEL_AFTER_GRANT => n,
            Some(_) => 0,
            None => {
                let at = state.queue.iter().position(|w| w.id == id).unwrap();
                state.queue.remove(at).unwrap().assigned
            }
        };
        let wake = state.release::<BUG>(returned);
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl<const BUG: u8> SemaphoreUnderTest for NaiveSemaphore<BUG> {
    type Permit = NaivePermit<BUG>;

    fn with_permits(permits: usize) -> Arc<Self> {
        Arc::new(NaiveSemaphore {
            state: Mutex::new(State {
                available: permits,
                ..State::default()
            }),
        })
    }

    fn acquire_many(this: &Arc<Self>, n: u32) -> AcquireFuture<Self::Permit> {
        Box::pin(NaiveAcquire {
            semaphore: Arc::clone(this),
            needed: n as usize,
            id: None,
        })
    }

    fn try_acquire_many(this: &Arc<Self>, n: u32) -> Result<Self::Permit, TryAcquireError> {
        let mut state = this.state.lock().unwrap();
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if n > 0 && (!state.queue.is_empty() || state.available < n as usize) {
            return Err(TryAcquireError::NoPermits);
        }
        state.available -= n as usize;
        Ok(NaivePermit {
            semaphore: Arc::clone(this),
            permits: n as usize,
        })
    }

    fn available_permits(&self) -> usize {
        self.state.lock().unwrap().available
    }

    fn add_permits(&self, n: usize) {
        self.release(n);
    }

    fn forget_permits(&self, n: usize) -> usize {
        let mut state = self.state.lock().unwrap();
        let removed = state.available.min(n);
        state.available -= removed;
        removed
    }

    fn close(&self) {
        let mut state = self.state.lock().unwrap();
        state.closed = true;
        let mut wake = Vec::new();
        while let Some(waiter) = state.queue.pop_front() {
            state.available += waiter.assigned;
            state.done.insert(waiter.id, Outcome::Closed);
            wake.push(waiter.waker);
        }
        drop(state);
        wake.into_iter().for_each(Waker::wake);
    }

    fn forget(mut permit: Self::Permit) {
        permit.permits = 0;
    }
}
