//! Hostile callers: the user code that runs inside the crate's primitives, made to misbehave.
//!
//! User code runs inside a primitive in four places: a [`Waker`]'s `clone`, its `wake` /
//! `wake_by_ref`, its drop, and the `Drop` of the values a primitive stores. A [`HostileWaker`]
//! runs a hook the test chooses at each of the first three — a panic, or a call back into the
//! primitive (`send`, `try_recv`, `add_permits`, `close`, ...) — and counts how often each ran;
//! an [`OnDrop`] value runs one at its drop. The checkers then assert that the primitive's
//! invariants survive: the panic reaches only the caller that ran the hook, nothing is lost or
//! duplicated, every other waiter is still woken, and a re-entrant hook neither deadlocks nor
//! corrupts state.
//!
//! Shared by `tests/`, `loom-tests/` and `shuttle-tests/` (through `#[path]`): the counters are
//! `std` atomics, which is right in every build — a hook runs on the thread that called into the
//! waker, and the tests read the counters only after joining the threads involved.

#![allow(dead_code)] // each test binary uses a different part

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// Where a [`HostileWaker`]'s hook is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `Waker::clone`: the primitive is about to store the waker.
    Clone,
    /// `wake` or `wake_by_ref`: the primitive is waking its owner.
    Wake,
    /// The drop of one waker (not counting the one `wake` consumes).
    Drop,
}

type Hook = Box<dyn Fn(Event) + Send + Sync>;

struct Inner {
    hook: Hook,
    panics_on_wake: bool,
    clones: AtomicUsize,
    wakes: AtomicUsize,
    drops: AtomicUsize,
}

/// The factory and the counters of a family of wakers that share one hook.
#[derive(Clone)]
pub struct HostileWaker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HostileWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileWaker")
            .field("clones", &self.clones())
            .field("wakes", &self.wakes())
            .field("drops", &self.drops())
            .finish()
    }
}

impl HostileWaker {
    /// Wakers that run `hook` at every clone, wake and drop (after counting it).
    pub fn new(hook: impl Fn(Event) + Send + Sync + 'static) -> Self {
        HostileWaker {
            inner: Arc::new(Inner {
                hook: Box::new(hook),
                panics_on_wake: false,
                clones: AtomicUsize::new(0),
                wakes: AtomicUsize::new(0),
                drops: AtomicUsize::new(0),
            }),
        }
    }

    /// Wakers that only count (a well-behaved waker with counters).
    pub fn counting() -> Self {
        Self::new(|_| {})
    }

    /// Wakers that panic at every `event`.
    pub fn panicking_on(event: Event) -> Self {
        let mut waker = Self::new(move |at| {
            if at == event {
                panic!("hostile waker: panic in {at:?}");
            }
        });
        Arc::get_mut(&mut waker.inner)
            .expect("not shared yet")
            .panics_on_wake = event == Event::Wake;
        waker
    }

    /// Whether every wake of this family panics ([`panicking_on`](Self::panicking_on)`(Wake)`).
    pub fn panics_on_wake(&self) -> bool {
        self.inner.panics_on_wake
    }

    /// Wakers that panic at the `nth` (0-based) `event` only.
    pub fn panicking_once_on(event: Event, nth: usize) -> Self {
        let seen = AtomicUsize::new(0);
        Self::new(move |at| {
            if at == event && seen.fetch_add(1, Ordering::SeqCst) == nth {
                panic!("hostile waker: panic in {at:?} #{nth}");
            }
        })
    }

    /// Wakers that run `f` at the first `event` only (e.g. a call back into the primitive).
    pub fn reentering_once_on(event: Event, f: impl FnOnce() + Send + 'static) -> Self {
        let f = std::sync::Mutex::new(Some(f));
        Self::new(move |at| {
            if at == event {
                let f = f.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(f) = f {
                    f();
                }
            }
        })
    }

    /// A new waker of this family.
    pub fn waker(&self) -> Waker {
        let data = Arc::into_raw(Arc::clone(&self.inner)).cast::<()>();
        // SAFETY: `data` is an `Arc<Inner>` turned into a raw pointer, which is what every
        // function of `VTABLE` expects; the reference it carries is the new waker's.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }

    /// How many times a waker of this family was cloned (hook run or not).
    pub fn clones(&self) -> usize {
        self.inner.clones.load(Ordering::SeqCst)
    }

    /// How many times a waker of this family was woken (`wake` or `wake_by_ref`).
    pub fn wakes(&self) -> usize {
        self.inner.wakes.load(Ordering::SeqCst)
    }

    /// How many wakers of this family were dropped without being woken.
    pub fn drops(&self) -> usize {
        self.inner.drops.load(Ordering::SeqCst)
    }

    /// Wakers of this family alive now (each holds one reference; the factory holds one).
    pub fn live(&self) -> usize {
        Arc::strong_count(&self.inner) - 1
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

// Every function below receives the `data` of a waker made by `HostileWaker::waker` or by `clone`:
// a pointer from `Arc::into_raw` whose reference the waker owns.

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live `Arc<Inner>` (the waker being cloned holds a reference).
    let inner = unsafe { &*data.cast::<Inner>() };
    inner.clones.fetch_add(1, Ordering::SeqCst);
    // May panic: nothing has been taken yet, so nothing leaks.
    (inner.hook)(Event::Clone);
    // SAFETY: as above; the new reference is the clone's.
    unsafe { Arc::increment_strong_count(data.cast::<Inner>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: `wake` consumes the waker: its reference is taken back here, and released when
    // `inner` goes out of scope, even if the hook panics.
    let inner = unsafe { Arc::from_raw(data.cast::<Inner>()) };
    inner.wakes.fetch_add(1, Ordering::SeqCst);
    (inner.hook)(Event::Wake);
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a live `Arc<Inner>` (the waker is borrowed, not consumed).
    let inner = unsafe { &*data.cast::<Inner>() };
    inner.wakes.fetch_add(1, Ordering::SeqCst);
    (inner.hook)(Event::Wake);
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker's reference is taken back and released when `inner` goes out of scope,
    // even if the hook panics.
    let inner = unsafe { Arc::from_raw(data.cast::<Inner>()) };
    inner.drops.fetch_add(1, Ordering::SeqCst);
    (inner.hook)(Event::Drop);
}

/// What an [`OnDrop`] runs when it is dropped.
type DropHook<T> = Box<dyn FnOnce(&T) + Send>;

/// A value whose `Drop` runs a hook (a panic, or a call back into the primitive that stored it).
pub struct OnDrop<T> {
    pub value: T,
    hook: Option<DropHook<T>>,
}

impl<T> OnDrop<T> {
    pub fn new(value: T, hook: impl FnOnce(&T) + Send + 'static) -> Self {
        OnDrop {
            value,
            hook: Some(Box::new(hook)),
        }
    }

    /// Takes the value out without running the hook.
    pub fn defuse(mut self) -> T
    where
        T: Copy,
    {
        self.hook = None;
        self.value
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for OnDrop<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OnDrop").field(&self.value).finish()
    }
}

impl<T> Drop for OnDrop<T> {
    fn drop(&mut self) {
        if let Some(hook) = self.hook.take() {
            hook(&self.value);
        }
    }
}

/// Keeps the panics that hostile wakers and values raise on purpose (their messages start with
/// `hostile`) out of the test output; every other panic is printed as usual. Installed once per
/// test binary.
pub fn quiet_hostile_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !panic_message(info.payload()).starts_with("hostile") {
                previous(info);
            }
        }));
    });
}

/// A panic's message: its payload as a string, or `""` for a payload of another type.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("")
}
