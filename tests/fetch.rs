#![cfg(not(any(loom, shuttle)))]
//! The fetch client on real loopback TCP (127.0.0.1) against the fault-injecting test server:
//! success, a slow body past the deadline, 503 then success, an oversized body, a malformed URL,
//! a non-idempotent request that is not re-sent, cancellation, errors that state their cause once,
//! and the guide's `fetch_with_timeout` returning `Ok` long after its timeout.
//! The same paths under network faults run in `sim-tests/` (turmoil).

use std::error::Error as _;
use std::time::Duration;

use async_patterns::fetch::{
    Client, FetchError, Phase, RedirectPolicy, RedirectRefused, RetryPolicy,
};
use async_patterns_test_server::{Response, TestServer};
use tokio::time::Instant;

/// Starts `server` on an ephemeral loopback port and returns the base URL.
async fn serve(server: &TestServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = server.clone();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    format!("http://{address}")
}

fn client(attempts: u32) -> Client {
    Client::builder()
        .retry(
            RetryPolicy::new(attempts)
                .backoff(Duration::from_millis(10), Duration::from_millis(50))
                .jitter_seed(7),
        )
        .body_limit(1024)
        .build()
}

#[tokio::test]
async fn success_returns_the_body_and_reuses_the_connection() {
    let server = TestServer::new(Response::ok("hello"));
    let base = serve(&server).await;
    let client = client(1);
    for _ in 0..3 {
        let body = client
            .get_bytes(&format!("{base}/greeting"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(&body[..], b"hello");
    }
    assert_eq!(server.requests_received(), 3);
    assert_eq!(
        server.connections_accepted(),
        1,
        "keep-alive: one connection for three calls"
    );
    assert_eq!(server.requests()[0].path, "/greeting");
    assert_eq!(
        client.idle_connections(),
        1,
        "the connection is kept for reuse"
    );
    client.close_idle();
    assert_eq!(client.idle_connections(), 0);
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Status {
    healthy: bool,
}

#[tokio::test]
async fn get_json_decodes_and_reports_a_bad_body_as_decode() {
    let server = TestServer::new(Response::ok(r#"{"healthy": true}"#));
    let base = serve(&server).await;
    let client = client(1);
    let status: Status = client
        .get_json(&base, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(status, Status { healthy: true });
    server.set_default(Response::ok("not json"));
    let error = client
        .get_json::<Status>(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn a_slow_body_past_the_deadline_times_out_in_the_body_phase() {
    let server =
        TestServer::new(Response::ok(vec![b'x'; 100]).stall_body(10, Duration::from_secs(3)));
    let base = serve(&server).await;
    let started = Instant::now();
    let error = client(1)
        .get_bytes(&base, Duration::from_millis(300))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error,
            FetchError::Timeout {
                phase: Phase::Body,
                ..
            }
        ),
        "{error:?}"
    );
    // Not a timed assertion on speed: the call must not have waited for the 3 s stall.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn a_503_then_success_is_retried_and_succeeds() {
    let server = TestServer::new(Response::ok("finally"));
    server.script([Response::status(503), Response::status(503)]);
    let base = serve(&server).await;
    let body = client(3)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(&body[..], b"finally");
    assert_eq!(server.requests_received(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit_with_the_last_cause_once() {
    let server = TestServer::new(Response::status(500));
    let base = serve(&server).await;
    let error = client(2)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(server.requests_received(), 2);
    assert_eq!(error.to_string(), "gave up after 2 attempts");
    let cause = error.source().unwrap();
    assert_eq!(cause.to_string(), "server answered with status 500");
    assert!(cause.source().is_none());
    assert_eq!(error.status(), Some(500));
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_not_waited_for() {
    let server = TestServer::new(Response::status(503).retry_after(60));
    let base = serve(&server).await;
    let started = Instant::now();
    let error = client(3)
        .get_bytes(&base, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            error,
            FetchError::Timeout {
                phase: Phase::Backoff,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(503));
    assert_eq!(server.requests_received(), 1);
}

/// A server's `Retry-After` is remote input: the largest number of seconds it can send (past
/// what an `Instant` can hold) ends the call in the backoff phase, as a long one does, and never
/// panics the caller.
#[tokio::test]
async fn a_retry_after_at_u64_max_is_a_backoff_timeout_not_a_panic() {
    let server = TestServer::new(Response::status(503).retry_after(u64::MAX));
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&base, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Timeout {
                phase: Phase::Backoff,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.requests_received(), 1);
}

/// `Duration::MAX` as the per-attempt limit means "no limit of its own": the call's deadline
/// still applies, and nothing overflows. The same for the call's own deadline.
#[tokio::test]
async fn duration_max_as_attempt_timeout_or_deadline_means_no_limit() {
    let server = TestServer::new(Response::ok("hello"));
    let base = serve(&server).await;
    let client = Client::builder()
        .retry(RetryPolicy::new(2).attempt_timeout(Duration::MAX))
        .build();
    assert_eq!(
        &client.get_bytes(&base, Duration::MAX).await.unwrap()[..],
        b"hello"
    );
    assert_eq!(
        &client
            .get_bytes(&base, Duration::from_secs(5))
            .await
            .unwrap()[..],
        b"hello"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = TestServer::new(Response::ok(vec![b'x'; 4096]));
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::BodyTooLarge { limit: 1024 }),
        "{error:?}"
    );
    assert_eq!(
        server.requests_received(),
        1,
        "an oversized body is final, not retried"
    );
}

/// A body with no declared length (chunked) is counted while it is read: past the limit it is
/// refused as too large, not reported as a transport error.
#[tokio::test]
async fn an_oversized_body_without_a_declared_length_is_refused_while_read() {
    let server = TestServer::new(Response::ok(vec![b'x'; 4096]).chunked());
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::BodyTooLarge { limit: 1024 }),
        "{error:?}"
    );
    assert_eq!(server.requests_received(), 1, "too large is final");
    let server = TestServer::new(Response::ok(vec![b'y'; 1000]).chunked());
    let base = serve(&server).await;
    let body = client(1)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        body.len(),
        1000,
        "a chunked body within the limit arrives whole"
    );
}

/// A declared length over the limit is refused from the headers, without waiting for a body that
/// may never come (here it stalls for 30 s, far past the 2 s deadline).
#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_it_is_read() {
    let stalled = Response::ok(vec![b'x'; 4096]).stall_body(0, Duration::from_secs(30));
    let server = TestServer::new(stalled);
    let base = serve(&server).await;
    let error = client(1)
        .get_bytes(&base, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::BodyTooLarge { limit: 1024 }),
        "{error:?}"
    );
}

/// A body exactly as long as the limit is accepted (the limit is inclusive), declared or not.
#[tokio::test]
async fn a_body_of_exactly_the_limit_is_accepted() {
    for response in [
        Response::ok(vec![b'x'; 1024]),
        Response::ok(vec![b'x'; 1024]).chunked(),
    ] {
        let server = TestServer::new(response);
        let base = serve(&server).await;
        let body = client(1)
            .get_bytes(&base, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(body.len(), 1024);
    }
}

#[tokio::test]
async fn other_4xx_are_final() {
    let server = TestServer::new(Response::status(404));
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Status { status: 404, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests_received(), 1);
}

#[tokio::test]
async fn a_post_is_never_resent_after_its_bytes_went_out() {
    let server = TestServer::new(Response::status(503));
    let base = serve(&server).await;
    let error = client(3)
        .post(&base, "payload")
        .deadline(Duration::from_secs(5))
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Status { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests_received(), 1);
    assert_eq!(server.requests()[0].method, "POST");
}

#[tokio::test]
async fn connect_failures_are_retried_then_reported_with_their_cause() {
    // A port nobody listens on: bind, read the port, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = client(2)
        .get_bytes(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
        .await
        .unwrap_err();
    let FetchError::AttemptsExhausted { attempts: 2, last } = &error else {
        panic!("{error:?}");
    };
    assert!(matches!(**last, FetchError::Connect { .. }), "{last:?}");
    assert_eq!(
        last.to_string(),
        format!("could not connect to 127.0.0.1:{port}")
    );
    assert!(
        last.source().is_some(),
        "the io error is the source, not part of the message"
    );
}

#[tokio::test]
async fn malformed_urls_are_typed_errors_without_a_request() {
    let client = client(3);
    for (url, reason) in [
        ("not a url", "not a valid URI"),
        (
            "/just/a/path",
            "missing scheme (expected http:// or https://)",
        ),
        ("ftp://example.com/", "the scheme must be http or https"),
        // A host rustls cannot name (a certificate could never match it).
        (
            "https://bad_host!/",
            "the host is not a valid TLS server name",
        ),
        (
            "https://127.0.0.1:0/",
            "the port must be a number in 1..=65535",
        ),
        ("http://", "not a valid URI"),
        // The port at and past its limits: never silently another port.
        (
            "http://127.0.0.1:99999/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://127.0.0.1:65536/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://127.0.0.1:0/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://[::1]:70000/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://127.0.0.1:18446744073709551616/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://127.0.0.1:/",
            "the port must be a number in 1..=65535",
        ),
        (
            "http://user:secret@127.0.0.1/",
            "user info (user:password@) is not supported",
        ),
        ("http://:80/", "missing host"),
        // An IPv6 zone id: no way to send it to a server as a host.
        (
            "http://[fe80::1%25eth0]:80/",
            "IPv6 zone ids are not supported",
        ),
    ] {
        match client.get_bytes(url, Duration::from_secs(1)).await {
            Err(FetchError::InvalidUrl { reason: got, .. }) => assert_eq!(got, reason, "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    // Absurd lengths: a host of 70 000 bytes, a path of 1 MiB.
    for url in [
        format!("http://{}/", "a".repeat(70_000)),
        format!("http://127.0.0.1/{}", "p".repeat(1 << 20)),
    ] {
        assert!(
            matches!(
                client.get_bytes(&url, Duration::from_secs(1)).await,
                Err(FetchError::InvalidUrl { .. })
            ),
            "a URL of {} bytes",
            url.len()
        );
    }
}

/// The valid ports at the ends of the range, and an IPv6 literal, are accepted as written: the
/// call goes to that port (nothing listens there here: a connect error, not `InvalidUrl`).
#[tokio::test]
async fn ports_at_the_ends_of_the_range_are_accepted() {
    let client = Client::builder().retry(RetryPolicy::no_retries()).build();
    for url in [
        "http://127.0.0.1:1/",
        "http://127.0.0.1:65535/",
        "http://[::1]:65535/x?y",
    ] {
        match client.get_bytes(url, Duration::from_secs(2)).await {
            Err(FetchError::InvalidUrl { reason, .. }) => panic!("{url}: refused: {reason}"),
            Err(_) => {}
            Ok(_) => panic!("{url}: something answered"),
        }
    }
}

#[tokio::test]
async fn cancellation_ends_the_call_at_once_even_during_backoff() {
    let server = TestServer::new(Response::status(503).retry_after(1));
    let base = serve(&server).await;
    let client = Client::builder()
        .retry(RetryPolicy::new(5).jitter_seed(1))
        .build();
    let started = Instant::now();
    let error = client
        .get(&base)
        .deadline(Duration::from_secs(30))
        .cancel_when(tokio::time::sleep(Duration::from_millis(200)))
        .bytes()
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Cancelled), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "cancelled during the 1 s backoff"
    );
    assert_eq!(server.requests_received(), 1);
}

/// The guide's `fetch_with_timeout`, with the same server: the timeout wraps only the request
/// (up to the response head), so the body read is not bounded.
async fn guide_fetch_with_timeout(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    use http_body_util::BodyExt;
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri.host().unwrap().to_owned();
    let port = uri.port_u16().unwrap();
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = hyper::Request::get("/")
        .header("host", format!("{host}:{port}"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = tokio::time::timeout(timeout, sender.send_request(request))
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(body.to_bytes().to_vec())
}

#[tokio::test(start_paused = true)]
async fn the_guide_fetch_returns_ok_long_after_its_timeout_and_ours_does_not() {
    // Head at once, body after 8 s; a 5 s timeout.
    let server = TestServer::new(Response::ok("late body").stall_body(0, Duration::from_secs(8)));
    let base = serve(&server).await;
    let started = Instant::now();
    let guide = guide_fetch_with_timeout(&base, Duration::from_secs(5)).await;
    let guide_took = started.elapsed();
    assert_eq!(guide.as_deref(), Ok(&b"late body"[..]));
    assert!(
        guide_took >= Duration::from_secs(8),
        "guide returned Ok after {guide_took:?} under a 5 s timeout"
    );

    let started = Instant::now();
    let ours = client(1).get_bytes(&base, Duration::from_secs(5)).await;
    assert!(
        matches!(
            ours,
            Err(FetchError::Timeout {
                phase: Phase::Body,
                ..
            })
        ),
        "{ours:?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

/// Connections left over from a burst are kept for reuse up to a bound (32), and the rest closed.
#[tokio::test]
async fn at_most_32_idle_connections_are_kept_after_a_burst() {
    let server = TestServer::new(Response::ok("x").delay_headers(Duration::from_millis(500)));
    let base = serve(&server).await;
    let client = client(1);
    let calls = (0..40).map(|_| client.get_bytes(&base, Duration::from_secs(10)));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        server.connections_accepted(),
        40,
        "40 calls at once: a connection each"
    );
    assert_eq!(client.idle_connections(), 32);
}

/// A server that reads a POST and closes the connection without answering: the request may have
/// been acted on, so it is not sent again — the server sees exactly one, and the error is the
/// broken exchange itself (not `AttemptsExhausted`), although the policy allows 3 attempts.
#[tokio::test]
async fn a_post_whose_connection_closes_before_the_answer_is_not_retried() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = {
        let requests = std::sync::Arc::clone(&requests);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut buffer = [0u8; 1024];
                // Read the whole request (headers and the 7-byte body), then hang up.
                while !seen.ends_with(b"payload") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buffer[..n]),
                    }
                }
                if seen.starts_with(b"POST ") {
                    requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                drop(stream);
            }
        })
    };
    let error = client(3)
        .post(&format!("http://{address}/"), "payload")
        .deadline(Duration::from_secs(5))
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Http {
                phase: Phase::Headers,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the POST was sent again"
    );
    server.abort();
}

/// A server that answers the first request on its first connection, then reads the next request
/// on that connection and hangs up without answering — what a client sees when the server closed
/// a kept-alive connection while the request was on its way. Later connections are answered
/// normally. Returns the base URL and, per connection, the request lines it received.
async fn closes_its_first_connection_after_one_answer() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
    let server = {
        let seen = std::sync::Arc::clone(&seen);
        tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                connection += 1;
                let index = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Vec::new());
                    seen.len() - 1
                };
                let mut pending = Vec::new();
                let mut buffer = [0u8; 1024];
                loop {
                    // One request: its head (these requests carry at most a short body, read
                    // with it).
                    while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => pending.extend_from_slice(&buffer[..n]),
                        }
                    }
                    if pending.is_empty() {
                        break;
                    }
                    let text = String::from_utf8_lossy(&pending).into_owned();
                    seen.lock().unwrap()[index].push(text.lines().next().unwrap_or("").into());
                    pending.clear();
                    let answered = seen.lock().unwrap()[index].len();
                    if connection == 1 && answered > 1 {
                        break; // hang up on the second request
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                }
            }
        })
    };
    (format!("http://{address}"), seen, server)
}

