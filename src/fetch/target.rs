//! The parsed URL of a call.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use hyper::Uri;
use rustls::pki_types::ServerName;

use super::error::FetchError;
use super::tls;

/// Where a call goes: `http[s]://host[:port][/path][?query]`.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// `Some` for `https`: the name the server's certificate must carry.
    pub(super) tls: Option<ServerName<'static>>,
    /// Without brackets for an IPv6 literal: what the connector resolves.
    pub(super) host: String,
    pub(super) port: u16,
    /// `host:port`: the name in errors, and with the scheme the key for reusing connections.
    pub(super) authority: String,
    /// `host`, with `:port` when it is not the scheme's default.
    pub(super) host_header: String,
    pub(super) path_and_query: String,
}

impl Target {
    pub(super) fn parse(url: &str) -> Result<Target, FetchError> {
        let invalid = |reason| FetchError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a valid URI"))?;
        let (https, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            Some(_) => return Err(invalid("the scheme must be http or https")),
            None => return Err(invalid("missing scheme (expected http:// or https://)")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("missing host"))?;
        if host.starts_with('[') && host.contains('%') {
            // A zone id (`[fe80::1%25eth0]`) names an interface of this machine; the connector
            // resolves hosts by name and would fail on it after every retry.
            return Err(invalid("IPv6 zone ids are not supported"));
        }
        let authority = uri.authority().map_or("", |a| a.as_str());
        if authority.contains('@') {
            // Credentials in the URL would be sent nowhere (no `Authorization` is built from
            // them) and logged everywhere: refused rather than silently dropped.
            return Err(invalid("user info (user:password@) is not supported"));
        }
        // Read from the text: the URI type reports an out-of-range port (`:99999`) the same as
        // no port at all, and the call would then go to port 80 — another service.
        let port = match port_text(authority) {
            None => default_port,
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .ok_or_else(|| invalid("the port must be a number in 1..=65535"))?,
        };
        let path_and_query = match uri.path_and_query().map_or("", |pq| pq.as_str()) {
            "" => "/",
            path_and_query => path_and_query,
        };
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let tls = if https {
            // rustls checks the name the certificate must carry: refused here, before any
            // connection, rather than after every retry.
            Some(
                tls::server_name(bare_host)
                    .ok_or_else(|| invalid("the host is not a valid TLS server name"))?,
            )
        } else {
            None
        };
        Ok(Target {
            tls,
            host: bare_host.to_owned(),
            port,
            authority: format!("{host}:{port}"),
            host_header: if port == default_port {
                host.to_owned()
            } else {
                format!("{host}:{port}")
            },
            path_and_query: path_and_query.to_owned(),
        })
    }

    /// `http` or `https`.
    pub(super) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The URL again, normalized: the scheme, the host with its port when not the default, the
    /// path and query.
    pub(super) fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme(),
            self.host_header,
            self.path_and_query
        )
    }
}

/// The port part of `authority` (`host:port`, `[v6]:port`), if it has one (possibly empty).
fn port_text(authority: &str) -> Option<&str> {
    let after_host = match authority.strip_prefix('[') {
        // An IPv6 literal: the port, if any, follows the closing bracket.
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => authority,
    };
    after_host.rsplit_once(':').map(|(_, port)| port)
}
