//! `deadpool` 0.12 (`managed`): the native `async fn` manager API (`recycle` takes `&Metrics`),
//! which builds with 0.11.2 through 0.12.3; 0.10 and older declare the manager differently.

use std::sync::Arc;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use crate::BoxFuture;
use crate::conn_pool::{Backend, BackendError, Conn, PoolUnderTest};

/// The manager of [`Pool`]: connections to the kit's fake backend.
#[derive(Debug)]
pub struct FakeManager(Arc<Backend>);

impl managed::Manager for FakeManager {
    type Type = Conn;
    type Error = BackendError;

    async fn create(&self) -> Result<Conn, BackendError> {
        Arc::clone(&self.0).create().await
    }

    async fn recycle(&self, conn: &mut Conn, _: &Metrics) -> RecycleResult<BackendError> {
        self.0.check(conn).map_err(RecycleError::Backend)
    }
}

/// `deadpool::managed::Pool`, with no timeouts.
#[derive(Debug)]
pub struct Pool(managed::Pool<FakeManager>);

impl PoolUnderTest for Pool {
    type Object = managed::Object<FakeManager>;

    fn new(backend: Arc<Backend>, max_size: usize) -> Self {
        let pool = managed::Pool::builder(FakeManager(backend))
            .max_size(max_size)
            .build()
            .expect("a pool without timeouts needs no runtime");
        Pool(pool)
    }

    fn get(&self) -> BoxFuture<Result<Self::Object, String>> {
        let pool = self.0.clone();
        Box::pin(async move { pool.get().await.map_err(|e| e.to_string()) })
    }

    fn conn(object: &Self::Object) -> &Conn {
        object
    }
}
