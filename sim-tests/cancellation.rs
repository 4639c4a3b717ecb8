//! Cancellation (`Call::cancel_when`, e.g. a shutdown signal): the call ends at the cancellation —
//! during a stalled body, a `Retry-After` wait or a held connect — with `Cancelled`, and leaves
//! no connection open.

use std::time::Duration;

use async_patterns::fetch::FetchError;
use async_patterns_test_server::Response as Reply;

use crate::harness::{
    BODY, NetFault, Policy, Run, Scenario, attempt_count, ensure, requests, run_seeds,
};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The call ended with `Cancelled` exactly at `at` (within the tick).
fn cancelled_at(run: &Run, at: Duration) -> Result<(), String> {
    let error = run.error()?;
    ensure(matches!(error, FetchError::Cancelled), || {
        format!("expected Cancelled, got {error:?}")
    })?;
    ensure(
        run.elapsed >= at && run.elapsed <= at + crate::harness::TICK,
        || format!("cancelled at {at:?}, ended at {:?}", run.elapsed),
    )
}

/// The head arrives, the body stalls 2 s; the cancellation at 1 s ends the call reading it.
#[test]
fn cancel_during_stalled_body() {
    let scenario = Scenario {
        default: Reply::ok(BODY).stall_body(0, ms(2000)),
        cancel_at: Some(ms(1000)),
        extra_settle: ms(1200),
        ..Scenario::new("cancel_during_stalled_body")
    }
    .expect(|run| {
        cancelled_at(run, ms(1000))?;
        // The attempt in flight was dropped, so it reported nothing.
        attempt_count(run, 0)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// A 503 asks for 2 s before the retry; the cancellation at 1 s ends the wait.
#[test]
fn cancel_during_retry_after_wait() {
    let scenario = Scenario {
        script: vec![Reply::status(503).retry_after(2)],
        policy: Policy::new(3),
        max_server_wait: ms(2000),
        cancel_at: Some(ms(1000)),
        ..Scenario::new("cancel_during_retry_after_wait")
    }
    .expect(|run| {
        cancelled_at(run, ms(1000))?;
        attempt_count(run, 1)?;
        requests(run, 1)
    });
    run_seeds(&scenario);
}

/// The link holds the SYN; the cancellation at 0.5 s abandons the connect, and when the link is
/// released at 1 s the server finds nobody waiting.
#[test]
fn cancel_during_held_connect() {
    let scenario = Scenario {
        cancel_at: Some(ms(500)),
        net_faults: vec![(ms(0), NetFault::Hold), (ms(1000), NetFault::Release)],
        ..Scenario::new("cancel_during_held_connect")
    }
    .expect(|run| {
        cancelled_at(run, ms(500))?;
        requests(run, 0)?;
        ensure(run.connections == 0, || {
            format!("{} connections accepted", run.connections)
        })
    });
    run_seeds(&scenario);
}
