//! A property over random scenarios: for any latency range, message loss rate, schedule of held
//! links, partitions, server crashes (with restarts) and bursts of loss, server script of faults,
//! method, plain HTTP or TLS, deadline, retry policy and cancellation — with the seed drawn too — every run satisfies the common invariants
//! ([`common_invariants`](crate::harness::common_invariants)), and:
//! - a `Status` error carries a status the server was scripted to send;
//! - with a healthy network and server and time for one exchange (within the deadline and the
//!   per-attempt limit), the call succeeds.
//!
//! `PROPTEST_CASES` sets the number of cases (16 without it; the gate runs it in its release sim
//! step only, at the gate's `PROPTEST_CASES`: 256 quick, 10 000 deep). A failing case
//! is shrunk, printed (its `seed` included) and saved in `proptest-regressions/sim_fetch.txt`,
//! which every later run replays first: rerunning `cargo test --test sim fetch_invariants`
//! reproduces it.

use std::time::Duration;

use async_patterns_test_server::Response as Reply;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use crate::harness::{BODY, HostFault, Method, NetFault, Policy, Scenario, check, ensure, run};

/// Kept in the crate's `proptest-regressions/` (proptest would otherwise look for a `lib.rs` above
/// this file and fall back to a file beside it).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/sim_fetch.txt"
);

/// One scripted answer.
#[derive(Debug, Clone)]
enum Knob {
    Ok,
    DelayHeaders(u64),
    StallBody(usize, u64),
    Trickle(usize, u64),
    CloseMidBody(usize),
    Status(u16),
    RetryAfter(u16, u64),
    ConnectionClose,
}

impl Knob {
    fn reply(&self) -> Reply {
        let ms = Duration::from_millis;
        match *self {
            Knob::Ok => Reply::ok(BODY),
            Knob::DelayHeaders(delay) => Reply::ok(BODY).delay_headers(ms(delay)),
            Knob::StallBody(after, pause) => Reply::ok(BODY).stall_body(after, ms(pause)),
            Knob::Trickle(chunk, every) => Reply::ok(BODY).trickle_body(chunk, ms(every)),
            Knob::CloseMidBody(after) => Reply::ok(BODY).close_mid_body(after),
            Knob::Status(status) => Reply::status(status),
            Knob::RetryAfter(status, secs) => Reply::status(status).retry_after(secs),
            Knob::ConnectionClose => Reply::ok(BODY).connection_close(),
        }
    }

    /// How long the server may spend on this answer beyond the network's time.
    fn server_time(&self) -> Duration {
        let ms = Duration::from_millis;
        match *self {
            Knob::DelayHeaders(delay) => ms(delay),
            Knob::StallBody(_, pause) => ms(pause),
            Knob::Trickle(chunk, every) => {
                ms(every) * u32::try_from(BODY.len() / chunk).unwrap_or(0)
            }
            _ => Duration::ZERO,
        }
    }

