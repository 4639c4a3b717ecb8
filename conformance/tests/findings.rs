//! Reproductions, on a real scheduler, of what the checkers found in current releases of the
//! peers (the matrix's notes cite them). Timing-dependent, so ignored by default:
//! `cargo test -p async-patterns-conformance --features all --test findings -- --ignored --nocapture`.

#![cfg(feature = "async-lock")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that counts its polls.
struct Counted<F>(Pin<Box<F>>, Arc<AtomicUsize>);

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.as_mut().poll(cx)
    }
}

/// async-lock 3.5's RwLock: two readers waiting behind a writer that got the lock while one of
/// them had been notified pass the notification back and forth — each poll wakes the other —
/// for as long as the writer holds the lock: a busy spin instead of sleeping. The checker's
/// schedule (the writer polled first after the release) reaches it every time; on tokio's
/// 2-worker runtime it happens when the writer's task wins the race to the lock.
#[test]
#[ignore = "timing-dependent: shows the spin on a real multi-threaded scheduler"]
fn async_lock_rwlock_readers_spin_while_a_writer_holds_the_lock() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a runtime");
    let mut polls_per_run = Vec::new();
    for _ in 0..30 {
        polls_per_run.push(runtime.block_on(async {
            let lock = Arc::new(async_lock::RwLock::new(()));
            let held = lock.write_arc().await;
            let (granted, got_it) = tokio::sync::oneshot::channel::<()>();
            let writer = tokio::spawn({
                let lock = Arc::clone(&lock);
                async move {
                    let guard = lock.write_arc().await;
                    let _ = granted.send(());
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    drop(guard);
                }
            });
            tokio::time::sleep(Duration::from_millis(2)).await;
            let polls = Arc::new(AtomicUsize::new(0));
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let lock = Arc::clone(&lock);
                    let read = async move { drop(lock.read_arc().await) };
                    tokio::spawn(Counted(Box::pin(read), Arc::clone(&polls)))
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(2)).await;
            drop(held);
            let _ = got_it.await;
            let at_grant = polls.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let during = polls.load(Ordering::SeqCst) - at_grant;
            writer.await.expect("the writer");
            for reader in readers {
                reader.await.expect("a reader");
            }
            during
        }));
    }
    println!("reader polls during 20 ms of the writer's hold, per run: {polls_per_run:?}");
    let spinning = polls_per_run.iter().filter(|&&n| n > 100).count();
    assert!(
        spinning > 0,
        "no run spun (the race went the other way every time)"
    );
}
