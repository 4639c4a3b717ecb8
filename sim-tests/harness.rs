//! The simulation harness: one server host running [`TestServer`], one client host running the
//! fetch client over turmoil's TCP, a fault schedule, and the invariants every run must satisfy.
//!
//! A [`Scenario`] describes the network (latency range, message loss), the server's responses,
//! the call (method, deadline, retry policy) and the faults, each at a time counted from the start
//! of the call (or, where the scenario lets a pooled connection sit idle first, from the end of
//! the warm-up call). [`run`] plays it for one seed and returns a [`Run`]; [`check`] applies the common
//! invariants and then the scenario's own expectation; [`run_seeds`] does both for every seed of
//! [`seeds`] and fails with the seeds that broke an invariant and the command that replays each.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_patterns::fetch::{
    AttemptRecord, Client, Connect, FetchError, Phase, Response, RetryPolicy,
};
use async_patterns::time::TokioClock;
use async_patterns_test_server::{Response as Reply, TestServer};
use tokio::time::Instant;

use crate::pki::Ca;

/// turmoil's default tick, set explicitly: network messages move once per tick, timers fire at
/// their exact instant within it. "Within the deadline" means "within the deadline plus one tick".
pub const TICK: Duration = Duration::from_millis(1);

/// The server's port and the URL the client fetches.
pub const URL: &str = "http://server:80/resource";

/// The same over TLS (the server's certificate names `server`).
pub const TLS_URL: &str = "https://server:443/resource";

/// The body of every successful response, so a success can be checked byte for byte.
pub const BODY: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The body of every POST.
pub const POST_BODY: &[u8] = b"order=1";

/// Number of seeds per scenario without `SIM_SEEDS`.
const DEFAULT_SEEDS: u64 = 8;

/// The seeds to run: `SIM_SEED=<n>` alone, else `0..SIM_SEEDS` (default 8).
pub fn seeds() -> Vec<u64> {
    if let Some(seed) = env_u64("SIM_SEED") {
        return vec![seed];
    }
    (0..env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a number"),
    }
}

/// Locks a mutex of the test harness, ignoring poisoning (a panic elsewhere already fails the
/// test).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------------------------

/// Opens turmoil TCP streams for the fetch client.
///
/// turmoil registers a socket on the client host when the SYN leaves and removes it only when a
/// `TcpStream` it handed out is dropped; a connect that is refused or abandoned (the client's
/// timeout dropped it) leaves its entry behind for good. The connector counts those, so the
/// "no connection left open" check can tell turmoil's leftovers from the client's own leaks.
#[derive(Debug, Clone, Default)]
pub struct TurmoilConnector {
    unestablished: Arc<AtomicUsize>,
    /// For the checker's self-test only: with each connection, open a second one and keep it
    /// here, open, as a leaking client would.
    leaked: Option<Arc<Mutex<Vec<turmoil::net::TcpStream>>>>,
}

impl TurmoilConnector {
    /// Connects that did not hand out a stream (failed, or dropped while pending).
    pub fn unestablished(&self) -> usize {
        self.unestablished.load(Ordering::SeqCst)
    }
}

/// Counts a connect as unestablished until it hands out its stream.
struct PendingConnect<'a>(&'a AtomicUsize);

impl<'a> PendingConnect<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        PendingConnect(counter)
    }

    fn established(self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Connect for TurmoilConnector {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        let pending = PendingConnect::start(&self.unestablished);
        let stream = turmoil::net::TcpStream::connect((host, port)).await?;
        pending.established();
        if let Some(leaked) = &self.leaked {
            let extra = turmoil::net::TcpStream::connect((host, port)).await?;
            lock(leaked).push(extra);
        }
        Ok(stream)
    }
}

/// Registers the `server` host: a listener on port 80 that serves every accepted turmoil stream
/// with `server` ([`TestServer::serve_connection`]) — or, given `tls`, a listener on port 443
/// that first runs the TLS handshake (a failed one drops the connection). After a bounce it binds
/// again; the `TestServer` (script, counts) is shared across restarts.
pub fn add_server_host(
    sim: &mut turmoil::Sim<'_>,
    server: &TestServer,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let server = server.clone();
    sim.host("server", move || {
        let server = server.clone();
        let tls = tls.clone();
        async move {
            let port = if tls.is_some() { 443 } else { 80 };
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?;
            loop {
                let (stream, _peer) = listener.accept().await?;
                let server = server.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => server.serve_connection(stream).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                server.serve_connection(stream).await;
                            }
                        }
                    }
                });
            }
        }
    });
}

