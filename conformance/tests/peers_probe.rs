#![cfg(feature = "all")]
use async_patterns_conformance::adapters::{async_lock, ours, tokio};
use async_patterns_conformance::{Config, lock, semaphore};

#[test]
fn probe() {
    let c = Config::quick();
    let t = std::time::Instant::now();
    println!(
        "{}\n{:?}",
        semaphore::check::<ours::Semaphore>("ours", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        semaphore::check::<tokio::Semaphore>("tokio", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        semaphore::check::<async_lock::Semaphore>("async-lock", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<ours::Mutex>("ours", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<tokio::Mutex>("tokio", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<async_lock::Mutex>("async-lock", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<ours::RwLock>("ours", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<tokio::RwLock>("tokio", &c),
        t.elapsed()
    );
    println!(
        "{}\n{:?}",
        lock::check::<async_lock::RwLock>("async-lock", &c),
        t.elapsed()
    );
}

#[test]
fn probe_tokens() {
    use async_patterns_conformance::adapters::tokio_util;
    use async_patterns_conformance::{token, tracker};
    let c = Config::quick();
    println!("{}", token::check::<ours::ShutdownToken>("ours", &c));
    println!(
        "{}",
        token::check::<tokio_util::CancellationToken>("tokio-util", &c)
    );
    println!("{}", tracker::check::<ours::ShutdownTracker>("ours", &c));
    println!(
        "{}",
        tracker::check::<tokio_util::TaskTracker>("tokio-util", &c)
    );
}

#[test]
fn probe_rate() {
    use async_patterns_conformance::adapters::{governor, leaky_bucket};
    use async_patterns_conformance::rate;
    let c = Config::quick();
    let t = std::time::Instant::now();
    println!(
        "{}",
        rate::check::<ours::StrictRateLimiter>("ours strict", &c)
    );
    println!(
        "{}",
        rate::check::<ours::BucketRateLimiter>("ours bucket", &c)
    );
    println!("{}", rate::check::<governor::RateLimiter>("governor", &c));
    println!(
        "{}",
        rate::check::<leaky_bucket::RateLimiter>("leaky-bucket", &c)
    );
    println!("{:?}", t.elapsed());
}
