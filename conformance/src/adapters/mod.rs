//! Adapters for published implementations, one module per crate (each behind the feature named
//! after it, except tokio's, which the kit runs on anyway). Each adapter uses only the crate's
//! stable public API, and each "not claimed" cites the crate's own documentation.
//!
//! Versions: every adapter is written against the API of the major series in the kit's
//! `Cargo.toml` and compiles against the whole series where the API allows — see each module.

#[cfg(feature = "async-channel")]
pub mod async_channel;
/// The `Semaphore`, `Mutex` and `RwLock` adapters of a crate with tokio's owned-guard API
/// (`acquire_many_owned`, `lock_owned`, `read_owned`, …): tokio's, and ours, a drop-in for it.
macro_rules! tokio_shaped_locks {
    ($sync:path, $name:literal) => {
        use $sync as sync;

        #[doc = concat!("`", $name, "::Semaphore`.")]
        #[derive(Debug)]
        pub struct Semaphore(std::sync::Arc<sync::Semaphore>);

        impl crate::semaphore::SemaphoreUnderTest for Semaphore {
            type Permit = sync::OwnedSemaphorePermit;

            fn new(permits: usize) -> Self {
                Semaphore(std::sync::Arc::new(sync::Semaphore::new(permits)))
            }

            fn acquire(
                &self,
                n: u32,
            ) -> crate::BoxFuture<Result<Self::Permit, crate::semaphore::Closed>> {
                let sem = std::sync::Arc::clone(&self.0);
                Box::pin(async move {
                    sem.acquire_many_owned(n)
                        .await
                        .map_err(|_| crate::semaphore::Closed)
                })
            }

            fn try_acquire(&self, n: u32) -> Option<Self::Permit> {
                std::sync::Arc::clone(&self.0).try_acquire_many_owned(n).ok()
            }

            fn add_permits(&self, n: usize) {
                self.0.add_permits(n);
            }

            fn close(&self) {
                self.0.close();
            }

            fn operations() -> crate::semaphore::Operations {
                crate::semaphore::Operations {
                    acquire_many: true,
                    add_permits: true,
                    close: true,
                }
            }
        }

        #[doc = concat!("`", $name, "::Mutex`.")]
        #[derive(Debug)]
        pub struct Mutex(std::sync::Arc<sync::Mutex<()>>);

        impl crate::lock::LockUnderTest for Mutex {
            type Shared = ();
            type Exclusive = sync::OwnedMutexGuard<()>;
            const HAS_SHARED: bool = false;

            fn new() -> Self {
                Mutex(std::sync::Arc::new(sync::Mutex::new(())))
            }

            fn write(&self) -> crate::BoxFuture<Self::Exclusive> {
                Box::pin(std::sync::Arc::clone(&self.0).lock_owned())
            }

            fn try_write(&self) -> Option<Self::Exclusive> {
                std::sync::Arc::clone(&self.0).try_lock_owned().ok()
            }
        }

        #[doc = concat!("`", $name, "::RwLock`, with room for [`READERS`](crate::lock::READERS) readers.")]
        #[derive(Debug)]
        pub struct RwLock(std::sync::Arc<sync::RwLock<()>>);

        impl crate::lock::LockUnderTest for RwLock {
            type Shared = sync::OwnedRwLockReadGuard<()>;
            type Exclusive = sync::OwnedRwLockWriteGuard<()>;
            const HAS_SHARED: bool = true;

            fn new() -> Self {
                let lock = sync::RwLock::with_max_readers((), crate::lock::READERS);
                RwLock(std::sync::Arc::new(lock))
            }

            fn write(&self) -> crate::BoxFuture<Self::Exclusive> {
                Box::pin(std::sync::Arc::clone(&self.0).write_owned())
            }

            fn try_write(&self) -> Option<Self::Exclusive> {
                std::sync::Arc::clone(&self.0).try_write_owned().ok()
            }

            fn read(&self) -> crate::BoxFuture<Self::Shared> {
                Box::pin(std::sync::Arc::clone(&self.0).read_owned())
            }

            fn try_read(&self) -> Option<Self::Shared> {
                std::sync::Arc::clone(&self.0).try_read_owned().ok()
            }
        }
    };
}

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