/// The simulations' certificates: a CA and a leaf for `server`, made once per process (the
/// handshake's own randomness does not change how many segments it sends, so runs stay
/// deterministic per seed).
fn pki() -> &'static (Ca, tokio_rustls::TlsAcceptor) {
    static PKI: std::sync::OnceLock<(Ca, tokio_rustls::TlsAcceptor)> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let ca = Ca::new("simulation CA");
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.leaf(&["server"]).server_config());
        (ca, acceptor)
    })
}

/// A turmoil simulation with the scenario's network and the seed in turmoil's rng.
pub fn build_sim<'a>(
    seed: u64,
    latency: (Duration, Duration),
    fail_rate: f64,
    duration: Duration,
) -> turmoil::Sim<'a> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .tick_duration(TICK)
        .simulation_duration(duration)
        // A fixed epoch: nothing in the run depends on the machine's clock.
        .epoch(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .min_message_latency(latency.0)
        .max_message_latency(latency.1)
        .fail_rate(fail_rate)
        .build()
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Idempotent: retried after broken exchanges, 5xx, timeouts.
    Get,
    /// Not idempotent: never re-sent once its bytes may have gone out.
    Post,
}

/// The retry policy of a scenario; the jitter seed is the run's seed.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Most attempts.
    pub attempts: u32,
    /// Backoff base.
    pub base: Duration,
    /// Backoff cap.
    pub cap: Duration,
    /// Per-attempt limit.
    pub attempt_timeout: Option<Duration>,
}

impl Policy {
    /// `attempts` attempts, backoff 50 ms doubling up to 400 ms, no per-attempt limit.
    pub fn new(attempts: u32) -> Self {
        Policy {
            attempts,
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            attempt_timeout: None,
        }
    }

    /// With a per-attempt limit.
    pub fn attempt_timeout(mut self, limit: Duration) -> Self {
        self.attempt_timeout = Some(limit);
        self
    }

    /// With another backoff range.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.base = base;
        self.cap = cap;
        self
    }

    /// The library's policy, jitter seeded with `seed`.
    pub fn build(&self, seed: u64) -> RetryPolicy {
        let mut policy = RetryPolicy::new(self.attempts)
            .backoff(self.base, self.cap)
            .jitter_seed(seed);
        if let Some(limit) = self.attempt_timeout {
            policy = policy.attempt_timeout(limit);
        }
        policy
    }
}

/// A fault on the client–server link, applied from inside the simulation (on the client host,
/// at its exact simulated instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFault {
    /// Messages stop moving (both ways) and wait on the link.
    Hold,
    /// Held messages are delivered; the link is healthy again.
    Release,
    /// Every message (and everything in flight) is dropped.
    Partition,
    /// The link delivers again; what was dropped stays lost.
    Repair,
}

impl NetFault {
    fn apply(self) {
        match self {
            NetFault::Hold => turmoil::hold("client", "server"),
            NetFault::Release => turmoil::release("client", "server"),
            NetFault::Partition => turmoil::partition("client", "server"),
            NetFault::Repair => turmoil::repair("client", "server"),
        }
    }
}

/// A fault applied by the driver between two simulation steps (it needs the `Sim`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostFault {
    /// The server host's software stops; its tasks and sockets are dropped.
    Crash,
    /// The server host's software starts again (binds its listener anew).
    Bounce,
    /// Every link's message loss rate becomes this.
    FailRate(f64),
}

/// A scenario's own expectation on a run, beyond the common invariants.
pub type Expect = Box<dyn Fn(&Run) -> Result<(), String>>;

