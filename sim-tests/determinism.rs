//! Determinism: a seed fixes the whole run. The same seed played twice gives the same trace —
//! every attempt's number, simulated start and end, and outcome; the call's result and duration;
//! the server's request count — and different seeds do explore different runs.
//!
//! The scenario mixes every source of randomness: latency drawn from a range, message loss, a
//! held link, a scripted 503 and stalled body, jittered backoff. Nothing on the simulated path
//! reads `std::time`, races futures with an unbiased `tokio::select!`, or iterates a `HashMap`.

use std::time::Duration;

use async_patterns_test_server::Response as Reply;

use crate::harness::{
    BODY, NetFault, Policy, Scenario, check, replay_command, report_timing, run, seeds,
};

fn mixed() -> Scenario {
    Scenario {
        latency: (Duration::ZERO, Duration::from_millis(100)),
        fail_rate: 0.05,
        script: vec![
            Reply::status(503),
            Reply::ok(BODY).stall_body(4, Duration::from_secs(2)),
        ],
        deadline: Duration::from_secs(6),
        policy: Policy::new(6)
            .backoff(Duration::from_millis(50), Duration::from_millis(400))
            .attempt_timeout(Duration::from_millis(800)),
        net_faults: vec![
            (Duration::ZERO, NetFault::Hold),
            (Duration::from_millis(1200), NetFault::Release),
        ],
        server_closes_cleanly: false,
        ..Scenario::new("same_seed_same_trace")
    }
}

#[test]
fn same_seed_same_trace() {
    same_trace_per_seed(&mixed());
}

/// The same mix over TLS: the handshake's own randomness (keys, nonces, signatures) changes
/// bytes, not the number or timing of segments, so the trace is still fixed by the seed.
#[test]
fn same_seed_same_trace_over_tls() {
    same_trace_per_seed(&Scenario {
        tls: true,
        ..Scenario {
            name: "same_seed_same_trace_over_tls",
            ..mixed()
        }
    });
}

fn same_trace_per_seed(scenario: &Scenario) {
    let wall = std::time::Instant::now();
    let mut simulated = Duration::ZERO;
    let seeds = seeds();
    let mut traces = Vec::new();
    for &seed in &seeds {
        let replay = replay_command(scenario.name, seed);
        let play = || {
            let run = run(scenario, seed).unwrap_or_else(|why| panic!("{why}\nreplay: {replay}"));
            check(scenario, &run)
                .unwrap_or_else(|why| panic!("seed {seed}: {why}\nreplay: {replay}"));
            run
        };
        let (first, second) = (play(), play());
        simulated += first.sim_time + second.sim_time;
        let trace = format!("{}sim time {:?}\n", first.trace(), first.sim_time);
        assert_eq!(
            trace,
            format!("{}sim time {:?}\n", second.trace(), second.sim_time),
            "seed {seed} played twice gave two traces\nreplay: {replay}"
        );
        traces.push(trace);
    }
    if seeds.len() >= 4 {
        traces.sort();
        traces.dedup();
        assert!(
            traces.len() > 1,
            "{} seeds all gave the same trace: the seed does not reach the simulation",
            seeds.len()
        );
    }
    report_timing(scenario.name, seeds.len() * 2, simulated, wall.elapsed());
}
