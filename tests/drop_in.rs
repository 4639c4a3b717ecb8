#![cfg(not(any(loom, shuttle)))]
//! Drop-in compatibility: the same code, written once, compiles and behaves the same against
//! `tokio::sync` and `async_patterns::sync`. Each macro body only names the imported types, so a
//! signature that differs from tokio's breaks the build of this file.

use std::sync::Arc;
use std::time::Duration;

macro_rules! semaphore_usage {
    ($module:ident, $path:path) => {
        mod $module {
            use super::*;
            use sync::{
                AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
            };
            use $path as sync;

            pub async fn run() -> Vec<String> {
                let mut log = Vec::new();
                let semaphore = Arc::new(Semaphore::new(3));
                assert!(Semaphore::MAX_PERMITS >= 1 << 28);
                let mut permit: SemaphorePermit<'_> = semaphore.acquire().await.unwrap();
                let two = semaphore.acquire_many(2).await.unwrap();
                permit.merge(two);
                log.push(format!("held {}", permit.num_permits()));
                let split = permit.split(1).unwrap();
                assert!(permit.split(5).is_none());
                log.push(format!(
                    "split {} {}",
                    permit.num_permits(),
                    split.num_permits()
                ));
                let err: TryAcquireError = semaphore.try_acquire().unwrap_err();
                log.push(format!("try: {err}"));
                drop(split);
                permit.forget();
                log.push(format!("available {}", semaphore.available_permits()));
                semaphore.add_permits(2);
                log.push(format!("forgot {}", semaphore.forget_permits(1)));
                let owned: OwnedSemaphorePermit =
                    Arc::clone(&semaphore).acquire_owned().await.unwrap();
                let _ = Arc::clone(&semaphore).try_acquire_many_owned(1);
                let _ = Arc::clone(&semaphore).try_acquire_owned();
                let many = Arc::clone(&semaphore).acquire_many_owned(0).await.unwrap();
                log.push(format!(
                    "owned {} {}",
                    owned.num_permits(),
                    many.num_permits()
                ));
                let _: Result<SemaphorePermit<'_>, TryAcquireError> = semaphore.try_acquire_many(1);
                semaphore.close();
                let closed: AcquireError = semaphore.acquire().await.unwrap_err();
                log.push(format!("closed {} {closed}", semaphore.is_closed()));
                log
            }
        }
    };
}

macro_rules! mutex_usage {
    ($module:ident, $path:path) => {
        mod $module {
            use super::*;
            use sync::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
            use $path as sync;

            pub async fn run() -> Vec<String> {
                let mut log = Vec::new();
                let mutex = Arc::new(Mutex::new(1u32));
                {
                    let mut guard: MutexGuard<'_, u32> = mutex.lock().await;
                    *guard += 1;
                    let err: TryLockError = mutex.try_lock().unwrap_err();
                    log.push(format!("{guard} {err}"));
                }
                let mut owned: OwnedMutexGuard<u32> = Arc::clone(&mutex).lock_owned().await;
                *owned += 1;
                assert!(Arc::clone(&mutex).try_lock_owned().is_err());
                let handle = tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    *owned += 1;
                });
                handle.await.unwrap();
                log.push(format!("{:?}", *mutex.try_lock().unwrap()));
                let mut plain = Mutex::new(String::from("a"));
                plain.get_mut().push('b');
                log.push(plain.into_inner());
                log
            }
        }
    };
}

semaphore_usage!(tokio_semaphore, tokio::sync);
semaphore_usage!(our_semaphore, async_patterns::sync);
mutex_usage!(tokio_mutex, tokio::sync);
mutex_usage!(our_mutex, async_patterns::sync);

#[tokio::test]
async fn semaphore_behaves_like_tokios_when_only_the_import_changes() {
    assert_eq!(our_semaphore::run().await, tokio_semaphore::run().await);
}

#[tokio::test]
async fn mutex_behaves_like_tokios_when_only_the_import_changes() {
    assert_eq!(our_mutex::run().await, tokio_mutex::run().await);
}

macro_rules! rwlock_usage {
    ($module:ident, $path:path) => {
        mod $module {
            use super::*;
            use sync::{
                OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard,
                RwLockWriteGuard, TryLockError,
            };
            use $path as sync;

            pub async fn run() -> Vec<String> {
                let mut log = Vec::new();
                let lock = Arc::new(RwLock::with_max_readers(1u32, 4));
                {
                    let a: RwLockReadGuard<'_, u32> = lock.read().await;
                    let b = lock.try_read().unwrap();
                    let err: TryLockError = lock.try_write().unwrap_err();
                    log.push(format!("{} {} {err}", *a, *b));
                }
                let mut w: RwLockWriteGuard<'_, u32> = lock.write().await;
                *w += 1;
                let r = w.downgrade();
                log.push(format!("{:?}", *r));
                drop(r);
                let mut ow: OwnedRwLockWriteGuard<u32> = Arc::clone(&lock).write_owned().await;
                *ow += 1;
                let or: OwnedRwLockReadGuard<u32> = ow.downgrade();
                log.push(format!("{}", *or));
                drop(or);
                let _ = Arc::clone(&lock).read_owned().await;
                assert!(Arc::clone(&lock).try_read_owned().is_ok());
                assert!(Arc::clone(&lock).try_write_owned().is_ok());
                let mut plain = RwLock::new(1);
                *plain.get_mut() += 1;
                log.push(format!("{}", plain.into_inner()));
                log
            }
        }
    };
}

rwlock_usage!(tokio_rwlock, tokio::sync);
rwlock_usage!(our_rwlock, async_patterns::sync);

#[tokio::test]
async fn rwlock_behaves_like_tokios_when_only_the_import_changes() {
    assert_eq!(our_rwlock::run().await, tokio_rwlock::run().await);
}
