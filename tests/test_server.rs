#![cfg(not(any(loom, shuttle)))]
//! The fault-injecting test server (the `async-patterns-test-server` crate, `test-server/`): each
//! knob does what it says, checked with a minimal hyper client on real loopback TCP (127.0.0.1
//! only) and, for the timing knobs, also over an in-memory duplex pipe. Timing tests run in paused tokio time: the clock jumps to
//! the next timer only when the runtime is idle, and tokio polls for I/O before jumping, so
//! loopback bytes already written are seen before any jump.

use std::net::SocketAddr;
use std::time::Duration;

use async_patterns_test_server::{Response, TestServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// Starts `server` on a fresh 127.0.0.1 port.
async fn start(server: &TestServer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = server.clone();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

/// One client connection: the request sender and the task driving the connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<hyper::Result<()>>,
}

async fn handshake<S>(stream: S) -> Conn
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    Conn {
        sender,
        driver: tokio::spawn(connection),
    }
}

async fn connect(addr: SocketAddr) -> Conn {
    handshake(TcpStream::connect(addr).await.unwrap()).await
}

/// A client connection over an in-memory pipe whose other end `server` serves.
fn connect_duplex(server: &TestServer) -> impl Future<Output = Conn> {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let server = server.clone();
    tokio::spawn(async move { server.serve_connection(server_end).await });
    handshake(client_end)
}

fn get(path: &str) -> hyper::Request<Full<Bytes>> {
    hyper::Request::get(path)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

impl Conn {
    async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> hyper::Response<Incoming> {
        self.sender.ready().await.unwrap();
        self.sender.send_request(request).await.unwrap()
    }

    /// Sends `request` and reads the whole body.
    async fn fetch(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
    ) -> (hyper::Response<()>, Bytes) {
        let response = self.send(request).await;
        let (head, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (hyper::Response::from_parts(head, ()), body)
    }
}

/// Reads `body` frame by frame: each data frame with its arrival time since `start`, and the
/// error that ended it, if one did.
async fn frames(
    mut body: Incoming,
    start: Instant,
) -> (Vec<(Duration, Bytes)>, Option<hyper::Error>) {
    let mut seen = Vec::new();
    // Bounded: a body of a few bytes has at most that many data frames.
    for _ in 0..1000 {
        match body.frame().await {
            None => return (seen, None),
            Some(Err(error)) => return (seen, Some(error)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    seen.push((start.elapsed(), data));
                }
            }
        }
    }
    panic!("more than 1000 frames");
}

fn header<'a, T>(response: &'a hyper::Response<T>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

/// `error` is hyper's "the connection ended before the body's `Content-Length` was reached".
#[track_caller]
fn assert_truncated(error: &hyper::Error) {
    let cause = std::error::Error::source(error)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("not an I/O cause: {error:?}"));
    assert_eq!(cause.kind(), std::io::ErrorKind::UnexpectedEof, "{error:?}");
}

/// `actual` is `expected`, give or take a millisecond (in paused time it is exact).
#[track_caller]
fn assert_at(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + MS,
        "at {actual:?}, expected {expected:?}"
    );
}

#[tokio::test]
async fn ok_sends_200_with_body_and_content_length() {
    let server = TestServer::new(Response::ok("hello"));
    let mut conn = connect(start(&server).await).await;
    let (head, body) = conn.fetch(get("/")).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), Some("5"));
    assert_eq!(header(&head, "connection"), None);
    assert_eq!(header(&head, "date"), None, "no wall-clock bytes");
    assert_eq!(body, "hello");
}

#[tokio::test]
async fn status_sets_the_code_with_an_empty_body() {
    for code in [404, 408, 429, 500, 503] {
        let server = TestServer::new(Response::status(code));
        let mut conn = connect(start(&server).await).await;
        let (head, body) = conn.fetch(get("/")).await;
        assert_eq!(head.status(), code);
        assert_eq!(header(&head, "content-length"), Some("0"));
        assert!(body.is_empty());
    }
    let server = TestServer::new(Response::status(500).body("boom").header("x-why", "test"));
    let mut conn = connect(start(&server).await).await;
    let (head, body) = conn.fetch(get("/")).await;
    assert_eq!(head.status(), 500);
    assert_eq!(header(&head, "x-why"), Some("test"));
    assert_eq!(body, "boom");
}

