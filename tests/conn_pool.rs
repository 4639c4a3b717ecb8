#![cfg(not(any(loom, shuttle)))]
//! The connection pool with a fake manager on tokio (virtual time where timeouts matter): the
//! guide's exhausted pool replayed, bad input, FIFO, reuse and discard, every cancellation point,
//! every timeout, close. Random operation sequences: `conn_pool_model.rs`; a real server:
//! `postgres.rs`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::conn_pool::{BuildError, GetPhase, Manager, Object, Pool, PoolError};
use tokio::time::Instant;
use tokio_test::{assert_pending, assert_ready, task};

/// The fake manager's error.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeError(&'static str);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for FakeError {}

/// A fake connection: its id, and whether the "server" has since dropped it.
#[derive(Debug)]
struct Conn {
    id: usize,
    books: Arc<Books>,
    dead: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.books.live.fetch_sub(1, Ordering::SeqCst);
        self.books.dropped.lock().unwrap().push(self.id);
    }
}

/// What the fake manager did, for the tests to check.
#[derive(Debug, Default)]
struct Books {
    created: AtomicUsize,
    live: AtomicUsize,
    peak: AtomicUsize,
    recycled: AtomicUsize,
    discarded: Mutex<Vec<usize>>,
    dropped: Mutex<Vec<usize>>,
    /// Creations started whose future was dropped before it completed.
    creations_abandoned: AtomicUsize,
}

