//! A set of keys that is almost always empty, asked on hot paths: while it is empty, asking
//! costs one atomic load and no lock.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use store_core::{Key, ListOptions};

#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Mutex<BTreeSet<Key>>,
    len: AtomicUsize,
}

impl KeySet {
    fn keys(&self) -> std::sync::MutexGuard<'_, BTreeSet<Key>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[inline]
    pub fn contains(&self, key: &Key) -> bool {
        self.len.load(Ordering::Acquire) > 0 && self.keys().contains(key)
    }

    /// Add (`true`) or remove `key`.
    pub fn set(&self, key: &Key, member: bool) {
        if !member && self.len.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut keys = self.keys();
        let changed = if member {
            keys.insert(key.clone())
        } else {
            keys.remove(key)
        };
        if changed {
            self.len.store(keys.len(), Ordering::Release);
        }
    }

    /// The members `options` admits, in key order.
    pub fn admitted(&self, options: &ListOptions) -> Vec<Key> {
        if self.len.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.keys()
            .iter()
            .filter(|key| options.admits(key))
            .cloned()
            .collect()
    }
}