#[test]
#[should_panic(expected = "not an HTTP status code")]
fn status_refuses_an_invalid_code() {
    let _ = Response::status(1000);
}

#[tokio::test]
async fn retry_after_adds_the_header() {
    let server = TestServer::new(Response::status(429).retry_after(7));
    let mut conn = connect(start(&server).await).await;
    let (head, _) = conn.fetch(get("/")).await;
    assert_eq!(head.status(), 429);
    assert_eq!(header(&head, "retry-after"), Some("7"));
}

async fn check_delay_headers(mut conn: Conn) {
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    assert_at(start.elapsed(), 3000 * MS);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "late"
    );
}

#[tokio::test(start_paused = true)]
async fn delay_headers_holds_the_head_back() {
    let server = TestServer::new(Response::ok("late").delay_headers(3000 * MS));
    check_delay_headers(connect(start(&server).await).await).await;
    check_delay_headers(connect_duplex(&server).await).await;
}

async fn check_stall(mut conn: Conn) {
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    assert_at(start.elapsed(), Duration::ZERO);
    assert_eq!(
        header(&response, "content-length"),
        Some("10"),
        "full length up front"
    );
    let (seen, error) = frames(response.into_body(), start).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_at(seen[0].0, Duration::ZERO);
    assert_eq!(seen[0].1, "0123");
    assert_at(seen[1].0, 2000 * MS);
    assert_eq!(seen[1].1, "456789");
}

#[tokio::test(start_paused = true)]
async fn stall_body_sends_the_first_bytes_then_the_rest_after_the_pause() {
    let server = TestServer::new(Response::ok("0123456789").stall_body(4, 2000 * MS));
    check_stall(connect(start(&server).await).await).await;
    check_stall(connect_duplex(&server).await).await;
}

#[tokio::test(start_paused = true)]
async fn stall_body_at_zero_sends_the_head_then_nothing_until_the_pause_ends() {
    let server = TestServer::new(Response::ok("abc").stall_body(0, 500 * MS));
    let mut conn = connect(start(&server).await).await;
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    assert_at(start.elapsed(), Duration::ZERO);
    let (seen, error) = frames(response.into_body(), start).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(seen.len(), 1);
    assert_at(seen[0].0, 500 * MS);
    assert_eq!(seen[0].1, "abc");
}

async fn check_trickle(mut conn: Conn) {
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    assert_eq!(header(&response, "content-length"), Some("10"));
    let (seen, error) = frames(response.into_body(), start).await;
    assert!(error.is_none(), "{error:?}");
    let chunks: Vec<&[u8]> = seen.iter().map(|(_, data)| &data[..]).collect();
    assert_eq!(chunks, [&b"012"[..], b"345", b"678", b"9"]);
    for (i, (at, _)) in seen.iter().enumerate() {
        assert_at(*at, 100 * MS * i as u32);
    }
}

#[tokio::test(start_paused = true)]
async fn trickle_body_sends_chunks_with_pauses_between() {
    let server = TestServer::new(Response::ok("0123456789").trickle_body(3, 100 * MS));
    check_trickle(connect(start(&server).await).await).await;
    check_trickle(connect_duplex(&server).await).await;
}

#[tokio::test(start_paused = true)]
async fn stall_and_trickle_add_up() {
    let response = Response::ok("abcdef")
        .trickle_body(2, 10 * MS)
        .stall_body(2, 1000 * MS);
    let server = TestServer::new(response);
    let mut conn = connect_duplex(&server).await;
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    let (seen, error) = frames(response.into_body(), start).await;
    assert!(error.is_none(), "{error:?}");
    let at: Vec<Duration> = seen.iter().map(|(at, _)| *at).collect();
    assert_eq!(at, [Duration::ZERO, 1010 * MS, 1020 * MS]);
}

