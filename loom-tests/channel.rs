//! Loom models of the bounded [`channel`]: every value sent is received exactly once or given
//! back to its sender, receivers end with `None` after close, a cancelled `recv` hands on a value
//! assigned to it, a cancelled `send` enqueues nothing and hands on its slot, and the capacity is
//! never exceeded — under every interleaving, up to the preemption bound, of the shipped channel
//! (its ring's slot stamps and position words, the fences of its wakeup handshake, the lock over
//! its wait queues and its handle counts are loom's under `--cfg loom`).
//!
//! Each model has at most 2 spawned threads + main and runs under `model()`: preemption bound 3
//! unless `LOOM_MAX_PREEMPTIONS` is set. A lost wakeup shows as loom's `deadlock` (every thread
//! parked in `block_on` or `join`, nobody left to wake them). The random-sequence tier for the
//! same guarantees, and its self-tests on naive channels, is `tests/channel_model.rs`.
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom
//! channel -- --nocapture` (each model prints its iteration count and time).

use std::ops::{Deref, DerefMut};
use std::task::Poll;

use async_patterns::channel::{self, Receiver, Sender, TryRecvError};
use loom::thread;

use crate::model::{block_on, model, model_pair, poll_once};

/// A channel of capacity `capacity`, its handles wrapped in [`Guarded`].
fn bounded(capacity: usize) -> (Guarded<Sender<u32>>, Guarded<Receiver<u32>>) {
    let (tx, rx) = channel::bounded(capacity).expect("a valid capacity");
    (Guarded(Some(tx)), Guarded(Some(rx)))
}

/// A clone of a handle, guarded too (for moving into a thread).
fn clone<T: Clone>(handle: &Guarded<T>) -> Guarded<T> {
    Guarded(Some(T::clone(handle)))
}

/// A channel handle (or a pending future) that is not dropped while its thread unwinds. Loom
/// reports a lost wakeup as a deadlock, panicking in the thread that blocked last, after it has
/// torn the execution down; a handle dropped during that unwinding touches loom atomics, which
/// panics again and aborts the whole test binary instead of failing this model (see `model.rs`).
/// Leaking the handle then is harmless: the model has already failed.
struct Guarded<T>(Option<T>);

impl<T> Deref for Guarded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("present until dropped")
    }
}

impl<T> DerefMut for Guarded<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("present until dropped")
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::mem::forget(self.0.take());
        }
    }
}

/// Receives until `recv` returns `None`, checking the capacity after each value.
fn recv_all(rx: &Receiver<u32>) -> Vec<u32> {
    let mut got = Vec::new();
    while let Some(value) = block_on(rx.recv()) {
        assert!(rx.len() <= rx.capacity(), "capacity exceeded");
        got.push(value);
    }
    got
}

