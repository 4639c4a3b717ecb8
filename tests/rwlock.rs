#![cfg(not(any(loom, shuttle)))]
//! Behaviour of the shipped `RwLock`: exclusion, the FIFO policy (a queued writer blocks later
//! readers), cancel safety, `downgrade`, and the documented re-entrant-read deadlock.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::sync::{OwnedRwLockWriteGuard, RwLock};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

#[test]
fn readers_share_and_writers_exclude() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err());
    drop((r1, r2));
    let w = lock.try_write().unwrap();
    assert!(lock.try_read().is_err());
    assert!(lock.try_write().is_err());
    drop(w);
    assert!(lock.try_read().is_ok());
}

#[test]
fn max_readers_bounds_simultaneous_readers() {
    let lock = RwLock::with_max_readers((), 2);
    let _a = lock.try_read().unwrap();
    let _b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err());
}

#[test]
fn a_queued_writer_blocks_later_readers_and_then_lets_them_in() {
    let lock = RwLock::new(0);
    let reader = lock.try_read().unwrap();
    let mut writer = spawn(lock.write());
    assert_pending!(writer.poll());
    let mut late_reader = spawn(lock.read());
    assert_pending!(late_reader.poll());
    assert!(
        lock.try_read().is_err(),
        "try_read must not overtake the queued writer"
    );

    drop(reader);
    assert!(writer.is_woken());
    let mut guard = assert_ready!(writer.poll());
    *guard = 1;
    assert_pending!(late_reader.poll());
    drop(guard);
    assert_eq!(*assert_ready!(late_reader.poll()), 1);
}

#[test]
fn cancelling_a_queued_writer_lets_the_readers_behind_it_in() {
    let lock = RwLock::new(());
    let reader = lock.try_read().unwrap();
    let mut writer = spawn(lock.write());
    assert_pending!(writer.poll());
    let mut late_reader = spawn(lock.read());
    assert_pending!(late_reader.poll());
    drop(writer);
    assert!(late_reader.is_woken());
    let _second = assert_ready!(late_reader.poll());
    drop(reader);
    assert!(lock.try_read().is_ok());
}

#[test]
fn downgrade_keeps_the_data_locked_and_admits_queued_readers() {
    let lock = RwLock::new(String::new());
    let mut guard = lock.try_write().unwrap();
    let mut reader = spawn(lock.read());
    let mut writer = spawn(lock.write());
    assert_pending!(reader.poll());
    assert_pending!(writer.poll());
    guard.push_str("written");
    let read_guard = guard.downgrade();
    assert!(reader.is_woken());
    let other_reader = assert_ready!(reader.poll());
    assert_eq!(*other_reader, "written");
    assert_pending!(writer.poll());
    assert_eq!(*read_guard, "written");
    drop(read_guard);
    assert_pending!(writer.poll(), "the other reader still holds the lock");
    drop(other_reader);
    assert!(writer.is_woken());
    let _writer = assert_ready!(writer.poll());
}

#[test]
fn owned_guards_downgrade_and_release_everything() {
    let lock = Arc::new(RwLock::with_max_readers(1u8, 3));
    let mut guard: OwnedRwLockWriteGuard<u8> = Arc::clone(&lock).try_write_owned().unwrap();
    *guard = 2;
    let read = guard.downgrade();
    assert!(Arc::clone(&lock).try_write_owned().is_err());
    let other = Arc::clone(&lock).try_read_owned().unwrap();
    assert_eq!((*read, *other), (2, 2));
    drop((read, other));
    let write = Arc::clone(&lock).try_write_owned().unwrap();
    drop(write);
    assert!(lock.try_write().is_ok(), "every permit came back");
}

#[tokio::test(start_paused = true)]
async fn reentrant_read_while_a_writer_waits_deadlocks_as_documented() {
    let lock = Arc::new(RwLock::new(()));
    let first = lock.read().await;
    let writer = tokio::spawn({
        let lock = Arc::clone(&lock);
        async move { drop(lock.write().await) }
    });
    tokio::task::yield_now().await; // the writer queues behind `first`
    let second = tokio::time::timeout(Duration::from_secs(5), lock.read()).await;
    assert!(
        second.is_err(),
        "the second read waits for the writer, which waits for the first"
    );
    drop(first);
    writer.await.unwrap();
}

