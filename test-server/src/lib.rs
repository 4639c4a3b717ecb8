//! A small HTTP/1.1 server with fault knobs, for testing HTTP clients such as the fetch path of
//! `async-patterns`.
//!
//! This crate is test equipment: a `publish = false` member of the `async-patterns` workspace,
//! used only as a dev-dependency by its tests (`tests/fetch.rs`, `tests/test_server.rs`), its
//! turmoil simulations (`sim-tests/`) and the `fetch_many` example. It is not part of the
//! published crate, which therefore needs no HTTP server.
//!
//! [`TestServer`] answers every request with a configured [`Response`], or with the next one of
//! a [script](TestServer::script) (say 503, 503, then the default success), and records what it
//! received ([`TestServer::requests`]). Each [`Response`] can carry faults: a delayed head
//! ([`delay_headers`](Response::delay_headers)), a body that stalls
//! ([`stall_body`](Response::stall_body)) or trickles ([`trickle_body`](Response::trickle_body)),
//! a connection cut in the middle of the body ([`close_mid_body`](Response::close_mid_body)), a
//! `Retry-After` header, `Connection: close`. ([`Response`] here is the server's answer, not the
//! fetch client's `async_patterns::fetch::Response`.)
//!
//! The HTTP is hyper's (a real HTTP/1.1 server with keep-alive); only the timing and the faults
//! are ours. [`TestServer::serve_connection`] takes any tokio stream, so the same server runs on
//! real loopback TCP ([`TestServer::serve_tcp`]), over `turmoil::net::TcpStream` in a simulation,
//! or over an in-memory `tokio::io::duplex` pipe.
//!
//! Not built under `--cfg loom` (tokio compiles `net` out there): the crate is empty in that
//! build, as the fetch path it serves is absent from it.
//!
//! # Determinism
//!
//! Every delay is a [`tokio::time::sleep`], so tokio's paused clock (`start_paused`) and turmoil's
//! simulated clock drive them; nothing reads `std::time`. The server keeps its state in plain
//! vectors and queues (no hash-map iteration), races no futures against each other, and sends no
//! `Date` header, so a simulation with a fixed seed sees the same bytes at the same simulated
//! instants on every run.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use async_patterns_test_server::{Response, TestServer};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // The first request gets a 503 with `Retry-After: 2`, every later one a 200 "hello".
//! let server = TestServer::new(Response::ok("hello"));
//! server.script([Response::status(503).retry_after(2)]);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn({
//!     let server = server.clone();
//!     async move { server.serve_tcp(listener).await }
//! });
//!
//! let mut stream = tokio::net::TcpStream::connect(addr).await?;
//! stream
//!     .write_all(b"GET /items?page=2 HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
//!     .await?;
//! let mut reply = String::new();
//! stream.read_to_string(&mut reply).await?;
//! assert!(reply.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
//! assert!(reply.contains("retry-after: 2\r\n"));
//!
//! assert_eq!(server.requests_received(), 1);
//! assert_eq!(server.requests()[0].path, "/items?page=2");
//! # Ok(())
//! # }
//! ```

#![cfg(not(loom))]
#![warn(missing_docs)]

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Locks `mutex`, ignoring poisoning, as the library's sync shim does: the server holds its locks
/// only over plain bookkeeping, so a poisoned one (a panic in a waker's `clone`, say) still
/// guards consistent state, and a test should get its records rather than a second panic.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An HTTP/1.1 server that answers with configured [`Response`]s, faults included, and records
/// the requests it receives.
///
/// Cloning is cheap and every clone shares the same script, default and records, so one clone
/// can serve (in a spawned task or a turmoil host) while the test keeps another to script and
/// inspect.
///
/// Which response a request gets is decided when its head has been read: the next scripted one
/// if any is left ([`script`](Self::script)), else the default. The request body is then read to
/// its end, the response's [`delay_headers`](Response::delay_headers) elapses, and the response
/// is sent.
///
/// See the [crate documentation](crate) for an example.
#[derive(Clone)]
pub struct TestServer {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    connections_accepted: AtomicUsize,
    open_connections: AtomicUsize,
}

struct State {
    default: Response,
    script: VecDeque<Response>,
    requests: Vec<ReceivedRequest>,
}

