//! A panic caught in user code (a mapped future, a pool's job), reported as a value: the one way
//! the crate turns a panic payload into a message.

use std::any::Any;
use std::fmt;

/// A future or a job panicked; this carries the panic's message.
///
/// Yielded by [`BoundedMap`](crate::concurrency::BoundedMap) (which catches the panic with
/// [`std::panic::catch_unwind`] around each poll), through
/// [`TaskError`](crate::concurrency::TaskError) by
/// [`SpawnedBoundedMap`](crate::concurrency::SpawnedBoundedMap) (where tokio catches it), and
/// through [`JobError::Panicked`](crate::pool::JobError::Panicked) by the worker pool. The payload
/// itself is not kept, only its message: the payload is `Send` but not `Sync`, and an error that
/// is not `Sync` cannot travel in most error types (`Box<dyn Error + Send + Sync>`, `anyhow`, ...).
///
/// `From<&str>` and `From<String>` make one with a message (to compare with, or in a mock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// `None` when the payload was neither a `&str` nor a `String` (`std::panic::panic_any`).
    message: Option<String>,
}

impl Panicked {
    /// Reads the message out of a panic payload, as the default panic hook does.
    pub(crate) fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = match payload.downcast::<String>() {
            Ok(message) => Some(*message),
            Err(payload) => payload
                .downcast_ref::<&'static str>()
                .map(|message| (*message).to_owned()),
        };
        Panicked { message }
    }

    /// The panic's message (what `panic!` formatted), or `None` if the payload was not a string.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "the future panicked: {message}"),
            None => f.write_str("the future panicked with a non-string payload"),
        }
    }
}

impl std::error::Error for Panicked {}

impl From<String> for Panicked {
    fn from(message: String) -> Self {
        Panicked {
            message: Some(message),
        }
    }
}

impl From<&str> for Panicked {
    fn from(message: &str) -> Self {
        Panicked::from(message.to_owned())
    }
}
