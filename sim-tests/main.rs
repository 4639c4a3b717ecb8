#![cfg(not(any(loom, shuttle)))]
//! Turmoil simulations of the fetch path (compiled only without `--cfg loom`).
//!
//! Each run is one turmoil simulation with two hosts: `server`, which accepts turmoil TCP
//! streams and serves each with `TestServer::serve_connection` (the fault-injecting hyper
//! server), and `client`, which runs the fetch `Client` over turmoil's TCP (a `Connect` impl in
//! `harness.rs`) on tokio's clock (`TokioClock`), which turmoil simulates. A scenario sets
//! the network (latency range, message loss), the server's answers, the call (GET or POST,
//! deadline, retry policy) and a schedule of faults counted from the start of the call (or from
//! the end of a warm-up call whose pooled connection then sits idle).
//!
//! - `network.rs`: latency within and beyond the deadline; `hold`/`release` of the connect and of
//!   the response; `partition`/`repair` refusing connects and breaking an established or pooled
//!   connection (turmoil's TCP never retransmits, so only the per-attempt limit gets the client
//!   out); `crash`/`bounce` of the server host; message loss (`fail_rate`), GET and POST.
//! - `server_faults.rs`: every knob of the test server — a late head, a stalled, trickled or
//!   truncated body, 5xx / 404 / 429 / 503 with `Retry-After`, `Connection: close`, keep-alive.
//! - `cancellation.rs`: `cancel_when` during a stalled body, a `Retry-After` wait, a held connect.
//! - `determinism.rs`: the same seed twice gives the same trace (each attempt's number, simulated
//!   start and end, outcome; the result), and different seeds differ.
//! - `properties.rs`: a proptest over the scenario's parameters, the seed included.
//! - `teeth.rs`: the checkers reject the naive versions — the guide's `fetch_with_timeout`
//!   (timeout around the response head only) breaks the deadline invariant in the stalled-body
//!   scenario (it returns `Ok` after ~8 s under a 5 s timeout), and a connector that leaks a
//!   connection breaks the open-connections invariant.
//!
//! # Invariants checked in every run
//!
//! 1. The call returns within its deadline plus one tick (1 ms) of simulated time.
//! 2. At least one and at most the policy's maximum attempts (counted with `on_attempt`),
//!    numbered 1..=n, each inside the call, within the per-attempt limit, the waits between them
//!    within the backoff bound (or the server's `Retry-After`); only the last can succeed, and
//!    it did exactly when the call did; `AttemptsExhausted` only after the maximum.
//! 3. The server received no more requests than there were attempts (counted after the network
//!    has settled, so late deliveries count).
//! 4. A POST is never re-sent once its bytes may have gone out: every attempt but the last
//!    failed to connect, and the server received it at most once.
//! 5. No connection left open: after the call, the client is dropped and the simulation runs on
//!    (three maximum latencies and more); then `turmoil::established_tcp_stream_count()` on the
//!    client host is exactly turmoil's leftovers from connects that never completed (turmoil
//!    never removes those; the connector counts them), and on the server host zero where the
//!    network cannot have lost the client's FIN.
//! 6. A success is a 200 with the whole body; errors the scenarios cannot provoke (invalid URL,
//!    body too large, decode) never appear; `Cancelled` only where the scenario cancels the call
//!    (`cancel_when`), and then at the cancellation, within the tick (the attempt in flight, which
//!    reports nothing, counts as made for 2–4).
//!
//! and each scenario's own expectation: the error variant matching the fault (e.g.
//! `Timeout { phase: Body }` for a stalled body, `AttemptsExhausted` over `Status { 503 }`,
//! `Connect` for a refused connection), the attempt count, and success once the fault is repaired.
//!
//! # Seeds, replay
//!
//! Every scenario runs once per seed; the seed goes to turmoil's rng (`Builder::rng_seed`:
//! latencies, message loss) and to the retry policy's jitter (`RetryPolicy::jitter_seed`).
//!
//! | variable | effect |
//! |---|---|
//! | `SIM_SEEDS=<n>` | seeds `0..n` per scenario (default 8; the gate runs 32, deep 10 000) |
//! | `SIM_SEED=<s>` | only seed `s` (replays one failure) |
//! | `SIM_TRACE=1` | print every run's trace (with `--nocapture`) |
//! | `PROPTEST_CASES=<n>` | cases of the property (default 16 here) |
//!
//! A failing scenario lists its failing seeds and prints, for the first, the broken invariant,
//! the trace and the command that replays it, e.g.
//! `SIM_SEED=1234 cargo test --test sim hold_connect_then_release -- --nocapture`.
//! A failing property case is shrunk, printed with its seed and saved in
//! `proptest-regressions/sim_fetch.txt`, which later runs replay first.
//!
//! Each scenario prints its seed count and simulated vs wall time with `--nocapture`:
//! `cargo test --release --test sim -- --nocapture`.
//!
//! # What turmoil 0.7 does not simulate
//!
//! - Retransmission: a lost or partitioned segment is gone, and the connection waits for it for
//!   good. "The partition heals and TCP recovers" cannot happen; every loss is a dead connection.
//! - Refusals and silence as a real network has them: a SYN into a partition is refused at
//!   once (a real one would time out), a crashed host queues segments silently (a connect hangs,
//!   realistic) but the crash itself closes its sockets gracefully (FIN, or RST with unread
//!   data), like a crashed process rather than a machine that lost power.
//! - Keepalive and half-open detection: a server socket whose peer's FIN was lost stays open.
//! - Bandwidth, windows, MTU, Nagle: flow control counts segments (64 per direction), each write
//!   is one segment, `set_nodelay` does nothing.
//! - One-way holds (`hold` stops both directions), DNS failures, clock skew (unused here).
//! - `std::time`: only tokio's clock is simulated, which is why the client takes a clock.

mod cancellation;
mod determinism;
mod harness;
mod network;
#[path = "../tests/support/pki.rs"]
mod pki;
mod properties;
mod server_faults;
mod teeth;
mod tls;
