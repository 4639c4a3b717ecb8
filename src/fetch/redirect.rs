//! Redirects: which ones a client follows, where a `Location` points, and what the next request
//! is.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::fmt;

use hyper::Method;

use super::target::Target;

/// Which redirects a [`Client`](super::Client) follows.
///
/// Followed: 301, 302, 303, 307 and 308 with a `Location`, within the call's one deadline and up
/// to a number of hops. As browsers and the common clients do, 301 and 302 turn a POST into a
/// GET without body, 303 turns every method but HEAD into a GET, and 307 and 308 keep the method
/// and the body. Each hop's request gets the client's [`RetryPolicy`](super::RetryPolicy) anew.
///
/// Refused, as [`FetchError::Redirect`](super::FetchError::Redirect): more hops than the limit,
/// a loop (a request the chain already made), a `Location` that is not an `http`/`https` URL,
/// and by default a move from `https` to `http`. A 3xx that is not followed — any 3xx under
/// [`none`](Self::none), or one without `Location` — is a
/// [`FetchError::Status`](super::FetchError::Status).
///
/// The default follows up to 10 hops (as Go's `net/http` and reqwest do) and refuses a
/// downgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPolicy {
    max_hops: u32,
    allow_downgrade: bool,
}

impl RedirectPolicy {
    /// Follows no redirect.
    #[must_use]
    pub fn none() -> RedirectPolicy {
        RedirectPolicy::limit(0)
    }

    /// Follows at most `max_hops` redirects in one call (0: none).
    #[must_use]
    pub fn limit(max_hops: u32) -> RedirectPolicy {
        RedirectPolicy {
            max_hops,
            allow_downgrade: false,
        }
    }

    /// Whether a redirect from `https` to `http` is followed (default: refused, so that a
    /// request made over TLS is not sent again in the clear).
    #[must_use]
    pub fn allow_https_to_http(mut self, allow: bool) -> RedirectPolicy {
        self.allow_downgrade = allow;
        self
    }

    /// The most hops followed.
    #[must_use]
    pub fn max_hops(&self) -> u32 {
        self.max_hops
    }

    pub(super) fn follows(&self) -> bool {
        self.max_hops > 0
    }

    pub(super) fn allows_downgrade(&self) -> bool {
        self.allow_downgrade
    }
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy::limit(10)
    }
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectRefused {
    /// The call already followed the policy's number of hops.
    TooMany {
        /// The policy's limit.
        limit: u32,
    },
    /// The redirect leads to a request this call already made (same method and URL).
    Loop,
    /// From `https` to `http`, which the policy refuses.
    Downgrade,
    /// The `Location` is not a URL the client can fetch.
    InvalidLocation {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectRefused::TooMany { limit } => write!(f, "more than {limit} redirects"),
            RedirectRefused::Loop => f.write_str("a redirect loop"),
            RedirectRefused::Downgrade => f.write_str("a redirect from https to http"),
            RedirectRefused::InvalidLocation { reason } => {
                write!(f, "an unusable Location ({reason})")
            }
        }
    }
}