impl TestServer {
    /// A server that answers every request with `default` (until [`script`](Self::script) says
    /// otherwise).
    pub fn new(default: Response) -> Self {
        TestServer {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    default,
                    script: VecDeque::new(),
                    requests: Vec::new(),
                }),
                connections_accepted: AtomicUsize::new(0),
                open_connections: AtomicUsize::new(0),
            }),
        }
    }

    /// Answers the next requests with `responses`, one each and in order, then with the default
    /// again: `script([Response::status(503), Response::status(503)])` makes the next two
    /// requests fail and the third succeed.
    ///
    /// The responses are appended to whatever is still scripted, so two calls queue both lists.
    pub fn script(&self, responses: impl IntoIterator<Item = Response>) {
        lock(&self.inner.state).script.extend(responses);
    }

    /// Replaces the default response, the one used whenever the script is empty.
    pub fn set_default(&self, default: Response) {
        lock(&self.inner.state).default = default;
    }

    /// How many requests have had their head fully read, so far; each of them has consumed one
    /// scripted response (or the default).
    pub fn requests_received(&self) -> usize {
        lock(&self.inner.state).requests.len()
    }

    /// A copy of every request received so far, in the order their heads were read.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.inner.state).requests.clone()
    }

    /// How many connections [`serve_connection`](Self::serve_connection) has been given so far.
    pub fn connections_accepted(&self) -> usize {
        self.inner.connections_accepted.load(Ordering::SeqCst)
    }

    /// How many connections are being served right now: accepted and not yet ended (closed by
    /// the peer, by `Connection: close`, by a fault, or by an error).
    pub fn open_connections(&self) -> usize {
        self.inner.open_connections.load(Ordering::SeqCst)
    }

    /// Serves HTTP/1.1 (with keep-alive) on `stream` until the connection ends: the peer closes
    /// it, a response with [`connection_close`](Response::connection_close) or
    /// [`close_mid_body`](Response::close_mid_body) ends it, or an I/O or protocol error occurs.
    /// Errors are not reported: the client under test is the one that has to notice them.
    ///
    /// `stream` can be a `tokio::net::TcpStream`, a `turmoil::net::TcpStream` or a
    /// `tokio::io::duplex` end. The server sets no timeouts of its own.
    ///
    /// # Example: a turmoil host
    ///
    /// ```
    /// # fn main() -> turmoil::Result {
    /// use async_patterns_test_server::{Response, TestServer};
    /// use std::time::Duration;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let server = TestServer::new(Response::ok("slow").delay_headers(Duration::from_secs(3)));
    ///
    /// let mut sim = turmoil::Builder::new().build();
    /// let host_server = server.clone();
    /// sim.host("server", move || {
    ///     let server = host_server.clone();
    ///     async move {
    ///         let listener = turmoil::net::TcpListener::bind("0.0.0.0:80").await?;
    ///         loop {
    ///             let (stream, _) = listener.accept().await?;
    ///             let server = server.clone();
    ///             tokio::spawn(async move { server.serve_connection(stream).await });
    ///         }
    ///     }
    /// });
    /// sim.client("client", async move {
    ///     let start = tokio::time::Instant::now();
    ///     let mut stream = turmoil::net::TcpStream::connect("server:80").await?;
    ///     stream
    ///         .write_all(b"GET / HTTP/1.1\r\nhost: server\r\nconnection: close\r\n\r\n")
    ///         .await?;
    ///     let mut reply = String::new();
    ///     stream.read_to_string(&mut reply).await?;
    ///     assert!(reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("slow"));
    ///     assert!(start.elapsed() >= Duration::from_secs(3)); // simulated time
    ///     Ok(())
    /// });
    /// sim.run()?;
    /// assert_eq!(server.requests_received(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_connection<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.inner
            .connections_accepted
            .fetch_add(1, Ordering::SeqCst);
        self.inner.open_connections.fetch_add(1, Ordering::SeqCst);
        let _open = OpenConnection(&self.inner);

        let flushes = Arc::new(FlushSignal::default());
        let io = TokioIo::new(FlushTracked {
            io: stream,
            flushes: Arc::clone(&flushes),
        });
        let server = self.clone();
        let service = hyper::service::service_fn(move |request| {
            let server = server.clone();
            let flushes = Arc::clone(&flushes);
            async move { server.respond(request, flushes).await }
        });
        // Explicitly no header-read timeout (it would need a hyper timer, and a test decides its
        // own timing) and no `Date` header (wall-clock bytes would differ between runs).
        let _outcome = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .half_close(false)
            .header_read_timeout(None)
            .auto_date_header(false)
            .serve_connection(io, service)
            .await;
    }

    /// Accepts connections on `listener` forever, serving each in its own spawned task
    /// ([`serve_connection`](Self::serve_connection), with `TCP_NODELAY` set so small stalled or
    /// trickled chunks leave at once). Returns only if accepting fails.
    ///
    /// For turmoil, write the same loop over `turmoil::net::TcpListener` (see
    /// [`serve_connection`](Self::serve_connection)).
    pub async fn serve_tcp(&self, listener: tokio::net::TcpListener) -> io::Result<()> {
        loop {
            let (stream, _peer) = listener.accept().await?;
            // Best effort: without it Nagle may hold a small chunk back; the tests still pass.
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            tokio::spawn(async move { server.serve_connection(stream).await });
        }
    }

    /// Handles one request: records it, picks its response, reads its body, waits out the
    /// response's head delay, then hands hyper the response.
    async fn respond(
        self,
        request: hyper::Request<Incoming>,
        flushes: Arc<FlushSignal>,
    ) -> Result<hyper::Response<FaultBody>, io::Error> {
        let (head, mut body) = request.into_parts();
        let (index, response) = {
            let mut state = lock(&self.inner.state);
            let index = state.requests.len();
            state.requests.push(ReceivedRequest::from_head(&head));
            let response = match state.script.pop_front() {
                Some(scripted) => scripted,
                None => state.default.clone(),
            };
            (index, response)
        };

        let mut received = BytesMut::new();
        let read = loop {
            match body.frame().await {
                None => break Ok(()),
                Some(Err(error)) => break Err(io::Error::other(error)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        received.extend_from_slice(&data);
                        lock(&self.inner.state).requests[index].body_len = received.len();
                    }
                }
            }
        };
        {
            let mut state = lock(&self.inner.state);
            let record = &mut state.requests[index];
            record.body = received.freeze();
            record.body_len = record.body.len();
            record.body_complete = read.is_ok();
        }
        // A request whose body did not arrive gets no answer: the connection is dropped.
        read?;

        if let Some(delay) = response.delay_headers {
            tokio::time::sleep(delay).await;
        }
        Ok(response.into_http(flushes))
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("TestServer")
            .field("default", &state.default)
            .field("scripted", &state.script.len())
            .field("requests_received", &state.requests.len())
            .field("connections_accepted", &self.connections_accepted())
            .field("open_connections", &self.open_connections())
            .finish()
    }
}