/// Everything one simulated call depends on, except the seed.
pub struct Scenario {
    /// The test's name: the replay command filters on it.
    pub name: &'static str,
    /// Each message's one-way latency is drawn from this range (turmoil's default 0–100 ms).
    pub latency: (Duration, Duration),
    /// turmoil's message loss rate from the start (a lost TCP segment breaks its connection).
    pub fail_rate: f64,
    /// The server's answer whenever its script is empty.
    pub default: Reply,
    /// The server's first answers, in order (counted from the call, after any warm-up).
    pub script: Vec<Reply>,
    /// GET or POST.
    pub method: Method,
    /// Over TLS ([`TLS_URL`]) instead of plain HTTP ([`URL`]).
    pub tls: bool,
    /// The call's deadline.
    pub deadline: Duration,
    /// Retries.
    pub policy: Policy,
    /// Make one successful call before the one under test, leaving a pooled keep-alive
    /// connection for it to reuse.
    pub warm_up: bool,
    /// After the warm-up, wait this long before the call (its pooled connection sits idle).
    pub idle_before_call: Duration,
    /// Cancel the call (`Call::cancel_when`) this long after it started.
    pub cancel_at: Option<Duration>,
    /// Link faults, at times from the end of the warm-up (the start of the call unless
    /// `idle_before_call` is set).
    pub net_faults: Vec<(Duration, NetFault)>,
    /// Host faults, at times from the end of the warm-up (applied at the next tick boundary).
    pub host_faults: Vec<(Duration, HostFault)>,
    /// The longest `Retry-After` the server may send: the wait between attempts may reach it.
    pub max_server_wait: Duration,
    /// Extra time to wait after the call before counting open connections: where the server is
    /// still busy with a delayed or slow response when the client gives up.
    pub extra_settle: Duration,
    /// For the checker's self-test: a connector that leaks one open connection per connection.
    pub leaky_connector: bool,
    /// Check that the server, too, has closed every connection once the client has gone (off
    /// where the network may lose the client's FIN: a partition, message loss, a crash).
    pub server_closes_cleanly: bool,
    /// The scenario's own expectation (result variant, attempt count, timing).
    pub expect: Expect,
}

impl Scenario {
    /// A healthy network (0–50 ms), a server answering 200 with [`BODY`], a GET with a 5 s
    /// deadline and 3 attempts; no faults, no expectation beyond the common invariants.
    pub fn new(name: &'static str) -> Self {
        Scenario {
            name,
            latency: (Duration::ZERO, Duration::from_millis(50)),
            fail_rate: 0.0,
            default: Reply::ok(BODY),
            script: Vec::new(),
            method: Method::Get,
            tls: false,
            deadline: Duration::from_secs(5),
            policy: Policy::new(3),
            warm_up: false,
            idle_before_call: Duration::ZERO,
            cancel_at: None,
            net_faults: Vec::new(),
            host_faults: Vec::new(),
            max_server_wait: Duration::ZERO,
            extra_settle: Duration::ZERO,
            leaky_connector: false,
            server_closes_cleanly: true,
            expect: Box::new(|_| Ok(())),
        }
    }

    /// Sets the expectation.
    pub fn expect(mut self, expect: impl Fn(&Run) -> Result<(), String> + 'static) -> Self {
        self.expect = Box::new(expect);
        self
    }

    /// How long the client waits after the call (and after its last link fault) before it
    /// counts open connections: long enough for a FIN to cross and the server to answer it.
    fn settle(&self) -> Duration {
        self.latency.1 * 3 + Duration::from_millis(100) + self.extra_settle
    }

