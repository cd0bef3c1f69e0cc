//! What a sweep keeps: keys and key prefixes, computed after the safe point is fixed.

use std::collections::HashSet;

use async_trait::async_trait;
use store_core::{Key, Prefix, Result, Store};

/// A set of reachable keys: listed keys and every key under listed prefixes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reachable {
    keys: HashSet<Key>,
    prefixes: Vec<Prefix>,
}

impl Reachable {
    /// Nothing reachable.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key.
    pub fn insert(&mut self, key: Key) {
        self.keys.insert(key);
    }

    /// Add every key under `prefix`.
    pub fn insert_prefix(&mut self, prefix: Prefix) {
        self.prefixes.push(prefix);
    }

    /// With `key` added.
    pub fn with_key(mut self, key: Key) -> Self {
        self.insert(key);
        self
    }

    /// With every key under `prefix` added.
    pub fn with_prefix(mut self, prefix: Prefix) -> Self {
        self.insert_prefix(prefix);
        self
    }

    /// Whether `key` is reachable.
    pub fn contains(&self, key: &Key) -> bool {
        self.keys.contains(key) || self.prefixes.iter().any(|p| key.starts_with(p))
    }

    /// How many keys were added one by one (prefixes not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.prefixes.is_empty()
    }
}

impl Extend<Key> for Reachable {
    fn extend<I: IntoIterator<Item = Key>>(&mut self, iter: I) {
        self.keys.extend(iter);
    }
}

impl FromIterator<Key> for Reachable {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        let mut reachable = Reachable::new();
        reachable.extend(iter);
        reachable
    }
}

/// Computes the reachable set. [`sweep`](super::sweep) calls it once, *after* it has fixed
/// its safe point, so roots written before then are seen (the safety argument in the
/// [module docs](super) needs that order). A fixed [`Reachable`] is its own `Roots`; it
/// is safe when the pointers it was read from cannot gain new targets older than the
/// safe point, e.g. when they are read after the sweep starts or are immutable.
#[async_trait]
pub trait Roots: Send + Sync {
    /// The keys to keep, read from `store` now.
    async fn reachable(&self, store: &dyn Store) -> Result<Reachable>;
}

#[async_trait]
impl Roots for Reachable {
    async fn reachable(&self, _store: &dyn Store) -> Result<Reachable> {
        Ok(self.clone())
    }
}
