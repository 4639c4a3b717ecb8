//! The checkers' self-tests: the invariants reject the naive versions they exist to catch.
//!
//! - The guide's `fetch_with_timeout` (the timeout wraps the request up to the response head
//!   only; see `tests/fetch.rs`), written here over turmoil streams against the same server,
//!   breaks the deadline invariant in the stalled-body scenario: the server sends the head at
//!   once and the body after 8 s; under a 5 s timeout the guide returns `Ok` after 8 s of
//!   simulated time, where the fetch client ends at 5 s with `Timeout { Body }`.
//! - A connector that leaks one open connection per connection breaks the "no connection left
//!   open" invariant.

use std::time::Duration;

use async_patterns::fetch::{Client, FetchError, Phase, RetryPolicy};
use async_patterns::time::TokioClock;
use async_patterns_test_server::{Response as Reply, TestServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::harness::{
    BODY, Scenario, TurmoilConnector, URL, add_server_host, build_sim, check, deadline_invariant,
    lock, replay_command, report_timing, run, seeds,
};

/// The guide's `fetch_with_timeout` over turmoil TCP: the timeout covers only sending the request
/// and receiving the response head; the body is read with no limit.
async fn guide_fetch_with_timeout(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let uri: hyper::Uri = url.parse().map_err(|error| format!("{error}"))?;
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = turmoil::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|error| error.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| error.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::get(uri.path())
        .header("host", format!("{host}:{port}"))
        .body(Empty::<Bytes>::new())
        .map_err(|error| error.to_string())?;
    let response = tokio::time::timeout(timeout, sender.send_request(request))
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|error| error.to_string())?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| error.to_string())?;
    Ok(body.to_bytes().to_vec())
}

/// What the guide and the fetch client did in one stalled-body simulation.
struct Comparison {
    guide: Result<Vec<u8>, String>,
    guide_took: Duration,
    ours: Result<Bytes, FetchError>,
    ours_took: Duration,
}

/// The stalled-body scenario (head at once, body after 8 s, a 5 s limit) for the guide, then for
/// the fetch client, in one simulation with `seed`.
fn stalled_body(seed: u64, timeout: Duration) -> Result<Comparison, String> {
    let mut sim = build_sim(
        seed,
        (Duration::ZERO, Duration::from_millis(50)),
        0.0,
        Duration::from_secs(60),
    );
    let server = TestServer::new(Reply::ok(BODY).stall_body(0, Duration::from_secs(8)));
    add_server_host(&mut sim, &server, None);
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let report = std::sync::Arc::clone(&outcome);
    sim.client("client", async move {
        let started = Instant::now();
        let guide = guide_fetch_with_timeout(URL, timeout).await;
        let guide_took = started.elapsed();

        let client = Client::builder()
            .connector(TurmoilConnector::default())
            .clock(TokioClock)
            .retry(RetryPolicy::no_retries().jitter_seed(seed))
            .build();
        let started = Instant::now();
        let ours = client.get(URL).deadline(timeout).bytes().await;
        let ours_took = started.elapsed();
        *lock(&report) = Some(Comparison {
            guide,
            guide_took,
            ours,
            ours_took,
        });
        Ok(())
    });
    sim.run()
        .map_err(|error| format!("the simulation failed: {error}"))?;
    lock(&outcome)
        .take()
        .ok_or_else(|| "the client did not report".to_owned())
}

/// The deadline invariant catches the guide on every seed; the fetch client passes it on the same
/// seeds.
#[test]
fn guide_fetch_with_timeout_breaks_the_deadline_invariant() {
    let timeout = Duration::from_secs(5);
    let wall = std::time::Instant::now();
    let mut simulated = Duration::ZERO;
    let seeds = seeds();
    let (mut fastest, mut slowest) = (Duration::MAX, Duration::ZERO);
    for &seed in &seeds {
        let replay = replay_command("guide_fetch_with_timeout", seed);
        let run =
            stalled_body(seed, timeout).unwrap_or_else(|why| panic!("{why}\nreplay: {replay}"));
        simulated += run.guide_took + run.ours_took;

        assert_eq!(
            run.guide.as_deref(),
            Ok(BODY),
            "seed {seed}: the guide should return the late body\nreplay: {replay}"
        );
        let violation = deadline_invariant(run.guide_took, timeout);
        assert!(
            violation.is_err(),
            "seed {seed}: the deadline invariant did not catch the guide, which returned after \
             {:?} under a {timeout:?} timeout\nreplay: {replay}",
            run.guide_took
        );
        fastest = fastest.min(run.guide_took);
        slowest = slowest.max(run.guide_took);

        assert!(
            matches!(
                run.ours,
                Err(FetchError::Timeout {
                    phase: Phase::Body,
                    ..
                })
            ),
            "seed {seed}: {:?}\nreplay: {replay}",
            run.ours
        );
        assert_eq!(
            deadline_invariant(run.ours_took, timeout),
            Ok(()),
            "seed {seed}\nreplay: {replay}"
        );
        if seed == seeds[0] {
            println!(
                "[sim] guide_fetch_with_timeout seed {seed}: the guide returned Ok({} bytes) after \
                 {:?} of simulated time under a {timeout:?} timeout ({}); the fetch client \
                 returned {:?} after {:?}",
                BODY.len(),
                run.guide_took,
                violation.unwrap_err(),
                run.ours.as_ref().map(Bytes::len),
                run.ours_took
            );
        }
    }
    println!(
        "[sim] guide_fetch_with_timeout: over {} seeds the guide returned Ok after {fastest:?} to \
         {slowest:?} under a {timeout:?} timeout; caught every time",
        seeds.len()
    );
    report_timing(
        "guide_fetch_with_timeout",
        seeds.len(),
        simulated,
        wall.elapsed(),
    );
}

/// A connector that keeps an extra connection open per connection fails the "no connection left
/// open" check (the scenario is otherwise a plain success).
#[test]
fn leaked_connection_breaks_the_open_connections_invariant() {
    let scenario = Scenario {
        leaky_connector: true,
        ..Scenario::new("leaked_connection")
    };
    for seed in seeds() {
        let replay = replay_command("leaked_connection", seed);
        let run = run(&scenario, seed).unwrap_or_else(|why| panic!("{why}\nreplay: {replay}"));
        assert!(
            run.result.is_ok(),
            "seed {seed}: {:?}\nreplay: {replay}",
            run.result
        );
        let why = check(&scenario, &run).expect_err("the leak went unnoticed");
        assert!(
            why.contains("streams still open on the client host"),
            "seed {seed}: rejected for another reason: {why}\nreplay: {replay}"
        );
    }
}
