//! The test server's fault knobs over a healthy simulated network (0–50 ms per segment): a late
//! head, a stalled, trickled or truncated body, 5xx and 4xx statuses, `Retry-After`,
//! `Connection: close`, and keep-alive reuse.

use std::time::Duration;

use async_patterns::fetch::{FetchError, Phase};
use async_patterns_test_server::Response as Reply;

use crate::harness::{
    BODY, Method, Policy, Scenario, attempt_count, attempt_failed, cut_at_deadline, ensure,
    http_error_in, ok_after, requests, run_seeds, says, timed_out_in,
};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// `run`'s error is `FetchError::Status { status }` itself.
fn status_error(error: &FetchError, status: u16) -> Result<(), String> {
    ensure(
        matches!(error, FetchError::Status { status: got, .. } if *got == status),
        || format!("expected Status {{ {status} }}, got {error:?}"),
    )
}

// ---------------------------------------------------------------------------------------------
// A late head
// ---------------------------------------------------------------------------------------------

/// The first answer's head comes after 3 s; the per-attempt limit (1 s) cuts that attempt off
/// and the retry gets the prompt default.
#[test]
fn delay_headers_retried_after_attempt_timeout() {
    let scenario = Scenario {
        script: vec![Reply::ok(BODY).delay_headers(secs(3))],
        policy: Policy::new(3).attempt_timeout(secs(1)),
        // The server is still waiting out the delay when the client has gone: hyper notices the
        // client's FIN only when it reads again, after the delay.
        extra_settle: secs(2),
        ..Scenario::new("delay_headers_retried_after_attempt_timeout")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        attempt_failed(run, 1, says::HEADERS_TIMEOUT)?;
        requests(run, 2)
    });
    run_seeds(&scenario);
}

