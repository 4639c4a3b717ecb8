//! Loom models of the shipped connection pool ([`Pool`]) with a fake manager: `get` racing with a
//! return and with `close`, a `get` cancelled while its object is being created, a wait timeout
//! racing with a return, and the size never above the maximum.
//!
//! Under `--cfg loom` the pool's state lock and its `Arc`, and the semaphore its slots come from,
//! are loom's, so these models explore the interleavings of the code that ships; loom also fails a
//! model whose execution leaks the pool's `Arc` (a checked-out object or a `get` never dropped).
//! The fake manager's bookkeeping (objects created, alive, discarded) is `std`: loom runs one
//! thread at a time, so it is exact, and its checks are the models' assertions.
//!
//! Time: loom models none, so the pool runs on a clock that never moves ([`Frozen`]: no timeout
//! ever fires) except in the timeout model, which advances a [`ManualClock`] from a thread.
//!
//! Bounding: 2 spawned threads + main, preemption bound 3 (`LOOM_MAX_PREEMPTIONS` overrides it,
//! see `model.rs`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_patterns::conn_pool::{GetPhase, Manager, Object, Pool, PoolError};
use async_patterns::time::{Clock, Instant, ManualClock};
use loom::thread;

use crate::model::{block_on, model, poll_once};

/// A clock that never moves: no timeout fires.
struct Frozen(Instant);

impl Clock for Frozen {
    fn now(&self) -> Instant {
        self.0
    }

    fn sleep_until(&self, _deadline: Instant) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }
}

/// What the fake manager did.
#[derive(Default)]
struct Books {
    created: AtomicUsize,
    alive: AtomicUsize,
    discarded: AtomicUsize,
}

/// A fake connection; counts itself alive until dropped.
struct Conn {
    id: usize,
    books: Arc<Books>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.books.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Creates connections, failing the model if one would make more than `max` alive. Its
/// creations are suspended once (pending, waking themselves) when `yield_in_create` is set: a
/// point where a `get` is in the middle of creating and can be cancelled or interleaved.
struct Fake {
    books: Arc<Books>,
    max: usize,
    yield_in_create: bool,
}

impl Fake {
    fn new(max: usize, yield_in_create: bool) -> Self {
        Fake {
            books: Arc::new(Books::default()),
            max,
            yield_in_create,
        }
    }
}

impl Manager for Fake {
    type Object = Conn;
    type Error = Infallible;

    async fn create(&self) -> Result<Conn, Infallible> {
        if self.yield_in_create {
            YieldOnce(false).await;
        }
        let alive = self.books.alive.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            alive <= self.max,
            "{alive} objects alive for a max size of {}",
            self.max
        );
        Ok(Conn {
            id: self.books.created.fetch_add(1, Ordering::SeqCst),
            books: Arc::clone(&self.books),
        })
    }

    async fn recycle(&self, _conn: &mut Conn) -> Result<(), Infallible> {
        Ok(())
    }

    fn discard(&self, conn: Conn) {
        self.books.discarded.fetch_add(1, Ordering::SeqCst);
        // Getting rid of an object takes time (closing a socket): a point where other threads
        // run while it is still alive.
        thread::yield_now();
        drop(conn);
    }
}

/// Pending once (waking itself), then ready.
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

fn frozen_pool(max: usize, yield_in_create: bool) -> (Pool<Fake, Frozen>, Arc<Books>) {
    let manager = Fake::new(max, yield_in_create);
    let books = Arc::clone(&manager.books);
    let pool = Pool::builder(manager)
        .max_size(max)
        .clock(Frozen(Instant::now()))
        .build()
        .expect("a valid configuration");
    (pool, books)
}

/// After everything joined: the pool's size is exactly the objects alive, all of them idle,
/// nobody waiting.
fn assert_settled<C: Clock>(pool: &Pool<Fake, C>, books: &Books) {
    let status = pool.status();
    assert_eq!(status.waiting, 0, "{status:?}");
    assert_eq!(
        status.idle, status.size,
        "an object never came back: {status:?}"
    );
    assert_eq!(
        status.size,
        books.alive.load(Ordering::SeqCst),
        "the pool's size disagrees with the objects alive: {status:?}"
    );
}

/// Two `get`s wait for the only slot while main returns the object they need: each gets the same
/// object in turn (it went to the idle queue before its slot was freed, so nobody creates a
/// second one), and every slot comes back.
#[test]
fn get_racing_with_a_return_reuses_the_object() {
    model(|| {
        let (pool, books) = frozen_pool(1, false);
        let held = block_on(pool.get()).expect("a free slot");
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let conn = block_on(pool.get()).expect("the returned object");
                    assert!(pool.status().size <= 1);
                    conn.id
                })
            })
            .collect();
        drop(held);
        for getter in getters {
            assert_eq!(getter.join().unwrap(), 0, "a second object was created");
        }
        assert_eq!(books.created.load(Ordering::SeqCst), 1);
        assert_settled(&pool, &books);
        assert_eq!(pool.status().size, 1);
    });
}

