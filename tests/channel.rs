#![cfg(not(any(loom, shuttle)))]
//! The bounded MPMC channel: FIFO both ways, cancel safety of `send` and `recv`, close semantics
//! (nothing sent is lost), and bad capacity. Random operation sequences: `channel_model.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::channel::{
    self, CapacityError, ChannelClosed, SendError, TryRecvError, TryReserveError, TrySendError,
};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready, assert_ready_eq};

#[test]
fn zero_capacity_is_a_typed_error() {
    assert_eq!(channel::bounded::<u8>(0).unwrap_err(), CapacityError::Zero);
    assert_eq!(
        channel::bounded::<u8>(usize::MAX).unwrap_err(),
        CapacityError::TooLarge
    );
    assert!(!CapacityError::Zero.to_string().is_empty());
    // The largest capacity is accepted (its slots, 16 MiB here, are allocated up front; not
    // under Miri, where making a million slots takes minutes), one more is not.
    if !cfg!(miri) {
        let (tx, _rx) = channel::bounded::<u8>(channel::MAX_CAPACITY).unwrap();
        assert_eq!(tx.capacity(), channel::MAX_CAPACITY);
    }
    assert_eq!(
        channel::bounded::<u8>(channel::MAX_CAPACITY + 1).unwrap_err(),
        CapacityError::TooLarge
    );
}