/// Every head comes after 4 s and there is no per-attempt limit: the 2 s deadline ends the call
/// in the headers phase, at the deadline, after one attempt.
#[test]
fn delay_headers_past_deadline() {
    let deadline = secs(2);
    let scenario = Scenario {
        default: Reply::ok(BODY).delay_headers(secs(4)),
        deadline,
        extra_settle: secs(2),
        ..Scenario::new("delay_headers_past_deadline")
    }
    .expect(move |run| {
        timed_out_in(run, Phase::Headers)?;
        attempt_count(run, 1)?;
        cut_at_deadline(run, deadline)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// A slow body
// ---------------------------------------------------------------------------------------------

/// The guide's case: the head at once, the body after 8 s, a 5 s deadline. The call ends at 5 s
/// reading the body (the guide's `fetch_with_timeout` returns `Ok` after 8 s: `guide.rs`).
#[test]
fn stall_body_past_deadline() {
    let deadline = secs(5);
    let scenario = Scenario {
        default: Reply::ok(BODY).stall_body(0, secs(8)),
        deadline,
        extra_settle: secs(3),
        ..Scenario::new("stall_body_past_deadline")
    }
    .expect(move |run| {
        timed_out_in(run, Phase::Body)?;
        attempt_count(run, 1)?;
        cut_at_deadline(run, deadline)
    });
    run_seeds(&scenario);
}

/// The first body stalls 3 s after 4 bytes; the per-attempt limit cuts it off in the body phase
/// and the retry (a GET) succeeds.
#[test]
fn stall_body_retried_after_attempt_timeout() {
    let scenario = Scenario {
        script: vec![Reply::ok(BODY).stall_body(4, secs(3))],
        policy: Policy::new(3).attempt_timeout(secs(1)),
        extra_settle: secs(2),
        ..Scenario::new("stall_body_retried_after_attempt_timeout")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        attempt_failed(run, 1, says::BODY_TIMEOUT)?;
        requests(run, 2)
    });
    run_seeds(&scenario);
}

/// 4 bytes every 100 ms: 0.8 s of pauses, well within the deadline.
#[test]
fn trickle_body_within_deadline() {
    let scenario = Scenario {
        default: Reply::ok(BODY).trickle_body(4, ms(100)),
        ..Scenario::new("trickle_body_within_deadline")
    }
    .expect(|run| {
        ok_after(run, 1)?;
        ensure(run.elapsed >= ms(800), || {
            format!("a trickled body took only {:?}", run.elapsed)
        })
    });
    run_seeds(&scenario);
}

/// 4 bytes every 500 ms: 4 s of pauses; a 2 s deadline ends the call reading the body, even
/// though bytes keep arriving.
#[test]
fn trickle_body_past_deadline() {
    let deadline = secs(2);
    let scenario = Scenario {
        default: Reply::ok(BODY).trickle_body(4, ms(500)),
        deadline,
        extra_settle: secs(2),
        ..Scenario::new("trickle_body_past_deadline")
    }
    .expect(move |run| {
        timed_out_in(run, Phase::Body)?;
        cut_at_deadline(run, deadline)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// A truncated body
// ---------------------------------------------------------------------------------------------

/// The first answer declares the whole body, sends 4 bytes and closes: a broken exchange in the
/// body phase (never a short success); the GET is retried and succeeds.
#[test]
fn close_mid_body_get_retried() {
    let scenario = Scenario {
        script: vec![Reply::ok(BODY).close_mid_body(4)],
        ..Scenario::new("close_mid_body_get_retried")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        attempt_failed(run, 1, says::BODY_BROKEN)?;
        requests(run, 2)
    });
    run_seeds(&scenario);
}

/// The same truncation answering a POST: the server has it, so it is not sent again.
#[test]
fn close_mid_body_post_not_retried() {
    let scenario = Scenario {
        method: Method::Post,
        script: vec![Reply::ok(BODY).close_mid_body(4)],
        ..Scenario::new("close_mid_body_post_not_retried")
    }
    .expect(|run| {
        http_error_in(run, Phase::Body)?;
        attempt_count(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------------

/// Always 503: every attempt is used, then `AttemptsExhausted` over the 503.
#[test]
fn status_5xx_exhausts_attempts() {
    let scenario = Scenario {
        default: Reply::status(503),
        policy: Policy::new(3),
        ..Scenario::new("status_5xx_exhausts_attempts")
    }
    .expect(|run| {
        let error = run.error()?;
        match error {
            FetchError::AttemptsExhausted { attempts: 3, last } => status_error(last, 503)?,
            other => return Err(format!("expected AttemptsExhausted(503), got {other:?}")),
        }
        ensure(error.status() == Some(503), || {
            format!("status() of {error:?} is not 503")
        })?;
        requests(run, 3)
    });
    run_seeds(&scenario);
}

/// 500, 502, 503, then success: the fourth attempt of four succeeds.
#[test]
fn status_5xx_then_success() {
    let scenario = Scenario {
        script: vec![Reply::status(500), Reply::status(502), Reply::status(503)],
        policy: Policy::new(4),
        ..Scenario::new("status_5xx_then_success")
    }
    .expect(|run| {
        ok_after(run, 4)?;
        requests(run, 4)
    });
    run_seeds(&scenario);
}

/// A 503 answering a POST is final: the server may have acted on it.
#[test]
fn status_503_post_not_retried() {
    let scenario = Scenario {
        method: Method::Post,
        default: Reply::status(503),
        ..Scenario::new("status_503_post_not_retried")
    }
    .expect(|run| {
        status_error(run.error()?, 503)?;
        attempt_count(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// A 404 is final for every method.
#[test]
fn status_404_not_retried() {
    let scenario = Scenario {
        default: Reply::status(404),
        ..Scenario::new("status_404_not_retried")
    }
    .expect(|run| {
        status_error(run.error()?, 404)?;
        attempt_count(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Retry-After
// ---------------------------------------------------------------------------------------------

/// A 503 with `Retry-After: 1`: the retry waits at least 1 s (far over the 50 ms backoff) and
/// succeeds.
#[test]
fn retry_after_honoured() {
    let scenario = Scenario {
        script: vec![Reply::status(503).retry_after(1)],
        max_server_wait: secs(1),
        ..Scenario::new("retry_after_honoured")
    }
    .expect(|run| {
        ok_after(run, 2)?;
        let wait = run.attempts[1].start - run.attempts[0].end;
        ensure(wait >= secs(1), || {
            format!("waited {wait:?} after Retry-After: 1")
        })
    });
    run_seeds(&scenario);
}

/// A 429 with `Retry-After: 10` under a 5 s deadline: the wait is not started; the call ends at
/// once with `Timeout { Backoff }` carrying the 429.
#[test]
fn retry_after_past_deadline() {
    let scenario = Scenario {
        script: vec![Reply::status(429).retry_after(10)],
        max_server_wait: secs(10),
        ..Scenario::new("retry_after_past_deadline")
    }
    .expect(|run| {
        let error = run.error()?;
        match error {
            FetchError::Timeout {
                phase: Phase::Backoff,
                last: Some(last),
            } => status_error(last, 429)?,
            other => {
                return Err(format!(
                    "expected Timeout {{ Backoff, 429 }}, got {other:?}"
                ));
            }
        }
        attempt_count(run, 1)?;
        ensure(run.elapsed < secs(1), || {
            format!("gave up only after {:?}", run.elapsed)
        })
    });
    run_seeds(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

/// After a warm-up call, the call reuses the pooled keep-alive connection: no new connection.
#[test]
fn keep_alive_reused() {
    let scenario = Scenario {
        warm_up: true,
        ..Scenario::new("keep_alive_reused")
    }
    .expect(|run| {
        ok_after(run, 1)?;
        ensure(run.connections == 0, || {
            format!("opened {} connections instead of reusing", run.connections)
        })
    });
    run_seeds(&scenario);
}

/// `Connection: close` on every answer: the warm-up's connection is not pooled, the call opens
/// its own, and both sides end up closed.
#[test]
fn connection_close_not_reused() {
    let scenario = Scenario {
        default: Reply::ok(BODY).connection_close(),
        warm_up: true,
        ..Scenario::new("connection_close_not_reused")
    }
    .expect(|run| {
        ok_after(run, 1)?;
        ensure(run.connections == 1, || {
            format!("expected 1 new connection, got {}", run.connections)
        })
    });
    run_seeds(&scenario);
}
