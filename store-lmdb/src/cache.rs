//! The value cache that lets hot reads complete inline, without a thread hop or disk I/O.
//!
//! Coherence: the writer thread updates the cache for every key it wrote *after* the commit
//! and *before* acknowledging, so a read that starts after an acknowledgement never sees an
//! older value. A reader that missed fills the cache only if no write touched the key's shard
//! since before it began its read transaction (a per-shard generation, bumped by the writer
//! after each commit), so a slow reader cannot put back a value a newer write replaced.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use store_core::{Entry, Key, Meta};

const SHARDS: usize = 32;
/// Per-entry bookkeeping counted against the budget, besides the key and value bytes.
const OVERHEAD: usize = 96;

pub(crate) struct ValueCache {
    shards: Vec<Mutex<Shard>>,
    shard_budget: usize,
    /// Values larger than this are never cached (one huge value must not flush the rest).
    max_entry: usize,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Key, Entry>,
    /// Insertion order for FIFO eviction; may hold keys since removed or re-inserted.
    order: VecDeque<Key>,
    bytes: usize,
    generation: u64,
}

/// A shard's generation, read before a miss's read transaction begins.
#[derive(Clone, Copy)]
pub(crate) struct Ticket {
    shard: usize,
    generation: u64,
}

fn cost(key: &Key, entry: &Entry) -> usize {
    key.as_str().len() + entry.value.len() + OVERHEAD
}

impl ValueCache {
    /// A cache holding about `budget` bytes (0 disables it).
    pub(crate) fn new(budget: u64) -> Self {
        let budget = usize::try_from(budget).unwrap_or(usize::MAX);
        let shard_budget = budget / SHARDS;
        ValueCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_budget,
            max_entry: shard_budget / 4,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.shard_budget > 0
    }

    fn shard_of(&self, key: &Key) -> usize {
        use std::hash::{BuildHasher, Hasher};
        // A fixed hasher: the shard only spreads lock contention.
        let mut h =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .build_hasher();
        h.write(key.as_str().as_bytes());
        (h.finish() as usize) % SHARDS
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // Every mutation below is completed before anything can panic, so a poisoned shard
        // is still consistent.
        self.shards[shard].lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        if !self.enabled() {
            return None;
        }
        self.lock(self.shard_of(key)).map.get(key).cloned()
    }

    pub(crate) fn head(&self, key: &Key) -> Option<Meta> {
        if !self.enabled() {
            return None;
        }
        self.lock(self.shard_of(key))
            .map
            .get(key)
            .map(|e| e.meta.clone())
    }

    /// Taken before a miss's read transaction begins.
    pub(crate) fn ticket(&self, key: &Key) -> Ticket {
        let shard = self.shard_of(key);
        let generation = if self.enabled() {
            self.lock(shard).generation
        } else {
            0
        };
        Ticket { shard, generation }
    }

    /// Fill after a miss, unless a write touched the shard since `ticket` was taken.
    pub(crate) fn fill(&self, ticket: Ticket, entry: &Entry) {
        if !self.enabled() || entry.value.len() > self.max_entry {
            return;
        }
        let mut shard = self.lock(ticket.shard);
        if shard.generation == ticket.generation {
            self.insert_locked(&mut shard, entry.clone());
        }
    }

    /// Called by the writer after a commit, before acknowledging: `Some` for a new value,
    /// `None` for a delete.
    pub(crate) fn written(&self, key: &Key, entry: Option<Entry>) {
        if !self.enabled() {
            return;
        }
        let mut shard = self.lock(self.shard_of(key));
        shard.generation += 1;
        if let Some(old) = shard.map.remove(key) {
            shard.bytes -= cost(key, &old);
        }
        if let Some(entry) = entry
            && entry.value.len() <= self.max_entry
        {
            self.insert_locked(&mut shard, entry);
        }
    }

    fn insert_locked(&self, shard: &mut Shard, entry: Entry) {
        let key = entry.meta.key.clone();
        let added = cost(&key, &entry);
        if let Some(old) = shard.map.insert(key.clone(), entry) {
            shard.bytes -= cost(&key, &old);
        } else {
            shard.order.push_back(key);
        }
        shard.bytes += added;
        while shard.bytes > self.shard_budget {
            let Some(victim) = shard.order.pop_front() else {
                break;
            };
            if let Some(old) = shard.map.remove(&victim) {
                shard.bytes -= cost(&victim, &old);
            }
        }
        // Keys removed by writes linger in `order`; rebuild it before it grows unbounded.
        if shard.order.len() > 2 * shard.map.len() + 64 {
            let Shard { map, order, .. } = shard;
            order.retain(|k| map.contains_key(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::SystemTime;
    use store_core::Version;

    fn entry(key: &str, value: &'static [u8], version: u64) -> Entry {
        Entry {
            value: Bytes::from_static(value),
            meta: Meta {
                key: Key::new(key).unwrap(),
                size: value.len() as u64,
                version: Version::from_u64(version),
                last_modified: SystemTime::UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn a_fill_after_a_write_is_refused() {
        let cache = ValueCache::new(1 << 20);
        let k = Key::new("k").unwrap();
        let ticket = cache.ticket(&k);
        cache.written(&k, Some(entry("k", b"new", 2)));
        cache.fill(ticket, &entry("k", b"old", 1));
        assert_eq!(cache.get(&k).unwrap().value.as_ref(), b"new");
        cache.written(&k, None);
        assert!(cache.get(&k).is_none());
    }

    #[test]
    fn stays_within_budget() {
        let cache = ValueCache::new(32 * 4096);
        for i in 0..10_000 {
            let e = entry(&format!("k{i}"), &[7u8; 100], i);
            cache.fill(cache.ticket(&e.meta.key), &e);
        }
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            assert!(shard.bytes <= cache.shard_budget);
            assert!(shard.order.len() <= 2 * shard.map.len() + 64);
        }
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let cache = ValueCache::new(0);
        let e = entry("k", b"v", 1);
        cache.written(&e.meta.key, Some(e.clone()));
        assert!(cache.get(&e.meta.key).is_none());
    }
}