#[test]
fn values_come_out_in_the_order_they_went_in() {
    let (tx, rx) = channel::bounded(3).unwrap();
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert!(tx.try_send(3).unwrap_err().is_full());
    assert_eq!(tx.len(), 3);
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(3).unwrap();
    let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn waiting_senders_get_space_in_arrival_order() {
    let (tx, rx) = channel::bounded(1).unwrap();
    tx.try_send(0).unwrap();
    let mut first = spawn(tx.send(1));
    let mut second = spawn(tx.send(2));
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    // A newcomer does not overtake the queued senders.
    assert!(tx.try_send(9).unwrap_err().is_full());
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(first.is_woken());
    assert!(!second.is_woken());
    assert_ready_eq!(first.poll(), Ok(()));
    assert_pending!(second.poll());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_ready_eq!(second.poll(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn waiting_receivers_are_served_in_arrival_order() {
    let (tx, rx) = channel::bounded(4).unwrap();
    let mut first = spawn(rx.recv());
    let mut second = spawn(rx.recv());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    tx.try_send("a").unwrap();
    assert!(first.is_woken());
    assert!(!second.is_woken());
    // A newcomer does not take the value assigned to the first waiter.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_ready_eq!(first.poll(), Some("a"));
    tx.try_send("b").unwrap();
    assert_ready_eq!(second.poll(), Some("b"));
}

/// The documented meaning of FIFO for receivers: turns are given in arrival order, and each
/// receiver let in takes the front value when it is next polled — so receivers let in in order
/// but polled in the opposite order get the values in the opposite order.
#[test]
fn a_let_in_receiver_takes_the_front_value_when_it_is_polled() {
    let (tx, rx) = channel::bounded(4).unwrap();
    let mut first = spawn(rx.recv());
    let mut second = spawn(rx.recv());
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    tx.try_send("a").unwrap();
    tx.try_send("b").unwrap();
    assert!(
        first.is_woken() && second.is_woken(),
        "both let in, in order"
    );
    assert_ready_eq!(second.poll(), Some("a"));
    assert_ready_eq!(first.poll(), Some("b"));
}

/// The same for senders: a waiting sender's value enters the queue when its future is next
/// polled after it was let in.
#[test]
fn a_let_in_sender_enqueues_its_value_when_it_is_polled() {
    let (tx, rx) = channel::bounded(2).unwrap();
    tx.try_send(0).unwrap();
    tx.try_send(0).unwrap();
    let mut first = spawn(tx.send(1));
    let mut second = spawn(tx.send(2));
    assert_pending!(first.poll());
    assert_pending!(second.poll());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(
        first.is_woken() && second.is_woken(),
        "both let in, in order"
    );
    assert_ready_eq!(second.poll(), Ok(()));
    assert_ready_eq!(first.poll(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn a_dropped_recv_never_swallows_a_value() {
    let (tx, rx) = channel::bounded(4).unwrap();
    let mut doomed = spawn(rx.recv());
    let mut next = spawn(rx.recv());
    assert_pending!(doomed.poll());
    assert_pending!(next.poll());
    tx.try_send(7).unwrap(); // assigned to `doomed`, which never polls again
    drop(doomed);
    assert!(
        next.is_woken(),
        "the value's permit moves on to the next receiver"
    );
    assert_ready_eq!(next.poll(), Some(7));

    // With no other receiver waiting, the value stays queued.
    let mut doomed = spawn(rx.recv());
    assert_pending!(doomed.poll());
    tx.try_send(8).unwrap();
    drop(doomed);
    assert_eq!(rx.try_recv(), Ok(8));
}

#[test]
fn a_dropped_reserve_hands_its_room_to_the_next_sender() {
    let (tx, rx) = channel::bounded(1).unwrap();
    tx.try_send(1).unwrap();
    let mut doomed = spawn(tx.reserve());
    let mut next = spawn(tx.send(2));
    assert_pending!(doomed.poll());
    assert_pending!(next.poll());
    assert_eq!(rx.try_recv(), Ok(1)); // the room goes to `doomed`, which never polls again
    drop(doomed);
    assert!(next.is_woken(), "the room moves on to the next sender");
    assert_ready_eq!(next.poll(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_dropped_send_enqueues_nothing() {
    let (tx, rx) = channel::bounded(1).unwrap();
    tx.try_send(1).unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (ctx, crx) = channel::bounded(1).unwrap();
    ctx.try_send(Counted(Arc::clone(&dropped))).unwrap();
    let mut waiting = spawn(ctx.send(Counted(Arc::clone(&dropped))));
    assert_pending!(waiting.poll());
    drop(waiting);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the unsent value is dropped with its future"
    );
    assert_eq!(crx.len(), 1);
    drop(crx.try_recv().unwrap());
    assert!(crx.try_recv().is_err());

    // A sender cancelled while waiting for space gives its turn to the next one.
    let mut doomed = spawn(tx.send(2));
    let mut next = spawn(tx.send(3));
    assert_pending!(doomed.poll());
    assert_pending!(next.poll());
    assert_eq!(rx.try_recv(), Ok(1));
    drop(doomed);
    assert!(next.is_woken());
    assert_ready_eq!(next.poll(), Ok(()));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn values_never_received_are_dropped_with_the_channel() {
    // Capacity 3, positions wrapped once so the values left sit across the ring's end.
    let (tx, rx) = channel::bounded(3).unwrap();
    let value = Arc::new(());
    for _ in 0..2 {
        tx.try_send(Arc::clone(&value)).unwrap();
        drop(rx.try_recv().unwrap());
    }
    for _ in 0..3 {
        tx.try_send(Arc::clone(&value)).unwrap();
    }
    drop(rx.try_recv().unwrap());
    tx.try_send(Arc::clone(&value)).unwrap();
    assert_eq!(Arc::strong_count(&value), 4, "three queued and ours");
    drop(tx);
    assert_eq!(
        Arc::strong_count(&value),
        4,
        "a receiver is left: the values stay"
    );
    drop(rx);
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "the last handle drops every value still queued"
    );
}

#[test]
fn after_close_receivers_get_every_value_then_none() {
    let (tx, rx) = channel::bounded(4).unwrap();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    let mut blocked = spawn(async {
        let (small_tx, small_rx) = channel::bounded(1).unwrap();
        small_tx.try_send(0).unwrap();
        let waiting = small_tx.send(1);
        small_rx.close();
        waiting.await
    });
    assert_eq!(assert_ready!(blocked.poll()).unwrap_err().into_inner(), 1);

    assert!(tx.close());
    assert!(!tx2.close(), "close is idempotent");
    assert!(rx.is_closed());
    assert_eq!(tx.try_send(3).unwrap_err(), TrySendError::Closed(3));
    let mut recv = spawn(rx.recv());
    assert_ready_eq!(recv.poll(), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    let mut recv = spawn(rx.recv());
    assert_ready_eq!(recv.poll(), None);
}

#[test]
fn dropping_every_sender_wakes_waiting_receivers_with_none() {
    let (tx, rx) = channel::bounded::<u8>(1).unwrap();
    let rx2 = rx.clone();
    let mut a = spawn(rx.recv());
    let mut b = spawn(rx2.recv());
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    let tx2 = tx.clone();
    drop(tx);
    assert!(!a.is_woken(), "one sender is still alive");
    drop(tx2);
    assert!(a.is_woken() && b.is_woken());
    assert_ready_eq!(a.poll(), None);
    assert_ready_eq!(b.poll(), None);
}

#[test]
fn dropping_every_receiver_refuses_senders_and_returns_their_values() {
    let (tx, rx) = channel::bounded(1).unwrap();
    tx.try_send(String::from("queued")).unwrap();
    let mut waiting = spawn(tx.send(String::from("waiting")));
    assert_pending!(waiting.poll());
    drop(rx);
    assert!(waiting.is_woken());
    let refused = assert_ready!(waiting.poll()).unwrap_err();
    assert_eq!(refused.into_inner(), "waiting");
    assert!(
        tx.is_empty(),
        "queued values are dropped with the last receiver"
    );
    assert!(tx.try_send(String::new()).is_err());
}

#[test]
fn debug_shows_state_without_the_values() {
    struct Opaque;
    let (tx, rx) = channel::bounded(2).unwrap();
    tx.try_send(Opaque).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        "Sender { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "Receiver { len: 1, capacity: 2, closed: false }"
    );
    assert_eq!(format!("{:?}", TrySendError::Full(Opaque)), "Full(..)");
}

/// Each error says which of its cases it is, in words a log reader understands.
#[test]
fn errors_say_what_went_wrong() {
    assert_eq!(
        TrySendError::Full(()).to_string(),
        "sending on a full channel"
    );
    assert_eq!(
        TrySendError::Closed(()).to_string(),
        "sending on a closed channel"
    );
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );
    assert!(TrySendError::Full(()).is_full());
    assert!(!TrySendError::Closed(()).is_full());
    assert_eq!(SendError(()).to_string(), "sending on a closed channel");
    assert_eq!(ChannelClosed.to_string(), "the channel is closed");
    assert_eq!(TryReserveError::Full.to_string(), "no room in the channel");
    assert_eq!(TryReserveError::Closed.to_string(), "the channel is closed");
}

async fn many_producers_and_consumers_lose_nothing() {
    let (tx, rx) = channel::bounded(8).unwrap();
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..1_000 {
                    tx.send(p * 1_000 + i).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(value) = rx.recv().await {
                    got.push(value);
                }
                got
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    let mut all = Vec::new();
    for consumer in consumers {
        let got = consumer.await.unwrap();
        // Each producer's values reach one consumer in order.
        for p in 0..4 {
            let mine: Vec<_> = got.iter().filter(|v| **v / 1_000 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..4_000).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn many_producers_and_consumers_current_thread() {
    many_producers_and_consumers_lose_nothing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_producers_and_consumers_multi_thread() {
    many_producers_and_consumers_lose_nothing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_cancelled_by_timeout_lose_no_value() {
    let (tx, rx) = channel::bounded(4).unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            let rx = rx.clone();
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                loop {
                    match tokio::time::timeout(Duration::from_micros(50), rx.recv()).await {
                        Ok(Some(_)) => {
                            received.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(None) => return,
                        Err(_) => {} // cancelled while waiting: try again
                    }
                }
            })
        })
        .collect();
    for i in 0..2_000 {
        tx.send(i).await.unwrap();
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    drop(tx);
    for consumer in consumers {
        consumer.await.unwrap();
    }
    assert_eq!(received.load(Ordering::SeqCst), 2_000);
}

#[test]
fn reserved_room_is_held_until_used_or_dropped() {
    let (tx, rx) = channel::bounded(1).unwrap();
    let permit = tx.try_reserve().unwrap();
    assert_eq!(
        tx.try_reserve().unwrap_err(),
        channel::TryReserveError::Full
    );
    assert!(
        tx.try_send(1).unwrap_err().is_full(),
        "the room is held by the permit"
    );
    drop(permit);
    let permit = tx.try_reserve().unwrap();
    permit.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));

    // Reserving waits in line like a send, and a dropped reserve keeps no place.
    tx.try_send(3).unwrap();
    let mut waiting = spawn(tx.reserve());
    assert_pending!(waiting.poll());
    assert_eq!(rx.try_recv(), Ok(3));
    assert!(waiting.is_woken());
    let permit = assert_ready!(waiting.poll()).unwrap();
    permit.send(4).unwrap();
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn a_permit_reserved_before_close_gives_its_value_back() {
    let (tx, rx) = channel::bounded(2).unwrap();
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert_eq!(permit.send(5).unwrap_err().into_inner(), 5);
    assert_eq!(
        tx.try_reserve().unwrap_err(),
        channel::TryReserveError::Closed
    );
    let mut reserve = spawn(tx.reserve());
    assert_eq!(
        assert_ready!(reserve.poll()).unwrap_err(),
        channel::ChannelClosed
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// Senders and receivers on OS threads (each blocking on its own futures), at capacities that are
/// not powers of two, so the ring's positions wrap through many laps while both ends race for
/// slots, the waiting paths and the lock-free ones mixed: every value arrives exactly once, each
/// sender's in order, and the channel never holds more than its capacity.
#[test]
fn threads_racing_on_every_path_lose_and_duplicate_nothing() {
    const SENDERS: u64 = 3;
    // Miri runs every access checked, thousands of times slower: enough to wrap the ring.
    const PER_SENDER: u64 = if cfg!(miri) { 40 } else { 20_000 };
    for capacity in [1, 3, 5] {
        let (tx, rx) = channel::bounded(capacity).unwrap();
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_SENDER {
                        let value = s * PER_SENDER + i;
                        // Every third value tries the non-waiting path first.
                        if i % 3 == 0 {
                            match tx.try_send(value) {
                                Ok(()) => continue,
                                Err(refused) => assert!(refused.is_full()),
                            }
                        }
                        futures::executor::block_on(tx.send(value)).unwrap();
                        assert!(tx.len() <= capacity, "more than {capacity} queued");
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|r| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        if r == 0 {
                            match rx.try_recv() {
                                Ok(value) => {
                                    got.push(value);
                                    continue;
                                }
                                Err(TryRecvError::Closed) => return got,
                                Err(TryRecvError::Empty) => {}
                            }
                        }
                        match futures::executor::block_on(rx.recv()) {
                            Some(value) => got.push(value),
                            None => return got,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for sender in senders {
            sender.join().unwrap();
        }
        let mut all = Vec::new();
        for receiver in receivers {
            let got = receiver.join().unwrap();
            for s in 0..SENDERS {
                let mine: Vec<_> = got.iter().filter(|v| **v / PER_SENDER == s).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "sender {s} reordered");
            }
            all.extend(got);
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (0..SENDERS * PER_SENDER).collect::<Vec<_>>(),
            "capacity {capacity}"
        );
    }
}
