//! User code that runs inside the primitives — a value's `Drop`, a manager's `discard` — may
//! panic. Where a primitive runs it for many items at once (dropping what a closed channel still
//! holds, discarding a closed pool's idle objects), one panic must not leave the rest undone:
//! [`for_each_then_resume`] runs every item, then raises the first panic in the caller. And
//! bookkeeping that must follow user code whether it returns or panics goes in a [`Defer`].

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Calls `f` on every item of `items`, even if some calls panic; then raises the first panic
/// (see [`Panics`]).
pub(crate) fn for_each_then_resume<T>(items: impl IntoIterator<Item = T>, mut f: impl FnMut(T)) {
    let mut panics = Panics::default();
    for item in items {
        panics.run(|| f(item));
    }
    panics.resume();
}

/// The first panic of a series of calls into user code, each run whatever the others did.
#[derive(Default)]
pub(crate) struct Panics(Option<Box<dyn Any + Send>>);

impl Panics {
    /// Runs `f`, keeping its panic (the first one only) instead of letting it unwind.
    pub(crate) fn run(&mut self, f: impl FnOnce()) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
            self.0.get_or_insert(panic);
        }
    }

    /// Raises the first panic kept, unless the thread is already unwinding — raising it then
    /// would abort the process, so it is dropped.
    pub(crate) fn resume(self) {
        if let Some(panic) = self.0
            && !std::thread::panicking()
        {
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
