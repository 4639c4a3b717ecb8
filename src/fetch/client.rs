//! The client: one deadline over the whole call, retries by the policy, connections reused.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::fmt;
use std::future::{Future, Pending};
use std::io::ErrorKind;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{Either, select};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, LOCATION, RETRY_AFTER};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use super::connect::{Connect, TcpConnector};
use super::error::{FetchError, Phase};
use super::redirect::{self, RedirectPolicy, RedirectRefused};
use super::retry::{RetryPolicy, retryable};
use super::target::Target;
use super::tls::Tls;
use crate::loom::atomic::{AtomicU64, Ordering};
use crate::loom::{Arc, Mutex, lock};
use crate::time::{Clock, Elapsed, Instant, TokioClock, timeout_at};

/// The most idle connections a client keeps for reuse.
const MAX_IDLE: usize = 32;

/// Called after every attempt, for tracing and for the simulations' determinism checks.
pub type AttemptObserver = Box<dyn Fn(&AttemptRecord) + Send + Sync>;

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1 for the first attempt of a call (and of each redirect it follows).
    pub number: u32,
    /// When it started, on the client's clock.
    pub started_at: Instant,
    /// When it ended.
    pub ended_at: Instant,
    /// The status (2xx, or a redirect the client follows), or the failure's message.
    pub outcome: Result<u16, String>,
    /// Whether this attempt sent its request over a second, fresh connection because the pooled
    /// one it was given turned out closed by the server — before the request was written (any
    /// method), or after (idempotent methods only): see the [module docs](super).
    pub resent: bool,
}

/// A successful response: a 2xx status and the whole body (within the client's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    body: Bytes,
    /// A redirect the policy follows: its `Location` (then the status is 3xx).
    location: Option<String>,
}

impl Response {
    /// The status code (2xx).
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, owned.
    #[must_use]
    pub fn into_body(self) -> Bytes {
        self.body
    }
}

/// An HTTP/1.1 and HTTPS client whose calls each end within one deadline. See the
/// [module docs](super).
pub struct Client<C: Connect = TcpConnector, K: Clock = TokioClock> {
    inner: Arc<Inner<C, K>>,
}

struct Inner<C: Connect, K: Clock> {
    connector: C,
    tls: Tls,
    clock: K,
    policy: RetryPolicy,
    redirects: RedirectPolicy,
    body_limit: usize,
    idle: Mutex<Vec<Conn>>,
    calls: AtomicU64,
    observer: Option<AttemptObserver>,
}

