//! The value cache that lets hot reads complete inline, without a thread hop or disk I/O.
//!
//! Coherence: the writer thread updates the cache for every key it wrote *after* the commit
//! and *before* acknowledging, so a read that starts after an acknowledgement never sees an
//! older value. A reader that missed fills the cache only if no write touched the key's shard
//! since before it began its read transaction (a per-shard generation, bumped by the writer
//! after each commit), so a slow reader cannot put back a value a newer write replaced.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

use foldhash::fast::RandomState;

use store_core::{Entry, Key, Meta};

const SHARDS: usize = 32;
/// Per-entry bookkeeping counted against the budget, besides the key and value bytes.
const OVERHEAD: usize = 96;

pub(crate) struct ValueCache {
    shards: Vec<Mutex<Shard>>,
    /// One keyed hasher for shard choice and every shard's map (foldhash: the writer
    /// thread hashes each written key here, where SipHash showed up in profiles).
    hasher: RandomState,
    shard_budget: usize,
    /// Values larger than this are never cached (one huge value must not flush the rest).
    max_entry: usize,
}

struct Shard {
    /// Each entry with the stamp of its slot in `order`.
    map: HashMap<Key, (Entry, u64), RandomState>,
    /// Insertion order for FIFO eviction. A slot whose stamp is not its key's current one
    /// (the key was removed, or removed and inserted again) is stale and skipped; an
    /// overwrite keeps the key's slot, so a hot key never piles up slots.
    order: VecDeque<(Key, u64)>,
    next_stamp: u64,
    bytes: usize,
    generation: u64,
}

impl Shard {
    fn new(hasher: RandomState) -> Self {
        Shard {
            map: HashMap::with_hasher(hasher),
            order: VecDeque::new(),
            next_stamp: 0,
            bytes: 0,
            generation: 0,
        }
    }

    fn is_current(&self, key: &Key, stamp: u64) -> bool {
        self.map.get(key).is_some_and(|(_, s)| *s == stamp)
    }

    fn remove(&mut self, key: &Key) {
        if let Some((old, _)) = self.map.remove(key) {
            self.bytes -= cost(key, &old);
        }
    }
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
        let hasher = RandomState::default();
        ValueCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard::new(hasher.clone())))
                .collect(),
            hasher,
            shard_budget,
            max_entry: shard_budget / 4,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.shard_budget > 0
    }

    fn shard_of(&self, key: &Key) -> usize {
        // The map hashes with the same hasher; the high bits pick the shard, so keys in a
        // shard still differ in the bits its map uses.
        ((self.hasher.hash_one(key) >> 32) as usize) % SHARDS
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
        self.lock(self.shard_of(key))
            .map
            .get(key)
            .map(|(entry, _)| entry.clone())
    }

    pub(crate) fn head(&self, key: &Key) -> Option<Meta> {
        if !self.enabled() {
            return None;
        }
        self.lock(self.shard_of(key))
            .map
            .get(key)
            .map(|(entry, _)| entry.meta.clone())
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
        match entry {
            Some(entry) if entry.value.len() <= self.max_entry => {
                self.insert_locked(&mut shard, entry)
            }
            _ => shard.remove(key),
        }
    }

    fn insert_locked(&self, shard: &mut Shard, entry: Entry) {
        let key = entry.meta.key.clone();
        shard.bytes += cost(&key, &entry);
        if let Some((slot, _)) = shard.map.get_mut(&key) {
            let old = std::mem::replace(slot, entry);
            shard.bytes -= cost(&key, &old);
        } else {
            let stamp = shard.next_stamp;
            shard.next_stamp += 1;
            shard.map.insert(key.clone(), (entry, stamp));
            shard.order.push_back((key, stamp));
        }
        while shard.bytes > self.shard_budget {
            let Some((victim, stamp)) = shard.order.pop_front() else {
                break;
            };
            if shard.is_current(&victim, stamp) {
                shard.remove(&victim);
            }
        }
        // Removed keys leave stale slots; drop them before they outnumber the live ones.
        if shard.order.len() > 2 * shard.map.len() + 64 {
            let Shard { map, order, .. } = shard;
            order.retain(|(k, s)| map.get(k).is_some_and(|(_, current)| current == s));
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
    fn overwriting_a_hot_key_keeps_one_slot() {
        let cache = ValueCache::new(1 << 20);
        let k = Key::new("hot").unwrap();
        for version in 0..10_000 {
            cache.written(&k, Some(entry("hot", b"v", version)));
        }
        let shard = cache.lock(cache.shard_of(&k));
        assert_eq!(shard.map.len(), 1);
        assert_eq!(
            shard.order.len(),
            1,
            "an overwrite must not add an eviction slot"
        );
        assert_eq!(shard.bytes, cost(&k, &shard.map[&k].0));
    }

    #[test]
    fn removed_and_reinserted_keys_leave_no_stale_slots_behind() {
        let cache = ValueCache::new(1 << 20);
        let k = Key::new("k").unwrap();
        for version in 0..10_000 {
            cache.written(&k, Some(entry("k", b"v", version)));
            cache.written(&k, None);
        }
        cache.written(&k, Some(entry("k", b"v", 1)));
        let shard = cache.lock(cache.shard_of(&k));
        assert!(shard.order.len() <= 2 * shard.map.len() + 64);
        assert_eq!(shard.map.len(), 1);
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let cache = ValueCache::new(0);
        let e = entry("k", b"v", 1);
        cache.written(&e.meta.key, Some(e.clone()));
        assert!(cache.get(&e.meta.key).is_none());
    }
}