    fn status(&self) -> Option<u16> {
        match *self {
            Knob::Status(status) | Knob::RetryAfter(status, _) => Some(status),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum WindowKind {
    Hold,
    Partition,
    Crash,
    /// One segment in five lost.
    Loss,
}

/// A fault from `at` for `len` (milliseconds from the start of the call).
#[derive(Debug, Clone, Copy)]
struct Window {
    kind: WindowKind,
    at: u64,
    len: u64,
}

#[derive(Debug, Clone)]
struct Params {
    seed: u64,
    latency: (u64, u64),
    fail_rate: f64,
    windows: Vec<Window>,
    script: Vec<Knob>,
    method: Method,
    tls: bool,
    deadline: u64,
    attempts: u32,
    backoff: (u64, u64),
    attempt_timeout: Option<u64>,
    cancel: Option<u64>,
}

fn knob() -> impl Strategy<Value = Knob> {
    let body = BODY.len();
    prop_oneof![
        2 => Just(Knob::Ok),
        1 => (0u64..3000).prop_map(Knob::DelayHeaders),
        1 => (0..=body, 0u64..3000).prop_map(|(after, pause)| Knob::StallBody(after, pause)),
        1 => (1..=12usize, 0u64..400).prop_map(|(chunk, every)| Knob::Trickle(chunk, every)),
        1 => (0..body).prop_map(Knob::CloseMidBody),
        1 => prop::sample::select(vec![404u16, 408, 429, 500, 502, 503]).prop_map(Knob::Status),
        1 => (prop::sample::select(vec![429u16, 503]), 0u64..=3)
            .prop_map(|(status, secs)| Knob::RetryAfter(status, secs)),
        1 => Just(Knob::ConnectionClose),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    (
        prop_oneof![
            Just(WindowKind::Hold),
            Just(WindowKind::Partition),
            Just(WindowKind::Crash),
            Just(WindowKind::Loss)
        ],
        0u64..3000,
        50u64..2000,
    )
        .prop_map(|(kind, at, len)| Window { kind, at, len })
}

fn params() -> impl Strategy<Value = Params> {
    (
        any::<u64>(),
        (0u64..=100, 0u64..=300),
        prop_oneof![3 => Just(0.0), 1 => 0.0..0.15f64],
        prop::collection::vec(window(), 0..=2),
        prop::collection::vec(knob(), 0..=3),
        prop_oneof![Just(Method::Get), Just(Method::Post)],
        any::<bool>(),
        300u64..6000,
        1u32..=5,
        (1u64..300, 1u64..=8),
        prop::option::of(100u64..3000),
        prop::option::weighted(0.2, 0u64..6000),
    )
        .prop_map(
            |(
                seed,
                (min, spread),
                fail_rate,
                windows,
                script,
                method,
                tls,
                deadline,
                attempts,
                (base, factor),
                attempt_timeout,
                cancel,
            )| Params {
                seed,
                latency: (min, min + spread),
                fail_rate,
                windows,
                script,
                method,
                tls,
                deadline,
                attempts,
                backoff: (base, base * factor),
                attempt_timeout,
                cancel,
            },
        )
}

fn scenario(params: &Params) -> Scenario {
    let ms = Duration::from_millis;
    let mut net_faults = Vec::new();
    let mut host_faults = Vec::new();
    for window in &params.windows {
        let (start, end) = (ms(window.at), ms(window.at + window.len));
        match window.kind {
            WindowKind::Hold => {
                net_faults.extend([(start, NetFault::Hold), (end, NetFault::Release)]);
            }
            WindowKind::Partition => {
                net_faults.extend([(start, NetFault::Partition), (end, NetFault::Repair)]);
            }
            WindowKind::Crash => {
                host_faults.extend([(start, HostFault::Crash), (end, HostFault::Bounce)]);
            }
            WindowKind::Loss => host_faults.extend([
                (start, HostFault::FailRate(0.2)),
                (end, HostFault::FailRate(params.fail_rate)),
            ]),
        }
    }
    net_faults.sort_by_key(|(at, _)| *at);
    let mut policy =
        Policy::new(params.attempts).backoff(ms(params.backoff.0), ms(params.backoff.1));
    if let Some(limit) = params.attempt_timeout {
        policy = policy.attempt_timeout(ms(limit));
    }
    let healthy = params.windows.is_empty() && params.fail_rate == 0.0;
    let statuses: Vec<u16> = params.script.iter().filter_map(Knob::status).collect();
    let max_retry_after = params
        .script
        .iter()
        .filter_map(|knob| match knob {
            Knob::RetryAfter(_, secs) => Some(Duration::from_secs(*secs)),
            _ => None,
        })
        .max()
        .unwrap_or_default();
    let server_time: Duration = params.script.iter().map(Knob::server_time).sum();
    let deadline = ms(params.deadline);
    let max_latency = ms(params.latency.1);
    // One exchange takes three one-way trips (SYN, request, response) plus ticks; TLS 1.3 adds
    // its handshake's round trip.
    let trips = if params.tls { 6 } else { 4 };
    let exchange = max_latency * trips + ms(100);
    let must_succeed = healthy
        && params.script.is_empty()
        && deadline >= exchange
        && params
            .attempt_timeout
            .is_none_or(|limit| ms(limit) >= exchange)
        && params.cancel.is_none();

    Scenario {
        latency: (ms(params.latency.0), max_latency),
        fail_rate: params.fail_rate,
        script: params.script.iter().map(Knob::reply).collect(),
        method: params.method,
        tls: params.tls,
        deadline,
        policy,
        net_faults,
        host_faults,
        max_server_wait: max_retry_after,
        extra_settle: server_time,
        cancel_at: params.cancel.map(ms),
        // Where segments can be lost the server may never see the client's FIN.
        server_closes_cleanly: healthy,
        ..Scenario::new("fetch_invariants")
    }
    .expect(move |run| {
        if let Err(error) = &run.result
            && let Some(status) = error.status()
        {
            ensure(statuses.contains(&status), || {
                format!("status {status} was never scripted ({statuses:?})")
            })?;
        }
        ensure(!must_succeed || run.result.is_ok(), || {
            "a healthy network and server with time for the exchange, yet the call failed".into()
        })
    })
}

fn config() -> Config {
    let mut config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        // Each shrinking step is a whole simulation.
        max_shrink_iters: 256,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 16;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fetch_invariants(params in params()) {
        let scenario = scenario(&params);
        let outcome = run(&scenario, params.seed).and_then(|run| check(&scenario, &run));
        prop_assert!(
            outcome.is_ok(),
            "seed {}: {}\nreplay: cargo test --test sim fetch_invariants (the regression file \
             replays the saved case first)",
            params.seed,
            outcome.unwrap_err()
        );
    }
}