/// An open HTTP/1.1 connection: the request half, and the task driving the socket, aborted (so
/// the socket is closed) when the connection is dropped.
struct Conn {
    /// `host:port`, and whether it speaks TLS: a connection serves only calls to the same.
    authority: String,
    https: bool,
    sender: SendRequest<Full<Bytes>>,
    _driver: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Client {
    /// A client over TCP on tokio's clock, with the default [`RetryPolicy`], a 16 MiB body limit
    /// and, for `https` URLs, Mozilla's root certificates (the `webpki-roots` crate).
    #[must_use]
    pub fn new() -> Self {
        Client::builder().build()
    }

    /// A builder starting from the defaults of [`new`](Self::new).
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            connector: TcpConnector,
            clock: TokioClock,
            tls: None,
            policy: RetryPolicy::default(),
            redirects: RedirectPolicy::default(),
            body_limit: 16 << 20,
            observer: None,
        }
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl<C: Connect, K: Clock> Clone for Client<C, K> {
    fn clone(&self) -> Self {
        Client {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Configures a [`Client`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder<C: Connect = TcpConnector, K: Clock = TokioClock> {
    connector: C,
    clock: K,
    /// `None`: Mozilla's roots, made at `build`.
    tls: Option<Tls>,
    policy: RetryPolicy,
    redirects: RedirectPolicy,
    body_limit: usize,
    observer: Option<AttemptObserver>,
}

impl<C: Connect, K: Clock> fmt::Debug for ClientBuilder<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("policy", &self.policy)
            .field("redirects", &self.redirects)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl<C: Connect, K: Clock> ClientBuilder<C, K> {
    /// Opens connections with `connector` instead of plain TCP.
    pub fn connector<C2: Connect>(self, connector: C2) -> ClientBuilder<C2, K> {
        ClientBuilder {
            connector,
            clock: self.clock,
            tls: self.tls,
            policy: self.policy,
            redirects: self.redirects,
            body_limit: self.body_limit,
            observer: self.observer,
        }
    }

    /// Reads time from `clock` (deadlines, backoff sleeps).
    pub fn clock<K2: Clock>(self, clock: K2) -> ClientBuilder<C, K2> {
        ClientBuilder {
            connector: self.connector,
            clock,
            tls: self.tls,
            policy: self.policy,
            redirects: self.redirects,
            body_limit: self.body_limit,
            observer: self.observer,
        }
    }

    /// Trusts exactly `roots` for `https` URLs, instead of Mozilla's (say, a company's own CA,
    /// or the system's store loaded with the `rustls-native-certs` crate).
    pub fn root_certificates(mut self, roots: rustls::RootCertStore) -> Self {
        self.tls = Some(Tls::with_roots(roots));
        self
    }

    /// Uses `config` for `https` URLs: its roots, verifier, client certificate and protocol
    /// versions. Its ALPN list is replaced by `http/1.1`, the one protocol the client speaks.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(Tls::with_config(config));
        self
    }

    /// Follows redirects by `policy` (default: up to 10 hops, never from `https` to `http`).
    pub fn redirects(mut self, policy: RedirectPolicy) -> Self {
        self.redirects = policy;
        self
    }

    /// Retries by `policy`.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Refuses response bodies larger than `limit` bytes ([`FetchError::BodyTooLarge`]).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Calls `observer` after every attempt.
    pub fn on_attempt(mut self, observer: impl Fn(&AttemptRecord) + Send + Sync + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client<C, K> {
        Client {
            inner: Arc::new(Inner {
                connector: self.connector,
                tls: self.tls.unwrap_or_else(Tls::with_webpki_roots),
                clock: self.clock,
                policy: self.policy,
                redirects: self.redirects,
                body_limit: self.body_limit,
                idle: Mutex::new(Vec::new()),
                calls: AtomicU64::new(0),
                observer: self.observer,
            }),
        }
    }
}

impl<C: Connect, K: Clock> Client<C, K> {
    /// Starts a GET of `url`; finish it with [`Call::bytes`], [`Call::json`] or [`Call::send`].
    pub fn get(&self, url: &str) -> Call<'_, C, K> {
        self.request(Method::GET, url, Bytes::new())
    }

    /// Starts a POST of `body` to `url` (not idempotent: never sent twice once bytes may have
    /// gone out).
    pub fn post(&self, url: &str, body: impl Into<Bytes>) -> Call<'_, C, K> {
        self.request(Method::POST, url, body.into())
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: &str, body: Bytes) -> Call<'_, C, K> {
        Call {
            client: self,
            method,
            url: url.to_owned(),
            body,
            deadline: Duration::from_secs(30),
            cancel: std::future::pending(),
        }
    }

    /// GETs `url` within `deadline` and returns the body.
    ///
    /// # Errors
    ///
    /// See [`FetchError`].
    pub async fn get_bytes(&self, url: &str, deadline: Duration) -> Result<Bytes, FetchError> {
        self.get(url).deadline(deadline).bytes().await
    }

    /// GETs `url` within `deadline` and decodes the body as JSON.
    ///
    /// # Errors
    ///
    /// See [`FetchError`]; [`FetchError::Decode`] if the body is not a `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        deadline: Duration,
    ) -> Result<T, FetchError> {
        self.get(url).deadline(deadline).json().await
    }

    /// Closes every idle connection kept for reuse.
    pub fn close_idle(&self) {
        let idle = std::mem::take(&mut *lock(&self.inner.idle));
        drop(idle);
    }

    /// Idle connections kept for reuse now: at most 32 (a connection finished when 32 are idle
    /// is closed).
    #[must_use]
    pub fn idle_connections(&self) -> usize {
        lock(&self.inner.idle).len()
    }
}

impl<C: Connect, K: Clock> fmt::Debug for Client<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.inner.policy)
            .field("redirects", &self.inner.redirects)
            .field("body_limit", &self.inner.body_limit)
            .field("idle_connections", &self.idle_connections())
            .finish_non_exhaustive()
    }
}

