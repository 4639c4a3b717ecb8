//! Fetches a list of URLs from the fault-injecting test server on loopback, at most 4 at a time
//! (a `ConcurrencyLimiter`), each call within one 2 s deadline with up to 3 attempts, and prints
//! a summary: what succeeded, after how many attempts, and what failed and why.
//!
//! Run: `cargo run --example fetch_many`

// The fetch path needs tokio's `net`, which `--cfg loom` compiles out: nothing to run there.
#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
#[tokio::main]
async fn main() {
    example::main().await;
}

#[cfg(not(loom))]
mod example {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_patterns::concurrency::ConcurrencyLimiter;
    use async_patterns::fetch::{Client, RetryPolicy};
    use async_patterns_test_server::{Response, TestServer};

    pub async fn main() {
        // One server, many faults: it answers the first requests from this script, then `ok`.
        let server = TestServer::new(Response::ok("fine"));
        server.script([
            Response::status(503).retry_after(0),
            Response::ok("slow but in time").delay_headers(Duration::from_millis(300)),
            Response::status(404),
            Response::ok(vec![b'x'; 10]).stall_body(2, Duration::from_secs(5)),
            Response::status(500),
            Response::ok(vec![b'y'; 1 << 20]),
        ]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn({
            let server = server.clone();
            async move { server.serve_tcp(listener).await }
        });

        let attempts = Arc::new(AtomicUsize::new(0));
        let client = Client::builder()
            .retry(
                RetryPolicy::new(3)
                    .backoff(Duration::from_millis(20), Duration::from_millis(200))
                    .attempt_timeout(Duration::from_millis(800)),
            )
            .body_limit(64 * 1024)
            .on_attempt({
                let attempts = Arc::clone(&attempts);
                move |_| {
                    attempts.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();

        let urls: Vec<String> = (0..20).map(|i| format!("{base}/item/{i}")).collect();
        let limiter = ConcurrencyLimiter::new(4).expect("a limit of 4 is valid");
        let results = limiter
            .bounded_map(urls, |url| {
                let (client, url) = (client.clone(), url.clone());
                async move { client.get_bytes(&url, Duration::from_secs(2)).await }
            })
            .collect_in_input_order()
            .await;

        let mut succeeded = 0;
        for (url, result) in &results {
            match result {
                Ok(Ok(body)) => {
                    succeeded += 1;
                    println!("ok    {url}: {} bytes", body.len());
                }
                Ok(Err(error)) => println!("error {url}: {error}{}", cause(error)),
                Err(panicked) => println!("panic {url}: {panicked}"),
            }
        }
        println!(
            "\n{succeeded} of {} succeeded; {} attempts in all; the server saw {} requests",
            results.len(),
            attempts.load(Ordering::Relaxed),
            server.requests_received()
        );
    }

    /// The cause chain, each cause once (`FetchError` never repeats its source in its message).
    fn cause(error: &dyn std::error::Error) -> String {
        let mut text = String::new();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(" (caused by: {cause})"));
            source = cause.source();
        }
        text
    }
}