async fn check_close_mid_body(server: &TestServer, mut conn: Conn) {
    let response = conn.send(get("/")).await;
    assert_eq!(
        header(&response, "content-length"),
        Some("10"),
        "full length declared"
    );
    let (seen, error) = frames(response.into_body(), Instant::now()).await;
    let received: Vec<u8> = seen.iter().flat_map(|(_, data)| data.to_vec()).collect();
    assert_eq!(received, b"0123", "the bytes before the cut arrive");
    let error = error.expect("a truncated body is an error, not a short success");
    assert_truncated(&error);
    // The connection is over on both sides (the client's driver ends: the error went to the body).
    let _ = conn.driver.await.unwrap();
    assert!(conn.sender.is_closed());
    for _ in 0..100 {
        if server.open_connections() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(server.open_connections(), 0);
}

#[tokio::test]
async fn close_mid_body_cuts_the_connection_after_the_given_bytes() {
    let server = TestServer::new(Response::ok("0123456789").close_mid_body(4));
    check_close_mid_body(&server, connect(start(&server).await).await).await;
    check_close_mid_body(&server, connect_duplex(&server).await).await;
}

#[tokio::test(start_paused = true)]
async fn close_mid_body_after_a_stall_waits_then_cuts() {
    let response = Response::ok("0123456789")
        .stall_body(4, 300 * MS)
        .close_mid_body(4);
    let server = TestServer::new(response);
    let mut conn = connect(start(&server).await).await;
    let start = Instant::now();
    let response = conn.send(get("/")).await;
    let (seen, error) = frames(response.into_body(), start).await;
    assert_eq!(seen.len(), 1);
    assert_at(seen[0].0, Duration::ZERO);
    assert_eq!(seen[0].1, "0123");
    assert_truncated(&error.unwrap());
    assert_at(start.elapsed(), 300 * MS);
}

#[tokio::test]
async fn close_mid_body_at_zero_sends_only_the_head() {
    let server = TestServer::new(Response::ok("0123456789").close_mid_body(0));
    let mut conn = connect(start(&server).await).await;
    let response = conn.send(get("/")).await;
    assert_eq!(response.status(), 200);
    let (seen, error) = frames(response.into_body(), Instant::now()).await;
    assert!(seen.is_empty());
    assert_truncated(&error.unwrap());
}

#[tokio::test]
async fn close_mid_body_past_the_end_sends_the_body_then_closes() {
    let server = TestServer::new(Response::ok("abc").close_mid_body(3));
    let mut conn = connect(start(&server).await).await;
    let (head, body) = conn.fetch(get("/")).await;
    assert_eq!(body, "abc");
    assert_eq!(header(&head, "connection"), Some("close"));
    conn.driver.await.unwrap().unwrap();
}

#[tokio::test]
async fn script_answers_in_order_then_the_default() {
    let server = TestServer::new(Response::ok("fine"));
    server.script([Response::status(503), Response::status(503)]);
    server.script([Response::status(429).retry_after(1)]);
    let mut conn = connect(start(&server).await).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (head, _) = conn.fetch(get("/")).await;
        statuses.push(head.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 429, 200, 200]);

    server.set_default(Response::status(404));
    server.script([Response::ok("once")]);
    let (head, body) = conn.fetch(get("/")).await;
    assert_eq!((head.status().as_u16(), body), (200, Bytes::from("once")));
    let (head, _) = conn.fetch(get("/")).await;
    assert_eq!(head.status(), 404);
}

#[tokio::test]
async fn requests_are_counted_and_recorded_in_arrival_order() {
    let server = TestServer::new(Response::ok(""));
    assert_eq!(server.requests_received(), 0);
    let mut conn = connect(start(&server).await).await;
    conn.fetch(get("/first?x=1")).await;
    let post = hyper::Request::post("/second")
        .header("host", "127.0.0.1")
        .header("x-request-id", "abc")
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from("payload")))
        .unwrap();
    conn.fetch(post).await;

    assert_eq!(server.requests_received(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/first?x=1");
    assert_eq!(requests[0].header("Host"), Some("127.0.0.1"));
    assert_eq!(requests[0].body_len, 0);
    assert!(requests[0].body_complete);

    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path, "/second");
    assert_eq!(requests[1].header("x-request-id"), Some("abc"));
    assert_eq!(requests[1].header("content-length"), Some("7"));
    assert_eq!(requests[1].header("x-missing"), None);
    let names: Vec<&str> = requests[1]
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        ["host", "x-request-id", "content-type", "content-length"]
    );
    assert_eq!(requests[1].body_len, 7);
    assert_eq!(requests[1].body, "payload");
    assert!(requests[1].body_complete);
}

