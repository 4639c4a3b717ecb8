#![cfg(not(any(loom, shuttle)))]
//! The connection pool against a real PostgreSQL: each test starts a throwaway server on
//! loopback (initdb into a temporary directory, a free port, a socket directory inside it),
//! and a guard stops and removes it afterwards, also when the test panics.
//!
//! Needs the cargo feature `postgres` and the PostgreSQL server binaries (`initdb`, `pg_ctl`):
//! found in `$PG_BIN`, else `/usr/lib/postgresql/<newest>/bin`, else on `PATH`. Without them a
//! local run skips each test with a message saying what to install; under CI (`CI` set) a missing
//! server is a failure, and `.ci/run` installs it first. As root (CI), the server runs as the
//! `postgres` user (or `nobody`) through `runuser`: PostgreSQL refuses to run as root.
//!
//! Run: `cargo test --features postgres --test postgres -- --nocapture` (the tests print what they
//! measured: the most connections seen server-side, the recovery time after a restart).

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_tests_need_the_postgres_feature() {
    eprintln!(
        "skipped: the PostgreSQL integration tests need the `postgres` feature: \
         cargo test --features postgres --test postgres"
    );
}

#[cfg(feature = "postgres")]
#[path = "postgres/server.rs"]
mod server;

#[cfg(feature = "postgres")]
mod with_server {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use async_patterns::conn_pool::postgres::PostgresManager;
    use async_patterns::conn_pool::{GetPhase, Manager, Pool, PoolError};
    use tokio::time::Instant;
    use tokio_postgres::{Client, NoTls};

    use super::server::PgServer;

    /// The PostgreSQL manager, counting what the pool asked of it.
    struct Counting {
        inner: PostgresManager,
        created: AtomicUsize,
        discarded: AtomicUsize,
        recycle_failures: AtomicUsize,
    }

    impl Counting {
        fn new(inner: PostgresManager) -> Self {
            Counting {
                inner,
                created: AtomicUsize::new(0),
                discarded: AtomicUsize::new(0),
                recycle_failures: AtomicUsize::new(0),
            }
        }
    }

    impl Manager for Counting {
        type Object = Client;
        type Error = tokio_postgres::Error;

        async fn create(&self) -> Result<Client, Self::Error> {
            let client = self.inner.create().await?;
            self.created.fetch_add(1, Ordering::SeqCst);
            Ok(client)
        }

        async fn recycle(&self, client: &mut Client) -> Result<(), Self::Error> {
            let result = self.inner.recycle(client).await;
            if result.is_err() {
                self.recycle_failures.fetch_add(1, Ordering::SeqCst);
            }
            result
        }

        fn is_broken(&self, client: &Client) -> bool {
            self.inner.is_broken(client)
        }

        fn discard(&self, client: Client) {
            self.discarded.fetch_add(1, Ordering::SeqCst);
            self.inner.discard(client);
        }
    }