    /// The simulation's time limit: far past anything a correct run needs, so that a hang shows
    /// up as a broken deadline invariant rather than a turmoil error.
    fn sim_limit(&self) -> Duration {
        let faults = self
            .net_faults
            .iter()
            .map(|(at, _)| *at)
            .chain(self.host_faults.iter().map(|(at, _)| *at))
            .max()
            .unwrap_or_default();
        self.deadline * 3 + self.idle_before_call + faults + self.settle() + Duration::from_secs(30)
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("latency", &self.latency)
            .field("fail_rate", &self.fail_rate)
            .field("default", &self.default)
            .field("script", &self.script)
            .field("method", &self.method)
            .field("deadline", &self.deadline)
            .field("policy", &self.policy)
            .field("warm_up", &self.warm_up)
            .field("idle_before_call", &self.idle_before_call)
            .field("cancel_at", &self.cancel_at)
            .field("net_faults", &self.net_faults)
            .field("host_faults", &self.host_faults)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// A run
// ---------------------------------------------------------------------------------------------

/// One attempt, with its times in simulated time since the simulation started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    /// When it started.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// The status, or the failure's message.
    pub outcome: Result<u16, String>,
    /// The request went again over a fresh connection within the attempt.
    pub resent: bool,
}

/// What one simulated call did.
#[derive(Debug)]
pub struct Run {
    /// The call's result.
    pub result: Result<Response, FetchError>,
    /// When the call started (simulated time since the simulation started).
    pub call_start: Duration,
    /// How long the call took (simulated).
    pub elapsed: Duration,
    /// The call's attempts, from `on_attempt`.
    pub attempts: Vec<Attempt>,
    /// Requests the server received for this call (counted after the settle time, so late
    /// deliveries are included).
    pub requests: usize,
    /// Connections the server accepted for this call.
    pub connections: usize,
    /// Established turmoil streams on the client host after the settle time.
    pub client_streams: usize,
    /// Connects that handed out no stream (turmoil keeps their entries; see
    /// [`TurmoilConnector`]).
    pub unestablished_connects: usize,
    /// Established turmoil streams on the server host after the settle time.
    pub server_streams: usize,
    /// Simulated time of the whole run.
    pub sim_time: Duration,
}

impl Run {
    /// The trace the determinism check compares: every attempt's number, simulated start and
    /// end, and outcome; then the call's outcome and duration.
    pub fn trace(&self) -> String {
        let mut trace = String::new();
        for attempt in &self.attempts {
            trace.push_str(&format!(
                "#{} {:?}..{:?} {:?}{}\n",
                attempt.number,
                attempt.start,
                attempt.end,
                attempt.outcome,
                if attempt.resent {
                    " (sent again on a fresh connection)"
                } else {
                    ""
                }
            ));
        }
        trace.push_str(&format!(
            "=> {} after {:?}; server saw {} requests\n",
            describe(&self.result),
            self.elapsed,
            self.requests
        ));
        trace
    }

    /// The error, or a message saying the call succeeded.
    pub fn error(&self) -> Result<&FetchError, String> {
        match &self.result {
            Err(error) => Ok(error),
            Ok(response) => Err(format!(
                "expected an error, got {} {:?}",
                response.status(),
                response.body()
            )),
        }
    }
}

/// The outcome in one line, with the error's whole `source()` chain.
pub fn describe(result: &Result<Response, FetchError>) -> String {
    match result {
        Ok(response) => format!("Ok({} {:?})", response.status(), response.body()),
        Err(error) => {
            let mut line = format!("Err({error:?})");
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                line.push_str(&format!(" <- {cause}"));
                source = cause.source();
            }
            line
        }
    }
}

/// What the client host hands back to the driver.
struct ClientReport {
    /// When fault times start counting (simulated time since the simulation started).
    fault_origin: Option<Duration>,
    run: Option<Run>,
    warm_up_failure: Option<String>,
}

/// Plays `scenario` with `seed`.
///
/// # Errors
///
/// If the simulation itself failed (a host returned an error, or the simulated time limit was
/// reached), or the warm-up call failed.
pub fn run(scenario: &Scenario, seed: u64) -> Result<Run, String> {
    let mut sim = build_sim(
        seed,
        scenario.latency,
        scenario.fail_rate,
        scenario.sim_limit(),
    );
    let server = TestServer::new(scenario.default.clone());
    add_server_host(&mut sim, &server, scenario.tls.then(|| pki().1.clone()));

    let report = Arc::new(Mutex::new(ClientReport {
        fault_origin: None,
        run: None,
        warm_up_failure: None,
    }));
    sim.client(
        "client",
        client_software(scenario, seed, server.clone(), Arc::clone(&report)),
    );

    let mut host_faults = scenario.host_faults.clone();
    host_faults.sort_by_key(|(at, _)| *at);
    let mut host_faults = host_faults.into_iter().peekable();
    loop {
        let finished = sim
            .step()
            .map_err(|error| format!("the simulation failed: {error}"))?;
        if finished {
            break;
        }
        let Some(origin) = lock(&report).fault_origin else {
            continue;
        };
        while let Some(&(at, fault)) = host_faults.peek() {
            if sim.elapsed() < origin + at {
                break;
            }
            match fault {
                HostFault::Crash => sim.crash("server"),
                HostFault::Bounce => sim.bounce("server"),
                HostFault::FailRate(rate) => sim.set_fail_rate(rate),
            }
            host_faults.next();
        }
    }
    let sim_time = sim.elapsed();
    let mut report = lock(&report);
    if let Some(failure) = report.warm_up_failure.take() {
        return Err(failure);
    }
    let mut run = report
        .run
        .take()
        .ok_or("the client finished without reporting")?;
    run.sim_time = sim_time;
    Ok(run)
}