/// Counts a connection as open for as long as its `serve_connection` future lives.
struct OpenConnection<'a>(&'a Inner);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The method, as sent (`"GET"`, `"POST"`).
    pub method: String,
    /// The request target's path and query, as sent (`"/items?page=2"`).
    pub path: String,
    /// Every header as `(lower-case name, value)`, in the order hyper's header map keeps them
    /// (by first appearance of each name); non-UTF-8 bytes in a value are replaced by U+FFFD.
    pub headers: Vec<(String, String)>,
    /// How many body bytes have arrived so far (updated while the body is being read).
    pub body_len: usize,
    /// The body bytes received; filled in once reading the body has ended (empty before).
    pub body: Bytes,
    /// Whether the whole body arrived (`false` while it is being read, or if the connection
    /// failed first).
    pub body_complete: bool,
}

impl ReceivedRequest {
    fn from_head(head: &hyper::http::request::Parts) -> Self {
        let path = match head.uri.path_and_query() {
            Some(path_and_query) => path_and_query.as_str().to_owned(),
            None => head.uri.path().to_owned(),
        };
        let headers = head
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        ReceivedRequest {
            method: head.method.as_str().to_owned(),
            path,
            headers,
            body_len: 0,
            body: Bytes::new(),
            body_complete: false,
        }
    }

