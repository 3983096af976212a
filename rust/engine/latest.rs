//! The engine's current snapshot, swapped by the engine and pinned by cooks.
//!
//! Why not `arc-swap`: its readers keep a per-thread debt list (`LocalNode`) in a thread-local
//! with a destructor, registered on TouchDesigner's main thread by the first cook, and glibc's
//! `dlclose` does not unmap a library while such a destructor is pending (see
//! [`super::os_thread`]). Here a plain mutex guards one `Arc`: the engine holds it only for a
//! pointer swap, and readers only `try_lock` it, so a cook never waits; the rare reader that
//! finds it taken keeps the snapshot it pinned last frame. Neither side allocates or uses a
//! thread-local. Replaced snapshots go back to the engine, which frees them (never a cook).

use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use super::snapshot::Snapshot;

/// One published snapshot.
pub struct Latest(Mutex<Arc<Snapshot>>);

impl Latest {
    pub fn new(first: Arc<Snapshot>) -> Latest {
        Latest(Mutex::new(first))
    }

    /// Publishes `next` and returns the snapshot it replaces (engine thread).
    pub fn swap(&self, next: Arc<Snapshot>) -> Arc<Snapshot> {
        std::mem::replace(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner), next)
    }

    /// The current snapshot; waits at most for a swap in progress (not for cooks).
    pub fn load(&self) -> Arc<Snapshot> {
        Arc::clone(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The current snapshot, or `None` if the engine is swapping it at this instant.
    pub fn try_load(&self) -> Option<Arc<Snapshot>> {
        match self.0.try_lock() {
            Ok(current) => Some(Arc::clone(&current)),
            Err(TryLockError::Poisoned(p)) => Some(Arc::clone(&p.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Status;

    #[test]
    fn swap_returns_the_old_one_and_a_held_lock_is_skipped() {
        let a = Arc::new(Snapshot::empty("a", Status::Waiting));
        let latest = Latest::new(Arc::clone(&a));
        let b = Arc::new(Snapshot::empty("b", Status::Playing));
        assert!(Arc::ptr_eq(&latest.swap(Arc::clone(&b)), &a));
        assert!(Arc::ptr_eq(&latest.try_load().unwrap(), &b));
        let held = latest.0.lock().unwrap();
        assert!(latest.try_load().is_none());
        drop(held);
        assert!(Arc::ptr_eq(&latest.load(), &b));
    }
}