/// A GET on a kept-alive connection that the server closed while the request was on its way is
/// sent again, once, over a fresh connection within the same attempt — a single-attempt policy
/// still succeeds (as in Go's and curl's clients).
#[tokio::test]
async fn a_get_on_a_connection_the_server_closed_when_idle_is_sent_again_once() {
    let (base, seen, server) = closes_its_first_connection_after_one_answer().await;
    let client = client(1);
    for _ in 0..2 {
        let body = client
            .get_bytes(&format!("{base}/item"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(&body[..], b"ok");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            vec![
                "GET /item HTTP/1.1".to_owned(),
                "GET /item HTTP/1.1".to_owned()
            ],
            vec!["GET /item HTTP/1.1".to_owned()],
        ],
        "the second GET was written on the closed connection, then once on a new one"
    );
    server.abort();
}

/// The same for a POST: it may have been processed, so it is not sent again.
#[tokio::test]
async fn a_post_on_a_connection_the_server_closed_when_idle_is_not_sent_again() {
    let (base, seen, server) = closes_its_first_connection_after_one_answer().await;
    let client = client(3);
    client
        .get_bytes(&format!("{base}/item"), Duration::from_secs(5))
        .await
        .unwrap();
    let error = client
        .post(&format!("{base}/item"), "")
        .deadline(Duration::from_secs(5))
        .bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Http {
                phase: Phase::Headers,
                ..
            }
        ),
        "{error:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![vec![
            "GET /item HTTP/1.1".to_owned(),
            "POST /item HTTP/1.1".to_owned()
        ]],
        "the POST was sent once"
    );
    server.abort();
}