/// Send, receive and close race: a sender sends 1 while another thread closes the channel and
/// main receives until `None`. Whatever the interleaving, main receives 1 exactly when the send
/// succeeded, a refused send gets its value back, and after `None` the channel stays closed and
/// empty (a receiver not woken by the close is loom's `deadlock`).
#[test]
fn send_recv_close_race_loses_no_value() {
    model(|| {
        let (tx, rx) = bounded(1);
        let closer = clone(&tx);
        let sender = thread::spawn(move || block_on(tx.send(1)).map_err(|e| e.into_inner()));
        let closer = thread::spawn(move || {
            closer.close();
        });

        let received = recv_all(&rx);
        let sent = sender.join().unwrap();
        closer.join().unwrap();

        match sent {
            Ok(()) => assert_eq!(received, [1], "a sent value was lost"),
            Err(refused) => {
                assert_eq!(refused, 1, "a refused send got another value back");
                assert!(received.is_empty(), "a refused value was received");
            }
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(rx.is_empty());
    });
}

/// As above, with the channel full, so that the send waits for the space main's `recv` frees —
/// and may be refused by the close while it waits, or after it was given the slot but before it
/// enqueued. Main drains the channel with `try_recv` once the close is done but before the send
/// has surely ended: a send granted before the close and resumed after it must be refused, or a
/// receiver that saw the channel closed and drained would be wrong. (`try_recv`, not the blocking
/// receive until `None`: that is the model above, and this one stays within the time budget.)
#[test]
fn waiting_send_recv_close_race_loses_no_value() {
    model(|| {
        let (tx, rx) = bounded(1);
        tx.try_send(0).expect("the channel is empty");
        let closer = clone(&tx);
        let sender = thread::spawn(move || block_on(tx.send(1)).map_err(|e| e.into_inner()));
        let closer = thread::spawn(move || {
            closer.close();
        });

        let mut received = vec![block_on(rx.recv()).expect("0 was queued before the close")];
        // Drain the closed channel while the sender may still be between its grant and its
        // enqueue: once a receiver has seen it closed and drained, no send may succeed.
        closer.join().unwrap();
        while let Ok(value) = rx.try_recv() {
            received.push(value);
        }
        let sent = sender.join().unwrap();

        match sent {
            Ok(()) => assert_eq!(
                received,
                [0, 1],
                "a sent value was lost or reordered, or accepted after the channel was seen closed \
                 and drained"
            ),
            Err(refused) => {
                assert_eq!(refused, 1, "a refused send got another value back");
                assert_eq!(received, [0], "a refused value was received");
            }
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// Two receivers race for one queued value while the last sender goes away: the value reaches
/// exactly one of them, and both end with `None` (a receiver left parked is loom's `deadlock`).
#[test]
fn competing_receivers_get_each_value_once_then_none() {
    model(|| {
        let (tx, rx) = bounded(1);
        tx.try_send(1).expect("the channel is empty");
        let spawn_receiver = |rx: Guarded<Receiver<u32>>| thread::spawn(move || recv_all(&rx));
        let first = spawn_receiver(clone(&rx));
        let second = spawn_receiver(rx);

        drop(tx); // the last sender: the channel closes, the value stays to be received

        let all = [first.join().unwrap(), second.join().unwrap()].concat();
        assert_eq!(all, [1], "the value was lost or received twice");
    });
}

/// A `recv` polled once (queued: the channel is empty) and then dropped, while main sends a
/// value — which may be assigned to it before it is dropped — and another receiver waits for it.
/// The value must reach the other receiver without a close (a lost hand-over leaves it parked
/// for ever: loom's `deadlock`), unless the cancelled `recv` had already taken it.
#[test]
fn cancelled_recv_hands_its_value_to_the_next_receiver() {
    model(|| {
        let (tx, rx) = bounded(1);
        let other = clone(&rx);
        let cancelled = thread::spawn(move || {
            let mut recv = Box::pin(rx.recv());
            let taken = match poll_once(recv.as_mut()) {
                Poll::Ready(value) => value,
                Poll::Pending => None,
            };
            drop(recv); // cancelled: possibly after the value was assigned to it
            taken
        });
        let other = thread::spawn(move || block_on(other.recv()));

        tx.try_send(7).expect("the channel is empty");
        let taken = cancelled.join().unwrap();
        if taken.is_some() {
            // `other` waits for a value that will not come: let it end.
            tx.close();
        }
        let handed_on = other.join().unwrap();

        match (taken, handed_on) {
            (Some(7), None) | (None, Some(7)) => {}
            outcome => panic!("value 7 lost or duplicated: (cancelled, other) got {outcome:?}"),
        }
        assert!(tx.is_empty());
    });
}

/// As above with no other receiver: a value assigned to the cancelled `recv` stays queued, and
/// its slot stays taken until someone receives it.
#[test]
fn cancelled_recv_leaves_its_value_queued() {
    model_pair(|| {
        let (tx, rx) = bounded(1);
        let canceller = clone(&rx);
        let cancelled = thread::spawn(move || {
            let mut recv = Box::pin(canceller.recv());
            match poll_once(recv.as_mut()) {
                Poll::Ready(value) => value,
                Poll::Pending => None,
            }
        });

        tx.try_send(7).expect("the channel is empty");
        let taken = cancelled.join().unwrap();

        match taken {
            Some(7) => assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)),
            None => {
                assert!(
                    tx.try_send(8).unwrap_err().is_full(),
                    "the queued value lost its slot"
                );
                assert_eq!(
                    rx.try_recv(),
                    Ok(7),
                    "the cancelled recv swallowed the value"
                );
            }
            Some(other) => panic!("received {other}, never sent"),
        }
        tx.try_send(8).expect("the slot is free again");
        assert_eq!(rx.try_recv(), Ok(8));
    });
}

/// A `send` waiting for space (the channel of capacity 1 is full) is polled once and dropped while
/// main receives — which may hand the freed slot to it first — and a second sender waits behind
/// it. The cancelled send enqueues nothing (unless its one poll already sent), and the second
/// sender gets the slot: a slot kept by the dropped future leaves it waiting for ever (loom's
/// `deadlock`). The capacity is checked along the way.
#[test]
fn cancelled_send_enqueues_nothing_and_hands_on_its_slot() {
    model(|| {
        let (tx, rx) = bounded(1);
        tx.try_send(0).expect("the channel is empty");
        let second = clone(&tx);
        let cancelled = thread::spawn(move || {
            let mut send = Box::pin(tx.send(1));
            let sent = match poll_once(send.as_mut()) {
                Poll::Ready(result) => {
                    result.expect("never closed");
                    true
                }
                Poll::Pending => false,
            };
            drop(send); // cancelled: possibly after the slot was assigned to it
            assert!(tx.len() <= 1, "capacity exceeded");
            sent
        });
        let second = thread::spawn(move || {
            block_on(second.send(2)).expect("never closed");
            assert!(second.len() <= 1, "capacity exceeded");
        });

        assert_eq!(block_on(rx.recv()), Some(0));
        let sent = cancelled.join().unwrap();
        if sent {
            // Sent before the second sender queued: it is ahead, and holds the only slot.
            assert_eq!(block_on(rx.recv()), Some(1));
        }
        second.join().unwrap();
        assert_eq!(
            rx.try_recv(),
            Ok(2),
            "the cancelled send enqueued its value"
        );
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Closed),
            "every sender is gone"
        );
    });
}

/// Capacity 1: one thread waits to send 1, another tries to send 2, main receives one value and
/// then takes what is left. The queue never holds more than one value, and main gets exactly the
/// values whose send succeeded.
#[test]
fn concurrent_senders_never_exceed_capacity() {
    model(|| {
        let (tx, rx) = bounded(1);
        let other = clone(&tx);
        let waiting = thread::spawn(move || {
            block_on(tx.send(1)).expect("never closed");
            assert!(tx.len() <= 1, "capacity exceeded after send");
        });
        let trying = thread::spawn(move || {
            let sent = other.try_send(2).is_ok();
            assert!(other.len() <= 1, "capacity exceeded after try_send");
            sent
        });

        let mut received = vec![block_on(rx.recv()).expect("never closed")];
        assert!(rx.len() <= 1, "capacity exceeded");
        waiting.join().unwrap();
        let tried = trying.join().unwrap();
        while let Ok(value) = rx.try_recv() {
            received.push(value);
        }
        received.sort_unstable();
        let expected: &[u32] = if tried { &[1, 2] } else { &[1] };
        assert_eq!(received, expected, "received values differ from those sent");
    });
}

/// The last receiver goes — two receivers dropped by two threads, either may be last — while a
/// sender sends: the send is refused with its value, or it is accepted and then dropped with the
/// queue. Either way, once every receiver is gone the channel is closed and holds nothing (a value
/// slipped in between the drain and the close would sit there, never received nor refused).
#[test]
fn dropping_the_last_receiver_refuses_or_drains_a_racing_send() {
    model(|| {
        let (tx, rx) = bounded(1);
        let probe = clone(&tx);
        let other = clone(&rx);
        let sender = thread::spawn(move || block_on(tx.send(1)).map_err(|e| e.into_inner()));
        let dropper = thread::spawn(move || drop(other));
        drop(rx);
        dropper.join().unwrap();
        assert!(
            probe.is_closed(),
            "every receiver is gone, the channel is open"
        );

        if let Err(refused) = sender.join().unwrap() {
            assert_eq!(refused, 1, "a refused send got another value back");
        }
        assert!(
            probe.is_empty(),
            "a value stays queued with every receiver gone: neither drained nor refused"
        );
    });
}

/// A reservation races with a send on a channel of capacity 1 that nobody receives from: at most
/// one of them gets the one slot, and whatever got in is received once. The reservation promises
/// the slot past the promised ones with a compare-and-swap on the senders' word; an unconditional
/// add there would count a slot that the racing send had just taken, and the permit's value
/// would then land in a full slot (both succeed, one value is overwritten).
#[test]
fn a_reservation_racing_with_a_send_never_overfills() {
    model(|| {
        let (tx, rx) = bounded(1);
        let other = clone(&tx);
        let reserver = thread::spawn(move || match tx.try_reserve() {
            Ok(permit) => {
                permit.send(1).expect("never closed");
                true
            }
            Err(_) => false,
        });
        let sender = thread::spawn(move || other.try_send(2).is_ok());
        let reserved = reserver.join().unwrap();
        let sent = sender.join().unwrap();
        assert!(!(reserved && sent), "capacity 1 took two values");
        let mut got = Vec::new();
        while let Ok(value) = rx.try_recv() {
            got.push(value);
        }
        let expected: Vec<u32> = [(reserved, 1), (sent, 2)]
            .into_iter()
            .filter_map(|(ok, value)| ok.then_some(value))
            .collect();
        assert_eq!(got, expected, "received values differ from those let in");
    });
}

/// A sender queued for room comes before a newcomer: the channel is full with one sender queued
/// when a receiver frees the slot and another sender tries to send. Whatever the interleaving the
/// newcomer is refused — the freed slot is the queued sender's. In the moment between the
/// receiver freeing the slot and handing it over under the lock, only the senders' `STOP` bit
/// refuses the newcomer: without it (checked by hand) the newcomer takes the slot.
#[test]
fn a_newcomer_never_takes_room_from_a_queued_sender() {
    model(|| {
        let (tx, rx) = bounded(1);
        tx.try_send(1).expect("the channel is empty");
        let newcomer = clone(&tx);
        let other_rx = clone(&rx);
        // Guarded too: a failed assertion must not drop it (and take loom's lock) while unwinding.
        let mut queued = Guarded(Some(Box::pin(tx.send(2))));
        assert!(
            poll_once(queued.as_mut()).is_pending(),
            "the channel is full"
        );
        let trying = thread::spawn(move || newcomer.try_send(3).is_ok());
        let receiving = thread::spawn(move || block_on(other_rx.recv()));
        assert!(
            !trying.join().unwrap(),
            "a newcomer took the room of a queued sender"
        );
        assert_eq!(receiving.join().unwrap(), Some(1));
        block_on(queued.as_mut()).expect("never closed");
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

/// Three parties act between a receiver's promise and its claim. Capacity 1; main is receiver R,
/// whose waker, when `recv`'s slow path clones it, sends 1 and only then starts closer C and
/// receiver D. That pins R's fast path before the send and its wait after it (so R is promised
/// the value under the lock and claims it after releasing the lock), and leaves loom the
/// interleavings that matter: C's close and D's fast-path receive (which drains once it sees the
/// close) against R's promise and claim. The value is received exactly once — by R, by D, or
/// left in the ring — and each slot is read once for its position (the ring's own assertion): a
/// close that is half done (the senders' word closed, the receivers' not yet) must not let D
/// drain a value promised to R.
#[test]
fn a_promised_value_is_received_once_while_a_close_is_half_done() {
    use std::sync::Mutex;

    use crate::hostile::{Event, HostileWaker};

    model(|| {
        let (tx, rx) = bounded(1);
        let parties = std::sync::Arc::new(Mutex::new(None));
        let waker = HostileWaker::reentering_once_on(Event::Clone, {
            let parties = std::sync::Arc::clone(&parties);
            let drainer = clone(&rx);
            move || {
                tx.try_send(1).expect("nobody else has run yet");
                let closer = thread::spawn(move || {
                    tx.close();
                });
                let drainer = thread::spawn(move || drainer.try_recv().ok());
                *parties.lock().unwrap() = Some((closer, drainer));
            }
        });
        let mut recv = Guarded(Some(Box::pin(rx.recv())));
        let by_r = match recv
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker.waker()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => block_on(&mut *recv),
        };
        drop(recv);
        let (closer, drainer) = parties
            .lock()
            .unwrap()
            .take()
            .expect("the waker was cloned");
        let by_d = drainer.join().unwrap();
        closer.join().unwrap();
        // Closed: what is left is what nobody received.
        let left = rx.len();

        let received = usize::from(by_r.is_some()) + usize::from(by_d.is_some()) + left;
        assert_eq!(
            received, 1,
            "the value was lost or received twice (R got {by_r:?}, D got {by_d:?}, {left} left)"
        );
        assert!(by_r.into_iter().chain(by_d).all(|value| value == 1));
    });
}

/// The senders' side of the model above: capacity 1, full. Main is sender S, whose waker, when
/// `send`'s slow path clones it, receives the queued value (making room) and only then starts
/// closer C and sender F, whose fast-path `try_send` competes for the room. S is promised the room
/// under the lock and fills it after releasing the lock; C's close and F's fast path act in
/// between. The ring never holds more than its capacity (and asserts each slot is free for the
/// position written), S's value is refused only if the close came before its claim, and every
/// value accepted is received exactly once.
#[test]
fn promised_room_is_filled_once_while_a_close_and_a_fast_send_race() {
    use std::sync::Mutex;

    use crate::hostile::{Event, HostileWaker};

    model(|| {
        let (tx, rx) = bounded(1);
        tx.try_send(0).expect("the channel is empty");
        let parties = std::sync::Arc::new(Mutex::new(None));
        let waker = HostileWaker::reentering_once_on(Event::Clone, {
            let parties = std::sync::Arc::clone(&parties);
            let (closer, fast) = (clone(&tx), clone(&tx));
            let rx = clone(&rx);
            move || {
                assert_eq!(rx.try_recv(), Ok(0), "nobody else has run yet");
                let closer = thread::spawn(move || {
                    closer.close();
                });
                let fast = thread::spawn(move || {
                    let sent = fast.try_send(2).map_err(|refused| refused.into_inner());
                    assert!(fast.len() <= 1, "capacity exceeded");
                    sent
                });
                *parties.lock().unwrap() = Some((closer, fast, rx));
            }
        });
        let mut send = Guarded(Some(Box::pin(tx.send(1))));
        let by_s = match send
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker.waker()))
        {
            Poll::Ready(result) => result,
            Poll::Pending => block_on(&mut *send),
        }
        .map_err(|refused| refused.into_inner());
        drop(send);
        assert!(tx.len() <= 1, "capacity exceeded");
        let (closer, fast, rx_after) = parties.lock().unwrap().take().expect("cloned once");
        let by_f = fast.join().unwrap();
        closer.join().unwrap();
        drop(rx_after);
        let mut received = Vec::new();
        while let Ok(value) = rx.try_recv() {
            received.push(value);
        }

        let mut accepted: Vec<u32> = [(1, by_s), (2, by_f)]
            .into_iter()
            .filter_map(|(value, outcome)| match outcome {
                Ok(()) => Some(value),
                Err(back) => {
                    assert_eq!(back, value, "a refused send got another value back");
                    None
                }
            })
            .collect();
        accepted.sort_unstable();
        received.sort_unstable();
        assert_eq!(received, accepted, "a value was lost or received twice");
    });
}
