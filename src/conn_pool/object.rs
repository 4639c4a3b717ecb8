//! A checked-out object, and the slot bookkeeping that makes every exit path give back what it
//! holds.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::{Manager, Shared};
use crate::loom::{Arc, lock};
use crate::sync::OwnedSemaphorePermit;
use crate::time::{Clock, TokioClock};
use crate::unwind::Defer;

/// One `get()`'s hold on the pool, from the moment it has a slot: the slot's permit, and the
/// object once there is one. Every way out goes through its `Drop`, which keeps the books:
///
/// - an object that may go back (handed out, not marked broken, returned by a holder that is not
///   panicking, not [`is_broken`](Manager::is_broken), pool not closed) joins the idle queue;
/// - any other object is discarded, and only then no longer counted in the size;
/// - a size reservation with no object (a creation that failed, timed out or was cancelled) is
///   released;
/// - last, the permit is dropped, so a waiter it wakes finds the idle object already queued.
pub(super) struct Slot<M: Manager, C: Clock> {
    pub(super) shared: Arc<Shared<M, C>>,
    pub(super) permit: Option<OwnedSemaphorePermit>,
    pub(super) object: Option<M::Object>,
    /// Counted in the pool's size: holds an object, or reserved one while creating it.
    pub(super) counted: bool,
    /// Handed out to the caller, and not marked broken: may go back to the idle queue.
    pub(super) returnable: bool,
}

impl<M: Manager, C: Clock> Slot<M, C> {
    pub(super) fn new(shared: Arc<Shared<M, C>>, permit: OwnedSemaphorePermit) -> Self {
        Slot {
            shared,
            permit: Some(permit),
            object: None,
            counted: false,
            returnable: false,
        }
    }

    /// Discards the object held (if any) and releases its place in the size; keeps the permit.
    pub(super) fn discard_object(&mut self) {
        let object = self.object.take();
        let counted = std::mem::take(&mut self.counted);
        let shared = &self.shared;
        // The object counts in the size until its discard (user code: the manager's `discard`,
        // the object's `Drop`) has returned — or panicked: the count is taken off either way.
        let _uncount = Defer::new(|| {
            if counted {
                lock(&shared.state).size -= 1;
            }
        });
        if let Some(object) = object {
            shared.manager.discard(object);
        }
    }

    /// Takes the object out of the pool's books for good; the permit is released on drop.
    fn detach(&mut self) -> M::Object {
        let object = self.object.take().expect("a checked-out object");
        if std::mem::take(&mut self.counted) {
            lock(&self.shared.state).size -= 1;
        }
        object
    }
}

impl<M: Manager, C: Clock> Drop for Slot<M, C> {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            // User code (`is_broken`) runs before the lock is taken.
            let keep = self.returnable
                && !std::thread::panicking()
                && !self.shared.manager.is_broken(&object);
            let rejected = {
                let mut state = lock(&self.shared.state);
                if keep && !state.closed {
                    state.idle.push_back(object);
                    self.counted = false; // counted as idle now
                    None
                } else {
                    Some(object)
                }
            };
            if let Some(object) = rejected {
                self.object = Some(object);
                self.discard_object();
            }
        } else if self.counted {
            self.counted = false;
            lock(&self.shared.state).size -= 1;
        }
        // Last: whoever this wakes sees the books above already settled.
        drop(self.permit.take());
    }
}

/// An object checked out of a [`Pool`](super::Pool); it goes back when dropped.
///
/// Dereferences to the manager's object. On drop it returns to the idle queue, unless it was
/// [marked broken](Object::mark_broken), the manager says it [is broken](Manager::is_broken),
/// it is dropped while its thread panics (the holder may have left it half-used), or the pool is
/// closed: then it is [discarded](Manager::discard). Either way its slot is freed, and the next
/// waiter in line gets it.
#[must_use = "the object goes back to the pool as soon as it is dropped"]
pub struct Object<M: Manager, C: Clock = TokioClock> {
    pub(super) slot: Slot<M, C>,
}

impl<M: Manager, C: Clock> Object<M, C> {
    /// Marks the object broken: when dropped it is discarded instead of kept idle (say, after an
    /// error that leaves a connection in an unknown state). An associated function, so it cannot
    /// clash with a method of the object.
    pub fn mark_broken(this: &mut Self) {
        this.slot.returnable = false;
    }

    /// Whether the object has been [marked broken](Object::mark_broken).
    #[must_use]
    pub fn is_marked_broken(this: &Self) -> bool {
        !this.slot.returnable
    }

    /// Takes the object out of the pool for good: it no longer counts towards the size, and its
    /// slot is freed at once.
    #[must_use]
    pub fn take(mut this: Self) -> M::Object {
        this.slot.detach()
    }
}

impl<M: Manager, C: Clock> Deref for Object<M, C> {
    type Target = M::Object;

    fn deref(&self) -> &M::Object {
        self.slot.object.as_ref().expect("a checked-out object")
    }
}

impl<M: Manager, C: Clock> DerefMut for Object<M, C> {
    fn deref_mut(&mut self) -> &mut M::Object {
        self.slot.object.as_mut().expect("a checked-out object")
    }
}

impl<M: Manager, C: Clock> fmt::Debug for Object<M, C>
where
    M::Object: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("object", &self.slot.object)
            .field("marked_broken", &!self.slot.returnable)
            .finish()
    }
}
