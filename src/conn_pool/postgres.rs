//! A [`Manager`] for PostgreSQL on `tokio-postgres` (cargo feature `postgres`; not built under
//! `--cfg loom`, where tokio has no `net`).
//!
//! Each object is a [`tokio_postgres::Client`]; its connection runs in a task spawned on the
//! current tokio runtime, which ends when the client is dropped (that is how a connection is
//! discarded). Recycling runs a cheap query (an empty simple query by default: one round trip,
//! no parsing, no planning); a client whose connection has closed (the server restarted, the
//! socket broke) is known broken on return and discarded without a round trip.
//!
//! ```no_run
//! use std::time::Duration;
//! use async_patterns::conn_pool::Pool;
//! use async_patterns::conn_pool::postgres::PostgresManager;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = "host=127.0.0.1 port=5432 user=postgres dbname=postgres".parse()?;
//! let pool = Pool::builder(PostgresManager::new(config))
//!     .max_size(10)
//!     .wait_timeout(Duration::from_secs(5))
//!     .build()?;
//!
//! let client = pool.get().await?;
//! let row = client.query_one("SELECT 1 + 1", &[]).await?;
//! assert_eq!(row.get::<_, i32>(0), 2);
//! # Ok(())
//! # }
//! ```

use std::fmt;

use tokio_postgres::{Client, Config, NoTls};

use super::Manager;

/// Creates `tokio-postgres` clients (without TLS) from a [`Config`], recycles them with a cheap
/// query, and discards closed ones. Needs a tokio runtime with IO and time enabled.
pub struct PostgresManager {
    config: Config,
    recycle_query: String,
}

impl PostgresManager {
    /// A manager that connects with `config` and recycles with an empty query.
    #[must_use]
    pub fn new(config: Config) -> Self {
        PostgresManager {
            config,
            recycle_query: String::new(),
        }
    }

    /// Recycles with `query` (a simple query, e.g. `"SELECT 1"` or `"DISCARD ALL"` to also reset
    /// the session) instead of the empty one.
    #[must_use]
    pub fn recycle_query(mut self, query: impl Into<String>) -> Self {
        self.recycle_query = query.into();
        self
    }

    /// The connection configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl fmt::Debug for PostgresManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Config`'s own Debug redacts the password.
        f.debug_struct("PostgresManager")
            .field("config", &self.config)
            .field("recycle_query", &self.recycle_query)
            .finish()
    }
}

impl Manager for PostgresManager {
    type Object = Client;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        // Ends when the client is dropped, or when the server goes away (the client then reports
        // `is_closed`, and the pool discards it).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    async fn recycle(&self, client: &mut Client) -> Result<(), tokio_postgres::Error> {
        client.simple_query(&self.recycle_query).await.map(drop)
    }

    fn is_broken(&self, client: &Client) -> bool {
        client.is_closed()
    }
}
