#![cfg(not(any(loom, shuttle)))]
//! HTTPS on real loopback TCP against the fault-injecting test server behind rustls, with
//! certificates made at test time: success with keep-alive reuse; a certificate for another
//! name, an expired one, an unknown CA and a plain-HTTP server on the TLS port, each a typed
//! error that is not retried and states its cause once; a server that stalls mid-handshake
//! (the deadline strikes in the handshake phase); a slow body over TLS.

use std::error::Error as _;
use std::time::Duration;

use async_patterns::fetch::rustls::{self, CertificateError};
use async_patterns::fetch::{
    Client, FetchError, Phase, RedirectPolicy, RedirectRefused, RetryPolicy,
};
use async_patterns_test_server::{Response, TestServer};
use tokio::time::Instant;

#[path = "support/pki.rs"]
mod pki;

use pki::{Ca, Leaf};

/// Serves `server` over TLS with `leaf` on an ephemeral loopback port; returns the port. A
/// connection whose handshake fails is dropped (the client under test reports it).
pub async fn serve_tls(server: &TestServer, leaf: &Leaf) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(leaf.server_config());
    let server = server.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            let server = server.clone();
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    server.serve_connection(stream).await;
                }
            });
        }
    });
    port
}

/// A client trusting only `ca`, with three attempts (so a retry would show).
fn client(ca: &Ca) -> Client {
    Client::builder()
        .root_certificates(ca.roots())
        .retry(
            RetryPolicy::new(3)
                .backoff(Duration::from_millis(10), Duration::from_millis(50))
                .jitter_seed(7),
        )
        .build()
}

/// The messages of `error` and of each `source()` below it.
fn chain(error: &FetchError) -> Vec<String> {
    let mut messages = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(error) = cause {
        messages.push(error.to_string());
        cause = error.source();
    }
    messages
}

/// A handshake failure: typed, made once (no retry), its cause once in the chain.
fn assert_refused_once(error: &FetchError, server: &TestServer) -> rustls::Error {
    let FetchError::Tls { source, .. } = error else {
        panic!("expected a TLS error, got {error:?}");
    };
    assert_eq!(server.connections_accepted(), 0, "no HTTP was served");
    let messages = chain(error);
    for (index, message) in messages.iter().enumerate() {
        for later in &messages[index + 1..] {
            assert!(
                !message.contains(later.as_str()),
                "cause repeated in {messages:?}"
            );
        }
    }
    source.clone()
}

