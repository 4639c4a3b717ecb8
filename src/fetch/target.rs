//! The parsed URL of a call.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use hyper::Uri;

use super::error::FetchError;

/// Where a call goes: `http://host[:port][/path][?query]`.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    /// `host:port`, the key for reusing connections and the `Host` header.
    pub(super) authority: String,
    pub(super) path_and_query: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, FetchError> {
        let invalid = |reason| FetchError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URI"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(invalid("https is not supported (plain HTTP/1.1 only)")),
            Some(_) => return Err(invalid("the scheme must be http")),
            None => return Err(invalid("missing scheme (expected http://)")),
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("missing host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            authority: format!("{host}:{port}"),
            path_and_query: if path_and_query.is_empty() {
                "/"
            } else {
                path_and_query
            }
            .to_owned(),
        })
    }
}
