//! The shared-counter pattern done right: many tasks increment one counter through the async
//! `Mutex`, holding the guard across an `.await`, and some of them give up waiting (a `timeout`
//! cancels their `lock()`). The count still equals the increments that happened, and the lock is
//! free at the end.
//!
//! Run: `cargo run --example counter`

use std::sync::Arc;
use std::time::Duration;

use async_patterns::sync::Mutex;

#[tokio::main]
async fn main() {
    let counter = Arc::new(Mutex::new(0u64));
    let tasks = 1_000u64;

    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                // One task in ten is impatient: its lock() is cancelled if it waits too long.
                let patience = if i % 10 == 0 {
                    Duration::from_micros(50)
                } else {
                    Duration::from_secs(10)
                };
                let Ok(mut count) = tokio::time::timeout(patience, counter.lock()).await else {
                    return false;
                };
                let seen = *count;
                tokio::task::yield_now().await; // other tasks run, but none can touch the count
                *count = seen + 1;
                true
            })
        })
        .collect();

    let mut incremented = 0u64;
    for handle in handles {
        if handle.await.expect("a counter task panicked") {
            incremented += 1;
        }
    }

    let total = *counter.lock().await;
    println!(
        "{tasks} tasks, {incremented} incremented, {} gave up; counter = {total}",
        tasks - incremented
    );
    assert_eq!(
        total, incremented,
        "every increment must be counted exactly once"
    );
    assert!(
        counter.try_lock().is_ok(),
        "cancelled lock() calls must not leave the mutex locked"
    );
}
