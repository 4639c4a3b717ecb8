//! A connection pool on the semaphore core: bounded waits, FIFO checkout, cancel-safe `get()`.
//!
//! A pool configured with a size and no timeouts (deadpool-postgres with `PoolConfig::new(10)`,
//! say) has its 11th `get()` wait forever once all ten connections are checked out. This is the
//! same pattern with every wait bounded: that exhausted pool gives [`PoolError::Timeout`] naming
//! [`GetPhase::Wait`] instead of a hang (the crate's tests replay it).
//!
//! A [`Pool`] hands out objects made by a [`Manager`] (a PostgreSQL one is in `postgres`, behind
//! the `postgres` cargo feature). Its slots are permits of this crate's fair
//! [`Semaphore`]; returned objects wait in an idle queue for the next
//! `get()`, which validates them with [`Manager::recycle`] before handing them out.
//!
//! # Guarantees
//!
//! - **Never more than `max_size` objects.** The size counts idle objects, checked-out objects and
//!   creations in flight, and never exceeds `max_size`: a new object is created only by a `get()`
//!   that holds a slot and found the idle queue empty. A discarded object stops counting only after
//!   [`Manager::discard`] has returned.
//! - **FIFO.** Callers waiting for a slot are served in the order their `get()` first waited: the
//!   slots are permits of the fair semaphore, which no newcomer can overtake.
//! - **Bounded.** Each phase of [`get`](Pool::get) ends within its timeout — waiting for a slot,
//!   creating, recycling — with [`PoolError::Timeout`] naming the [`GetPhase`]; a zero wait timeout
//!   means "fail at once when no slot is free". Timeouts use the injected [`Clock`].
//! - **Cancel safe.** A `get()` dropped at any point — waiting for a slot, creating, recycling —
//!   leaks neither a slot nor an object: its queue place and permit go to the next waiter, a
//!   creation in flight is dropped and no longer counted, and an object being recycled is
//!   discarded (its state is unknown).
//! - **Broken objects are not reused.** An object is discarded instead of kept idle when its
//!   holder [marks it broken](Object::mark_broken), when the manager [says it is
//!   broken](Manager::is_broken) on return, when it is dropped while its thread panics, or when its
//!   recycle fails — then `get()` goes on with the next idle object or a new one.
//! - **Close.** [`close`](Pool::close) wakes every waiter with [`PoolError::Closed`], discards the
//!   idle objects, and makes every later `get()` fail; objects still checked out are discarded as
//!   they are returned. Once `close` has returned, no `get()` returns an object.
//! - **Bad input is a typed error.** A max size of 0 or a zero create/recycle timeout is a
//!   [`BuildError`]; an unreachable server is [`PoolError::Create`] or a create timeout, never a
//!   hang.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use async_patterns::conn_pool::{Manager, GetPhase, Pool, PoolError};
//!
//! /// Hands out numbered "connections".
//! struct Numbers(std::sync::atomic::AtomicU32);
//!
//! impl Manager for Numbers {
//!     type Object = u32;
//!     type Error = Infallible;
//!     async fn create(&self) -> Result<u32, Infallible> {
//!         Ok(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
//!     }
//!     async fn recycle(&self, _: &mut u32) -> Result<(), Infallible> {
//!         Ok(())
//!     }
//! }
//!
//! # fn main() {
//! # // Under `--cfg loom` or `--cfg shuttle` the primitives only work inside a model.
//! # if async_patterns::__private::MODEL_BUILD { return; }
//! # run();
//! # }
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn run() {
//! let pool = Pool::builder(Numbers(0.into()))
//!     .max_size(2)
//!     .wait_timeout(Duration::from_secs(1))
//!     .build()
//!     .unwrap();
//!
//! let first = pool.get().await.unwrap();
//! let second = pool.get().await.unwrap();
//! assert_eq!((*first, *second), (0, 1));
//!
//! // Exhausted: the third waits one second, then gets a typed error instead of hanging.
//! let third = pool.get().await;
//! assert!(matches!(third, Err(PoolError::Timeout { phase: GetPhase::Wait, .. })));
//!
//! drop(first); // back to the idle queue, and reused
//! assert_eq!(*pool.get().await.unwrap(), 0);
//! assert_eq!(pool.status().size, 2);
//! # }
//! ```

mod error;
mod manager;
mod object;
#[cfg(all(feature = "postgres", not(loom)))]
pub mod postgres;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::loom::{Arc, Mutex, ReceiverArc, lock};
use crate::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use crate::time::{Clock, TokioClock};

use crate::time::timeout_at;
use object::Slot;

pub use error::{BuildError, GetPhase, PoolError};
pub use manager::Manager;
pub use object::Object;

/// Configures a [`Pool`]. Every timeout has a finite default: no `get()` waits forever unless
/// asked to with a timeout too large to represent as a deadline (e.g. `Duration::MAX`).
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<M, C = TokioClock> {
    manager: M,
    clock: C,
    config: Config,
}

#[derive(Debug, Clone, Copy)]
struct Config {
    max_size: usize,
    wait_timeout: Duration,
    create_timeout: Duration,
    recycle_timeout: Duration,
    get_timeout: Option<Duration>,
}

impl<M: Manager, C: Clock> Builder<M, C> {
    /// The most objects the pool holds at once, idle and checked out together (default: 10).
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.config.max_size = max_size;
        self
    }

    /// How long `get()` waits for a free slot (default: 30 s). Zero means never wait.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.config.wait_timeout = timeout;
        self
    }

    /// How long a [`Manager::create`] may take (default: 10 s).
    pub fn create_timeout(mut self, timeout: Duration) -> Self {
        self.config.create_timeout = timeout;
        self
    }

    /// How long a [`Manager::recycle`] may take (default: 5 s).
    pub fn recycle_timeout(mut self, timeout: Duration) -> Self {
        self.config.recycle_timeout = timeout;
        self
    }

    /// One deadline over the whole of each `get()` (default: none). Each phase is bounded by its
    /// own timeout, but a `get()` may go through several: with `k` idle objects that each fail
    /// recycling slowly, it takes up to the wait, plus `k` recycle timeouts, plus a create
    /// timeout. With a total, it ends with [`PoolError::Timeout`] in [`GetPhase::Get`] once
    /// `timeout` has passed, whatever phase it is in (a `get()` cancelled at any point leaks
    /// neither slot nor object). `Duration::MAX` is the same as none.
    pub fn get_timeout(mut self, timeout: Duration) -> Self {
        self.config.get_timeout = Some(timeout);
        self
    }

    /// Measures the timeouts on `clock` instead of tokio's (a
    /// [`ManualClock`](crate::time::ManualClock) in loom models and property tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<M, C2> {
        Builder {
            manager: self.manager,
            clock,
            config: self.config,
        }
    }

    /// Builds the pool. It starts empty: objects are created on demand. Needs no runtime (the
    /// manager and the clock may).
    ///
    /// # Errors
    ///
    /// [`BuildError`] for a max size of 0 or above `Semaphore::MAX_PERMITS`, or a zero create or
    /// recycle timeout.
    pub fn build(self) -> Result<Pool<M, C>, BuildError> {
        let config = self.config;
        if config.max_size == 0 {
            return Err(BuildError::ZeroMaxSize);
        }
        if config.max_size > Semaphore::MAX_PERMITS {
            return Err(BuildError::MaxSizeTooLarge);
        }
        if config.create_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout(GetPhase::Create));
        }
        if config.recycle_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout(GetPhase::Recycle));
        }
        Ok(Pool {
            shared: Arc::new(Shared {
                manager: self.manager,
                clock: self.clock,
                config,
                slots: ReceiverArc::new(Semaphore::new(config.max_size)),
                state: Mutex::new(State {
                    idle: VecDeque::new(),
                    size: 0,
                    waiting: 0,
                    closed: false,
                }),
            }),
        })
    }
}