fn redirect(status: u16, location: &str) -> Response {
    Response::status(status).header("location", location)
}

/// The paths, methods and body lengths the server received, in order.
fn received(server: &TestServer) -> Vec<(String, String, usize)> {
    server
        .requests()
        .iter()
        .map(|request| {
            (
                request.method.clone(),
                request.path.clone(),
                request.body.len(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_redirect_is_followed_over_the_same_connection() {
    let server = TestServer::new(Response::ok("arrived"));
    server.script([redirect(301, "/next?page=2")]);
    let base = serve(&server).await;
    let body = client(1)
        .get_bytes(&format!("{base}/start"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(&body[..], b"arrived");
    assert_eq!(
        received(&server),
        [
            ("GET".to_owned(), "/start".to_owned(), 0),
            ("GET".to_owned(), "/next?page=2".to_owned(), 0)
        ]
    );
    assert_eq!(server.connections_accepted(), 1);
}

/// 301 and 302 turn a POST into a GET and 303 turns any method into a GET, dropping the body;
/// 307 and 308 keep the method and the body.
#[tokio::test]
async fn redirects_change_the_method_as_browsers_do() {
    for (status, method, body_len) in [
        (301, "GET", 0),
        (302, "GET", 0),
        (303, "GET", 0),
        (307, "POST", 7),
        (308, "POST", 7),
    ] {
        let server = TestServer::new(Response::ok("done"));
        server.script([redirect(status, "/after")]);
        let base = serve(&server).await;
        client(1)
            .post(&format!("{base}/form"), "payload")
            .deadline(Duration::from_secs(5))
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            received(&server),
            [
                ("POST".to_owned(), "/form".to_owned(), 7),
                (method.to_owned(), "/after".to_owned(), body_len)
            ],
            "after a {status}"
        );
    }
    // 303 makes a PUT a GET too.
    let server = TestServer::new(Response::ok("done"));
    server.script([redirect(303, "/after")]);
    let base = serve(&server).await;
    client(1)
        .request(
            hyper::Method::PUT,
            &format!("{base}/x"),
            bytes::Bytes::from_static(b"v"),
        )
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        received(&server)[1],
        ("GET".to_owned(), "/after".to_owned(), 0)
    );
}

fn refusal(error: &FetchError) -> &RedirectRefused {
    match error {
        FetchError::Redirect { reason, .. } => reason,
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_loop_is_a_typed_error_without_going_round() {
    // To itself.
    let server = TestServer::new(redirect(302, "/loop"));
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&format!("{base}/loop"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), &RedirectRefused::Loop);
    assert_eq!(server.requests_received(), 1);
    // Through another page.
    let server = TestServer::new(Response::ok("never"));
    server.script([redirect(302, "/b"), redirect(302, "/a")]);
    let base = serve(&server).await;
    let error = client(3)
        .get_bytes(&format!("{base}/a"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), &RedirectRefused::Loop);
    assert_eq!(server.requests_received(), 2);
    let FetchError::Redirect {
        url,
        status,
        location,
        ..
    } = &error
    else {
        unreachable!()
    };
    assert_eq!(
        (url.as_str(), *status, location.as_str()),
        (format!("{base}/b").as_str(), 302, "/a")
    );
}

#[tokio::test]
async fn hops_past_the_limit_are_refused_and_none_means_a_3xx_is_a_status() {
    let server = TestServer::new(Response::ok("never"));
    server.script((1..=5).map(|hop| redirect(302, &format!("/hop{hop}"))));
    let base = serve(&server).await;
    let limited = Client::builder()
        .redirects(RedirectPolicy::limit(3))
        .build();
    let error = limited
        .get_bytes(&format!("{base}/start"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(refusal(&error), &RedirectRefused::TooMany { limit: 3 });
    assert_eq!(
        server.requests_received(),
        4,
        "the first request and 3 hops"
    );

    let server = TestServer::new(Response::ok("never"));
    server.script([redirect(301, "/moved")]);
    let base = serve(&server).await;
    let error = Client::builder()
        .redirects(RedirectPolicy::none())
        .build()
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(301), "{error:?}");
    assert_eq!(server.requests_received(), 1);
}

#[tokio::test]
async fn unusable_locations_are_refused_and_a_3xx_without_one_is_a_status() {
    for location in ["ftp://example.com/file", "http://127.0.0.1:99999/", "#"] {
        let server = TestServer::new(redirect(302, location));
        let base = serve(&server).await;
        let error = client(1)
            .get_bytes(&base, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(refusal(&error), RedirectRefused::InvalidLocation { .. }),
            "{location}: {error:?}"
        );
    }
    let server = TestServer::new(Response::status(302));
    let base = serve(&server).await;
    let error = client(1)
        .get_bytes(&base, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(302), "{error:?}");
}

/// The one deadline covers every hop: a chain of slow redirects ends at the deadline.
#[tokio::test]
async fn the_deadline_covers_every_redirect() {
    let server = TestServer::new(Response::ok("never"));
    server.script(
        (1..=10).map(|hop| {
            redirect(302, &format!("/hop{hop}")).delay_headers(Duration::from_millis(100))
        }),
    );
    let base = serve(&server).await;
    let started = Instant::now();
    let error = client(1)
        .get_bytes(&base, Duration::from_millis(350))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Timeout {
                phase: Phase::Headers,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(server.requests_received() < 10);
}
