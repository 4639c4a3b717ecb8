#![cfg(not(any(loom, shuttle)))]
//! The fetch client against a real HTTP server: each test starts a throwaway nginx on loopback
//! (configuration, docroot and logs in a temporary directory, free ports), and a guard stops and
//! removes it afterwards, also when the test panics. Where `tests/fetch.rs` checks the client
//! against a server built to misbehave on cue, these check it against one it did not write.
//!
//! Needs nginx: `$NGINX_BIN`, else `nginx` on `PATH`, else `/usr/sbin/nginx`. Without it a local
//! run skips each test with a message saying what to install; with `REQUIRE_NGINX` set a missing
//! nginx is a failure: `.ci/run` installs nginx, then runs this target so. As root (CI), nginx's
//! workers run as `www-data` (or `nobody`).
//!
//! Over HTTP and HTTPS (a CA and a leaf for `localhost` made at test time): keep-alive reuse,
//! a chunked body, an 8 MiB file, redirects (301, 303, a loop), nginx's own rate limit past the
//! deadline, and a certificate for another name.
//!
//! Run: `cargo test --test real_server`.

#[path = "nginx/server.rs"]
mod nginx;
#[path = "support/pki.rs"]
mod pki;

use std::time::Duration;

use async_patterns::fetch::{Client, FetchError, Phase, RedirectRefused};
use tokio::time::Instant;

use nginx::Nginx;
use pki::Ca;

/// nginx serving HTTP and HTTPS (a certificate for `localhost` from a CA made here), and for each
/// scheme a base URL and a client that trusts that CA.
struct Both {
    server: Nginx,
    bases: [(String, Client); 2],
}

fn start() -> Option<Both> {
    let ca = Ca::new("nginx test CA");
    let leaf = ca.leaf(&["localhost"]);
    let server = Nginx::start_or_skip(Some((&leaf.cert_pem, &leaf.key_pem)))?;
    let client = || {
        Client::builder()
            .root_certificates(ca.roots())
            .body_limit(16 << 20)
            .build()
    };
    let https_port = server.https_port().expect("started with a certificate");
    let bases = [
        (format!("http://localhost:{}", server.http_port()), client()),
        (format!("https://localhost:{https_port}"), client()),
    ];
    Some(Both { server, bases })
}

/// The access log's lines for `path`, once nginx has written `count` of them (it writes a line
/// after the response is sent).
async fn logged(server: &Nginx, path: &str, count: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let lines: Vec<String> = server
            .access_log()
            .lines()
            .filter(|line| line.contains(&format!(" {path} ")))
            .map(str::to_owned)
            .collect();
        if lines.len() >= count || started.elapsed() > Duration::from_secs(5) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn keep_alive_reuses_one_connection_over_http_and_https() {
    let Some(both) = start() else { return };
    for (base, client) in &both.bases {
        for _ in 0..3 {
            let body = client
                .get_bytes(
                    &format!("{base}{}", nginx::SMALL_PATH),
                    Duration::from_secs(5),
                )
                .await
                .unwrap_or_else(|error| panic!("{base}: {error}"));
            assert_eq!(&body[..], nginx::SMALL_BODY);
        }
        assert_eq!(client.idle_connections(), 1, "{base}");
    }
    // Per scheme, one connection carried its three requests (`$connection $connection_requests`).
    let lines = logged(&both.server, nginx::SMALL_PATH, 6).await;
    let connections: Vec<&str> = lines
        .iter()
        .map(|line| line.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(
        connections[..3].iter().all(|c| *c == connections[0])
            && connections[3..].iter().all(|c| *c == connections[3])
            && connections[0] != connections[3],
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_chunked_body_and_a_large_file_arrive_whole() {
    let Some(both) = start() else { return };
    for (base, client) in &both.bases {
        let chunked = client
            .get_bytes(
                &format!("{base}{}", nginx::CHUNKED_PATH),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|error| panic!("{base}: {error}"));
        assert_eq!(&chunked[..], &nginx::chunked_body()[..], "{base}");
        let large = client
            .get_bytes(
                &format!("{base}{}", nginx::LARGE_PATH),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|error| panic!("{base}: {error}"));
        assert_eq!(large.len(), nginx::LARGE_LEN, "{base}");
        assert!(
            large[..] == nginx::large_body()[..],
            "{base}: the bytes differ"
        );
    }
}

#[tokio::test]
async fn redirects_are_followed_and_a_loop_is_refused() {
    let Some(both) = start() else { return };
    for (base, client) in &both.bases {
        for path in [nginx::REDIRECT_PATH, nginx::REDIRECT_303_PATH] {
            let body = client
                .get_bytes(&format!("{base}{path}"), Duration::from_secs(5))
                .await
                .unwrap_or_else(|error| panic!("{base}{path}: {error}"));
            assert_eq!(&body[..], nginx::SMALL_BODY);
        }
        let error = client
            .get_bytes(
                &format!("{base}{}", nginx::LOOP_PATH),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                FetchError::Redirect {
                    reason: RedirectRefused::Loop,
                    status: 302,
                    ..
                }
            ),
            "{base}: {error:?}"
        );
    }
}

/// nginx's own rate limit (64 KiB/s) on an 8 MiB file: the body would take two minutes; the
/// call ends at its 1 s deadline, in the body phase.
#[tokio::test]
async fn a_rate_limited_body_past_the_deadline_times_out_in_the_body_phase() {
    let Some(both) = start() else { return };
    for (base, client) in &both.bases {
        let started = Instant::now();
        let error = client
            .get_bytes(
                &format!("{base}{}", nginx::SLOW_PATH),
                Duration::from_secs(1),
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
            "{base}: {error:?}"
        );
        // Not a timed assertion on speed: the call ended near its deadline, not with the body.
        assert!(started.elapsed() < Duration::from_secs(10), "{base}");
    }
}

/// nginx's certificate is for `localhost`: by another name (`127.0.0.1`, which it does not
/// carry) the handshake is refused, typed, and nothing is requested.
#[tokio::test]
async fn https_by_a_name_the_certificate_lacks_is_refused() {
    let Some(both) = start() else { return };
    let (_, client) = &both.bases[1];
    let port = both.server.https_port().expect("https");
    let error = client
        .get_bytes(
            &format!("https://127.0.0.1:{port}{}", nginx::SMALL_PATH),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Tls { .. }), "{error:?}");
    assert!(logged(&both.server, nginx::SMALL_PATH, 0).await.is_empty());
}
