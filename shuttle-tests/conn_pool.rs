//! The connection pool ([`Pool`]) with more parties than its loom models can afford: four threads
//! calling `get()` on a pool of two, through a fake manager whose `create` and `recycle` yield
//! part-way (shuttle's `yield_now`), on a [`ManualClock`] that never moves (no timeout fires).
//! One `get` is cancelled after two polls, early on, and one after a single poll, late: each in
//! whatever phase it reached — queued for a slot, in `create` (before or after its object
//! exists) or in `recycle` (over 40 000 schedules, measured once: about 7 000, 28 000 and 13 000
//! cancellations in those three phases). Objects are returned marked broken
//! (`Object::mark_broken`), reported broken by the manager (`is_broken`), and set to fail their
//! next recycle.
//!
//! Checked on every schedule: never more than `max_size` objects alive (the manager counts
//! creations minus drops, and asserts it on each creation), the pool's size never above it, an
//! object marked broken or set to fail its recycle is never handed out again, and no object is
//! discarded twice. After joining all threads: nobody waits, every object is idle and the size is
//! the objects alive; every broken object was discarded; both slots can be had at once (no slot
//! leaked, or the `get` is shuttle's deadlock); and once the pool is dropped no object is left
//! alive.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use async_patterns::conn_pool::{Manager, Object, Pool};
use async_patterns::time::ManualClock;
use shuttle::future::{block_on, yield_now};
use shuttle::thread;

use crate::runner::check_here;

const MAX_SIZE: usize = 2;
const GETTERS: usize = 4;
/// More than any schedule creates (each `get` creates at most one object per attempt).
const IDS: usize = 32;

/// What the fake manager did, and what the holders did to its objects.
struct Books {
    /// Objects created, and the next object's id.
    created: AtomicUsize,
    /// Created and not yet dropped.
    alive: AtomicUsize,
    /// Returned broken (`mark_broken` or `is_broken`): must be discarded, never handed out.
    broken: [AtomicBool; IDS],
    /// Broken, or set to fail its next recycle: must never be handed out again.
    retired: [AtomicBool; IDS],
    discarded: [AtomicBool; IDS],
}

impl Books {
    fn new() -> Books {
        Books {
            created: AtomicUsize::new(0),
            alive: AtomicUsize::new(0),
            broken: [const { AtomicBool::new(false) }; IDS],
            retired: [const { AtomicBool::new(false) }; IDS],
            discarded: [const { AtomicBool::new(false) }; IDS],
        }
    }
}

/// A fake connection; counts itself alive until dropped.
struct Conn {
    id: usize,
    books: Arc<Books>,
    /// The manager's `is_broken` says so when it is returned.
    broken: bool,
    /// Its next `recycle` fails.
    fails_recycle: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.books.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct RecycleFailed;

impl fmt::Display for RecycleFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the fake connection failed its recycle")
    }
}

impl std::error::Error for RecycleFailed {}

/// Creates and recycles connections, each in two steps with a yield between (a creation can be
/// cancelled before or after its object exists); fails the test if a creation would make more
/// than `MAX_SIZE` alive.
struct Fake {
    books: Arc<Books>,
}

impl Manager for Fake {
    type Object = Conn;
    type Error = RecycleFailed;

    async fn create(&self) -> Result<Conn, RecycleFailed> {
        yield_now().await;
        let alive = self.books.alive.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            alive <= MAX_SIZE,
            "{alive} objects alive for a max size of {MAX_SIZE}"
        );
        let id = self.books.created.fetch_add(1, Ordering::SeqCst);
        assert!(id < IDS, "more objects created than the test expects");
        let conn = Conn {
            id,
            books: Arc::clone(&self.books),
            broken: false,
            fails_recycle: false,
        };
        yield_now().await;
        Ok(conn)
    }

    async fn recycle(&self, conn: &mut Conn) -> Result<(), RecycleFailed> {
        yield_now().await;
        if conn.fails_recycle {
            Err(RecycleFailed)
        } else {
            Ok(())
        }
    }

    fn is_broken(&self, conn: &Conn) -> bool {
        conn.broken
    }

    fn discard(&self, conn: Conn) {
        assert!(
            !self.books.discarded[conn.id].swap(true, Ordering::SeqCst),
            "object {} discarded twice",
            conn.id
        );
        // Getting rid of an object takes time (closing a socket): a point where other threads
        // run while it is still alive.
        thread::yield_now();
        drop(conn);
    }
}

type TestPool = Pool<Fake, ManualClock>;

