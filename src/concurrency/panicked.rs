//! How a panic inside one mapped future is reported: as a value, next to its input, so that one
//! bad input does not take the other results down with it.

use std::any::Any;
use std::fmt;

/// A mapped future panicked; this carries the panic's message.
///
/// Yielded by [`BoundedMap`](super::BoundedMap) (which catches the panic with
/// [`std::panic::catch_unwind`] around each poll) and, through [`TaskError`](super::TaskError), by
/// [`SpawnedBoundedMap`](super::SpawnedBoundedMap) (where tokio catches it). The payload itself is
/// not kept, only its message: the payload is `Send` but not `Sync`, and an error that is not
/// `Sync` cannot travel in most error types (`Box<dyn Error + Send + Sync>`, `anyhow`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// `None` when the payload was neither a `&str` nor a `String` (`std::panic::panic_any`).
    message: Option<String>,
}

impl Panicked {
    /// Reads the message out of a panic payload, as the default panic hook does.
    pub(super) fn from_payload(payload: Box<dyn Any + Send>) -> Self {
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