/// A `get` waiting for the only slot, `close` from another thread, and main returning the object:
/// the `get` ends with the object (handed out before the close) or with `Closed`; either way the
/// object is discarded exactly once — idle at the close, or returned after it — and nothing is
/// left.
#[test]
fn get_racing_with_close_and_a_return() {
    model(|| {
        let (pool, books) = frozen_pool(1, false);
        let held = block_on(pool.get()).expect("a free slot");
        let getter = {
            let pool = pool.clone();
            thread::spawn(move || match block_on(pool.get()) {
                Ok(conn) => {
                    assert_eq!(conn.id, 0);
                    true
                }
                Err(PoolError::Closed) => false,
                Err(other) => panic!("unexpected {other:?}"),
            })
        };
        let closer = {
            let pool = pool.clone();
            thread::spawn(move || assert!(pool.close()))
        };
        drop(held);
        getter.join().unwrap();
        closer.join().unwrap();

        assert_eq!(books.created.load(Ordering::SeqCst), 1);
        assert_eq!(
            books.alive.load(Ordering::SeqCst),
            0,
            "an object outlived close"
        );
        assert_eq!(books.discarded.load(Ordering::SeqCst), 1);
        let status = pool.status();
        assert_eq!((status.size, status.idle, status.waiting), (0, 0, 0));
        assert!(matches!(block_on(pool.get()), Err(PoolError::Closed)));
    });
}

/// One thread polls a `get` once — it takes the only slot and starts creating (suspended there),
/// or queues behind the other — and drops it; the other thread's `get` must still complete (a
/// leaked slot is loom's deadlock) and the abandoned creation must not count.
#[test]
fn a_get_cancelled_while_creating_leaks_nothing() {
    model(|| {
        let (pool, books) = frozen_pool(1, true);
        let cancelled = {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut get = pin!(pool.get());
                // Suspended in the creation or queued for the slot — or, when the other `get`
                // has already come and gone, done with the idle object — then dropped.
                if let Poll::Ready(result) = poll_once(get.as_mut()) {
                    assert!(result.is_ok(), "a get that had the slot failed");
                }
            })
        };
        let getter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let conn = block_on(pool.get()).expect("the slot was freed");
                assert!(pool.status().size <= 1);
                drop(conn);
            })
        };
        cancelled.join().unwrap();
        getter.join().unwrap();
        assert_settled(&pool, &books);
        assert_eq!(pool.status().size, books.created.load(Ordering::SeqCst));
        assert!(block_on(pool.get()).is_ok());
    });
}

/// A `get` whose wait timeout fires (another thread advances the clock) while main returns the
/// object: it ends with the object or the wait timeout, and in both cases the slot comes back.
#[test]
fn a_wait_timeout_racing_with_a_return_loses_no_slot() {
    model(|| {
        let manager = Fake::new(1, false);
        let books = Arc::clone(&manager.books);
        let clock = ManualClock::new();
        let pool = Pool::builder(manager)
            .max_size(1)
            .wait_timeout(Duration::from_secs(1))
            .clock(clock.clone())
            .build()
            .unwrap();
        let held = block_on(pool.get()).expect("a free slot");
        let getter = {
            let pool = pool.clone();
            thread::spawn(move || match block_on(pool.get()) {
                Ok(conn) => assert_eq!(conn.id, 0),
                Err(error) => assert_eq!(error.timed_out(), Some(GetPhase::Wait), "{error:?}"),
            })
        };
        let ticker = thread::spawn(move || clock.advance(Duration::from_secs(1)));
        drop(held);
        getter.join().unwrap();
        ticker.join().unwrap();
        assert_settled(&pool, &books);
        // The slot is free: a get completes without waiting (or loom reports a deadlock).
        assert_eq!(block_on(pool.get()).expect("the slot").id, 0);
    });
}

/// Three `get`s (main and two threads) through a pool of 2, one of them returning its object
/// broken: never more than 2 objects alive (the fake manager asserts it at each creation, and a
/// broken object is discarded before its slot is freed), and the size never above 2.
#[test]
fn the_size_never_exceeds_the_maximum() {
    model(|| {
        let (pool, books) = frozen_pool(2, false);
        let threads: Vec<_> = (0..2)
            .map(|broken| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut conn = block_on(pool.get()).expect("a slot");
                    assert!(pool.status().size <= 2);
                    if broken == 1 {
                        Object::mark_broken(&mut conn);
                    }
                })
            })
            .collect();
        let conn = block_on(pool.get()).expect("a slot");
        assert!(pool.status().size <= 2);
        drop(conn);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_settled(&pool, &books);
        assert_eq!(books.discarded.load(Ordering::SeqCst), 1);
        assert_eq!(
            books.created.load(Ordering::SeqCst) - 1,
            pool.status().size,
            "created − discarded = size"
        );
    });
}