/// A checked-out object, just handed out: not retired, and the counts within bounds.
fn assert_fresh(pool: &TestPool, books: &Books, conn: &Object<Fake, ManualClock>) {
    assert!(
        !books.retired[conn.id].load(Ordering::SeqCst),
        "object {} was handed out again after it was returned broken or failing",
        conn.id
    );
    let size = pool.status().size;
    assert!(size <= MAX_SIZE, "size {size} above {MAX_SIZE}");
    let alive = books.alive.load(Ordering::SeqCst);
    assert!(alive <= MAX_SIZE, "{alive} objects alive");
}

/// Polls a `get` `polls` times with a waker that does nothing, then drops it: a caller that gave
/// up part-way. If it completed, the object is checked and returned as usual.
fn get_and_give_up(pool: &TestPool, books: &Books, polls: usize) {
    let mut get = pin!(pool.get());
    for _ in 0..polls {
        match get.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => {
                let conn = result.expect("no timeout fires and the pool is never closed");
                assert_fresh(pool, books, &conn);
                return;
            }
            Poll::Pending => thread::yield_now(),
        }
    }
}

/// A `get` to completion, the object held across a yield, then `spoil`ed and returned.
fn get_and_return(
    pool: &TestPool,
    books: &Books,
    spoil: impl FnOnce(&mut Object<Fake, ManualClock>),
) {
    let mut conn = block_on(pool.get()).expect("no timeout fires and the pool is never closed");
    assert_fresh(pool, books, &conn);
    thread::yield_now();
    spoil(&mut conn);
}

/// Getter 0 gives up on a `get` after two polls, then gets and returns an object intact; getter 1
/// returns its object marked broken, getter 2 one the manager finds broken, getter 3 one that
/// fails its next recycle, then gives up on a `get` after one poll.
fn getter(pool: &TestPool, books: &Books, id: usize) {
    let retire = |conn: &mut Object<Fake, ManualClock>| {
        books.retired[conn.id].store(true, Ordering::SeqCst);
    };
    match id {
        0 => {
            get_and_give_up(pool, books, 2);
            get_and_return(pool, books, |_| {});
        }
        1 => get_and_return(pool, books, |conn| {
            retire(conn);
            books.broken[conn.id].store(true, Ordering::SeqCst);
            Object::mark_broken(conn);
        }),
        2 => get_and_return(pool, books, |conn| {
            retire(conn);
            books.broken[conn.id].store(true, Ordering::SeqCst);
            conn.broken = true;
        }),
        _ => {
            get_and_return(pool, books, |conn| {
                retire(conn);
                conn.fails_recycle = true;
            });
            get_and_give_up(pool, books, 1);
        }
    }
}

fn many_parties() {
    let books = Arc::new(Books::new());
    let pool = Pool::builder(Fake {
        books: Arc::clone(&books),
    })
    .max_size(MAX_SIZE)
    .clock(ManualClock::new())
    .build()
    .expect("a valid configuration");

    let getters: Vec<_> = (0..GETTERS)
        .map(|id| {
            let (pool, books) = (pool.clone(), Arc::clone(&books));
            thread::spawn(move || getter(&pool, &books, id))
        })
        .collect();
    for getter in getters {
        getter.join().unwrap();
    }

    let status = pool.status();
    let alive = books.alive.load(Ordering::SeqCst);
    assert_eq!(status.waiting, 0, "{status:?}");
    assert_eq!(
        status.idle, status.size,
        "an object never came back: {status:?}"
    );
    assert_eq!(
        status.size, alive,
        "the pool's size disagrees with the objects alive: {status:?}"
    );
    for id in 0..IDS {
        if books.broken[id].load(Ordering::SeqCst) {
            assert!(
                books.discarded[id].load(Ordering::SeqCst),
                "broken object {id} was not discarded"
            );
        }
    }

    // No slot leaked: both can be had at once (else shuttle reports a deadlock).
    let first = block_on(pool.get()).expect("a free slot");
    assert_fresh(&pool, &books, &first);
    let second = block_on(pool.get()).expect("a second free slot");
    assert_fresh(&pool, &books, &second);
    assert_ne!(first.id, second.id);
    assert_eq!(pool.status().size, MAX_SIZE);
    drop((first, second));
    drop(pool);
    assert_eq!(
        books.alive.load(Ordering::SeqCst),
        0,
        "objects outlived the pool"
    );
}

#[test]
fn conn_pool_many_parties_never_exceed_max_size_and_leak_nothing() {
    check_here(many_parties);
}
