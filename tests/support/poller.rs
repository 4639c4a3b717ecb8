//! How a state machine polls a pending future: as a mock task (tokio-test's, which records its
//! wakes), or with a hostile waker (whose counters record them).

#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_test::task::Spawn;

use super::hostile::HostileWaker;

pub enum Poller<F> {
    Mock(Spawn<F>),
    Hostile {
        future: F,
        waker: HostileWaker,
        /// Wakes counted when it was last polled.
        seen: usize,
    },
}

impl<F: Future + Unpin> Poller<F> {
    /// A future polled with `waker`'s wakers.
    pub fn hostile(future: F, waker: HostileWaker) -> Self {
        Poller::Hostile {
            future,
            waker,
            seen: 0,
        }
    }

    /// Whether it was woken since it was last polled.
    pub fn is_woken(&self) -> bool {
        match self {
            Poller::Mock(task) => task.is_woken(),
            Poller::Hostile { waker, seen, .. } => waker.wakes() > *seen,
        }
    }

    pub fn poll(&mut self) -> Poll<F::Output> {
        match self {
            Poller::Mock(task) => task.poll(),
            Poller::Hostile {
                future,
                waker,
                seen,
            } => {
                *seen = waker.wakes();
                Pin::new(future).poll(&mut Context::from_waker(&waker.waker()))
            }
        }
    }

    /// The waker's counters, if it panics when woken.
    pub fn panicking_waker(&self) -> Option<&HostileWaker> {
        match self {
            Poller::Hostile { waker, .. } if waker.panics_on_wake() => Some(waker),
            _ => None,
        }
    }
}