/// The client host: optional warm-up, then the call with its link faults, then the count of
/// open connections once everything has settled.
fn client_software(
    scenario: &Scenario,
    seed: u64,
    server: TestServer,
    report: Arc<Mutex<ClientReport>>,
) -> impl std::future::Future<Output = turmoil::Result> + 'static {
    let leaked = scenario
        .leaky_connector
        .then(|| Arc::new(Mutex::new(Vec::new())));
    let connector = TurmoilConnector {
        unestablished: Arc::default(),
        leaked: leaked.clone(),
    };
    let records = Arc::new(Mutex::new(Vec::<AttemptRecord>::new()));
    let client = Client::builder()
        .connector(connector.clone())
        .root_certificates(pki().0.roots())
        .clock(TokioClock)
        .retry(scenario.policy.build(seed))
        .body_limit(1 << 20)
        .on_attempt({
            let records = Arc::clone(&records);
            move |record| lock(&records).push(record.clone())
        })
        .build();
    let script = scenario.script.clone();
    let url = if scenario.tls { TLS_URL } else { URL };
    let warm_up = scenario.warm_up;
    let method = scenario.method;
    let deadline = scenario.deadline;
    let settle = scenario.settle();
    let net_faults = scenario.net_faults.clone();
    let idle = scenario.idle_before_call;
    let cancel_at = scenario.cancel_at;

    async move {
        let base = Instant::now();
        let offset = turmoil::sim_elapsed().unwrap_or_default();
        let since_start = move |instant: Instant| offset + instant.duration_since(base);

        if warm_up {
            if let Err(error) = client.get(url).deadline(deadline).send().await {
                lock(&report).warm_up_failure = Some(format!("the warm-up call failed: {error}"));
                return Ok(());
            }
            lock(&records).clear();
        }
        let requests_before = server.requests_received();
        let connections_before = server.connections_accepted();
        server.script(script);

        let origin = Instant::now();
        lock(&report).fault_origin = Some(since_start(origin));
        let mut faults = Vec::new();
        for (at, fault) in net_faults {
            if at.is_zero() {
                // Before the first byte of the call leaves.
                fault.apply();
            } else {
                faults.push(tokio::spawn(async move {
                    tokio::time::sleep_until(origin + at).await;
                    fault.apply();
                }));
            }
        }
        if !idle.is_zero() {
            tokio::time::sleep(idle).await;
        }
        let start = Instant::now();
        let call = match method {
            Method::Get => client.get(url),
            Method::Post => client.post(url, POST_BODY),
        };
        let call = call.deadline(deadline);
        let result = match cancel_at {
            Some(at) => {
                call.cancel_when(tokio::time::sleep_until(start + at))
                    .send()
                    .await
            }
            None => call.send().await,
        };
        let elapsed = start.elapsed();

        for fault in faults {
            fault.await?;
        }
        drop(client);
        tokio::time::sleep(settle).await;

        let attempts = lock(&records)
            .iter()
            .map(|record| Attempt {
                number: record.number,
                start: since_start(record.started_at),
                end: since_start(record.ended_at),
                outcome: record.outcome.clone(),
                resent: record.resent,
            })
            .collect();
        lock(&report).run = Some(Run {
            result,
            call_start: since_start(start),
            elapsed,
            attempts,
            requests: server.requests_received() - requests_before,
            connections: server.connections_accepted() - connections_before,
            client_streams: turmoil::established_tcp_stream_count(),
            unestablished_connects: connector.unestablished(),
            server_streams: turmoil::established_tcp_stream_count_on("server"),
            sim_time: Duration::ZERO,
        });
        drop(leaked);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

/// The fetch path's deadline invariant: a call returns within its deadline plus one tick of
/// simulated time.
pub fn deadline_invariant(elapsed: Duration, deadline: Duration) -> Result<(), String> {
    if elapsed <= deadline + TICK {
        Ok(())
    } else {
        Err(format!(
            "deadline broken: the call returned after {elapsed:?} of simulated time, its deadline \
             was {deadline:?} (+ one {TICK:?} tick)"
        ))
    }
}

/// Whether an attempt failed before any byte of the request could have left.
fn failed_before_sending(outcome: &Result<u16, String>) -> bool {
    match outcome {
        Ok(_) => false,
        // FetchError::Connect and FetchError::Tls, and Timeout / Http in Phase::Connect and
        // Phase::Tls.
        Err(message) => {
            message.starts_with("could not connect")
                || message.starts_with("TLS handshake with")
                || message.ends_with("while connecting")
                || message.ends_with("while performing the TLS handshake")
        }
    }
}

/// The invariants every run satisfies, whatever the scenario.
///
/// # Errors
///
/// The first invariant broken, described.
pub fn common_invariants(scenario: &Scenario, run: &Run) -> Result<(), String> {
    // The whole call within its deadline.
    deadline_invariant(run.elapsed, scenario.deadline)?;

    // A cancelled call ends at its cancellation; its attempt in flight reports nothing (it was
    // dropped), so it is counted as made — and as having possibly sent its request.
    let cancelled = matches!(run.result, Err(FetchError::Cancelled));
    match scenario.cancel_at {
        None if cancelled => return Err("cancelled without a cancellation".into()),
        Some(at) if run.elapsed > at + TICK => {
            return Err(format!(
                "cancelled at {at:?}, the call still ran until {:?}",
                run.elapsed
            ));
        }
        Some(at) if cancelled && run.elapsed < at => {
            return Err(format!(
                "cancelled at {at:?}, yet ended Cancelled at {:?}",
                run.elapsed
            ));
        }
        _ => {}
    }

    // Attempts: at least one, at most the policy's, numbered 1..=n.
    let attempts = &run.attempts;
    let made = attempts.len() + usize::from(cancelled);
    let max = scenario.policy.attempts.max(1);
    if attempts.is_empty() && !cancelled {
        return Err("no attempt was reported".into());
    }
    if made > max as usize {
        return Err(format!("{made} attempts, the policy allows {max}"));
    }
    for (index, attempt) in attempts.iter().enumerate() {
        if attempt.number as usize != index + 1 {
            return Err(format!(
                "attempt #{} reported as #{}",
                index + 1,
                attempt.number
            ));
        }
    }

    // Attempt times: inside the call, in order, each within its own limit, the waits between
    // them within the jitter's bounds (or the server's Retry-After).
    let call_end = run.call_start + run.elapsed;
    let mut previous_end = run.call_start;
    for (index, attempt) in attempts.iter().enumerate() {
        if attempt.start < previous_end || attempt.end < attempt.start || attempt.end > call_end {
            return Err(format!(
                "attempt #{} ran {:?}..{:?}, outside the call ({:?}..{call_end:?}) or before \
                 the previous one ended ({previous_end:?})",
                attempt.number, attempt.start, attempt.end, run.call_start
            ));
        }
        if let Some(limit) = scenario.policy.attempt_timeout
            && attempt.end - attempt.start > limit + TICK
        {
            return Err(format!(
                "attempt #{} took {:?}, over the per-attempt limit {limit:?}",
                attempt.number,
                attempt.end - attempt.start
            ));
        }
        if index > 0 {
            let wait = attempt.start - previous_end;
            let retry = u32::try_from(index - 1).unwrap_or(u32::MAX);
            let bound = scenario
                .policy
                .build(0)
                .max_backoff(retry)
                .max(scenario.max_server_wait);
            if wait > bound + TICK {
                return Err(format!(
                    "waited {wait:?} before attempt #{}, over the backoff bound {bound:?}",
                    attempt.number
                ));
            }
        }
        previous_end = attempt.end;
    }

    // The attempts agree with the result: only the last may succeed, and it did iff the call did.
    // `before_last`: the attempts that ended before the last one made (all, if cancelled).
    let before_last = &attempts[..made - 1];
    for attempt in before_last {
        if attempt.outcome.is_ok() {
            return Err(format!(
                "attempt #{} succeeded but was not the last",
                attempt.number
            ));
        }
    }
    if let Some(last) = attempts.get(made - 1) {
        match (&run.result, &last.outcome) {
            (Ok(response), Ok(status)) if response.status() == *status => {}
            (Err(_), Err(_)) => {}
            (result, outcome) => {
                return Err(format!(
                    "the last attempt reported {outcome:?} but the call returned {}",
                    describe(result)
                ));
            }
        }
    }

    // A success is a whole 2xx body.
    if let Ok(response) = &run.result
        && (!(200..300).contains(&response.status()) || response.body().as_ref() != BODY)
    {
        return Err(format!(
            "a success must be 200 with the whole body, got {} {:?}",
            response.status(),
            response.body()
        ));
    }

    // Failures the scenarios never provoke.
    if let Err(error) = &run.result {
        match error {
            FetchError::InvalidUrl { .. }
            | FetchError::BodyTooLarge { .. }
            | FetchError::Decode { .. } => {
                return Err(format!("unexpected error variant: {error:?}"));
            }
            FetchError::AttemptsExhausted { attempts: n, .. }
                if *n != max || attempts.len() != max as usize =>
            {
                return Err(format!(
                    "AttemptsExhausted after {n} (reported {}), the policy allows {max}",
                    attempts.len()
                ));
            }
            _ => {}
        }
    }

    // The server never saw more requests than the client made attempts, plus one per attempt
    // that sent its request again over a fresh connection (a pooled one turned out closed).
    let resent = attempts.iter().filter(|attempt| attempt.resent).count();
    if run.requests > made + resent {
        return Err(format!(
            "the server received {} requests for {made} attempts ({resent} sent again)",
            run.requests
        ));
    }

    // A POST is never re-sent once its bytes may have gone out: every attempt but the last failed
    // to connect, and the server saw it at most once.
    if scenario.method == Method::Post {
        for attempt in before_last {
            if !failed_before_sending(&attempt.outcome) {
                return Err(format!(
                    "POST retried after attempt #{} ({:?}) may have sent it",
                    attempt.number, attempt.outcome
                ));
            }
        }
        if run.requests > 1 {
            return Err(format!(
                "the server received the POST {} times",
                run.requests
            ));
        }
    }

    // No connection left open once the client is gone (turmoil's own leftovers from connects
    // that never completed aside; see TurmoilConnector).
    if run.client_streams != run.unestablished_connects {
        return Err(format!(
            "{} streams still open on the client host after it dropped the client and waited \
             (turmoil keeps {} for connects that never completed)",
            run.client_streams, run.unestablished_connects
        ));
    }
    if scenario.server_closes_cleanly && run.server_streams != 0 {
        return Err(format!(
            "{} streams still open on the server host after the client had gone",
            run.server_streams
        ));
    }
    Ok(())
}

/// The common invariants, then the scenario's expectation.
///
/// # Errors
///
/// The first broken invariant, with the run's trace.
pub fn check(scenario: &Scenario, run: &Run) -> Result<(), String> {
    common_invariants(scenario, run)
        .and_then(|()| (scenario.expect)(run))
        .map_err(|why| format!("{why}\ntrace:\n{}", run.trace()))
}

/// The one-line command that replays `seed` of the test `name`.
pub fn replay_command(name: &str, seed: u64) -> String {
    format!("SIM_SEED={seed} cargo test --test sim {name} -- --nocapture")
}

/// Runs `scenario` for every seed of [`seeds`], checking every run; prints the simulated and
/// wall time (shown with `--nocapture`); fails listing each failing seed and its replay command.
pub fn run_seeds(scenario: &Scenario) {
    let seeds = seeds();
    let total = seeds.len();
    let wall = std::time::Instant::now();
    let mut simulated = Duration::ZERO;
    let mut failures = Vec::new();
    for &seed in &seeds {
        match run(scenario, seed).and_then(|run| {
            check(scenario, &run)?;
            Ok(run)
        }) {
            Ok(run) => {
                if std::env::var_os("SIM_TRACE").is_some() {
                    println!("[sim] {} seed {seed}:\n{}", scenario.name, run.trace());
                }
                simulated += run.sim_time;
            }
            Err(why) => failures.push((seed, why)),
        }
    }
    report_timing(scenario.name, total, simulated, wall.elapsed());
    if let Some((seed, why)) = failures.first() {
        let seeds: Vec<u64> = failures.iter().map(|(seed, _)| *seed).collect();
        panic!(
            "{}: {} of {} seeds broke an invariant: {seeds:?}\nfirst, seed {seed}: {why}\n\
             replay: {}",
            scenario.name,
            failures.len(),
            total,
            replay_command(scenario.name, *seed)
        );
    }
}

/// Prints one scenario's seed count and simulated vs wall time.
pub fn report_timing(name: &str, seeds: usize, simulated: Duration, wall: Duration) {
    let per_seed = |total: Duration| total / u32::try_from(seeds.max(1)).unwrap_or(u32::MAX);
    println!(
        "[sim] {name}: {seeds} seeds, simulated {simulated:.1?} ({:.2?}/seed), wall {wall:.2?} \
         ({:.2?}/seed), {:.0}x real time",
        per_seed(simulated),
        per_seed(wall),
        simulated.as_secs_f64() / wall.as_secs_f64().max(1e-9)
    );
}

// ---------------------------------------------------------------------------------------------
// Expectation helpers
// ---------------------------------------------------------------------------------------------

/// `FetchError`'s messages, as the attempt records carry them.
pub mod says {
    /// `Timeout { phase: Connect }`.
    pub const CONNECT_TIMEOUT: &str = "time limit reached while connecting";
    /// `Timeout { phase: Tls }`.
    pub const TLS_TIMEOUT: &str = "time limit reached while performing the TLS handshake";
    /// `Timeout { phase: Headers }`.
    pub const HEADERS_TIMEOUT: &str = "time limit reached while waiting for the response head";
    /// `Timeout { phase: Body }`.
    pub const BODY_TIMEOUT: &str = "time limit reached while reading the response body";
    /// `Http { phase: Headers }`.
    pub const HEADERS_BROKEN: &str = "HTTP exchange failed while waiting for the response head";
    /// `Http { phase: Body }`.
    pub const BODY_BROKEN: &str = "HTTP exchange failed while reading the response body";
    /// `Connect`.
    pub const REFUSED: &str = "could not connect to server:80";
}

/// The call succeeded, with exactly `attempts` attempts.
pub fn ok_after(run: &Run, attempts: usize) -> Result<(), String> {
    if let Err(error) = &run.result {
        return Err(format!("expected success, got {error:?}"));
    }
    attempt_count(run, attempts)
}

/// The call failed with `FetchError::Http` (a broken exchange) in `phase`.
pub fn http_error_in(run: &Run, phase: Phase) -> Result<(), String> {
    let error = run.error()?;
    ensure(
        matches!(error, FetchError::Http { phase: got, .. } if *got == phase),
        || format!("expected Http {{ {phase:?} }}, got {error:?}"),
    )
}

/// The call ended with `FetchError::Timeout` in `phase`, whatever failed before it.
pub fn timeout_in(run: &Run, phase: Phase) -> Result<(), String> {
    let error = run.error()?;
    ensure(
        matches!(error, FetchError::Timeout { phase: got, .. } if *got == phase),
        || format!("expected Timeout {{ {phase:?} }}, got {error:?}"),
    )
}

/// The call ended with `FetchError::Timeout` in `phase`, with no failure before it (the
/// deadline struck in its first attempt's `phase`).
pub fn timed_out_in(run: &Run, phase: Phase) -> Result<(), String> {
    let error = run.error()?;
    ensure(
        matches!(error, FetchError::Timeout { phase: got, last: None } if *got == phase),
        || format!("expected Timeout {{ {phase:?}, last: None }}, got {error:?}"),
    )
}

/// The call made exactly `attempts` attempts.
pub fn attempt_count(run: &Run, attempts: usize) -> Result<(), String> {
    if run.attempts.len() == attempts {
        Ok(())
    } else {
        Err(format!(
            "expected {attempts} attempts, got {}",
            run.attempts.len()
        ))
    }
}

/// Attempt `number` (1-based) failed with `message`.
pub fn attempt_failed(run: &Run, number: usize, message: &str) -> Result<(), String> {
    match run.attempts.get(number - 1).map(|attempt| &attempt.outcome) {
        Some(Err(got)) if got == message => Ok(()),
        got => Err(format!(
            "expected attempt #{number} to fail with {message:?}, got {got:?}"
        )),
    }
}

/// The server received exactly `requests` requests for the call.
pub fn requests(run: &Run, requests: usize) -> Result<(), String> {
    if run.requests == requests {
        Ok(())
    } else {
        Err(format!(
            "expected the server to receive {requests} requests, it received {}",
            run.requests
        ))
    }
}

/// The call took exactly its deadline (it was cut off by it).
pub fn cut_at_deadline(run: &Run, deadline: Duration) -> Result<(), String> {
    if run.elapsed >= deadline && run.elapsed <= deadline + TICK {
        Ok(())
    } else {
        Err(format!(
            "expected the call to end at its deadline {deadline:?}, it took {:?}",
            run.elapsed
        ))
    }
}

/// `Err(anything)` unless `holds`.
pub fn ensure(holds: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if holds { Ok(()) } else { Err(why()) }
}
