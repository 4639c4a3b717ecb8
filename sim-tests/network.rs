//! Network faults: latency, held links, partitions, a crashed and restarted server, message loss.
//!
//! What turmoil 0.7's TCP does under each (read from its source, confirmed by these runs):
//! - **hold**: segments (SYNs included) wait on the link and are all delivered on release; a
//!   connect held past the client's limit is abandoned, and the server's later accept of its SYN
//!   finds nobody waiting and creates no stream.
//! - **partition**: a SYN is dropped and the connect is refused at once; data in flight or sent
//!   during the partition is dropped, and since turmoil's TCP never retransmits, the receiver
//!   waits for the missing segment for good: an established connection does not recover after
//!   the repair. Only the client's per-attempt limit gets it out.
//! - **crash**: the server's tasks are dropped, which closes their streams gracefully (FIN, or RST
//!   with unread data) — a crashed process, not a dead machine; while the host is down, segments
//!   to it wait undelivered, so a connect hangs rather than being refused. On **bounce** those
//!   waiting SYNs arrive before the listener is bound again and are refused.
//! - **message loss** (`fail_rate`): a lost segment takes everything in flight on the link with
//!   it; a lost SYN is a refused connect, a lost data segment a connection that hangs.

use std::time::Duration;

use async_patterns::fetch::{FetchError, Phase};
use async_patterns_test_server::Response as Reply;

use crate::harness::{
    HostFault, Method, NetFault, Policy, Run, Scenario, attempt_count, attempt_failed,
    cut_at_deadline, ensure, http_error_in, ok_after, requests, run_seeds, says, timed_out_in,
    timeout_in,
};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

// ---------------------------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------------------------