impl<M, C> fmt::Debug for Builder<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The pool's counts at one instant (taken together, under the pool's lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The configured maximum size.
    pub max_size: usize,
    /// Objects that exist: idle, checked out, and creations in flight. Never above `max_size`.
    pub size: usize,
    /// Objects waiting in the idle queue.
    pub idle: usize,
    /// `get()` calls waiting for a free slot.
    pub waiting: usize,
}

/// The state every handle, `get()` and checked-out object shares.
pub(crate) struct Shared<M: Manager, C: Clock> {
    manager: M,
    clock: C,
    config: Config,
    /// One permit per slot; a slot is held from the moment a `get()` has it until its object is
    /// returned (or the `get()` fails or is dropped).
    slots: ReceiverArc<Semaphore>,
    state: Mutex<State<M::Object>>,
}

struct State<T> {
    /// Returned objects, oldest first; each is validated by `recycle` before it is handed out.
    idle: VecDeque<T>,
    /// Idle + checked out + creations in flight.
    size: usize,
    /// `get()` calls queued for a slot.
    waiting: usize,
    closed: bool,
}

impl<M: Manager, C: Clock> Drop for Shared<M, C> {
    /// The last handle and the last object are gone: the idle objects are discarded through the
    /// manager, as `close` would.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.state).idle);
        for object in idle {
            self.manager.discard(object);
        }
    }
}

