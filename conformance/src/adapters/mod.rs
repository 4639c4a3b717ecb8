//! Adapters for published implementations, one module per crate (each behind the feature named
//! after it, except tokio's, which the kit runs on anyway). Each adapter uses only the crate's
//! stable public API, and each "not claimed" cites the crate's own documentation.
//!
//! Versions: every adapter is written against the API of the major series in the kit's
//! `Cargo.toml` and compiles against the whole series where the API allows — see each module.

#[cfg(feature = "async-channel")]
pub mod async_channel;
#[cfg(feature = "async-lock")]
pub mod async_lock;
#[cfg(feature = "bb8")]
pub mod bb8;
#[cfg(feature = "deadpool")]
pub mod deadpool;
#[cfg(feature = "flume")]
pub mod flume;
#[cfg(feature = "futures")]
pub mod futures;
#[cfg(feature = "governor")]
pub mod governor;
#[cfg(feature = "kanal")]
pub mod kanal;
#[cfg(feature = "leaky-bucket")]
pub mod leaky_bucket;
#[cfg(feature = "async-patterns")]
pub mod ours;
pub mod tokio;
#[cfg(feature = "tokio-util")]
pub mod tokio_util;
