//! One async lock per key, held while a key's frontend and backend are changed together.
//!
//! Writes to one key, the fill after a miss and the write-behind hand-off all take it, so
//! the two tiers can never be updated in different orders (which would leave a stale
//! value in the frontend), and concurrent misses on one key queue behind the first one's
//! backend read (single-flight). Reads that hit the frontend take no lock. Entries are
//! removed when their last holder lets go, so the map only holds keys in use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use store_core::Key;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Default)]
pub(crate) struct KeyLocks {
    map: Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>,
}

/// Holds one key's lock; dropping it releases the lock.
pub(crate) struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: Key,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyLocks {
    fn slot(&self, key: &Key) -> Arc<AsyncMutex<()>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.clone()).or_default().clone()
    }

    /// Wait for `key`'s lock. Returns whether the caller had to wait behind another holder.
    pub async fn lock(&self, key: &Key) -> (KeyGuard<'_>, bool) {
        let slot = self.slot(key);
        let (guard, waited) = match slot.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (slot.lock_owned().await, true),
        };
        let guard = KeyGuard {
            locks: self,
            key: key.clone(),
            guard: Some(guard),
        };
        (guard, waited)
    }

    /// Take `key`'s lock only if nobody holds it.
    pub fn try_lock(&self, key: &Key) -> Option<KeyGuard<'_>> {
        let guard = self.slot(key).try_lock_owned().ok();
        let held = guard.is_some();
        let guard = KeyGuard {
            locks: self,
            key: key.clone(),
            guard,
        };
        // Dropping an empty guard still prunes the slot we may have created.
        held.then_some(guard)
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map's own reference left: nobody holds or waits for this key.
        if map
            .get(&self.key)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
        {
            map.remove(&self.key);
        }
    }
}
