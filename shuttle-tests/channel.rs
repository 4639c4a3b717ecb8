//! The channel with more parties than loom can afford: three senders, three receivers, a closer,
//! and `send` / `recv` futures cancelled part-way, over a small ring.
//!
//! Checked after every schedule: each value a `send` reported sent is received exactly once (by
//! a receiver, a cancelled `recv` that completed, or the drain at the end), a refused value comes
//! back to its sender, nothing else is received, and each receiver sees each sender's values in
//! the order they were sent. The ring also asserts, on every claim, that the slot holds a value
//! for that position (a duplicate or an unwritten read fails there first).

use std::collections::HashMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use async_patterns::channel::{self, Receiver, Sender, TryRecvError};
use shuttle::future::block_on;
use shuttle::thread;

use crate::runner::check_here;

const SENDERS: usize = 3;
const RECEIVERS: usize = 3;
const VALUES: u32 = 2;

/// Polls `future` once with a waker that does nothing, then drops it: a caller that gave up.
fn poll_once_and_drop<F: Future>(future: F) -> Option<F::Output> {
    let mut future = Box::pin(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Sender `id` sends its values in order (one of them through a `send` it cancels after one
/// poll); returns the values the channel took.
fn sender(tx: Sender<(usize, u32)>, id: usize) -> Vec<u32> {
    let mut sent = Vec::new();
    for value in 0..VALUES {
        let outcome = if id == 0 && value == 1 {
            poll_once_and_drop(tx.send((id, value)))
        } else {
            Some(block_on(tx.send((id, value))))
        };
        match outcome {
            Some(Ok(())) => sent.push(value),
            Some(Err(refused)) => assert_eq!(
                refused.into_inner(),
                (id, value),
                "a refused send gave back another value"
            ),
            None => {} // cancelled: its value never reached the channel
        }
    }
    sent
}

/// Receiver `id` receives until the channel is closed and drained: the first one also cancels a
/// `recv` after one poll, and the last one never waits — it polls with `try_recv`, yielding
/// while the channel is empty (the fast path alone, as a receiver in a busy loop or a `select!`
/// over several sources uses it).
fn receiver(rx: Receiver<(usize, u32)>, id: usize) -> Vec<(usize, u32)> {
    let mut got = Vec::new();
    if id == 0
        && let Some(Some(value)) = poll_once_and_drop(rx.recv())
    {
        got.push(value);
    }
    if id == RECEIVERS - 1 {
        loop {
            match rx.try_recv() {
                Ok(value) => got.push(value),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Closed) => return got,
            }
        }
    }
    while let Some(value) = block_on(rx.recv()) {
        got.push(value);
    }
    got
}

#[test]
fn channel_many_parties_lose_and_duplicate_nothing() {
    check_here(|| many_parties(1));
    check_here(|| many_parties(2));
}

/// How many schedules the test above takes to fail on a channel with a bug, over ten seeds per
/// scheduler and capacity: run by hand on a build with the bug (`-- --ignored --nocapture`).
#[test]
#[ignore = "a measurement for a build with a channel bug, run by hand"]
fn channel_schedules_to_first_failure() {
    use crate::runner::{Budget, Kind, schedules_to_failure};
    crate::runner::quiet_expected_panics();
    let iterations = Budget::from_env("").iterations;
    for capacity in [1, 2] {
        for kind in [Kind::Random, Kind::Pct] {
            let started = std::time::Instant::now();
            let found: Vec<Option<usize>> = (0..10)
                .map(|seed| {
                    let budget = Budget { iterations, seed };
                    schedules_to_failure(kind, budget, move || many_parties(capacity))
                })
                .collect();
            eprintln!(
                "capacity {capacity}, {} scheduler, seeds 0..10, at most {iterations} schedules \
                 each: first failure at {found:?} ({:.2?})",
                kind.name(),
                started.elapsed()
            );
        }
    }
}

fn many_parties(capacity: usize) {
    {
        let (tx, rx) = channel::bounded::<(usize, u32)>(capacity).expect("a valid capacity");
        let senders: Vec<_> = (0..SENDERS)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || sender(tx, id))
            })
            .collect();
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|id| {
                let rx = rx.clone();
                thread::spawn(move || receiver(rx, id))
            })
            .collect();
        let closer = {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::yield_now();
                tx.close();
            })
        };
        drop(tx);

        let sent: Vec<Vec<u32>> = senders.into_iter().map(|t| t.join().unwrap()).collect();
        let received: Vec<Vec<(usize, u32)>> =
            receivers.into_iter().map(|t| t.join().unwrap()).collect();
        closer.join().unwrap();
        let mut left = Vec::new();
        while let Ok(value) = rx.try_recv() {
            left.push(value);
        }

        for got in &received {
            let mut last: HashMap<usize, u32> = HashMap::new();
            for &(from, value) in got {
                if let Some(&before) = last.get(&from) {
                    assert!(
                        value > before,
                        "a receiver got sender {from}'s {value} after its {before}: {got:?}"
                    );
                }
                last.insert(from, value);
            }
        }
        let mut all: Vec<(usize, u32)> = received.into_iter().flatten().chain(left).collect();
        all.sort_unstable();
        let mut expected: Vec<(usize, u32)> = sent
            .iter()
            .enumerate()
            .flat_map(|(id, values)| values.iter().map(move |&value| (id, value)))
            .collect();
        expected.sort_unstable();
        assert_eq!(
            all, expected,
            "values received (left) differ from values sent (right): lost or duplicated"
        );
    }
}
