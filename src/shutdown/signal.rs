//! Triggering on Ctrl-C / SIGTERM. Compiled only without `--cfg loom` (tokio compiles its
//! `signal` module out under loom) and on unix or windows (where tokio has signals); see
//! `mod.rs` for why not while rustdoc collects doctests. `tests/shutdown.rs` sends a real
//! `SIGTERM` through it.

use std::future::{Future, poll_fn};
use std::io;
use std::task::{Context, Poll};

use tokio::runtime::Handle;

use super::handle::Shutdown;

/// The signal that triggered a shutdown through
/// [`trigger_on_signal`](Shutdown::trigger_on_signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Ctrl-C: `SIGINT` on unix, `CTRL_C_EVENT` on windows.
    Interrupt,
    /// `SIGTERM` (unix only): what service managers and container runtimes send to stop a
    /// process.
    Terminate,
}

impl Shutdown {
    /// Listens for Ctrl-C and (on unix) `SIGTERM` **now**, and returns a future that triggers
    /// this scope when the first of them arrives, and then says which one it was. Spawn it (it is
    /// `'static`) or select on it.
    ///
    /// The handlers are installed before this returns, so a signal that arrives between this
    /// call and the first poll of the future is not lost: the future completes at its first poll.
    /// As with tokio's signal handling, once installed the handlers stay for the life of the
    /// process, replacing the default action: a second Ctrl-C no longer kills the process, so
    /// bound the graceful part with [`wait_within`](Self::wait_within).
    ///
    /// Dropping the future (cancelling it) triggers nothing; signals that arrive afterwards are
    /// then ignored.
    ///
    /// # Errors
    ///
    /// An [`io::Error`] if there is no tokio runtime on this thread, or if a handler cannot be
    /// installed.
    ///
    /// # Panics
    ///
    /// Inside a runtime built without IO enabled (`enable_io` / `enable_all`), as tokio's signal
    /// functions do.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use async_patterns::shutdown::Shutdown;
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let shutdown = Shutdown::new();
    ///     tokio::spawn(shutdown.trigger_on_signal()?);
    ///     // ... spawn the service's tasks with `shutdown.spawn(..)` ...
    ///     shutdown.token().triggered().await;
    ///     if let Err(unfinished) = shutdown.wait_within(Duration::from_secs(30)).await {
    ///         eprintln!("{unfinished}");
    ///         unfinished.abort();
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn trigger_on_signal(
        &self,
    ) -> io::Result<impl Future<Output = Signal> + Send + 'static + use<>> {
        if Handle::try_current().is_err() {
            return Err(io::Error::other(
                "no tokio runtime on this thread: cannot listen for shutdown signals",
            ));
        }
        let mut listener = Listener::new()?;
        let shutdown = self.clone();
        Ok(async move {
            let signal = poll_fn(|cx| listener.poll_recv(cx)).await;
            shutdown.trigger();
            signal
        })
    }
}

/// The installed signal streams.
#[cfg(unix)]
struct Listener {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Listener {
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Listener {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        // tokio's signal streams never end (`None` is documented as impossible); treat an end as
        // "no signal from this one" rather than as a signal.
        if let Poll::Ready(Some(())) = self.interrupt.poll_recv(cx) {
            return Poll::Ready(Signal::Interrupt);
        }
        if let Poll::Ready(Some(())) = self.terminate.poll_recv(cx) {
            return Poll::Ready(Signal::Terminate);
        }
        Poll::Pending
    }
}

/// The installed signal stream.
#[cfg(windows)]
struct Listener {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(windows)]
impl Listener {
    fn new() -> io::Result<Self> {
        Ok(Listener {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        match self.ctrl_c.poll_recv(cx) {
            Poll::Ready(Some(())) => Poll::Ready(Signal::Interrupt),
            _ => Poll::Pending,
        }
    }
}
