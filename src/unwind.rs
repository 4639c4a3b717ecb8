//! User code that runs inside the primitives — a value's `Drop`, a manager's `discard` — may
//! panic. Where a primitive runs it for many items at once (dropping what a closed channel still
//! holds, discarding a closed pool's idle objects), one panic must not leave the rest undone:
//! [`for_each_then_resume`] runs every item, then raises the first panic in the caller. And
//! bookkeeping that must follow user code whether it returns or panics goes in a [`Defer`].

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Calls `f` on every item of `items`, even if some calls panic; then raises the first panic
/// (the others are dropped), unless the thread is already unwinding — raising it then would
/// abort the process, so it is dropped too.
pub(crate) fn for_each_then_resume<T>(items: impl IntoIterator<Item = T>, mut f: impl FnMut(T)) {
    let mut first = None;
    for item in items {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(item))) {
            first.get_or_insert(panic);
        }
    }
    if let Some(panic) = first {
        if !std::thread::panicking() {
            resume_unwind(panic);
        }
    }
}

/// Runs its closure when dropped: at the end of the scope, or while unwinding from a panic in
/// the user code that ran before it.
pub(crate) struct Defer<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Defer<F> {
    pub(crate) fn new(f: F) -> Self {
        Defer(Some(f))
    }
}

impl<F: FnOnce()> Drop for Defer<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}