/// The statuses a client follows.
pub(super) fn is_followed(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The method and whether the body is kept, after a redirect with `status`.
pub(super) fn next_method(status: u16, method: &Method) -> (Method, bool) {
    match status {
        301 | 302 if method == Method::POST => (Method::GET, false),
        303 if method != Method::HEAD => (Method::GET, false),
        _ => (method.clone(), true),
    }
}

/// The target `location` names, relative to `base` (RFC 3986 §5.2: absolute, scheme-relative,
/// absolute-path, relative-path and query-only references; the fragment is dropped).
pub(super) fn resolve(base: &Target, location: &str) -> Result<Target, RedirectRefused> {
    let invalid = |reason| RedirectRefused::InvalidLocation { reason };
    let location = location.split('#').next().unwrap_or_default().trim();
    if location.is_empty() {
        return Err(invalid("empty"));
    }
    let absolute = if has_scheme(location) {
        location.to_owned()
    } else if location.starts_with("//") {
        format!("{}:{location}", base.scheme())
    } else {
        let origin = format!("{}://{}", base.scheme(), base.host_header);
        let (base_path, _) = base
            .path_and_query
            .split_once('?')
            .unwrap_or((&base.path_and_query, ""));
        let joined = if location.starts_with('/') {
            location.to_owned()
        } else if location.starts_with('?') {
            format!("{base_path}{location}")
        } else {
            let directory = base_path.rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{directory}/{location}")
        };
        let (path, query) = match joined.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (joined.as_str(), None),
        };
        let path = remove_dot_segments(path);
        match query {
            Some(query) => format!("{origin}{path}?{query}"),
            None => format!("{origin}{path}"),
        }
    };
    Target::parse(&absolute).map_err(|error| match error {
        super::FetchError::InvalidUrl { reason, .. } => invalid(reason),
        _ => invalid("not a URL"),
    })
}

/// Whether `reference` starts with `scheme:` (RFC 3986 §3.1: a letter, then letters, digits,
/// `+`, `-`, `.`).
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// RFC 3986 §5.2.4: `.` and `..` segments removed from an absolute path (`..` never climbs
/// above the root).
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    output.pop();
                }
                // A trailing `.` or `..` leaves the path ending in `/`.
                if index == last {
                    output.push("");
                }
            }
            segment => output.push(segment),
        }
    }
    format!("/{}", output.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    fn resolved(base: &str, location: &str) -> String {
        resolve(&target(base), location).unwrap().url()
    }

    #[test]
    fn references_resolve_as_rfc_3986_says() {
        let base = "http://a.example/b/c/d?q";
        for (location, expected) in [
            ("https://other.example/x", "https://other.example/x"),
            ("//other.example:8080/x", "http://other.example:8080/x"),
            ("/x/y", "http://a.example/x/y"),
            ("g", "http://a.example/b/c/g"),
            ("./g", "http://a.example/b/c/g"),
            ("g/", "http://a.example/b/c/g/"),
            ("../g", "http://a.example/b/g"),
            ("../..", "http://a.example/"),
            ("../../../../g", "http://a.example/g"),
            ("?y", "http://a.example/b/c/d?y"),
            ("g?y#frag", "http://a.example/b/c/g?y"),
            (".", "http://a.example/b/c/"),
            ("/./x/../y", "http://a.example/y"),
        ] {
            assert_eq!(resolved(base, location), expected, "{location}");
        }
        // The base's port is kept when it is not the default.
        assert_eq!(
            resolved("https://[::1]:8443/a", "b"),
            "https://[::1]:8443/b"
        );
    }

    #[test]
    fn unusable_locations_are_refused_with_a_reason() {
        let base = target("https://a.example/");
        for location in [
            "",
            "#only-a-fragment",
            "ftp://a.example/x",
            "http://a.example:99999/",
            "https://user:pw@a.example/",
            "http://",
        ] {
            assert!(
                matches!(
                    resolve(&base, location),
                    Err(RedirectRefused::InvalidLocation { .. })
                ),
                "{location:?}"
            );
        }
    }

    #[test]
    fn methods_change_as_browsers_change_them() {
        let post = Method::POST;
        assert_eq!(next_method(301, &post), (Method::GET, false));
        assert_eq!(next_method(302, &post), (Method::GET, false));
        assert_eq!(next_method(303, &post), (Method::GET, false));
        assert_eq!(next_method(303, &Method::PUT), (Method::GET, false));
        assert_eq!(next_method(303, &Method::HEAD), (Method::HEAD, true));
        assert_eq!(next_method(307, &post), (Method::POST, true));
        assert_eq!(next_method(308, &post), (Method::POST, true));
        assert_eq!(next_method(301, &Method::PUT), (Method::PUT, true));
        assert!(!is_followed(300) && !is_followed(304) && !is_followed(305));
    }
}