impl Books {
    fn discarded(&self) -> Vec<usize> {
        self.discarded.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Fake {
    books: Arc<Books>,
    create_delay: Mutex<Duration>,
    recycle_delay: Mutex<Duration>,
    fail_create: AtomicBool,
    /// Recycle fails for connections marked dead (the server "restarted").
    restarted_before: AtomicUsize,
}

impl Fake {
    fn new() -> Self {
        Self::default()
    }

    fn create_delay(self, delay: Duration) -> Self {
        *self.create_delay.lock().unwrap() = delay;
        self
    }

    fn recycle_delay(self, delay: Duration) -> Self {
        *self.recycle_delay.lock().unwrap() = delay;
        self
    }

    /// Every connection created so far fails its next recycle.
    fn restart(&self) {
        self.restarted_before
            .store(self.books.created.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

/// Counts a creation as abandoned unless disarmed.
struct Abandoned<'a>(&'a Books, bool);

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.creations_abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Manager for Fake {
    type Object = Conn;
    type Error = FakeError;

    fn create(&self) -> impl Future<Output = Result<Conn, FakeError>> + Send {
        let delay = *self.create_delay.lock().unwrap();
        let fail = self.fail_create.load(Ordering::SeqCst);
        async move {
            let mut guard = Abandoned(&self.books, true);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            guard.1 = false;
            if fail {
                return Err(FakeError("connection refused"));
            }
            let id = self.books.created.fetch_add(1, Ordering::SeqCst);
            let live = self.books.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.books.peak.fetch_max(live, Ordering::SeqCst);
            Ok(Conn {
                id,
                books: Arc::clone(&self.books),
                dead: false,
            })
        }
    }

    fn recycle(&self, conn: &mut Conn) -> impl Future<Output = Result<(), FakeError>> + Send {
        let delay = *self.recycle_delay.lock().unwrap();
        let stale = conn.id < self.restarted_before.load(Ordering::SeqCst);
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.books.recycled.fetch_add(1, Ordering::SeqCst);
            if stale {
                Err(FakeError("server closed the connection"))
            } else {
                Ok(())
            }
        }
    }

    fn is_broken(&self, conn: &Conn) -> bool {
        conn.dead
    }

    fn discard(&self, conn: Conn) {
        self.books.discarded.lock().unwrap().push(conn.id);
    }
}

fn pool_of(manager: Fake, max_size: usize) -> (Pool<Fake>, Arc<Books>) {
    let books = Arc::clone(&manager.books);
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .build()
        .expect("a valid configuration");
    (pool, books)
}

fn ids(objects: &[Object<Fake>]) -> Vec<usize> {
    objects.iter().map(|object| object.id).collect()
}

fn is_timeout<T>(result: &Result<T, PoolError<FakeError>>, phase: GetPhase) -> bool {
    matches!(result, Err(PoolError::Timeout { phase: p, .. }) if *p == phase)
}

// ---- the guide's failure, replayed ------------------------------------------------------------

/// The guide's pool: `PoolConfig::new(10)` and no timeouts; all ten connections checked out, the
/// 11th `get()` waited forever. The same setup here (max size 10, the default timeouts) ends the
/// 11th `get()` with the wait timeout, after exactly the default 30 s.
#[tokio::test(start_paused = true)]
async fn the_eleventh_get_of_an_exhausted_pool_times_out_instead_of_hanging() {
    let (pool, _) = pool_of(Fake::new(), 10);
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(pool.get().await.expect("a free slot"));
    }
    let start = Instant::now();
    let eleventh = pool.get().await;
    match eleventh {
        Err(PoolError::Timeout {
            phase: GetPhase::Wait,
            after,
        }) => assert_eq!(after, Duration::from_secs(30)),
        other => panic!("expected the wait timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(
        pool.status().waiting,
        0,
        "the timed-out waiter left the queue"
    );
    drop(held);
    assert!(pool.get().await.is_ok(), "the pool still works afterwards");
}

/// What the guide's pool did, reproduced by turning our timeout off (a timeout too large for a
/// deadline): an hour later, the 11th `get()` is still waiting.
#[tokio::test(start_paused = true)]
async fn without_a_wait_timeout_the_eleventh_get_waits_forever() {
    let pool = Pool::builder(Fake::new())
        .max_size(10)
        .wait_timeout(Duration::MAX)
        .build()
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(pool.get().await.unwrap());
    }
    let eleventh = tokio::time::timeout(Duration::from_secs(3600), pool.get()).await;
    assert!(eleventh.is_err(), "the guide's hang did not reproduce");
}

// ---- bad input --------------------------------------------------------------------------------

#[test]
fn impossible_configurations_are_build_errors() {
    type Builder = async_patterns::conn_pool::Builder<Fake>;
    let build = |f: fn(Builder) -> Builder| f(Pool::builder(Fake::new())).build().map(drop);
    assert_eq!(build(|b| b.max_size(0)), Err(BuildError::ZeroMaxSize));
    assert_eq!(
        build(|b| b.max_size(usize::MAX)),
        Err(BuildError::MaxSizeTooLarge)
    );
    assert_eq!(
        build(|b| b.create_timeout(Duration::ZERO)),
        Err(BuildError::ZeroTimeout(GetPhase::Create))
    );
    assert_eq!(
        build(|b| b.recycle_timeout(Duration::ZERO)),
        Err(BuildError::ZeroTimeout(GetPhase::Recycle))
    );
    assert_eq!(build(|b| b.wait_timeout(Duration::ZERO)), Ok(()));
    assert_eq!(
        BuildError::ZeroTimeout(GetPhase::Create).to_string(),
        "a zero timeout for creating an object would fail every attempt"
    );
}

/// A zero wait timeout never waits: a free slot is taken, an exhausted pool fails at once.
#[tokio::test(start_paused = true)]
async fn a_zero_wait_timeout_fails_at_once_when_exhausted() {
    let pool = Pool::builder(Fake::new())
        .max_size(1)
        .wait_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let held = pool.get().await.expect("a free slot needs no wait");
    let start = Instant::now();
    let mut second = task::spawn(pool.get());
    let result = assert_ready!(second.poll());
    assert!(is_timeout(&result, GetPhase::Wait), "{result:?}");
    assert_eq!(start.elapsed(), Duration::ZERO);
    drop(held);
    assert!(pool.get().await.is_ok());
}

/// The pool needs no runtime to be built, and its `get()` future is `Send`.
#[test]
fn builds_outside_a_runtime_and_get_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (pool, _) = pool_of(Fake::new(), 1);
    let get = pool.get();
    assert_send(&get);
    drop(get);
}

// ---- reuse, FIFO, status ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn returned_objects_are_recycled_and_reused_oldest_first() {
    let (pool, books) = pool_of(Fake::new(), 3);
    let held: Vec<_> = vec![
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
        pool.get().await.unwrap(),
    ];
    assert_eq!(ids(&held), [0, 1, 2]);
    let status = pool.status();
    assert_eq!((status.size, status.idle, status.max_size), (3, 0, 3));
    drop(held);
    assert_eq!((pool.status().size, pool.status().idle), (3, 3));

