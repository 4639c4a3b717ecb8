//! Where the bytes go: any stream a [`Connect`] opens.

// Numbers from callers and from the network: every arithmetic on them is checked or saturating,
// and this lint keeps it so; what is left says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

use std::future::Future;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

/// Opens the byte streams the client speaks HTTP/1.1 over. The default is [`TcpConnector`];
/// simulations plug in turmoil's TCP, tests an in-memory pipe.
pub trait Connect: Send + Sync + 'static {
    /// The stream type.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Opens a stream to `host:port`.
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// Plain TCP through tokio, with Nagle's algorithm off (requests are written whole).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connect for TcpConnector {
    type Stream = tokio::net::TcpStream;

    async fn connect(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
