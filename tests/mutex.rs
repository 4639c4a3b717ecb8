#![cfg(not(any(loom, shuttle)))]
//! Behaviour of the shipped `Mutex`: the counter pattern under both runtime flavours, cancel
//! safety of `lock`, FIFO, and its non-blocking `Debug`.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::sync::{Mutex, OwnedMutexGuard};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

/// The guide's counter, done right: `tasks` tasks increment through the lock, holding it across
/// an await point; the final value must be exactly `tasks`.
async fn count_to(tasks: u64) -> u64 {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut value = counter.lock().await;
                let seen = *value;
                tokio::task::yield_now().await;
                *value = seen + 1;
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    *counter.lock().await
}

#[tokio::test(flavor = "current_thread")]
async fn counter_equals_increments_current_thread() {
    assert_eq!(count_to(1000).await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_equals_increments_multi_thread() {
    assert_eq!(count_to(1000).await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_equals_increments_when_half_the_lock_calls_time_out() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..400u64)
        .map(|i| {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                // Every other task gives up almost at once; the others must still all count.
                let patience = if i % 2 == 0 {
                    Duration::from_secs(60)
                } else {
                    Duration::from_micros(1)
                };
                match tokio::time::timeout(patience, counter.lock()).await {
                    Ok(mut value) => {
                        tokio::task::yield_now().await;
                        *value += 1;
                        1
                    }
                    Err(_) => 0,
                }
            })
        })
        .collect();
    let mut counted = 0;
    for handle in handles {
        counted += handle.await.unwrap();
    }
    assert!(counted >= 200);
    assert_eq!(*counter.lock().await, counted);
    assert!(
        counter.try_lock().is_ok(),
        "a cancelled lock() must not leave the mutex locked"
    );
}

#[tokio::test(start_paused = true)]
async fn lock_cancelled_by_timeout_while_queued_leaves_the_mutex_usable() {
    let mutex = Arc::new(Mutex::new(0));
    let held = Arc::clone(&mutex).lock_owned().await;
    assert!(
        tokio::time::timeout(Duration::from_secs(1), mutex.lock())
            .await
            .is_err()
    );
    let waiter = tokio::spawn({
        let mutex = Arc::clone(&mutex);
        async move { *mutex.lock().await += 1 }
    });
    tokio::task::yield_now().await;
    drop(held);
    waiter.await.unwrap();
    assert_eq!(*mutex.lock().await, 1);
}

#[test]
fn a_lock_handed_over_but_never_polled_passes_on_when_dropped() {
    let mutex = Mutex::new(());
    let held = mutex.try_lock().unwrap();
    let mut handed = spawn(mutex.lock());
    let mut next = spawn(mutex.lock());
    assert_pending!(handed.poll());
    assert_pending!(next.poll());
    drop(held);
    drop(handed);
    assert!(next.is_woken());
    let _guard = assert_ready!(next.poll());
    assert!(mutex.try_lock().is_err());
}

#[test]
fn try_lock_fails_while_held_or_while_others_queue() {
    let mutex = Mutex::new(5);
    let guard = mutex.try_lock().unwrap();
    assert_eq!(
        mutex.try_lock().unwrap_err().to_string(),
        "operation would block"
    );
    let mut queued = spawn(mutex.lock());
    assert_pending!(queued.poll());
    drop(guard);
    // The lock now belongs to the queued task, not to whoever asks first.
    assert!(mutex.try_lock().is_err());
    assert_eq!(*assert_ready!(queued.poll()), 5);
}

#[test]
fn debug_never_waits_and_guards_show_the_data() {
    let mutex = Mutex::new(vec![1, 2]);
    assert_eq!(format!("{mutex:?}"), "Mutex { data: [1, 2] }");
    let guard = mutex.try_lock().unwrap();
    assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
    assert_eq!(format!("{guard:?}"), "[1, 2]");
    drop(guard);
    let text = Mutex::new("hi");
    assert_eq!(format!("{}", text.try_lock().unwrap()), "hi");
}

#[test]
fn get_mut_into_inner_default_from_and_const_new() {
    static GLOBAL: Mutex<u32> = Mutex::const_new(7);
    assert_eq!(*GLOBAL.try_lock().unwrap(), 7);
    let mut mutex: Mutex<Vec<u8>> = Mutex::default();
    mutex.get_mut().push(1);
    assert_eq!(Mutex::from(3).into_inner(), 3);
    assert_eq!(mutex.into_inner(), vec![1]);
}

