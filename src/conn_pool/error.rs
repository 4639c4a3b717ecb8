//! The pool's errors: one variant per way a `get()` can end without an object.

use std::fmt;
use std::time::Duration;

/// The phase of a [`get`](super::Pool::get) that a timeout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetPhase {
    /// Waiting for a free slot (every slot was checked out).
    Wait,
    /// Creating a new object ([`Manager::create`](super::Manager::create)).
    Create,
    /// Validating an idle object ([`Manager::recycle`](super::Manager::recycle)).
    Recycle,
    /// The whole `get()`, over all its phases, outlived the pool's
    /// [`get_timeout`](super::Builder::get_timeout).
    Get,
}

impl fmt::Display for GetPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetPhase::Wait => "waiting for a free slot",
            GetPhase::Create => "creating an object",
            GetPhase::Recycle => "recycling an idle object",
            GetPhase::Get => "checking out an object",
        })
    }
}

/// Why [`get`](super::Pool::get) returned no object. `E` is the manager's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// A phase took longer than its timeout. The slot (and, in [`GetPhase::Recycle`], the object
    /// that did not answer) has been given up.
    Timeout {
        /// Which phase.
        phase: GetPhase,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The manager failed to create an object (e.g. the server refused the connection); the
    /// cause is the [`source`](std::error::Error::source).
    Create(E),
    /// The pool is (or became, while this `get()` was under way) [closed](super::Pool::close).
    Closed,
}

impl<E> PoolError<E> {
    /// The phase that timed out, if this is a timeout.
    pub fn timed_out(&self) -> Option<GetPhase> {
        match self {
            PoolError::Timeout { phase, .. } => Some(*phase),
            _ => None,
        }
    }
}

impl<E> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout { phase, after } => {
                write!(f, "connection pool timed out {phase} (timeout {after:?})")
            }
            // The cause is the source: printed by whoever walks the chain, not twice here.
            PoolError::Create(_) => f.write_str("connection pool failed to create an object"),
            PoolError::Closed => f.write_str("connection pool is closed"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Create(cause) => Some(cause),
            _ => None,
        }
    }
}

/// [`Builder::build`](super::Builder::build) was given a configuration that could never work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// A maximum size of zero: no `get()` could ever succeed.
    ZeroMaxSize,
    /// A maximum size above [`Semaphore::MAX_PERMITS`](crate::sync::Semaphore::MAX_PERMITS).
    MaxSizeTooLarge,
    /// A zero create or recycle timeout: that phase could never complete. (A zero *wait* timeout
    /// is allowed and means "never wait": `get()` fails at once when no slot is free.)
    ZeroTimeout(GetPhase),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroMaxSize => {
                f.write_str("a connection pool needs a max size of at least 1")
            }
            BuildError::MaxSizeTooLarge => {
                f.write_str("connection pool max size exceeds Semaphore::MAX_PERMITS")
            }
            BuildError::ZeroTimeout(phase) => {
                write!(f, "a zero timeout for {phase} would fail every attempt")
            }
        }
    }
}

impl std::error::Error for BuildError {}