/// One call, configured and then awaited through [`send`](Self::send), [`bytes`](Self::bytes) or
/// [`json`](Self::json).
///
/// # Cancel safety
///
/// Dropping the call's future stops it at once and closes its connection. To cancel from
/// elsewhere (a shutdown), pass the signal to [`cancel_when`](Self::cancel_when): the call then ends
/// with [`FetchError::Cancelled`], also during a backoff sleep.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'c, C: Connect, K: Clock, X = Pending<()>> {
    client: &'c Client<C, K>,
    method: Method,
    url: String,
    body: Bytes,
    deadline: Duration,
    cancel: X,
}

impl<'c, C: Connect, K: Clock, X: Future<Output = ()> + Send> Call<'c, C, K, X> {
    /// The whole call — connect, request, headers, body, every retry and every backoff sleep —
    /// ends within `deadline` of when it is awaited (default 30 s). A deadline past what an
    /// `Instant` can hold (`Duration::MAX`) means none; `Duration::ZERO` ends the call at its
    /// first wait.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Ends the call with [`FetchError::Cancelled`] as soon as `cancel` completes, e.g. a
    /// shutdown token's `triggered()`.
    pub fn cancel_when<X2: Future<Output = ()> + Send>(self, cancel: X2) -> Call<'c, C, K, X2> {
        Call {
            client: self.client,
            method: self.method,
            url: self.url,
            body: self.body,
            deadline: self.deadline,
            cancel,
        }
    }

    /// Makes the call and returns the successful response.
    ///
    /// # Errors
    ///
    /// See [`FetchError`]: a non-2xx answer is [`FetchError::Status`].
    pub async fn send(self) -> Result<Response, FetchError> {
        let target = Target::parse(&self.url)?;
        let inner = &*self.client.inner;
        let now = inner.clock.now();
        let deadline = now
            .checked_add(self.deadline)
            .unwrap_or_else(|| far_future(now));
        let work = pin!(inner.follow(target, self.method, self.body, deadline));
        let cancel = pin!(self.cancel);
        // `select` polls its first future first: a cancellation that is ready wins.
        match select(cancel, work).await {
            Either::Left(((), _)) => Err(FetchError::Cancelled),
            Either::Right((result, _)) => result,
        }
    }

    /// Makes the call and returns the body.
    ///
    /// # Errors
    ///
    /// See [`FetchError`].
    pub async fn bytes(self) -> Result<Bytes, FetchError> {
        Ok(self.send().await?.into_body())
    }

    /// Makes the call and decodes the body as JSON.
    ///
    /// # Errors
    ///
    /// See [`FetchError`]; [`FetchError::Decode`] if the body is not a `T`.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, FetchError> {
        let body = self.bytes().await?;
        serde_json::from_slice(&body).map_err(|source| FetchError::Decode { source })
    }
}

impl<C: Connect, K: Clock, X> fmt::Debug for Call<'_, C, K, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// A deadline no call reaches: 100 years on, or the farthest of a few shorter spans that the
/// platform's `Instant` can hold.
fn far_future(now: Instant) -> Instant {
    const YEAR: u64 = 365 * 24 * 60 * 60;
    [100 * YEAR, YEAR, 24 * 60 * 60]
        .into_iter()
        .find_map(|secs| now.checked_add(Duration::from_secs(secs)))
        .unwrap_or(now)
}

impl<C: Connect, K: Clock> Inner<C, K> {
    /// The call's requests: the first, then one per redirect the policy follows.
    async fn follow(
        &self,
        mut target: Target,
        mut method: Method,
        mut body: Bytes,
        deadline: Instant,
    ) -> Result<Response, FetchError> {
        let mut made = vec![(method.clone(), target.url())];
        loop {
            let mut response = self.call(&target, &method, &body, deadline).await?;
            let Some(location) = response.location.take() else {
                return Ok(response);
            };
            let refused = |reason| FetchError::Redirect {
                url: target.url(),
                status: response.status,
                location: location.clone(),
                reason,
            };
            // `made` holds the first request and one per hop followed.
            let hops = u32::try_from(made.len().saturating_sub(1)).unwrap_or(u32::MAX);
            if hops >= self.redirects.max_hops() {
                return Err(refused(RedirectRefused::TooMany {
                    limit: self.redirects.max_hops(),
                }));
            }
            let next = redirect::resolve(&target, &location).map_err(refused)?;
            if target.tls.is_some() && next.tls.is_none() && !self.redirects.allows_downgrade() {
                return Err(refused(RedirectRefused::Downgrade));
            }
            let (next_method, keep_body) = redirect::next_method(response.status, &method);
            let request = (next_method, next.url());
            if made.contains(&request) {
                return Err(refused(RedirectRefused::Loop));
            }
            method = request.0.clone();
            made.push(request);
            if !keep_body {
                body = Bytes::new();
            }
            target = next;
        }
    }