#[tokio::test(start_paused = true)]
async fn a_request_is_counted_as_soon_as_its_head_is_read() {
    let server = TestServer::new(Response::ok("x").delay_headers(1000 * MS));
    let mut conn = connect(start(&server).await).await;
    let pending = tokio::spawn(async move { conn.fetch(get("/")).await });
    tokio::time::sleep(500 * MS).await;
    assert_eq!(
        server.requests_received(),
        1,
        "counted while its answer is delayed"
    );
    assert!(!pending.is_finished());
    let (head, _) = pending.await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let server = TestServer::new(Response::ok("again"));
    let mut conn = connect(start(&server).await).await;
    for _ in 0..2 {
        let (head, body) = conn.fetch(get("/")).await;
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "connection"), None);
        assert_eq!(body, "again");
    }
    assert_eq!(server.requests_received(), 2);
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(server.open_connections(), 1);
    assert!(!conn.sender.is_closed());

    // Dropping the client's end ends the server's connection too.
    drop(conn.sender);
    conn.driver.await.unwrap().unwrap();
    for _ in 0..100 {
        if server.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(MS).await;
    }
    assert_eq!(server.open_connections(), 0);
}

#[tokio::test]
async fn connection_close_ends_the_connection_after_the_response() {
    let server = TestServer::new(Response::ok("bye").connection_close());
    let mut conn = connect(start(&server).await).await;
    let (head, body) = conn.fetch(get("/")).await;
    assert_eq!(header(&head, "connection"), Some("close"));
    assert_eq!(body, "bye");
    // The client's connection ends cleanly and takes no second request.
    conn.driver.await.unwrap().unwrap();
    assert!(conn.sender.is_closed());
    assert_eq!(server.connections_accepted(), 1);

    // A new connection gets served again.
    let mut conn = connect(start(&server).await).await;
    let (_, body) = conn.fetch(get("/")).await;
    assert_eq!(body, "bye");
    assert_eq!(server.connections_accepted(), 2);
}

#[tokio::test]
async fn clones_share_script_and_records() {
    let server = TestServer::new(Response::ok("a"));
    let other = server.clone();
    other.script([Response::status(500)]);
    let mut conn = connect(start(&other).await).await;
    let (head, _) = conn.fetch(get("/")).await;
    assert_eq!(head.status(), 500);
    assert_eq!(server.requests_received(), 1);
    let debug = format!("{server:?}");
    assert!(debug.contains("requests_received: 1"), "{debug}");
}

/// The same server under turmoil (the simulations' transport): scripted faults, simulated time.
#[test]
fn serves_turmoil_streams_in_simulated_time() -> turmoil::Result {
    let server = TestServer::new(Response::ok("0123456789").stall_body(4, 2000 * MS));
    server.script([Response::ok("0123456789").close_mid_body(6)]);
    let mut sim = turmoil::Builder::new().build();
    let host_server = server.clone();
    sim.host("server", move || {
        let server = host_server.clone();
        async move {
            let listener = turmoil::net::TcpListener::bind("0.0.0.0:80").await?;
            loop {
                let (stream, _) = listener.accept().await?;
                let server = server.clone();
                tokio::spawn(async move { server.serve_connection(stream).await });
            }
        }
    });
    sim.client("client", async {
        let mut conn = handshake(turmoil::net::TcpStream::connect("server:80").await?).await;
        let response = conn.send(get("/cut")).await;
        let (seen, error) = frames(response.into_body(), Instant::now()).await;
        let received: Vec<u8> = seen.iter().flat_map(|(_, data)| data.to_vec()).collect();
        assert_eq!(received, b"012345");
        assert_truncated(&error.expect("truncated"));

        let mut conn = handshake(turmoil::net::TcpStream::connect("server:80").await?).await;
        let start = Instant::now();
        let response = conn.send(get("/stall")).await;
        let (seen, error) = frames(response.into_body(), start).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].0 < 2000 * MS && seen[1].0 >= 2000 * MS, "{seen:?}");
        Ok(())
    });
    sim.run()?;
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/cut", "/stall"]);
    Ok(())
}