#[test]
fn unsized_data_and_guard_accessors() {
    let mutex: Arc<Mutex<[u8]>> = Arc::new(Mutex::new([1, 2, 3]));
    let mut guard: OwnedMutexGuard<[u8]> = Arc::clone(&mutex).try_lock_owned().unwrap();
    guard[0] = 9;
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
    drop(guard);
    assert_eq!(&*mutex.try_lock().unwrap(), &[9, 2, 3]);
}

#[test]
fn guards_are_send_and_sync_exactly_when_they_should_be() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Mutex<std::cell::Cell<u8>>>();
    sync::<Mutex<std::cell::Cell<u8>>>();
    send::<async_patterns::sync::MutexGuard<'static, std::cell::Cell<u8>>>();
    send::<OwnedMutexGuard<std::cell::Cell<u8>>>();
    sync::<OwnedMutexGuard<u8>>();
    // `Cell` is Send but not Sync: a shared guard would share `&Cell` across threads, so
    // `MutexGuard<Cell<_>>: Sync` must not hold (checked by the compile-fail doc test on `Mutex`).
}

#[tokio::test]
async fn a_mapped_guard_keeps_the_lock_until_it_is_dropped() {
    use async_patterns::sync::{MappedMutexGuard, MutexGuard};
    let pair = Mutex::new((1, vec![1, 2]));
    let mut items = MutexGuard::map(pair.lock().await, |pair| &mut pair.1);
    items.push(3);
    assert!(pair.try_lock().is_err());
    let mut last = MappedMutexGuard::map(items, |items| items.last_mut().unwrap());
    *last = 30;
    assert!(pair.try_lock().is_err());
    drop(last);
    assert_eq!(*pair.try_lock().unwrap(), (1, vec![1, 2, 30]));
}

#[tokio::test]
async fn a_declined_try_map_gives_the_guard_back_still_locked() {
    use async_patterns::sync::MutexGuard;
    let slot = Mutex::new(None::<u32>);
    let guard = MutexGuard::try_map(slot.lock().await, Option::as_mut).unwrap_err();
    assert!(slot.try_lock().is_err());
    drop(guard);
    let mut guard = slot.lock().await;
    *guard = Some(4);
    let mut value = MutexGuard::try_map(guard, Option::as_mut).unwrap();
    *value += 1;
    drop(value);
    assert_eq!(*slot.try_lock().unwrap(), Some(5));
}

#[test]
fn a_panic_in_the_map_closure_releases_the_lock() {
    use async_patterns::sync::MutexGuard;
    let mutex = Mutex::new(0);
    let guard = mutex.try_lock().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        MutexGuard::map(guard, |_| -> &mut i32 { panic!("mapping failed") })
    }));
    assert!(result.is_err());
    assert!(mutex.try_lock().is_ok());
}

#[tokio::test]
async fn an_owned_mapped_guard_moves_into_a_task_and_names_its_mutex() {
    use async_patterns::sync::{OwnedMappedMutexGuard, OwnedMutexGuard};
    let shared = Arc::new(Mutex::new((0u8, String::new())));
    let name = OwnedMutexGuard::map(Arc::clone(&shared).lock_owned().await, |s| &mut s.1);
    assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&name), &shared));
    tokio::spawn(async move {
        let mut name = name;
        name.push_str("set in a task");
    })
    .await
    .unwrap();
    assert_eq!(shared.lock().await.1, "set in a task");
    let guard = Arc::clone(&shared).lock_owned().await;
    let declined = OwnedMutexGuard::try_map(guard, |_| None::<&mut u8>).unwrap_err();
    assert!(shared.try_lock().is_err());
    drop(declined);
    assert!(shared.try_lock().is_ok());
}

#[test]
fn blocking_lock_waits_for_an_async_holder() {
    let mutex = Arc::new(Mutex::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let guard = Arc::clone(&mutex).try_lock_owned().unwrap();
    let waiter = std::thread::spawn({
        let mutex = Arc::clone(&mutex);
        move || *mutex.blocking_lock() += 1
    });
    runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(guard);
    });
    waiter.join().unwrap();
    assert_eq!(*mutex.blocking_lock_owned(), 1);
}

#[tokio::test]
#[should_panic = "Cannot block the current thread from within a runtime"]
async fn blocking_lock_panics_on_a_runtime_thread() {
    let mutex = Mutex::new(());
    let _guard = mutex.blocking_lock();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn blocking_lock_works_from_spawn_blocking() {
    let mutex = Arc::new(Mutex::new(1));
    let in_blocking = Arc::clone(&mutex);
    let value = tokio::task::spawn_blocking(move || *in_blocking.blocking_lock())
        .await
        .unwrap();
    assert_eq!(value, 1);
}
