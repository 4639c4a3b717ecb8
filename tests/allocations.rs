#![cfg(not(any(loom, shuttle)))]
//! Steady state allocates nothing: a semaphore's waiter queues in its own future, so queueing
//! never allocates, even the first time; once the channel's queue has grown to its capacity, a
//! send and a receive allocate nothing, waiting included. A worker pool's job costs one
//! allocation (its cell: the future and its outcome slot together), as a `tokio::spawn` does.
//!
//! Counted, not timed: a global allocator counts the allocations of the current thread (each test
//! runs its runtime on its own thread, so tests running in parallel do not count each other's).
//! The speed side of the same claims is in `benches/allocs.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use async_patterns::channel;
use async_patterns::pool::WorkerPool;
use async_patterns::sync::Semaphore;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// counting touches only a thread-local `Cell` (const-initialised, so it never allocates itself).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Runs `f` on a current-thread runtime on this thread.
fn on_this_thread<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// Takes the one permit `rounds` times, holding it across a yield so that the other caller
/// queues for it every round.
async fn contend(semaphore: &Semaphore, rounds: usize) {
    for _ in 0..rounds {
        let permit = semaphore.acquire().await.unwrap();
        tokio::task::yield_now().await;
        drop(permit);
    }
}

#[test]
fn semaphore_queueing_allocates_nothing_even_on_a_fresh_semaphore() {
    on_this_thread(async {
        // Warm-up of the runtime and the test's own futures, on another semaphore: the one
        // measured has never had a waiter, so a queue that grew on first use would show.
        let warm_up = Semaphore::new(1);
        tokio::join!(contend(&warm_up, 100), contend(&warm_up, 100));
        let semaphore = Semaphore::new(1);
        let before = allocations();
        tokio::join!(contend(&semaphore, 1000), contend(&semaphore, 1000));
        assert_eq!(
            allocations() - before,
            0,
            "2000 queued acquires allocated: a waiter's place in the queue must live in its future"
        );
    });
}

async fn produce(tx: &channel::Sender<u64>, n: u64) {
    for i in 0..n {
        tx.send(i).await.unwrap();
    }
}

async fn consume(rx: &channel::Receiver<u64>, n: u64) {
    for i in 0..n {
        assert_eq!(rx.recv().await, Some(i));
    }
}

#[test]
fn channel_in_steady_state_allocates_nothing_waiting_included() {
    on_this_thread(async {
        // Capacity 4 and 1000 values: the producer waits for room and the consumer for values
        // again and again.
        let (tx, rx) = channel::bounded(4).unwrap();
        tokio::join!(produce(&tx, 100), consume(&rx, 100));
        let before = allocations();
        tokio::join!(produce(&tx, 1000), consume(&rx, 1000));
        assert_eq!(
            allocations() - before,
            0,
            "1000 sends and receives allocated"
        );
    });
}

/// Submits `jobs` trivial jobs in batches of 8 and awaits each batch's handles.
async fn run_jobs(
    pool: &WorkerPool,
    handles: &mut Vec<async_patterns::pool::JobHandle<u64>>,
    jobs: u64,
) {
    for batch in 0..jobs / 8 {
        for i in 0..8 {
            handles.push(pool.submit(async move { batch * 8 + i }).await.unwrap());
        }
        for (i, handle) in handles.drain(..).enumerate() {
            assert_eq!(handle.await, Ok(batch * 8 + i as u64));
        }
    }
}

#[test]
fn pool_allocates_one_cell_per_job() {
    on_this_thread(async {
        let pool = WorkerPool::builder()
            .workers(2)
            .queue_capacity(16)
            .build()
            .unwrap();
        let mut handles = Vec::with_capacity(8);
        run_jobs(&pool, &mut handles, 80).await;
        let before = allocations();
        run_jobs(&pool, &mut handles, 1000).await;
        let per_job = (allocations() - before) as f64 / 1000.0;
        assert!(
            per_job <= 1.0,
            "{per_job} allocations per job: more than the job's one cell"
        );
        pool.shutdown().await;
    });
}