#[tokio::test]
async fn https_succeeds_and_reuses_the_connection() {
    let ca = Ca::new("test CA");
    let server = TestServer::new(Response::ok("secret"));
    let port = serve_tls(&server, &ca.leaf(&["localhost"])).await;
    let client = client(&ca);
    for _ in 0..3 {
        let body = client
            .get_bytes(
                &format!("https://localhost:{port}/greeting"),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(&body[..], b"secret");
    }
    assert_eq!(server.requests_received(), 3);
    assert_eq!(
        server.connections_accepted(),
        1,
        "keep-alive: one connection"
    );
    assert_eq!(
        server.requests()[0].header("host"),
        Some(format!("localhost:{port}").as_str())
    );
    assert_eq!(client.idle_connections(), 1);
}

#[tokio::test]
async fn an_ip_literal_is_verified_against_the_certificate_s_ip_names() {
    let ca = Ca::new("test CA");
    let server = TestServer::new(Response::ok("by address"));
    let port = serve_tls(&server, &ca.leaf(&["127.0.0.1"])).await;
    let body = client(&ca)
        .get_bytes(
            &format!("https://127.0.0.1:{port}/"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(&body[..], b"by address");
}

/// A GET of `https://localhost` by `client` from a server presenting `leaf`: refused in the
/// handshake, typed, not retried, its cause once; returns rustls's verdict.
async fn refused(leaf: &Leaf, client: Client) -> rustls::Error {
    let server = TestServer::new(Response::ok("never"));
    let port = serve_tls(&server, leaf).await;
    let error = client
        .get_bytes(
            &format!("https://localhost:{port}/"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_refused_once(&error, &server)
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_and_not_retried() {
    let ca = Ca::new("test CA");
    let source = refused(&ca.leaf(&["other.example"]), client(&ca)).await;
    assert!(
        matches!(
            source,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{source:?}"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused_and_not_retried() {
    let ca = Ca::new("test CA");
    let source = refused(&ca.expired_leaf(&["localhost"]), client(&ca)).await;
    assert!(
        matches!(
            source,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_by_the_default_roots() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"]);
    // The default client trusts Mozilla's roots, which do not include this CA.
    let source = refused(&leaf, Client::new()).await;
    assert!(
        matches!(
            source,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        ),
        "{source:?}"
    );
    // Another CA's roots are no better.
    let source = refused(&leaf, client(&Ca::new("another CA"))).await;
    assert!(
        matches!(
            source,
            rustls::Error::InvalidCertificate(
                CertificateError::BadSignature | CertificateError::UnknownIssuer
            )
        ),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_plain_http_server_on_the_tls_port_is_a_tls_error_not_retried() {
    let server = TestServer::new(Response::ok("plain"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn({
        let server = server.clone();
        async move { server.serve_tcp(listener).await }
    });
    let ca = Ca::new("test CA");
    let started = Instant::now();
    let error = client(&ca)
        .get_bytes(
            &format!("https://localhost:{port}/"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Tls { .. }),
        "{error:?}: {:?}",
        chain(&error)
    );
    assert_eq!(server.connections_accepted(), 1, "not retried");
    assert_eq!(server.requests_received(), 0, "no request was sent");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_handshake_that_stalls_times_out_in_the_tls_phase() {
    use tokio::io::AsyncReadExt;
    // Accepts, reads the client's hello, and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stalled = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello).await;
            held.push(stream);
        }
    });
    let ca = Ca::new("test CA");
    let started = Instant::now();
    let error = Client::builder()
        .root_certificates(ca.roots())
        .retry(RetryPolicy::no_retries())
        .build()
        .get_bytes(
            &format!("https://localhost:{port}/"),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Timeout {
                phase: Phase::Tls,
                last: None
            }
        ),
        "{error:?}"
    );
    // Not a timed assertion on speed: the call ended at its deadline, not never.
    assert!(started.elapsed() < Duration::from_secs(5));
    stalled.abort();
}

#[tokio::test]
async fn a_slow_body_over_tls_times_out_in_the_body_phase() {
    let ca = Ca::new("test CA");
    let server =
        TestServer::new(Response::ok(vec![b'x'; 100]).stall_body(10, Duration::from_secs(3)));
    let port = serve_tls(&server, &ca.leaf(&["localhost"])).await;
    let started = Instant::now();
    let error = client(&ca)
        .get_bytes(
            &format!("https://localhost:{port}/"),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
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
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_post_over_tls_is_sent_once_and_answered() {
    let ca = Ca::new("test CA");
    let server = TestServer::new(Response::ok("created"));
    let port = serve_tls(&server, &ca.leaf(&["localhost"])).await;
    let body = client(&ca)
        .post(&format!("https://localhost:{port}/items"), "payload")
        .deadline(Duration::from_secs(5))
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"created");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(&requests[0].body[..], b"payload");
}

#[tokio::test]
async fn http_and_https_to_the_same_host_and_port_do_not_share_connections() {
    let ca = Ca::new("test CA");
    let server = TestServer::new(Response::ok("tls"));
    let port = serve_tls(&server, &ca.leaf(&["localhost"])).await;
    let client = client(&ca);
    client
        .get_bytes(
            &format!("https://localhost:{port}/"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    // The idle TLS connection must not carry a plain-HTTP request: this one opens its own
    // connection, which the TLS server cannot make sense of.
    let error = client
        .get(&format!("http://localhost:{port}/"))
        .deadline(Duration::from_secs(5))
        .bytes()
        .await
        .unwrap_err();
    assert!(!matches!(error, FetchError::Tls { .. }), "{error:?}");
    assert_eq!(
        server.requests_received(),
        1,
        "the plain request was not served"
    );
}

/// A plain-HTTP test server on an ephemeral loopback port.
async fn serve_plain(server: &TestServer) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = server.clone();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    port
}

#[tokio::test]
async fn a_redirect_from_http_to_https_is_followed() {
    let ca = Ca::new("test CA");
    let secure = TestServer::new(Response::ok("upgraded"));
    let tls_port = serve_tls(&secure, &ca.leaf(&["localhost"])).await;
    let plain = TestServer::new(
        Response::status(301).header("location", &format!("https://localhost:{tls_port}/x")),
    );
    let plain_port = serve_plain(&plain).await;
    let body = client(&ca)
        .get_bytes(
            &format!("http://localhost:{plain_port}/x"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(&body[..], b"upgraded");
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_refused_unless_allowed() {
    let ca = Ca::new("test CA");
    let plain = TestServer::new(Response::ok("in the clear"));
    let plain_port = serve_plain(&plain).await;
    let secure = TestServer::new(
        Response::status(302).header("location", &format!("http://localhost:{plain_port}/x")),
    );
    let tls_port = serve_tls(&secure, &ca.leaf(&["localhost"])).await;
    let url = format!("https://localhost:{tls_port}/x");
    let error = client(&ca)
        .get_bytes(&url, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Redirect {
                reason: RedirectRefused::Downgrade,
                status: 302,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(plain.requests_received(), 0, "nothing sent in the clear");

    let body = Client::builder()
        .root_certificates(ca.roots())
        .redirects(RedirectPolicy::default().allow_https_to_http(true))
        .build()
        .get_bytes(&url, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(&body[..], b"in the clear");
}