    let again = pool.get().await.unwrap();
    assert_eq!(again.id, 0, "the oldest idle object first");
    assert_eq!(books.recycled.load(Ordering::SeqCst), 1);
    assert_eq!(
        books.created.load(Ordering::SeqCst),
        3,
        "nothing new created"
    );
    assert_eq!((pool.status().size, pool.status().idle), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    let (pool, _) = pool_of(Fake::new(), 1);
    let held = pool.get().await.unwrap();
    let mut waiters: Vec<_> = (0..3).map(|_| task::spawn(pool.get())).collect();
    for waiter in &mut waiters {
        assert_pending!(waiter.poll());
    }
    assert_eq!(pool.status().waiting, 3);

    // A newcomer does not overtake them, even when it polls first after the release.
    let mut newcomer = task::spawn(pool.get());
    drop(held);
    assert_pending!(newcomer.poll());
    let mut order = Vec::new();
    let mut waiters: Vec<_> = waiters.into_iter().enumerate().collect();
    while !waiters.is_empty() {
        let mut still = Vec::new();
        for (index, mut waiter) in waiters {
            match waiter.poll() {
                std::task::Poll::Ready(object) => {
                    order.push(index);
                    drop(object.unwrap()); // hands the slot to the next in line
                }
                std::task::Poll::Pending => still.push((index, waiter)),
            }
        }
        // Poll in reverse next time: the order must still come out FIFO.
        still.reverse();
        waiters = still;
    }
    assert_eq!(order, [0, 1, 2]);
    assert!(newcomer.poll().is_ready());
}

#[tokio::test(start_paused = true)]
async fn size_never_exceeds_max_under_100_concurrent_tasks() {
    let (pool, books) = pool_of(Fake::new().create_delay(Duration::from_millis(3)), 5);
    let peak_size = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..100u64 {
        let pool = pool.clone();
        let peak_size = Arc::clone(&peak_size);
        tasks.push(tokio::spawn(async move {
            let conn = pool.get().await.expect("within the wait timeout");
            peak_size.fetch_max(pool.status().size, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1 + i % 7)).await;
            drop(conn);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(books.peak.load(Ordering::SeqCst), 5);
    assert_eq!(peak_size.load(Ordering::SeqCst), 5);
    assert_eq!(
        books.created.load(Ordering::SeqCst),
        5,
        "objects were reused"
    );
    let status = pool.status();
    assert_eq!((status.size, status.idle, status.waiting), (5, 5, 0));
}

// ---- broken objects ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_object_marked_broken_is_discarded_and_its_slot_freed() {
    let (pool, books) = pool_of(Fake::new(), 1);
    let mut conn = pool.get().await.unwrap();
    Object::mark_broken(&mut conn);
    assert!(Object::is_marked_broken(&conn));
    drop(conn);
    assert_eq!(books.discarded(), [0]);
    assert_eq!((pool.status().size, pool.status().idle), (0, 0));
    assert_eq!(
        pool.get().await.unwrap().id,
        1,
        "a new one in the freed slot"
    );
}

#[tokio::test(start_paused = true)]
async fn an_object_the_manager_knows_broken_is_discarded_on_return() {
    let (pool, books) = pool_of(Fake::new(), 1);
    let mut conn = pool.get().await.unwrap();
    conn.dead = true;
    drop(conn);
    assert_eq!(books.discarded(), [0]);
    assert_eq!(pool.status().size, 0);
}

#[tokio::test(start_paused = true)]
async fn an_object_whose_holder_panicked_is_discarded() {
    let (pool, books) = pool_of(Fake::new(), 1);
    let holder = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let _conn = pool.get().await.unwrap();
            panic!("the holder fails half-way through a transaction");
        })
    };
    assert!(holder.await.unwrap_err().is_panic());
    assert_eq!(books.discarded(), [0]);
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.get().await.unwrap().id, 1);
}

