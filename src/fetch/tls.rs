//! HTTPS: a rustls client session over whatever stream the [`Connect`](super::Connect) opened.

use std::fmt;
use std::io;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::error::FetchError;
use crate::loom::StdArc as Arc;

/// The only application protocol offered: the client speaks HTTP/1.1 (one request at a time per
/// connection, which is what its connection reuse and its retry rules are written for).
const HTTP_1_1: &[u8] = b"http/1.1";

/// The TLS settings of a client: the trust roots and the rest of a rustls [`ClientConfig`].
#[derive(Clone)]
pub(super) struct Tls {
    connector: TlsConnector,
}

impl Tls {
    /// Mozilla's roots (webpki-roots), TLS 1.2 and 1.3, the aws-lc-rs provider.
    pub(super) fn with_webpki_roots() -> Tls {
        Tls::with_roots(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }

    /// Trusts exactly `roots`; otherwise as [`with_webpki_roots`](Self::with_webpki_roots).
    pub(super) fn with_roots(roots: RootCertStore) -> Tls {
        // The provider is named here, not taken from the process-wide default, which another
        // library may have set differently (or which may be unset, and then rustls panics).
        let config = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        Tls::with_config(config)
    }

    /// The caller's configuration, offering HTTP/1.1 only by ALPN whatever it offered.
    pub(super) fn with_config(mut config: ClientConfig) -> Tls {
        config.alpn_protocols = vec![HTTP_1_1.to_vec()];
        Tls {
            connector: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Runs the handshake over `stream` with the server named `name`.
    ///
    /// A failure the peer's certificate or the protocol caused is [`FetchError::Tls`]; a stream
    /// that broke meanwhile is [`FetchError::Connect`] (nothing of the request was sent).
    pub(super) async fn handshake<S>(
        &self,
        stream: S,
        name: ServerName<'static>,
        authority: &str,
    ) -> Result<TlsStream<S>, FetchError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.connector
            .connect(name, stream)
            .await
            .map_err(|error| classify(error, authority))
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("alpn", &"http/1.1")
            .finish_non_exhaustive()
    }
}

/// `host` as rustls names a server: an IP address literal or a DNS name.
pub(super) fn server_name(host: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).ok()
}

/// Splits a handshake's I/O error into what rustls decided (typed, [`FetchError::Tls`]) and what
/// the stream did ([`FetchError::Connect`]).
fn classify(error: io::Error, authority: &str) -> FetchError {
    match error.downcast::<rustls::Error>() {
        Ok(source) => FetchError::Tls {
            authority: authority.to_owned(),
            source,
        },
        Err(source) => FetchError::Connect {
            authority: authority.to_owned(),
            source,
        },
    }
}
