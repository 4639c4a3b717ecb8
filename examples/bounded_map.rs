//! The bounded map: 10 000 inputs through `ConcurrencyLimiter::bounded_map` with a limit of 8.
//! Each job counts itself alive from the moment its future is created until it is dropped, so the
//! peak printed at the end is how many futures ever existed at once — not just how many ran. One
//! job in a thousand panics; its panic is reported next to its input and the others go on.
//!
//! Run: `cargo run --example bounded_map`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::concurrency::ConcurrencyLimiter;

const INPUTS: u64 = 10_000;
const LIMIT: usize = 8;

/// How many job futures exist right now, and the most that ever did.
#[derive(Default)]
struct Alive {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One job future, counted in [`Alive`] until dropped.
struct Counted(Arc<Alive>);

impl Counted {
    fn new(alive: &Arc<Alive>) -> Self {
        let now = alive.now.fetch_add(1, Ordering::SeqCst) + 1;
        alive.peak.fetch_max(now, Ordering::SeqCst);
        Counted(Arc::clone(alive))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::main]
async fn main() {
    // The map reports each panic next to its input (printed below): silence the default hook's
    // message so that the output shows what the caller sees.
    std::panic::set_hook(Box::new(|_| {}));

    let limiter = ConcurrencyLimiter::new(LIMIT).expect("8 is a valid limit");
    let alive = Arc::new(Alive::default());

    let mut jobs = limiter.bounded_map(0..INPUTS, |&n| {
        // Counted here, when the future is created: the map calls this only with a free slot.
        let counted = Counted::new(&alive);
        async move {
            let _counted = counted;
            tokio::time::sleep(Duration::from_micros(n % 100)).await; // stands for real work
            if n % 1_000 == 999 {
                panic!("input {n} is cursed");
            }
            n * n
        }
    });

    let (mut answered, mut panicked, mut sum) = (0u64, 0u64, 0u64);
    while let Some((n, result)) = jobs.next().await {
        answered += 1;
        match result {
            Ok(square) => sum += square,
            Err(panic) => {
                panicked += 1;
                println!("input {n}: {panic}");
                assert_eq!(
                    panic.message(),
                    Some(format!("input {n} is cursed").as_str())
                );
            }
        }
    }

    let peak = alive.peak.load(Ordering::SeqCst);
    println!(
        "{answered} inputs answered ({panicked} panicked, sum of the other squares {sum}); \
         at most {peak} futures alive at once for a limit of {LIMIT}"
    );
    assert_eq!(answered, INPUTS);
    assert!(
        peak <= LIMIT,
        "{peak} futures alive at once for a limit of {LIMIT}"
    );
    assert_eq!(limiter.in_flight(), 0);
}