    /// The first value of header `name` (any case), if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A response for [`TestServer`] to send, with its faults; built with chained methods.
///
/// The body declares its full length in `Content-Length`, even when it stalls, trickles or is cut
/// short, so the client knows more is due; [`chunked`](Self::chunked) sends it without a length
/// instead (chunked transfer encoding), so only the bytes tell its size. Knobs combine: a stall
/// and a trickle add their pauses, and either can precede a
/// [`close_mid_body`](Self::close_mid_body).
///
/// ```
/// use async_patterns_test_server::Response;
/// use std::time::Duration;
///
/// let busy = Response::status(503).retry_after(1);
/// let slow = Response::ok(vec![b'x'; 100])
///     .delay_headers(Duration::from_millis(200))
///     .stall_body(10, Duration::from_secs(5));
/// let broken = Response::ok("0123456789").close_mid_body(4);
/// # let _ = (busy, slow, broken);
/// ```
#[derive(Clone, Debug)]
pub struct Response {
    status: StatusCode,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
    retry_after: Option<u64>,
    delay_headers: Option<Duration>,
    stall: Option<(usize, Duration)>,
    trickle: Option<(usize, Duration)>,
    close_after: Option<usize>,
    connection_close: bool,
    chunked: bool,
}

impl Response {
    /// A `200 OK` with `body`.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Response::with_status(StatusCode::OK).body(body)
    }

    /// A response with status `code` (500, 503, 404, 408, 429, …) and an empty body unless
    /// [`body`](Self::body) sets one.
    ///
    /// # Panics
    ///
    /// If `code` is not a valid HTTP status code (100 to 999).
    pub fn status(code: u16) -> Self {
        let status = StatusCode::from_u16(code).unwrap_or_else(|_| {
            panic!("Response::status({code}): not an HTTP status code (100 to 999)")
        });
        Response::with_status(status)
    }

    fn with_status(status: StatusCode) -> Self {
        Response {
            status,
            body: Bytes::new(),
            headers: Vec::new(),
            retry_after: None,
            delay_headers: None,
            stall: None,
            trickle: None,
            close_after: None,
            connection_close: false,
            chunked: false,
        }
    }

    /// Sets the body (and so the `Content-Length`).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds `Retry-After: <secs>`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Adds a header `name: value` (sent after the others; may repeat a name).
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in an HTTP header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name)
            .unwrap_or_else(|_| panic!("Response::header: {name:?} is not a header name"));
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| panic!("Response::header: {value:?} is not a header value"));
        self.headers.push((name, value));
        self
    }

    /// Waits `delay` (tokio time) before sending the response head, counted from the moment the
    /// request body has been read.
    pub fn delay_headers(mut self, delay: Duration) -> Self {
        self.delay_headers = Some(delay);
        self
    }

    /// Sends the first `after_bytes` bytes of the body, pauses for `for_`, then sends the rest.
    ///
    /// With `after_bytes == 0` the head arrives and then the whole body is late. With
    /// `after_bytes` at or past the body's end there is nothing left to stall and no pause,
    /// except right before a [`close_mid_body`](Self::close_mid_body) at the same offset.
    pub fn stall_body(mut self, after_bytes: usize, for_: Duration) -> Self {
        self.stall = Some((after_bytes, for_));
        self
    }

    /// Sends the body `chunk` bytes at a time (at least 1), pausing `every` between two chunks
    /// (not before the first, not after the last).
    pub fn trickle_body(mut self, chunk: usize, every: Duration) -> Self {
        self.trickle = Some((chunk.max(1), every));
        self
    }

    /// Declares the whole body in `Content-Length`, sends only its first `after_bytes` bytes,
    /// then closes the connection: the client sees a truncated body (an error while reading it,
    /// never a short success).
    ///
    /// The bytes are flushed to the stream before it is closed. With `after_bytes` at or past
    /// the body's length, the whole body is sent and the connection is closed after it (as with
    /// [`connection_close`](Self::connection_close)).
    pub fn close_mid_body(mut self, after_bytes: usize) -> Self {
        self.close_after = Some(after_bytes);
        self
    }

    /// Answers with `Connection: close` and closes the connection once the response is sent (no
    /// keep-alive).
    pub fn connection_close(mut self) -> Self {
        self.connection_close = true;
        self
    }

    /// Sends the body without `Content-Length`, in chunked transfer encoding: a client learns
    /// its size only by reading it (the case a body limit must catch while reading, not from
    /// the headers).
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// The hyper response: head (status, headers) and the scheduled body.
    fn into_http(self, flushes: Arc<FlushSignal>) -> hyper::Response<FaultBody> {
        let cut = self.close_after.filter(|&after| after < self.body.len());
        let closes = self.connection_close || (self.close_after.is_some() && cut.is_none());
        let body = FaultBody {
            declared: (!self.chunked).then_some(self.body.len() as u64),
            steps: self.body_steps(cut),
            pause: None,
            closing: None,
            flushes,
        };
        let mut response = hyper::Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if closes {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }

    /// The body as a schedule: data, pauses, and (when cut at `cut` bytes) a close at the end.
    fn body_steps(&self, cut: Option<usize>) -> VecDeque<Step> {
        let limit = cut.unwrap_or(self.body.len());
        // (offset, pause before the bytes at that offset); sorted stably, so a stall comes before
        // a trickle pause at the same offset (they add up either way).
        let mut pauses = Vec::new();
        if let Some((at, pause)) = self.stall
            && (at < limit || (cut.is_some() && at == limit))
        {
            pauses.push((at, pause));
        }
        if let Some((chunk, every)) = self.trickle {
            let mut at = chunk;
            while at < limit {
                pauses.push((at, every));
                at += chunk;
            }
        }
        pauses.sort_by_key(|&(at, _)| at);

        let mut steps = VecDeque::new();
        let mut sent = 0;
        for (at, pause) in pauses {
            if at > sent {
                steps.push_back(Step::Data(self.body.slice(sent..at)));
                sent = at;
            }
            if !pause.is_zero() {
                steps.push_back(Step::Pause(pause));
            }
        }
        if limit > sent {
            steps.push_back(Step::Data(self.body.slice(sent..limit)));
        }
        if cut.is_some() {
            steps.push_back(Step::Close);
        }
        steps
    }
}

