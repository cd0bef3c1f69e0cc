//! Striped async locks: a key's lock is held while its frontend and backend change together.
//!
//! Writes to one key, the fill after a miss and the write-behind hand-off all take it, so
//! the two tiers can never be updated in different orders (which would leave a stale
//! value in the frontend), and concurrent misses on one key queue behind the first one's
//! backend read (single-flight). Reads that hit the frontend take no lock.
//!
//! Keys hash onto a fixed set of stripes rather than a map of per-key locks: no allocation
//! or map upkeep per write (this is on the write-behind hot path). Two keys sharing a
//! stripe only wait for each other; no code path holds two stripes, so this cannot
//! deadlock.

use std::hash::BuildHasher;

use store_core::Key;
use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 1024;

#[derive(Debug)]
pub(crate) struct KeyLocks {
    stripes: Box<[Mutex<()>]>,
    /// foldhash, not SipHash: every write hashes its key here, and a colliding stripe
    /// only costs waiting, never correctness.
    hasher: foldhash::fast::RandomState,
}

impl Default for KeyLocks {
    fn default() -> Self {
        KeyLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

/// Holds a key's stripe; dropping it releases the lock.
pub(crate) type KeyGuard<'a> = MutexGuard<'a, ()>;

impl KeyLocks {
    fn stripe(&self, key: &Key) -> &Mutex<()> {
        &self.stripes[self.hasher.hash_one(key.as_str()) as usize % STRIPES]
    }

    /// Wait for `key`'s lock. Returns whether the caller had to wait behind another holder.
    pub async fn lock(&self, key: &Key) -> (KeyGuard<'_>, bool) {
        let stripe = self.stripe(key);
        match stripe.try_lock() {
            Ok(guard) => (guard, false),
            Err(_) => (stripe.lock().await, true),
        }
    }

    /// Take `key`'s lock only if nobody holds it.
    pub fn try_lock(&self, key: &Key) -> Option<KeyGuard<'_>> {
        self.stripe(key).try_lock().ok()
    }
}