    /// How many server backends belong to `application_name` right now.
    async fn backends(monitor: &Client, application_name: &str) -> i64 {
        monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&application_name],
            )
            .await
            .expect("pg_stat_activity")
            .get(0)
    }

    /// Waits (up to 5 s) until the server counts `expected` backends for `application_name`:
    /// a discarded connection's backend exits shortly after the client drops it.
    async fn settle(monitor: &Client, application_name: &str, expected: i64) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let count = backends(monitor, application_name).await;
            if count == expected || Instant::now() >= deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn monitor_client(server: &PgServer) -> Client {
        let (client, connection) = server
            .config("monitor")
            .connect(NoTls)
            .await
            .expect("the monitor connects");
        tokio::spawn(connection);
        client
    }

    /// 100 tasks through a pool of 10: the server never sees more than 10 of the pool's
    /// connections (counted in `pg_stat_activity` by a separate monitor connection polling all
    /// along, and by each task from inside its own connection).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hundred_concurrent_tasks_never_hold_more_than_max_connections() {
        let Some(server) = PgServer::start_or_skip() else {
            return;
        };
        const APP: &str = "conn_pool_load";
        const MAX: usize = 10;
        let monitor = monitor_client(&server).await;
        let pool = Pool::builder(Counting::new(PostgresManager::new(server.config(APP))))
            .max_size(MAX)
            .wait_timeout(Duration::from_secs(30))
            .build()
            .unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut most = 0;
                let mut samples = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    most = most.max(backends(&monitor, APP).await);
                    samples += 1;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                (most, samples, monitor)
            })
        };

        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..100i32 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let client = pool.get().await.expect("a connection within 30 s");
                let seen: i64 = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&APP],
                    )
                    .await
                    .unwrap()
                    .get(0);
                client
                    .execute("SELECT pg_sleep(0.02)", &[])
                    .await
                    .expect("the query");
                let echo: i32 = client
                    .query_one("SELECT $1::int4", &[&i])
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(echo, i);
                (seen, pool.status().size)
            }));
        }
        let mut most_inside = 0;
        let mut most_size = 0;
        for task in tasks {
            let (seen, size) = task.await.unwrap();
            most_inside = most_inside.max(seen);
            most_size = most_size.max(size);
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::SeqCst);
        let (most_outside, samples, monitor) = watcher.await.unwrap();

        println!(
            "100 tasks, max_size {MAX}: most connections seen server-side {most_outside} \
             (monitor, {samples} samples), {most_inside} (from inside the tasks); pool size peak \
             {most_size}; {} connections created; {elapsed:.2?}",
            pool.manager().created.load(Ordering::SeqCst)
        );
        assert!(
            most_outside <= MAX as i64,
            "the server saw {most_outside} connections"
        );
        assert!(
            most_inside <= MAX as i64,
            "a task saw {most_inside} connections"
        );
        assert!(most_size <= MAX);
        assert!(
            most_outside >= 2,
            "the tasks never overlapped: the test proves nothing"
        );
        let status = pool.status();
        assert_eq!(status.size, status.idle, "every connection came back");
        assert_eq!(status.waiting, 0);
        assert_eq!(
            settle(&monitor, APP, status.size as i64).await,
            status.size as i64,
            "server-side connections match the pool's size: none leaked"
        );
        assert_eq!(pool.manager().discarded.load(Ordering::SeqCst), 0);

        pool.close();
        assert_eq!(
            settle(&monitor, APP, 0).await,
            0,
            "close dropped every connection"
        );
    }

    /// The guide's pool (`PoolConfig::new(10)`, no timeouts) hung on the 11th `get()` with ten
    /// connections checked out. Ours, against the same server state, returns the wait timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_exhausted_pool_returns_the_wait_timeout() {
        let Some(server) = PgServer::start_or_skip() else {
            return;
        };
        let pool = Pool::builder(PostgresManager::new(server.config("conn_pool_exhausted")))
            .max_size(10)
            .wait_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(pool.get().await.expect("a free slot"));
        }
        let start = Instant::now();
        let eleventh = tokio::time::timeout(Duration::from_secs(10), pool.get())
            .await
            .expect("the 11th get() hangs, as the guide's did");
        let waited = start.elapsed();
        println!("11th get() of an exhausted pool of 10: {eleventh:?} after {waited:.2?}");
        assert!(
            matches!(
                eleventh,
                Err(PoolError::Timeout {
                    phase: GetPhase::Wait,
                    ..
                })
            ),
            "{eleventh:?}"
        );
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2));
        assert_eq!(pool.status().waiting, 0);
        held.pop();
        let client = pool.get().await.expect("a slot came free");
        client
            .simple_query("")
            .await
            .expect("the recycled connection works");
    }

    /// A connection killed server-side while idle fails its recycle (or is known closed on
    /// return): it is discarded and replaced, and the caller sees no error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_killed_server_side_is_discarded_and_replaced() {
        let Some(server) = PgServer::start_or_skip() else {
            return;
        };
        const APP: &str = "conn_pool_killed";
        let monitor = monitor_client(&server).await;
        let pool = Pool::builder(Counting::new(PostgresManager::new(server.config(APP))))
            .max_size(1)
            .build()
            .unwrap();
        let client = pool.get().await.unwrap();
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        drop(client);
        let killed: bool = monitor
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert!(killed);
        settle(&monitor, APP, 0).await;

        let client = pool.get().await.expect("a fresh connection, not an error");
        let new_pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        assert_ne!(new_pid, pid);
        let manager = pool.manager();
        assert_eq!(manager.discarded.load(Ordering::SeqCst), 1);
        assert_eq!(manager.created.load(Ordering::SeqCst), 2);
        assert_eq!(pool.status().size, 1);
    }

    /// The server restarted mid-run, under load: 20 tasks loop on get + query while the server
    /// goes down (fast shutdown: every connection is cut) and comes back. During the outage
    /// every `get()` ends in bounded time with a typed error; after it the broken connections
    /// are discarded, new ones created, and the pool recovers, without leaking a slot or a
    /// connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_pool_recovers_from_a_server_restart_without_leaking() {
        let Some(server) = PgServer::start_or_skip() else {
            return;
        };
        const APP: &str = "conn_pool_restart";
        const MAX: usize = 5;
        const CREATE_TIMEOUT: Duration = Duration::from_secs(2);
        let pool = Pool::builder(Counting::new(PostgresManager::new(server.config(APP))))
            .max_size(MAX)
            .wait_timeout(Duration::from_secs(5))
            .create_timeout(CREATE_TIMEOUT)
            .recycle_timeout(Duration::from_secs(1))
            .build()
            .unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..20 {
            let pool = pool.clone();
            let stop = Arc::clone(&stop);
            workers.push(tokio::spawn(async move {
                // (when each query succeeded, the longest failed call, failures by kind:
                // cut mid-query, create error, timeout)
                let mut successes = Vec::new();
                let mut slowest_failure = Duration::ZERO;
                let mut failures = [0usize; 3];
                while !stop.load(Ordering::SeqCst) {
                    let call = Instant::now();
                    let failure = match pool.get().await {
                        Ok(client) => match client.simple_query("SELECT pg_sleep(0.01)").await {
                            Ok(_) => {
                                successes.push(epoch.elapsed());
                                None
                            }
                            Err(_) => Some(0), // cut mid-query
                        },
                        Err(PoolError::Create(_)) => Some(1),
                        Err(PoolError::Timeout { .. }) => Some(2),
                        Err(other) => panic!("unexpected {other:?}"),
                    };
                    if let Some(kind) = failure {
                        failures[kind] += 1;
                        slowest_failure = slowest_failure.max(call.elapsed());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (successes, slowest_failure, failures)
            }));
        }

        tokio::time::sleep(Duration::from_millis(500)).await;
        let warm = pool.status();
        server.stop_fast();
        let down_at = epoch.elapsed();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let during = pool.status();
        server.start_again();
        let up_at = epoch.elapsed();
        // Let the load run on for a while after the restart.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::SeqCst);

        let mut first_success_after = None::<Duration>;
        let mut successes_before = 0;
        let mut slowest_failure = Duration::ZERO;
        let mut failures = [0usize; 3];
        for worker in workers {
            let (successes, slowest, counts) = worker.await.unwrap();
            successes_before += successes.iter().filter(|at| **at < down_at).count();
            if let Some(first) = successes.iter().find(|at| **at > up_at) {
                first_success_after = Some(first_success_after.map_or(*first, |f| f.min(*first)));
            }
            slowest_failure = slowest_failure.max(slowest);
            for (total, count) in failures.iter_mut().zip(counts) {
                *total += count;
            }
        }
        let recovery = first_success_after.expect("no query succeeded after the restart") - up_at;
        let manager = pool.manager();
        let (created, discarded, recycle_failures) = (
            manager.created.load(Ordering::SeqCst),
            manager.discarded.load(Ordering::SeqCst),
            manager.recycle_failures.load(Ordering::SeqCst),
        );
        println!(
            "server restart under load (20 tasks, max_size {MAX}): {successes_before} queries before \
             the outage; server down for {:.2?}; warm {warm:?}; during the outage {during:?}; failures: {} cut mid-query, \
             {} create errors, {} timeouts; slowest failed get+query {slowest_failure:.2?}; \
             recovery: first successful query {recovery:.2?} after the server was back; \
             {created} connections created, {discarded} discarded ({recycle_failures} failed \
             recycle)",
            up_at - down_at,
            failures[0],
            failures[1],
            failures[2]
        );
        assert!(successes_before > 0, "no load before the outage");
        assert!(warm.size <= MAX && during.size <= MAX);
        assert!(
            slowest_failure < Duration::from_secs(5) + CREATE_TIMEOUT + Duration::from_secs(1),
            "a failing call took {slowest_failure:?}: not bounded"
        );
        assert!(failures[1] + failures[0] > 0, "the outage went unnoticed");
        assert!(
            recovery < Duration::from_secs(1),
            "recovery took {recovery:?} after the server was back"
        );
        assert!(
            discarded >= warm.size,
            "only {discarded} of the {} pre-restart connections were discarded",
            warm.size
        );

        // No leak: every slot back, the books balance, and the server agrees.
        let status = pool.status();
        assert_eq!(
            (status.idle, status.waiting),
            (status.size, 0),
            "{status:?}"
        );
        assert_eq!(
            created - discarded,
            status.size,
            "created − discarded = size"
        );
        let monitor = monitor_client(&server).await;
        assert_eq!(
            settle(&monitor, APP, status.size as i64).await,
            status.size as i64,
            "server-side connections match the pool's size"
        );
        // And the pool is fully usable: MAX connections at once.
        let mut held = Vec::new();
        for _ in 0..MAX {
            held.push(pool.get().await.expect("a healthy pool after recovery"));
        }
        for client in &held {
            client
                .simple_query("SELECT 1")
                .await
                .expect("a live connection");
        }
    }

    /// An unreachable server is a typed error in bounded time, never a hang: a closed port
    /// refuses at once (`Create`). Needs no server, so it runs wherever the feature is on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_server_is_a_create_error_not_a_hang() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        }; // closed again: nothing listens there
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("postgres");
        let pool = Pool::builder(PostgresManager::new(config))
            .max_size(2)
            .create_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let start = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(10), pool.get())
            .await
            .expect("get() on an unreachable server hung");
        println!(
            "unreachable server: {result:?} after {:.2?}",
            start.elapsed()
        );
        assert!(
            matches!(
                result,
                Err(PoolError::Create(_)
                    | PoolError::Timeout {
                        phase: GetPhase::Create,
                        ..
                    })
            ),
            "{result:?}"
        );
        assert_eq!(
            pool.status().size,
            0,
            "the failed creation left nothing behind"
        );
    }
}