#[test]
fn latency_within_deadline() {
    let scenario = Scenario {
        latency: (ms(0), ms(200)),
        ..Scenario::new("latency_within_deadline")
    }
    .expect(|run| {
        ok_after(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// Every segment takes 0.5–0.75 s: connected by 0.75 s, the request cannot reach the server
/// before 1 s, so a 1 s deadline ends while waiting for the response head.
#[test]
fn latency_beyond_deadline() {
    let deadline = secs(1);
    let scenario = Scenario {
        latency: (ms(500), ms(750)),
        deadline,
        ..Scenario::new("latency_beyond_deadline")
    }
    .expect(move |run| {
        timed_out_in(run, Phase::Headers)?;
        attempt_count(run, 1)?;
        cut_at_deadline(run, deadline)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Hold / release
// ---------------------------------------------------------------------------------------------

/// The link holds everything from the start of the call until 2.5 s: the first two connects hang
/// to their 1 s limit, the third is released and succeeds. Connect timeouts are safe to retry, so
/// a POST goes through as well, once.
fn hold_connect(name: &'static str, method: Method) -> Scenario {
    Scenario {
        method,
        deadline: secs(6),
        policy: Policy::new(5).attempt_timeout(secs(1)),
        net_faults: vec![(ms(0), NetFault::Hold), (ms(2500), NetFault::Release)],
        ..Scenario::new(name)
    }
    .expect(|run| {
        ok_after(run, 3)?;
        attempt_failed(run, 1, says::CONNECT_TIMEOUT)?;
        attempt_failed(run, 2, says::CONNECT_TIMEOUT)?;
        requests(run, 1)?;
        // The abandoned SYNs reached the server on release, but nobody was waiting for them.
        ensure(run.connections == 1, || {
            format!(
                "expected 1 connection accepted, got {} (abandoned connects became connections)",
                run.connections
            )
        })
    })
}

#[test]
fn hold_connect_then_release() {
    run_seeds(&hold_connect("hold_connect_then_release", Method::Get));
}

#[test]
fn hold_connect_then_release_post() {
    run_seeds(&hold_connect(
        "hold_connect_then_release_post",
        Method::Post,
    ));
}

/// A keep-alive connection is pooled by a warm-up call; then the link holds, so the request goes
/// out over it and hangs: the first attempt times out waiting for the head, the second cannot
/// connect, the third is released at 2.5 s.
///
/// The first request does reach the server on release, but right behind it comes the FIN the
/// client sent when it gave up on that connection; hyper's server (half-close off) then drops
/// the request before handing it to the application ("unexpected EOF on busy connection"), so
/// the server counts only the third.
#[test]
fn hold_response_then_release() {
    let scenario = Scenario {
        deadline: secs(6),
        policy: Policy::new(5).attempt_timeout(secs(1)),
        warm_up: true,
        net_faults: vec![(ms(0), NetFault::Hold), (ms(2500), NetFault::Release)],
        ..Scenario::new("hold_response_then_release")
    }
    .expect(|run| {
        ok_after(run, 3)?;
        attempt_failed(run, 1, says::HEADERS_TIMEOUT)?;
        attempt_failed(run, 2, says::CONNECT_TIMEOUT)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// The same hold with a POST: its bytes may have gone out, so the head timeout is final.
#[test]
fn hold_response_post_not_retried() {
    let scenario = Scenario {
        method: Method::Post,
        deadline: secs(6),
        policy: Policy::new(5).attempt_timeout(secs(1)),
        warm_up: true,
        net_faults: vec![(ms(0), NetFault::Hold), (ms(2500), NetFault::Release)],
        ..Scenario::new("hold_response_post_not_retried")
    }
    .expect(|run| {
        timeout_in(run, Phase::Headers)?;
        attempt_count(run, 1)?;
        // Delivered on release together with the client's FIN: dropped by hyper before the
        // application saw it (see `hold_response_then_release`).
        requests(run, 0)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Partition / repair
// ---------------------------------------------------------------------------------------------

/// Attempts that start after the repair (with time left for an exchange) succeed; a call that
/// failed made its last attempt before the repair and failed with a refused connect.
fn recovers_after(run: &Run, repaired: Duration, deadline: Duration) -> Result<(), String> {
    let repaired_at = run.call_start + repaired;
    let exchange = ms(500);
    for attempt in &run.attempts {
        let in_time = attempt.start + exchange <= run.call_start + deadline;
        if attempt.start > repaired_at && in_time && attempt.outcome.is_err() {
            return Err(format!(
                "attempt #{} started {:?} after the repair and failed: {:?}",
                attempt.number,
                attempt.start - repaired_at,
                attempt.outcome
            ));
        }
    }
    if let Err(error) = &run.result {
        let last = match error {
            FetchError::AttemptsExhausted { last, .. } => last,
            FetchError::Timeout {
                phase: Phase::Backoff,
                last: Some(last),
            } => last,
            other => return Err(format!("unexpected failure {other:?}")),
        };
        match &**last {
            FetchError::Connect { source, .. }
                if source.kind() == std::io::ErrorKind::ConnectionRefused => {}
            other => return Err(format!("expected a refused connect last, got {other:?}")),
        }
    }
    Ok(())
}

/// The link is partitioned from the start of the call until 1 s: every connect is refused at
/// once, the client backs off (full jitter, 8 attempts), and the first attempt after the repair
/// connects. With small jitter draws all 8 attempts can fall before the repair: then the call
/// ends with `AttemptsExhausted` over a refused connect, which is correct too.
fn partition_refuses(name: &'static str, method: Method) -> Scenario {
    let repaired = secs(1);
    let deadline = secs(6);
    Scenario {
        method,
        deadline,
        policy: Policy::new(8)
            .backoff(ms(100), ms(800))
            .attempt_timeout(secs(1)),
        net_faults: vec![(ms(0), NetFault::Partition), (repaired, NetFault::Repair)],
        ..Scenario::new(name)
    }
    .expect(move |run| {
        for attempt in &run.attempts[..run.attempts.len() - 1] {
            ensure(
                attempt.outcome.as_ref().err().map(String::as_str) == Some(says::REFUSED),
                || format!("expected refused connects before the last attempt, got {attempt:?}"),
            )?;
            ensure(attempt.start == attempt.end, || {
                format!("a refused connect takes no time, got {attempt:?}")
            })?;
        }
        recovers_after(run, repaired, deadline)?;
        ensure(run.requests == usize::from(run.result.is_ok()), || {
            format!("the server received {} requests", run.requests)
        })
    })
}

#[test]
fn partition_refuses_connect_until_repair() {
    run_seeds(&partition_refuses(
        "partition_refuses_connect_until_repair",
        Method::Get,
    ));
}

#[test]
fn partition_refuses_connect_until_repair_post() {
    run_seeds(&partition_refuses(
        "partition_refuses_connect_until_repair_post",
        Method::Post,
    ));
}

/// Never repaired: every attempt is refused, and the call ends with the refusal — out of attempts
/// or out of time for the next backoff — well before its deadline.
#[test]
fn partition_never_repaired() {
    let scenario = Scenario {
        deadline: secs(3),
        policy: Policy::new(4).backoff(ms(100), ms(800)),
        net_faults: vec![(ms(0), NetFault::Partition)],
        ..Scenario::new("partition_never_repaired")
    }
    .expect(|run| {
        recovers_after(run, secs(1_000), secs(3))?;
        ensure(run.result.is_err(), || "expected a failure".into())?;
        requests(run, 0)
    });
    run_seeds(&scenario);
}

/// A connection established before the partition: the head and 4 body bytes arrive, the server
/// pauses 1 s, and the rest of the body is sent into the partition (0.3 s–1.5 s) and lost. After
/// the repair the connection stays stuck (no retransmission), so the first attempt ends at its
/// 2 s limit reading the body; the second connects afresh and succeeds.
#[test]
fn partition_breaks_established_connection() {
    let scenario = Scenario {
        script: vec![Reply::ok(crate::harness::BODY).stall_body(4, secs(1))],
        deadline: secs(6),
        policy: Policy::new(3).attempt_timeout(secs(2)),
        net_faults: vec![(ms(300), NetFault::Partition), (ms(1500), NetFault::Repair)],
        ..Scenario::new("partition_breaks_established_connection")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        attempt_failed(run, 1, says::BODY_TIMEOUT)?;
        requests(run, 2)?;
        ensure(run.connections == 2, || {
            format!("expected 2 connections, got {}", run.connections)
        })
    });
    run_seeds(&scenario);
}

/// A pooled keep-alive connection, then a partition before the call (repaired at 0.5 s): the
/// request is lost on the pooled connection, which never recovers; the first attempt ends at its
/// 1 s limit and the second connects afresh. The server never gets the client's FIN (it follows
/// the lost request in sequence), so its side of the dead connection stays open: not checked.
#[test]
fn partition_breaks_pooled_connection() {
    let scenario = Scenario {
        deadline: secs(5),
        policy: Policy::new(3).attempt_timeout(secs(1)),
        warm_up: true,
        net_faults: vec![(ms(0), NetFault::Partition), (ms(500), NetFault::Repair)],
        server_closes_cleanly: false,
        ..Scenario::new("partition_breaks_pooled_connection")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        attempt_failed(run, 1, says::HEADERS_TIMEOUT)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Crash / bounce
// ---------------------------------------------------------------------------------------------

/// The server holds its answer 1 s and crashes at 0.3 s: the client sees the connection close
/// before the head (`Http`), retries; the host is down until 1.5 s, so the next connect hangs to
/// its 1 s limit (or is refused right after the bounce); after the bounce a connect succeeds.
pub(crate) fn crash_then_bounce(name: &'static str, method: Method) -> Scenario {
    Scenario {
        method,
        script: vec![Reply::ok(crate::harness::BODY).delay_headers(secs(1))],
        deadline: secs(6),
        policy: Policy::new(6).attempt_timeout(secs(1)),
        host_faults: vec![(ms(300), HostFault::Crash), (ms(1500), HostFault::Bounce)],
        ..Scenario::new(name)
    }
}

#[test]
fn crash_during_request_then_bounce() {
    let scenario =
        crash_then_bounce("crash_during_request_then_bounce", Method::Get).expect(|run| {
            ensure(run.result.is_ok(), || {
                "expected success after the bounce".into()
            })?;
            attempt_failed(run, 1, says::HEADERS_BROKEN)?;
            recovers_after(run, ms(1500), secs(6))?;
            requests(run, 2)
        });
    run_seeds(&scenario);
}

/// The same crash with a POST: the request reached the server, so the broken exchange is final.
#[test]
fn crash_during_request_post_not_retried() {
    let scenario =
        crash_then_bounce("crash_during_request_post_not_retried", Method::Post).expect(|run| {
            http_error_in(run, Phase::Headers)?;
            attempt_count(run, 1)?;
            requests(run, 1)
        });
    run_seeds(&scenario);
}

/// Crashed for good: after the broken exchange, every connect hangs (a down host answers
/// nothing) to its 1 s limit until the attempts run out.
#[test]
fn crash_without_bounce() {
    let scenario = Scenario {
        script: vec![Reply::ok(crate::harness::BODY).delay_headers(secs(1))],
        deadline: secs(5),
        policy: Policy::new(3).attempt_timeout(secs(1)),
        host_faults: vec![(ms(300), HostFault::Crash)],
        ..Scenario::new("crash_without_bounce")
    }
    .expect(|run| {
        let error = run.error()?;
        ensure(
            matches!(
                error,
                FetchError::AttemptsExhausted { attempts: 3, last }
                    if matches!(**last, FetchError::Timeout { phase: Phase::Connect, .. })
            ),
            || format!("expected AttemptsExhausted over a connect timeout, got {error:?}"),
        )?;
        attempt_failed(run, 1, says::HEADERS_BROKEN)?;
        attempt_failed(run, 2, says::CONNECT_TIMEOUT)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Pooled connections the server lost
// ---------------------------------------------------------------------------------------------

/// A keep-alive connection is pooled by a warm-up call; the server restarts (crash at once,
/// bounce at 200 ms) while it sits idle, and its crash closes the connection (FIN). The call, 1 s
/// later, must not be handed the closed connection: one attempt, over a new connection. A POST
/// too: nothing was sent over the dead one.
fn restarted_while_idle(name: &'static str, method: Method) -> Scenario {
    Scenario {
        method,
        warm_up: true,
        idle_before_call: secs(1),
        host_faults: vec![(ms(0), HostFault::Crash), (ms(200), HostFault::Bounce)],
        ..Scenario::new(name)
    }
    .expect(|run| {
        ok_after(run, 1)?;
        requests(run, 1)?;
        ensure(run.connections == 1, || {
            format!("expected 1 new connection, got {}", run.connections)
        })
    })
}

#[test]
fn pooled_connection_closed_by_server_restart() {
    run_seeds(&restarted_while_idle(
        "pooled_connection_closed_by_server_restart",
        Method::Get,
    ));
}

#[test]
fn pooled_connection_closed_by_server_restart_post() {
    run_seeds(&restarted_while_idle(
        "pooled_connection_closed_by_server_restart_post",
        Method::Post,
    ));
}

/// The same restart, but behind a partition (0–300 ms) that drops the server's FIN: the pooled
/// connection looks alive to the client and is dead on the server. The request goes out over it
/// and is answered with a reset: a broken exchange after the bytes left, on a reused connection.
/// A GET is sent again over a new connection within the same attempt; a POST is not re-sent (the
/// client cannot know the server never processed it).
fn restarted_silently(name: &'static str, method: Method) -> Scenario {
    Scenario {
        method,
        warm_up: true,
        idle_before_call: secs(1),
        net_faults: vec![(ms(0), NetFault::Partition), (ms(300), NetFault::Repair)],
        host_faults: vec![(ms(0), HostFault::Crash), (ms(200), HostFault::Bounce)],
        ..Scenario::new(name)
    }
}

#[test]
fn pooled_connection_silently_dead() {
    let scenario =
        restarted_silently("pooled_connection_silently_dead", Method::Get).expect(|run| {
            ok_after(run, 1)?;
            ensure(run.attempts[0].resent, || {
                "the GET was not sent again on a fresh connection".into()
            })?;
            requests(run, 1)
        });
    run_seeds(&scenario);
}

#[test]
fn pooled_connection_silently_dead_post() {
    let scenario =
        restarted_silently("pooled_connection_silently_dead_post", Method::Post).expect(|run| {
            http_error_in(run, Phase::Headers)?;
            attempt_count(run, 1)?;
            requests(run, 0)
        });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Message loss
// ---------------------------------------------------------------------------------------------

/// A lossy link: the call succeeds or fails with a network failure (never a status, never a
/// short body), and the common invariants hold either way. The server's side of a connection
/// whose FIN was lost stays open: not checked.
pub(crate) fn lossy(name: &'static str, method: Method, fail_rate: f64) -> Scenario {
    Scenario {
        method,
        fail_rate,
        deadline: secs(5),
        policy: Policy::new(5).attempt_timeout(ms(800)),
        server_closes_cleanly: false,
        ..Scenario::new(name)
    }
    .expect(|run| match &run.result {
        Ok(_) => Ok(()),
        Err(
            FetchError::Connect { .. }
            | FetchError::Timeout { .. }
            | FetchError::Http { .. }
            | FetchError::AttemptsExhausted { .. },
        ) => Ok(()),
        Err(other) => Err(format!("a lossy network cannot cause {other:?}")),
    })
}

#[test]
fn message_loss() {
    run_seeds(&lossy("message_loss", Method::Get, 0.1));
}

#[test]
fn message_loss_post() {
    run_seeds(&lossy("message_loss_post", Method::Post, 0.1));
}