/// A pool of objects made by a [`Manager`]. Cloning gives another handle to the same pool. See
/// the [module docs](self) for the guarantees.
pub struct Pool<M: Manager, C: Clock = TokioClock> {
    shared: Arc<Shared<M, C>>,
}

impl<M: Manager, C: Clock> Clone for Pool<M, C> {
    fn clone(&self) -> Self {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M: Manager> Pool<M> {
    /// A builder with the defaults: max size 10; wait 30 s, create 10 s, recycle 5 s on
    /// [`TokioClock`].
    pub fn builder(manager: M) -> Builder<M> {
        Builder {
            manager,
            clock: TokioClock,
            config: Config {
                max_size: 10,
                wait_timeout: Duration::from_secs(30),
                create_timeout: Duration::from_secs(10),
                recycle_timeout: Duration::from_secs(5),
                get_timeout: None,
            },
        }
    }
}

/// What a `get()` that holds a slot does next.
enum Next {
    Recycle,
    Create,
}

impl<M: Manager, C: Clock> Pool<M, C> {
    /// Checks out an object: waits (FIFO) for a free slot, then takes the oldest idle object that
    /// passes [`Manager::recycle`], or creates a new one.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting, its place in line goes to the next caller; while
    /// creating, the creation is dropped and its slot freed; while recycling, the object is
    /// discarded and its slot freed.
    ///
    /// # Errors
    ///
    /// - [`PoolError::Timeout`] when a phase outlives its timeout: [`GetPhase::Wait`] (no slot came
    ///   free), [`GetPhase::Create`], or [`GetPhase::Recycle`] (the object is discarded);
    /// - [`PoolError::Create`] when the manager fails to create an object;
    /// - [`PoolError::Closed`] when the pool is or becomes closed.
    ///
    /// An idle object whose recycle *fails* is discarded and the next one tried; that is not an
    /// error of the `get()`.
    pub async fn get(&self) -> Result<Object<M, C>, PoolError<M::Error>> {
        let shared = &*self.shared;
        let Some(total) = shared.config.get_timeout else {
            return self.get_in_phases().await;
        };
        // A timeout past what an `Instant` can hold (`checked_add` gives `None`) is no timeout.
        let deadline = shared.clock.now().checked_add(total);
        match timeout_at(&shared.clock, deadline, self.get_in_phases()).await {
            Ok(result) => result,
            Err(_) => Err(PoolError::Timeout {
                phase: GetPhase::Get,
                after: total,
            }),
        }
    }

    /// [`get`](Self::get) without its total deadline: each phase bounded by its own.
    async fn get_in_phases(&self) -> Result<Object<M, C>, PoolError<M::Error>> {
        let shared = &*self.shared;
        let permit = self.wait_for_slot().await?;
        let mut slot = Slot::new(Arc::clone(&self.shared), permit);
        loop {
            let next = {
                let mut state = lock(&shared.state);
                if state.closed {
                    return Err(PoolError::Closed);
                }
                if let Some(object) = state.idle.pop_front() {
                    slot.object = Some(object);
                    slot.counted = true;
                    Next::Recycle
                } else {
                    // Reserve the place before creating: the size never exceeds the slots held.
                    state.size += 1;
                    slot.counted = true;
                    Next::Create
                }
            };
            match next {
                Next::Recycle => {
                    let timeout = shared.config.recycle_timeout;
                    let deadline = shared.clock.now().checked_add(timeout);
                    let object = slot
                        .object
                        .as_mut()
                        .expect("just taken from the idle queue");
                    match timeout_at(&shared.clock, deadline, shared.manager.recycle(object)).await
                    {
                        Ok(Ok(())) => break,
                        // Discard it and try the next idle object, or create one.
                        Ok(Err(_)) => slot.discard_object(),
                        // The slot's drop discards the object that did not answer.
                        Err(_) => {
                            return Err(PoolError::Timeout {
                                phase: GetPhase::Recycle,
                                after: timeout,
                            });
                        }
                    }
                }
                Next::Create => {
                    let timeout = shared.config.create_timeout;
                    let deadline = shared.clock.now().checked_add(timeout);
                    // On error or timeout, the slot's drop releases the reservation.
                    match timeout_at(&shared.clock, deadline, shared.manager.create()).await {
                        Ok(Ok(object)) => {
                            slot.object = Some(object);
                            break;
                        }
                        Ok(Err(error)) => return Err(PoolError::Create(error)),
                        Err(_) => {
                            return Err(PoolError::Timeout {
                                phase: GetPhase::Create,
                                after: timeout,
                            });
                        }
                    }
                }
            }
        }
        // Decided under the lock that `close` takes: an object is handed out only before it.
        if lock(&shared.state).closed {
            return Err(PoolError::Closed);
        }
        slot.returnable = true;
        Ok(Object { slot })
    }

    /// Waits for a slot within the wait timeout, counted in `status().waiting` while queued.
    async fn wait_for_slot(&self) -> Result<OwnedSemaphorePermit, PoolError<M::Error>> {
        let shared = &*self.shared;
        let timeout = shared.config.wait_timeout;
        let start = shared.clock.now();
        match ReceiverArc::clone(&shared.slots).try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(PoolError::Closed),
            Err(TryAcquireError::NoPermits) if timeout.is_zero() => {
                return Err(PoolError::Timeout {
                    phase: GetPhase::Wait,
                    after: timeout,
                });
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        let _waiting = Waiting::new(shared);
        let acquire = ReceiverArc::clone(&shared.slots).acquire_owned();
        match timeout_at(&shared.clock, start.checked_add(timeout), acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(PoolError::Closed),
            Err(_) => Err(PoolError::Timeout {
                phase: GetPhase::Wait,
                after: timeout,
            }),
        }
    }

    /// The pool's counts, taken together.
    #[must_use]
    pub fn status(&self) -> Status {
        let state = lock(&self.shared.state);
        Status {
            max_size: self.shared.config.max_size,
            size: state.size,
            idle: state.idle.len(),
            waiting: state.waiting,
        }
    }

    /// Closes the pool: every waiting `get()` fails with [`PoolError::Closed`], idle objects are
    /// discarded, later `get()`s fail at once, and objects still checked out are discarded when
    /// returned. Idempotent; returns whether this call closed it.
    pub fn close(&self) -> bool {
        let shared = &*self.shared;
        let idle = {
            let mut state = lock(&shared.state);
            if state.closed {
                return false;
            }
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        // User code runs below — waiting `get()`s' wakers, the idle objects' discards — and one
        // that panics does not stop the rest; the first panic is raised at the end. The objects
        // count in the size until their discards have returned (or panicked).
        let mut panics = crate::unwind::Panics::default();
        panics.run(|| shared.slots.close());
        let discarded = idle.len();
        for object in idle {
            panics.run(|| shared.manager.discard(object));
        }
        lock(&shared.state).size -= discarded;
        panics.resume();
        true
    }

    /// Whether [`close`](Self::close) has been called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).closed
    }

    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &M {
        &self.shared.manager
    }
}

impl<M: Manager, C: Clock> fmt::Debug for Pool<M, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Counts one `get()` in `status().waiting` while it is queued for a slot.
struct Waiting<'a, M: Manager, C: Clock> {
    shared: &'a Shared<M, C>,
}

impl<'a, M: Manager, C: Clock> Waiting<'a, M, C> {
    fn new(shared: &'a Shared<M, C>) -> Self {
        lock(&shared.state).waiting += 1;
        Waiting { shared }
    }
}

impl<M: Manager, C: Clock> Drop for Waiting<'_, M, C> {
    fn drop(&mut self) {
        lock(&self.shared.state).waiting -= 1;
    }
}
