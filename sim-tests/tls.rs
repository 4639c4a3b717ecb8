//! The fetch path over TLS under network faults: the server host runs the handshake (rustls,
//! a certificate for `server` from a CA made once per process) before serving HTTP, the client
//! trusts that CA. The common invariants hold as over plain HTTP (the deadline plus one tick,
//! attempts within the policy, a POST never re-sent once it may have gone out, no connection
//! left open, the same trace per seed), and:
//! - a handshake held or cut off by the network ends in the handshake phase at the attempt's
//!   limit, and is retried for any method (nothing of the request was sent);
//! - a crash after the handshake breaks the exchange like over plain HTTP: a GET is retried, a
//!   POST is not;
//! - a kept-alive TLS connection is reused;
//! - message loss never shows as a TLS refusal.

use std::time::Duration;

use async_patterns::fetch::Phase;

use crate::harness::{
    Method, NetFault, Policy, Run, Scenario, attempt_count, attempt_failed, ensure, http_error_in,
    ok_after, requests, run_seeds, says, timed_out_in,
};
use crate::network::{crash_then_bounce, lossy};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Every segment takes 10 ms: the TCP connect is done at 20 ms, the client's hello is on the
/// link at 25 ms, where `fault` strikes (and lasts until `until`). The attempt's 1 s limit ends
/// the first attempt in the handshake; the next connects once the link is back.
fn handshake_cut(name: &'static str, method: Method, fault: NetFault, until: Duration) -> Scenario {
    let back = match fault {
        NetFault::Hold => NetFault::Release,
        _ => NetFault::Repair,
    };
    Scenario {
        method,
        tls: true,
        latency: (ms(10), ms(10)),
        deadline: ms(5000),
        policy: Policy::new(4).attempt_timeout(ms(1000)),
        net_faults: vec![(ms(25), fault), (until, back)],
        // A cut-off handshake leaves the server's side waiting for the lost segment.
        server_closes_cleanly: false,
        ..Scenario::new(name)
    }
}

/// The first attempt ended in the handshake phase, and the call succeeded after it with the
/// server seeing the request once.
fn handshake_timed_out_then_ok(run: &Run) -> Result<(), String> {
    ensure(run.result.is_ok(), || {
        format!("expected success, got {:?}", run.result)
    })?;
    attempt_failed(run, 1, says::TLS_TIMEOUT)?;
    requests(run, 1)
}

#[test]
fn tls_handshake_held() {
    run_seeds(
        &handshake_cut("tls_handshake_held", Method::Get, NetFault::Hold, ms(1500))
            .expect(handshake_timed_out_then_ok),
    );
}

/// Nothing of a POST leaves before the handshake is done: a POST whose handshake was cut off is
/// retried too.
#[test]
fn tls_handshake_partitioned_post_retried() {
    run_seeds(
        &handshake_cut(
            "tls_handshake_partitioned_post_retried",
            Method::Post,
            NetFault::Partition,
            ms(500),
        )
        .expect(handshake_timed_out_then_ok),
    );
}

/// A handshake cut off for longer than the deadline: the call ends at its deadline.
#[test]
fn tls_handshake_partitioned_past_the_deadline() {
    let scenario = Scenario {
        deadline: ms(800),
        policy: Policy::new(1),
        ..handshake_cut(
            "tls_handshake_partitioned_past_the_deadline",
            Method::Get,
            NetFault::Partition,
            ms(3000),
        )
    }
    .expect(|run| {
        timed_out_in(run, Phase::Tls)?;
        attempt_count(run, 1)?;
        requests(run, 0)
    });
    run_seeds(&scenario);
}

/// The server crashes after the handshake, while holding its answer: a GET is retried once the
/// server is back.
#[test]
fn tls_crash_after_handshake() {
    let scenario = Scenario {
        tls: true,
        ..crash_then_bounce("tls_crash_after_handshake", Method::Get)
    }
    .expect(|run| {
        ensure(run.result.is_ok(), || {
            format!("expected success after the bounce, got {:?}", run.result)
        })?;
        attempt_failed(run, 1, says::HEADERS_BROKEN)?;
        requests(run, 2)
    });
    run_seeds(&scenario);
}

/// The same crash with a POST: it reached the server, so the broken exchange is final.
#[test]
fn tls_crash_after_handshake_post_not_retried() {
    let scenario = Scenario {
        tls: true,
        ..crash_then_bounce("tls_crash_after_handshake_post_not_retried", Method::Post)
    }
    .expect(|run| {
        http_error_in(run, Phase::Headers)?;
        attempt_count(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// A warm-up call leaves a TLS connection pooled: the call reuses it (no new connection, no
/// new handshake).
#[test]
fn tls_keep_alive_reused() {
    let scenario = Scenario {
        tls: true,
        warm_up: true,
        ..Scenario::new("tls_keep_alive_reused")
    }
    .expect(|run| {
        ok_after(run, 1)?;
        requests(run, 1)?;
        ensure(run.connections == 0, || {
            format!("{} new connections for a pooled one", run.connections)
        })
    });
    run_seeds(&scenario);
}

#[test]
fn tls_message_loss() {
    run_seeds(&Scenario {
        tls: true,
        ..lossy("tls_message_loss", Method::Get, 0.1)
    });
}

#[test]
fn tls_message_loss_post() {
    run_seeds(&Scenario {
        tls: true,
        ..lossy("tls_message_loss_post", Method::Post, 0.1)
    });
}
