//! `bb8` 0.9: its `ManageConnection` with native `async fn` (0.8 and older used `#[async_trait]`
//! and do not build with it). bb8 opens connections in spawned tasks; the checker runs them
//! between steps, and lets time pass while a `get` waits, so its retries after a refused connect
//! (on by default) fire.

use std::sync::Arc;

use crate::BoxFuture;
use crate::conn_pool::{Backend, BackendError, Conn, PoolUnderTest};

/// The manager of [`Pool`]: connections to the kit's fake backend.
#[derive(Debug)]
pub struct FakeManager(Arc<Backend>);

impl bb8::ManageConnection for FakeManager {
    type Connection = Conn;
    type Error = BackendError;

    async fn connect(&self) -> Result<Conn, BackendError> {
        Arc::clone(&self.0).create().await
    }

    async fn is_valid(&self, conn: &mut Conn) -> Result<(), BackendError> {
        self.0.check(conn)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.is_broken(conn)
    }
}

/// `bb8::Pool`, with its defaults (no idle minimum, connects retried until the timeout).
#[derive(Debug)]
pub struct Pool(bb8::Pool<FakeManager>);

impl PoolUnderTest for Pool {
    type Object = bb8::PooledConnection<'static, FakeManager>;

    fn new(backend: Arc<Backend>, max_size: usize) -> Self {
        let pool = bb8::Pool::builder()
            .max_size(u32::try_from(max_size).expect("a small pool"))
            .build_unchecked(FakeManager(backend));
        Pool(pool)
    }

    fn get(&self) -> BoxFuture<Result<Self::Object, String>> {
        let pool = self.0.clone();
        Box::pin(async move { pool.get_owned().await.map_err(|e| e.to_string()) })
    }

    fn conn(object: &Self::Object) -> &Conn {
        object
    }
}
