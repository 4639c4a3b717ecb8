//! What a connection costs the fetch client on loopback: one GET of a 5-byte body over a kept-alive
//! connection, against the same GET over a new connection — plain TCP, TLS 1.3 resumed from the
//! client's session cache, and a full TLS 1.3 handshake (a new client, so an empty cache; the
//! certificate is an ECDSA P-256 leaf from a CA made at start, verified by rustls each time).
//! Reported time = one whole call (`get_bytes`), client and server side: the server is a minimal
//! HTTP/1.1 responder in the same process, on the same 2-worker runtime.
//!
//! No peer here: the figure wanted is the ratio between our own paths (what reuse saves).
//!
//! Compiles to an empty `main` under `--cfg loom`.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
#[path = "../tests/support/pki.rs"]
mod pki;

#[cfg(not(loom))]
mod bench {
    use std::time::{Duration, Instant};

    use async_patterns::fetch::Client;
    use criterion::Criterion;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::runtime::Runtime;

    use super::common::two_workers;
    use super::pki::Ca;

    const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

    /// Answers every request on `stream` (GETs: a head, no body) with [`ANSWER`].
    async fn respond<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
        let mut pending = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                pending.drain(..end + 4);
                if stream.write_all(ANSWER).await.is_err() {
                    return;
                }
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buffer[..n]),
            }
        }
    }

    /// Serves plain HTTP on one port and HTTPS on another; returns both.
    async fn serve(ca: &Ca) -> (u16, u16) {
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ports = (
            plain.local_addr().unwrap().port(),
            tls.local_addr().unwrap().port(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = plain.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(respond(stream));
            }
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.leaf(&["localhost"]).server_config());
        tokio::spawn(async move {
            while let Ok((stream, _)) = tls.accept().await {
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        respond(stream).await;
                    }
                });
            }
        });
        ports
    }

    /// Times `iters` calls of `url`: over `client`'s kept connection, or — with `fresh` — each
    /// over a new one (`close_idle` first), or each from a new client (`new_client`).
    fn calls(rt: &Runtime, iters: u64, url: &str, client: &Client, ca: &Ca, how: How) -> Duration {
        rt.block_on(async {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let fresh;
                let client = match how {
                    How::Reused => client,
                    How::NewConnection => {
                        client.close_idle();
                        client
                    }
                    How::NewClient => {
                        fresh = Client::builder().root_certificates(ca.roots()).build();
                        &fresh
                    }
                };
                // Only the call is timed: not the closing of the old connection, not the making
                // of a new client.
                let start = Instant::now();
                let body = client
                    .get_bytes(url, Duration::from_secs(5))
                    .await
                    .expect("the loopback call");
                total += start.elapsed();
                assert_eq!(&body[..], b"hello");
            }
            total
        })
    }

    #[derive(Clone, Copy)]
    enum How {
        Reused,
        NewConnection,
        NewClient,
    }

    pub fn connections(c: &mut Criterion) {
        let rt = two_workers();
        let ca = Ca::new("bench CA");
        let (plain, tls) = rt.block_on(serve(&ca));
        let client = Client::builder().root_certificates(ca.roots()).build();
        let http = format!("http://localhost:{plain}/");
        let https = format!("https://localhost:{tls}/");
        let mut g = c.benchmark_group("fetch/get");
        for (name, url, how) in [
            ("http_reused", &http, How::Reused),
            ("http_new_connection", &http, How::NewConnection),
            ("https_reused", &https, How::Reused),
            ("https_new_connection_resumed", &https, How::NewConnection),
            (
                "https_new_connection_full_handshake",
                &https,
                How::NewClient,
            ),
        ] {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| calls(&rt, iters, url, &client, &ca, how))
            });
        }
        g.finish();
    }
}

fn main() {
    #[cfg(not(loom))]
    {
        let mut c = common::config();
        bench::connections(&mut c);
        c.final_summary();
    }
}