/// The server "restarted": every idle connection fails its recycle, is discarded, and `get()`
/// goes on to a new one without an error.
#[tokio::test(start_paused = true)]
async fn idle_objects_that_fail_recycle_are_discarded_and_replaced() {
    let (pool, books) = pool_of(Fake::new(), 3);
    let held = vec![pool.get().await.unwrap(), pool.get().await.unwrap()];
    drop(held);
    pool.manager().restart();
    let conn = pool.get().await.expect("a fresh connection, not an error");
    assert_eq!(conn.id, 2);
    assert_eq!(books.discarded(), [0, 1]);
    assert_eq!((pool.status().size, pool.status().idle), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn take_detaches_the_object_and_frees_its_slot() {
    let (pool, books) = pool_of(Fake::new(), 1);
    let conn = Object::take(pool.get().await.unwrap());
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.get().await.unwrap().id, 1);
    drop(conn);
    assert!(books.discarded().is_empty(), "taken, not discarded");
}

// ---- timeouts and failures --------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_slow_create_ends_with_the_create_timeout() {
    let pool = Pool::builder(Fake::new().create_delay(Duration::from_secs(60)))
        .max_size(1)
        .create_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = Instant::now();
    let result = pool.get().await;
    assert!(is_timeout(&result, GetPhase::Create), "{result:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(pool.status().size, 0, "the reservation was released");
    assert_eq!(
        result.unwrap_err().to_string(),
        "connection pool timed out creating an object (timeout 2s)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_is_a_typed_error_with_its_cause_once() {
    let manager = Fake::new();
    manager.fail_create.store(true, Ordering::SeqCst);
    let (pool, _) = pool_of(manager, 1);
    let error = pool.get().await.unwrap_err();
    assert!(matches!(
        error,
        PoolError::Create(FakeError("connection refused"))
    ));
    assert_eq!(
        error.to_string(),
        "connection pool failed to create an object"
    );
    let source = std::error::Error::source(&error).expect("the cause");
    assert_eq!(source.to_string(), "connection refused");
    assert_eq!(pool.status().size, 0);
    pool.manager().fail_create.store(false, Ordering::SeqCst);
    assert!(pool.get().await.is_ok(), "the slot was freed");
}

#[tokio::test(start_paused = true)]
async fn a_slow_recycle_ends_with_the_recycle_timeout_and_discards_the_object() {
    let pool = Pool::builder(Fake::new().recycle_delay(Duration::from_secs(60)))
        .max_size(1)
        .recycle_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let books = Arc::clone(&pool.manager().books);
    drop(pool.get().await.unwrap());
    let start = Instant::now();
    let result = pool.get().await;
    assert!(is_timeout(&result, GetPhase::Recycle), "{result:?}");
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    assert_eq!(books.discarded(), [0]);
    assert_eq!(pool.status().size, 0);
}

// ---- cancellation at every point --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_get_dropped_while_waiting_gives_its_place_to_the_next() {
    let (pool, _) = pool_of(Fake::new(), 1);
    let held = pool.get().await.unwrap();
    let mut first = task::spawn(pool.get());
    let mut second = task::spawn(pool.get());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    drop(held); // the slot is assigned to `first`...
    drop(first); // ...which is dropped before it sees it
    assert!(second.is_woken());
    let conn = assert_ready!(second.poll()).unwrap();
    assert_eq!(conn.id, 0);
    assert_eq!(pool.status().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn a_get_dropped_while_creating_releases_the_slot_and_the_reservation() {
    let (pool, books) = pool_of(Fake::new().create_delay(Duration::from_secs(1)), 1);
    let mut creating = task::spawn(pool.get());
    assert_pending!(creating.poll());
    assert_eq!(pool.status().size, 1, "the creation is counted");
    drop(creating);
    assert_eq!(books.creations_abandoned.load(Ordering::SeqCst), 1);
    assert_eq!(pool.status().size, 0);
    *pool.manager().create_delay.lock().unwrap() = Duration::ZERO;
    assert!(pool.get().await.is_ok(), "the slot was freed");
}

#[tokio::test(start_paused = true)]
async fn a_get_dropped_while_recycling_discards_the_object_and_frees_the_slot() {
    let (pool, books) = pool_of(Fake::new().recycle_delay(Duration::from_secs(1)), 1);
    drop(pool.get().await.unwrap());
    let mut recycling = task::spawn(pool.get());
    assert_pending!(recycling.poll());
    assert_eq!((pool.status().size, pool.status().idle), (1, 0));
    drop(recycling);
    assert_eq!(books.discarded(), [0], "its state is unknown: discarded");
    assert_eq!(books.dropped.lock().unwrap().len(), 1);
    assert_eq!(pool.status().size, 0);
    let conn = tokio::time::timeout(Duration::from_secs(5), pool.get()).await;
    assert!(matches!(conn, Ok(Ok(_))), "the slot was freed");
}

// ---- close ------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn close_discards_idle_objects_and_objects_returned_later() {
    let (pool, books) = pool_of(Fake::new(), 2);
    let returned_first = pool.get().await.unwrap();
    let held = pool.get().await.unwrap();
    drop(returned_first);
    assert_eq!((pool.status().size, pool.status().idle), (2, 1));
    assert!(!pool.is_closed());

    assert!(pool.close());
    assert!(!pool.close(), "idempotent: only the first call closes");
    assert!(pool.is_closed());
    assert_eq!(books.discarded(), [0], "the idle object at once");
    assert_eq!((pool.status().size, pool.status().idle), (1, 0));
    assert!(matches!(pool.get().await, Err(PoolError::Closed)));

    drop(held);
    assert_eq!(books.discarded(), [0, 1], "the held one when returned");
    let status = pool.status();
    assert_eq!((status.size, status.idle, status.waiting), (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn close_wakes_every_waiter_with_the_closed_error() {
    let (pool, _) = pool_of(Fake::new(), 1);
    let held = pool.get().await.unwrap();
    let mut waiters: Vec<_> = (0..3).map(|_| task::spawn(pool.get())).collect();
    for waiter in &mut waiters {
        assert_pending!(waiter.poll());
    }
    assert_eq!(pool.status().waiting, 3);
    pool.close();
    for waiter in &mut waiters {
        assert!(waiter.is_woken());
        assert!(matches!(
            assert_ready!(waiter.poll()),
            Err(PoolError::Closed)
        ));
    }
    assert_eq!(pool.status().waiting, 0);
    drop(held);
    assert_eq!(pool.status().size, 0);
}

#[tokio::test(start_paused = true)]
async fn a_get_creating_when_the_pool_closes_fails_and_discards_its_object() {
    let (pool, books) = pool_of(Fake::new().create_delay(Duration::from_secs(1)), 1);
    let mut creating = task::spawn(pool.get());
    assert_pending!(creating.poll());
    pool.close();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(matches!(
        assert_ready!(creating.poll()),
        Err(PoolError::Closed)
    ));
    assert_eq!(books.discarded(), [0]);
    assert_eq!(pool.status().size, 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_discards_the_idle_objects() {
    let (pool, books) = pool_of(Fake::new(), 2);
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    drop(a);
    drop(pool);
    assert!(books.discarded().is_empty(), "b still holds the pool");
    drop(b);
    let mut discarded = books.discarded();
    discarded.sort_unstable();
    assert_eq!(discarded, [0, 1]);
}

/// Every phase of a `get()` is bounded, but not their sum: with 3 idle objects whose recycle
/// fails after 1 s each, a `get()` takes 3 s of recycling and then a create. `get_timeout` puts
/// one deadline over the whole: 2.5 s, in `GetPhase::Get`, and the pool's books stay right (the
/// object being recycled when the deadline hit is discarded, the slot freed).
#[tokio::test(start_paused = true)]
async fn get_timeout_bounds_a_get_that_goes_through_many_slow_failing_recycles() {
    struct SlowFailingRecycle(AtomicUsize);
    impl Manager for SlowFailingRecycle {
        type Object = usize;
        type Error = FakeError;
        async fn create(&self) -> Result<usize, FakeError> {
            Ok(self.0.fetch_add(1, Ordering::SeqCst))
        }
        async fn recycle(&self, _: &mut usize) -> Result<(), FakeError> {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err(FakeError("stale"))
        }
    }
    let build = |total: Option<Duration>| {
        let builder = Pool::builder(SlowFailingRecycle(AtomicUsize::new(0)))
            .max_size(3)
            .recycle_timeout(Duration::from_millis(1500));
        match total {
            Some(total) => builder.get_timeout(total),
            None => builder,
        }
        .build()
        .unwrap()
    };
    for total in [None, Some(Duration::from_millis(2500))] {
        let pool = build(total);
        let objects: Vec<_> = [pool.get().await, pool.get().await, pool.get().await]
            .into_iter()
            .map(Result::unwrap)
            .collect();
        drop(objects);
        assert_eq!(pool.status().idle, 3);
        let start = Instant::now();
        let got = pool.get().await;
        let took = start.elapsed();
        match total {
            None => {
                assert_eq!(*got.unwrap(), 3, "a new object after three failed recycles");
                assert_eq!(took, Duration::from_secs(3));
            }
            Some(total) => {
                assert!(
                    matches!(
                        got,
                        Err(PoolError::Timeout {
                            phase: GetPhase::Get,
                            after
                        }) if after == total
                    ),
                    "{got:?}"
                );
                assert_eq!(took, total);
                assert_eq!(pool.status().size, 0, "every discarded object uncounted");
                assert_eq!(*pool.get().await.unwrap(), 3, "the slot was freed");
            }
        }
    }
}