/// One step of a response body's schedule.
#[derive(Debug)]
enum Step {
    Data(Bytes),
    Pause(Duration),
    /// End the connection here, once everything before has reached the stream.
    Close,
}

/// A response body that follows its schedule of steps.
struct FaultBody {
    /// The body length still to come, declared in `Content-Length` whatever the schedule;
    /// `None` for a chunked body (no declared length).
    declared: Option<u64>,
    steps: VecDeque<Step>,
    pause: Option<Pin<Box<Sleep>>>,
    /// Set at the `Close` step: the flush count to wait past before failing the body.
    closing: Option<u64>,
    flushes: Arc<FlushSignal>,
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(pause) = this.pause.as_mut() {
                ready!(pause.as_mut().poll(cx));
                this.pause = None;
            }
            if let Some(mark) = this.closing {
                // hyper drops bytes it has buffered but not written when a body fails, so fail
                // only after the stream has been flushed past this point: the bytes sent so far
                // reach the client, then the connection ends.
                return if this.flushes.flushed_since(mark, cx.waker()) {
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "test server: close_mid_body",
                    ))))
                } else {
                    Poll::Pending
                };
            }
            match this.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Data(data)) => {
                    if let Some(declared) = this.declared.as_mut() {
                        *declared -= data.len() as u64;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Step::Pause(pause)) => this.pause = Some(Box::pin(tokio::time::sleep(pause))),
                Some(Step::Close) => this.closing = Some(this.flushes.count()),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.steps.is_empty() && self.pause.is_none() && self.closing.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // `declared` counts down as data is handed out: the hint is what remains. No exact hint
        // makes hyper send the body chunked.
        self.declared
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// Counts completed flushes of a connection's stream and wakes a body waiting for one.
#[derive(Default)]
struct FlushSignal {
    state: Mutex<FlushState>,
}

#[derive(Default)]
struct FlushState {
    count: u64,
    waiter: Option<Waker>,
}

impl FlushSignal {
    fn count(&self) -> u64 {
        lock(&self.state).count
    }

    /// Whether a flush completed after `mark`; if not, `waker` is woken by the next one.
    fn flushed_since(&self, mark: u64, waker: &Waker) -> bool {
        let mut state = lock(&self.state);
        if state.count > mark {
            true
        } else {
            state.waiter = Some(waker.clone());
            false
        }
    }

    fn record(&self) {
        let waiter = {
            let mut state = lock(&self.state);
            state.count += 1;
            state.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// The connection's stream, reporting each completed flush to its [`FlushSignal`]. hyper calls
/// `poll_flush` on the stream only once its own write buffer is empty, so a completed flush
/// means every byte handed to hyper before it has been written.
struct FlushTracked<S> {
    io: S,
    flushes: Arc<FlushSignal>,
}

impl<S: AsyncRead + Unpin> AsyncRead for FlushTracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FlushTracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = ready!(Pin::new(&mut this.io).poll_flush(cx));
        if flushed.is_ok() {
            this.flushes.record();
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