async fn writers_never_overlap(readers_per_writer: usize) {
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let lock = Arc::clone(&lock);
            tokio::spawn(async move {
                if i % (readers_per_writer + 1) == 0 {
                    let mut pair = lock.write().await;
                    pair.0 += 1;
                    tokio::task::yield_now().await;
                    pair.1 += 1;
                } else {
                    let pair = lock.read().await;
                    tokio::task::yield_now().await;
                    assert_eq!(pair.0, pair.1, "a reader saw a half-done write");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let pair = *lock.read().await;
    assert_eq!(pair, (pair.0, pair.0));
}

#[tokio::test(flavor = "current_thread")]
async fn readers_never_see_a_half_done_write_current_thread() {
    writers_never_overlap(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_half_done_write_multi_thread() {
    writers_never_overlap(1).await;
}

#[test]
#[should_panic(expected = "may not be created with 0 readers")]
fn zero_max_readers_panics_with_a_message_that_says_so() {
    let _ = RwLock::with_max_readers((), 0);
}

#[test]
#[should_panic(expected = "may not be created with more than")]
fn too_many_max_readers_panics_with_a_message_that_says_so() {
    let _ = RwLock::with_max_readers((), u32::MAX);
}

#[test]
fn debug_never_waits() {
    let lock = RwLock::new(5);
    assert_eq!(
        format!("{lock:?}"),
        format!("RwLock {{ data: 5, max_readers: {} }}", u32::MAX >> 3)
    );
    let _w = lock.try_write().unwrap();
    assert!(format!("{lock:?}").contains("<locked>"));
}

#[test]
fn get_mut_into_inner_and_const_new() {
    static GLOBAL: RwLock<u8> = RwLock::const_new(3);
    assert_eq!(*GLOBAL.try_read().unwrap(), 3);
    let mut lock = RwLock::new(vec![1]);
    lock.get_mut().push(2);
    assert_eq!(lock.into_inner(), vec![1, 2]);
}

#[tokio::test]
async fn a_mapped_read_guard_is_still_a_read_guard() {
    use async_patterns::sync::RwLockReadGuard;
    let lock = RwLock::with_max_readers((1, 2), 2);
    let first = RwLockReadGuard::map(lock.read().await, |pair| &pair.0);
    assert_eq!(*first, 1);
    let _second = lock.try_read().unwrap(); // the other reader permit
    assert!(lock.try_read().is_err()); // the mapped guard still holds one
    assert!(lock.try_write().is_err());
    let declined = RwLockReadGuard::try_map(first, |_| None::<&u8>).unwrap_err();
    drop(declined);
    assert!(lock.try_read().is_ok());
}

#[tokio::test]
async fn a_mapped_write_guard_excludes_everyone_until_dropped() {
    use async_patterns::sync::{RwLockMappedWriteGuard, RwLockWriteGuard};
    let lock = RwLock::new((0, vec![0]));
    let mut items = RwLockWriteGuard::map(lock.write().await, |pair| &mut pair.1);
    items.push(1);
    assert!(lock.try_read().is_err());
    let mut last = RwLockMappedWriteGuard::map(items, |items| items.last_mut().unwrap());
    *last = 10;
    assert!(lock.try_read().is_err());
    drop(last);
    assert_eq!(lock.try_read().unwrap().1, vec![0, 10]);
    let whole = RwLockWriteGuard::into_mapped(lock.write().await);
    assert!(lock.try_read().is_err());
    drop(whole);
    assert!(lock.try_write().is_ok());
}

#[tokio::test]
async fn downgrade_map_lets_readers_in_but_no_writer() {
    use async_patterns::sync::RwLockWriteGuard;
    let lock = RwLock::with_max_readers((5, 6), 3);
    let first = RwLockWriteGuard::downgrade_map(lock.write().await, |pair| &pair.0);
    assert_eq!(*first, 5);
    assert_eq!(lock.try_read().unwrap().1, 6);
    assert!(lock.try_write().is_err());
    drop(first);
    // A declined try_downgrade_map keeps the write guard, still exclusive.
    let writer =
        RwLockWriteGuard::try_downgrade_map(lock.write().await, |_| None::<&u8>).unwrap_err();
    assert!(lock.try_read().is_err());
    let reader = RwLockWriteGuard::try_downgrade_map(writer, |pair| Some(&pair.1)).unwrap();
    assert_eq!(*reader, 6);
    drop(reader);
    assert!(lock.try_write().is_ok());
}

#[tokio::test]
async fn owned_guards_map_and_downgrade_and_name_their_lock() {
    use async_patterns::sync::{
        OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
    };
    let lock = Arc::new(RwLock::with_max_readers((1, String::from("a")), 2));
    let mut name = OwnedRwLockWriteGuard::map(Arc::clone(&lock).write_owned().await, |p| &mut p.1);
    name.push('b');
    assert!(Arc::ptr_eq(
        OwnedRwLockMappedWriteGuard::rwlock(&name),
        &lock
    ));
    assert!(lock.try_read().is_err());
    drop(name);
    let number =
        OwnedRwLockWriteGuard::downgrade_map(Arc::clone(&lock).write_owned().await, |p| &p.0);
    let other = lock.try_read().unwrap();
    assert!(lock.try_read().is_err()); // both reader permits taken
    let number = OwnedRwLockReadGuard::map(number, |n| n);
    assert_eq!(*number, 1);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&number), &lock));
    drop((number, other));
    let whole = OwnedRwLockWriteGuard::into_mapped(Arc::clone(&lock).write_owned().await);
    let whole = OwnedRwLockMappedWriteGuard::try_map(whole, |_| None::<&mut u8>).unwrap_err();
    assert!(lock.try_read().is_err());
    drop(whole);
    assert_eq!(lock.try_read().unwrap().1, "ab");
}

#[test]
fn a_panic_in_downgrade_map_releases_the_write_lock() {
    use async_patterns::sync::RwLockWriteGuard;
    let lock = RwLock::new(0);
    let writer = lock.try_write().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        RwLockWriteGuard::downgrade_map(writer, |_| -> &i32 { panic!("mapping failed") })
    }));
    assert!(result.is_err());
    assert!(lock.try_write().is_ok());
}

#[test]
fn blocking_write_waits_for_a_reader_to_leave() {
    let lock = Arc::new(RwLock::new(0));
    let reader = Arc::clone(&lock).try_read_owned().unwrap();
    let writer = std::thread::spawn({
        let lock = Arc::clone(&lock);
        move || *lock.blocking_write() += 1
    });
    std::thread::sleep(Duration::from_millis(20));
    drop(reader);
    writer.join().unwrap();
    assert_eq!(*lock.blocking_read(), 1);
}

#[test]
fn const_with_max_readers_builds_a_static_lock() {
    static LOCK: RwLock<u8> = RwLock::const_with_max_readers(0, 2);
    let _a = LOCK.try_read().unwrap();
    let _b = LOCK.try_read().unwrap();
    assert!(LOCK.try_read().is_err());
}

#[test]
#[should_panic = "a RwLock may not be created with 0 readers"]
fn const_with_max_readers_refuses_zero_readers() {
    let _ = RwLock::const_with_max_readers((), 0);
}