    /// The attempts of one call, with the waits between them, all before `deadline`.
    async fn call(
        &self,
        target: &Target,
        method: &Method,
        body: &Bytes,
        deadline: Instant,
    ) -> Result<Response, FetchError> {
        let idempotent = method.is_idempotent();
        let call_number = self.calls.fetch_add(1, Ordering::Relaxed);
        let mut jitter = self.policy.jitter(call_number);
        let mut attempt: u32 = 0;
        loop {
            // At most `max_attempts` (a u32): the check below ends the loop first.
            attempt = attempt.saturating_add(1);
            let started = self.clock.now();
            // A limit past what an `Instant` can hold (`Duration::MAX`, say) is no limit.
            let until = match self.policy.attempt_limit() {
                Some(limit) => started
                    .checked_add(limit)
                    .map_or(deadline, |end| deadline.min(end)),
                None => deadline,
            };
            let mut resent = false;
            let result = self.attempt(target, method, body, until, &mut resent).await;
            let ended = self.clock.now();
            self.observe(attempt, started, ended, resent, &result);
            let error = match result {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            if ended >= deadline {
                return Err(error);
            }
            let Some(server_wait) = retryable(&error, idempotent) else {
                return Err(error);
            };
            if attempt >= self.policy.max_attempts() {
                return Err(FetchError::AttemptsExhausted {
                    attempts: attempt,
                    last: Box::new(error),
                });
            }
            let backoff = jitter.draw(self.policy.max_backoff(attempt.saturating_sub(1)));
            // The server's `Retry-After` is any number of seconds: a wait that ends past what
            // an `Instant` can hold ends past the deadline too.
            let resume = ended.checked_add(backoff.max(server_wait.unwrap_or_default()));
            let Some(resume) = resume.filter(|&resume| resume < deadline) else {
                // The wait (or the server's Retry-After) would end past the deadline: don't start it.
                return Err(FetchError::Timeout {
                    phase: Phase::Backoff,
                    last: Some(Box::new(error)),
                });
            };
            self.clock.sleep_until(resume).await;
        }
    }

    /// One attempt, cut off at `until`.
    async fn attempt(
        &self,
        target: &Target,
        method: &Method,
        body: &Bytes,
        until: Instant,
        resent: &mut bool,
    ) -> Result<Response, FetchError> {
        let request = || build_request(method, target, body);
        let (mut conn, reused) = match self.take_idle(target) {
            Some(conn) => (conn, true),
            None => (self.open(target, until).await?, false),
        };
        let sent = self
            .within(
                until,
                Phase::Headers,
                conn.sender.try_send_request(request()),
            )
            .await?;
        let response = match sent {
            Ok(response) => response,
            Err(error)
                if reused
                    && (error.message().is_some()
                        || method.is_idempotent() && closed_while_idle(error.error())) =>
            {
                // The pooled connection had died: before the request went out (nothing was
                // sent, so any method goes on), or — seen only once the request was written —
                // the server had closed it while it was idle, and an idempotent request may be
                // sent again. Once, over a fresh connection, within this attempt.
                conn = self.open(target, until).await?;
                *resent = true;
                self.within(until, Phase::Headers, conn.sender.send_request(request()))
                    .await?
                    .map_err(|source| http_error(Phase::Headers, source))?
            }
            Err(error) => return Err(http_error(Phase::Headers, error.into_error())),
        };

        let status = response.status().as_u16();
        let location = if self.redirects.follows() && redirect::is_followed(status) {
            response
                .headers()
                .get(LOCATION)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        } else {
            None
        };
        if !response.status().is_success() && location.is_none() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.body_limit as u64) {
            return Err(FetchError::BodyTooLarge {
                limit: self.body_limit,
            });
        }
        let keep_alive = !response
            .headers()
            .get(CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        let limited = Limited::new(response.into_body(), self.body_limit);
        let body = match self.within(until, Phase::Body, limited.collect()).await? {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => {
                return Err(FetchError::BodyTooLarge {
                    limit: self.body_limit,
                });
            }
            Err(error) => {
                return Err(FetchError::Http {
                    phase: Phase::Body,
                    source: error,
                });
            }
        };
        if keep_alive {
            self.put_idle(conn);
        }
        Ok(Response {
            status,
            body,
            location,
        })
    }

    /// Opens a connection — the stream, then for `https` the TLS handshake, each phase cut off
    /// at `until` — and starts the task that drives it.
    async fn open(&self, target: &Target, until: Instant) -> Result<Conn, FetchError> {
        let connect = self.connector.connect(&target.host, target.port);
        let stream = self
            .within(until, Phase::Connect, connect)
            .await?
            .map_err(|source| FetchError::Connect {
                authority: target.authority.clone(),
                source,
            })?;
        match &target.tls {
            None => start(target, stream).await,
            Some(name) => {
                let handshake = self.tls.handshake(stream, name.clone(), &target.authority);
                start(target, self.within(until, Phase::Tls, handshake).await??).await
            }
        }
    }

    /// Runs `future` until `until`; then gives up with [`FetchError::Timeout`] in `phase`.
    async fn within<T>(
        &self,
        until: Instant,
        phase: Phase,
        future: impl Future<Output = T>,
    ) -> Result<T, FetchError> {
        timeout_at(&self.clock, Some(until), future)
            .await
            .map_err(|Elapsed| FetchError::Timeout { phase, last: None })
    }

    fn take_idle(&self, target: &Target) -> Option<Conn> {
        let mut idle = lock(&self.idle);
        // Connections the server has closed meanwhile are dropped here, not handed out.
        idle.retain(|conn| !conn.sender.is_closed());
        let https = target.tls.is_some();
        let at = idle
            .iter()
            .rposition(|conn| conn.https == https && conn.authority == target.authority)?;
        Some(idle.swap_remove(at))
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE && conn.sender.is_ready() {
            idle.push(conn);
        }
    }

    fn observe(
        &self,
        number: u32,
        started_at: Instant,
        ended_at: Instant,
        resent: bool,
        result: &Result<Response, FetchError>,
    ) {
        if let Some(observer) = &self.observer {
            observer(&AttemptRecord {
                number,
                started_at,
                ended_at,
                resent,
                outcome: match result {
                    Ok(response) => Ok(response.status),
                    Err(error) => Err(error.to_string()),
                },
            });
        }
    }
}

/// Starts HTTP/1.1 over `stream`: the task that drives it, and the connection's request half.
async fn start<S>(target: &Target, stream: S) -> Result<Conn, FetchError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| http_error(Phase::Connect, source))?;
    let driver = tokio::spawn(async move {
        // Ends when the connection closes; its error, if any, reaches the request instead.
        let _ = connection.await;
    });
    Ok(Conn {
        authority: target.authority.clone(),
        https: target.tls.is_some(),
        sender,
        _driver: AbortOnDrop(driver.abort_handle()),
    })
}

/// Whether a request written on a reused connection failed because the server had closed that
/// connection while it was idle: the connection ended (or was reset) before a whole answer came.
fn closed_while_idle(error: &hyper::Error) -> bool {
    if error.is_incomplete_message() {
        return true;
    }
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            );
        }
        cause = error.source();
    }
    false
}

fn build_request(method: &Method, target: &Target, body: &Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body.clone()));
    *request.method_mut() = method.clone();
    *request.uri_mut() = target
        .path_and_query
        .parse()
        .unwrap_or_else(|_| hyper::Uri::from_static("/"));
    if let Ok(host) = target.host_header.parse() {
        request.headers_mut().insert(HOST, host);
    }
    request
}

fn http_error(phase: Phase, source: hyper::Error) -> FetchError {
    FetchError::Http {
        phase,
        source: Box::new(source),
    }
}
