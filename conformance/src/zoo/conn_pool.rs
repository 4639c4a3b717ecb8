//! Naive connection pools on the kit's fake backend: a count of slots, a list of idle
//! connections and a `Notify` for waiters — one bug per variant.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::BoxFuture;
use crate::conn_pool::{Backend, Conn, PoolUnderTest};

/// Which bug a [`NaivePool`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// None: the checker must accept it.
    None,
    /// A get dropped while its connection is being made keeps its slot.
    LeakOnCancel,
    /// Returned connections are kept and reused without checks.
    ReusesBroken,
    /// Returning a connection wakes no waiter.
    NoWakeOnReturn,
    /// Lets one connection more than `max_size` be made.
    OneTooMany,
}

/// A naive pool with the bug `BUG` (a [`Bug`] as a number).
#[derive(Debug)]
pub struct NaivePool<const BUG: u8>(Arc<Shared>);

/// The correct naive pool.
pub type Correct = NaivePool<{ Bug::None as u8 }>;
/// Leaks the slot of a get dropped mid-create.
pub type LeakOnCancel = NaivePool<{ Bug::LeakOnCancel as u8 }>;
/// Hands broken connections out again.
pub type ReusesBroken = NaivePool<{ Bug::ReusesBroken as u8 }>;
/// Leaves waiters asleep when a connection comes back.
pub type NoWakeOnReturn = NaivePool<{ Bug::NoWakeOnReturn as u8 }>;
/// Makes `max_size + 1` connections.
pub type OneTooMany = NaivePool<{ Bug::OneTooMany as u8 }>;

#[derive(Debug)]
struct Shared {
    backend: Arc<Backend>,
    max_size: usize,
    state: Mutex<(usize, Vec<Conn>)>,
    returned: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, (usize, Vec<Conn>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot given up: one connection fewer.
    fn release(&self) {
        self.lock().0 -= 1;
        self.returned.notify_one();
    }
}

/// A checked-out connection of a [`NaivePool`].
#[derive(Debug)]
pub struct Pooled<const BUG: u8> {
    conn: Option<Conn>,
    shared: Arc<Shared>,
}

impl<const BUG: u8> Deref for Pooled<BUG> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("until dropped")
    }
}

impl<const BUG: u8> Drop for Pooled<BUG> {
    fn drop(&mut self) {
        let conn = self.conn.take().expect("dropped once");
        if BUG != Bug::ReusesBroken as u8 && self.shared.backend.is_broken(&conn) {
            drop(conn);
            self.shared.release();
            return;
        }
        self.shared.lock().1.push(conn);
        if BUG != Bug::NoWakeOnReturn as u8 {
            self.shared.returned.notify_one();
        }
    }
}

/// Gives the slot back if the get is dropped before its connection is made.
struct SlotGuard<'a>(Option<&'a Shared>);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if let Some(shared) = self.0 {
            shared.release();
        }
    }
}

enum Next {
    Reuse(Conn),
    Create,
    Wait,
}

impl<const BUG: u8> PoolUnderTest for NaivePool<BUG> {
    type Object = Pooled<BUG>;

    fn new(backend: Arc<Backend>, max_size: usize) -> Self {
        NaivePool(Arc::new(Shared {
            backend,
            max_size,
            state: Mutex::new((0, Vec::new())),
            returned: Notify::new(),
        }))
    }

    fn get(&self) -> BoxFuture<Result<Self::Object, String>> {
        let shared = Arc::clone(&self.0);
        Box::pin(async move {
            loop {
                let notified = shared.returned.notified();
                let next = {
                    let mut state = shared.lock();
                    let limit = shared.max_size + usize::from(BUG == Bug::OneTooMany as u8);
                    if let Some(conn) = state.1.pop() {
                        Next::Reuse(conn)
                    } else if state.0 < limit {
                        state.0 += 1;
                        Next::Create
                    } else {
                        Next::Wait
                    }
                };
                match next {
                    Next::Reuse(conn) => {
                        if BUG == Bug::ReusesBroken as u8 || shared.backend.check(&conn).is_ok() {
                            let shared = Arc::clone(&shared);
                            return Ok(Pooled {
                                conn: Some(conn),
                                shared,
                            });
                        }
                        drop(conn);
                        shared.release();
                    }
                    Next::Create => {
                        let leak = BUG == Bug::LeakOnCancel as u8;
                        let mut guard = SlotGuard((!leak).then_some(&*shared));
                        let created = Arc::clone(&shared.backend).create().await;
                        match created {
                            Ok(conn) => {
                                guard.0 = None;
                                let shared = Arc::clone(&shared);
                                return Ok(Pooled {
                                    conn: Some(conn),
                                    shared,
                                });
                            }
                            Err(e) => {
                                if leak {
                                    shared.release();
                                }
                                return Err(e.to_string());
                            }
                        }
                    }
                    Next::Wait => notified.await,
                }
            }
        })
    }

    fn conn(object: &Self::Object) -> &Conn {
        object
    }
}
