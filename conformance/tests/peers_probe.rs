#![cfg(feature = "all")]
use async_patterns_conformance::adapters::{async_lock, ours, tokio};
use async_patterns_conformance::{Config, lock, semaphore};

#[test]
fn probe() {
    let c = Config::quick();
    let t = std::time::Instant::now();
    println!("{}\n{:?}", semaphore::check::<ours::Semaphore>("ours", &c), t.elapsed());
    println!("{}\n{:?}", semaphore::check::<tokio::Semaphore>("tokio", &c), t.elapsed());
    println!("{}\n{:?}", semaphore::check::<async_lock::Semaphore>("async-lock", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<ours::Mutex>("ours", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<tokio::Mutex>("tokio", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<async_lock::Mutex>("async-lock", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<ours::RwLock>("ours", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<tokio::RwLock>("tokio", &c), t.elapsed());
    println!("{}\n{:?}", lock::check::<async_lock::RwLock>("async-lock", &c), t.elapsed());
}
