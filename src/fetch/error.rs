//! The fetch path's one error type: one variant per failure, each cause carried exactly once — as
//! `source()`, never also in the message (an error that prints its cause in its own message and
//! again as its `source()` shows it twice in every report).

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::fmt;
use std::time::Duration;

use super::redirect::RedirectRefused;

/// Where in a call the deadline (or a failure) struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the connection.
    Connect,
    /// The TLS handshake of an `https` connection.
    Tls,
    /// Sending the request and waiting for the response head.
    Headers,
    /// Reading the response body.
    Body,
    /// Waiting before the next attempt.
    Backoff,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Tls => "performing the TLS handshake",
            Phase::Headers => "waiting for the response head",
            Phase::Body => "reading the response body",
            Phase::Backoff => "waiting to retry",
        })
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL cannot be fetched: malformed, neither `http` nor `https`, without a host, or with
    /// a part the client refuses (a port outside 1..=65535, user info, an IPv6 zone id).
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connection could not be opened.
    #[error("could not connect to {authority}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// The connector's error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed: the server's certificate was refused (unknown issuer, expired,
    /// not valid for the host name: [`rustls::Error::InvalidCertificate`]), or the server does
    /// not speak TLS or agrees on nothing the client offers. Never retried: the same server
    /// would be refused again. A connection that merely broke during the handshake is
    /// [`Connect`](Self::Connect).
    #[error("TLS handshake with {authority} failed")]
    Tls {
        /// `host:port`.
        authority: String,
        /// rustls's verdict.
        #[source]
        source: rustls::Error,
    },
    /// The HTTP exchange failed after the connection was open (reset, closed mid-body,
    /// malformed response).
    #[error("HTTP exchange failed while {phase}")]
    Http {
        /// When it failed.
        phase: Phase,
        /// The transport's error (hyper's).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The call's deadline (or an attempt's time limit) was reached. After a failed attempt, the
    /// failure that led to the wait is the `source`.
    #[error("time limit reached while {phase}")]
    Timeout {
        /// What the call was doing.
        phase: Phase,
        /// The failure before it, if the time ran out waiting to retry it.
        #[source]
        last: Option<Box<FetchError>>,
    },
    /// The server answered with a status that is not success.
    #[error("server answered with status {status}")]
    Status {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// The server redirected the call somewhere the client's
    /// [`RedirectPolicy`](super::RedirectPolicy) does not follow.
    #[error("redirect from {url} not followed: {reason}")]
    Redirect {
        /// The URL that answered with the redirect.
        url: String,
        /// The redirect's status.
        status: u16,
        /// Its `Location`, as sent.
        location: String,
        /// Why it was not followed.
        reason: RedirectRefused,
    },
    /// The response body is larger than the client's limit.
    #[error("response body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not valid JSON for the requested type.
    #[error("response body is not the expected JSON")]
    Decode {
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The call was cancelled (its cancellation future completed, e.g. a shutdown was triggered).
    #[error("fetch cancelled")]
    Cancelled,
    /// Every allowed attempt failed with a retryable error; the last one is the `source`.
    #[error("gave up after {attempts} attempts")]
    AttemptsExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        #[source]
        last: Box<FetchError>,
    },
}

impl FetchError {
    /// The HTTP status, if the server answered with one that is not success (directly, or as the
    /// last failure before giving up).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            FetchError::AttemptsExhausted { last, .. } => last.status(),
            FetchError::Timeout {
                last: Some(last), ..
            } => last.status(),
            _ => None,
        }
    }
}
