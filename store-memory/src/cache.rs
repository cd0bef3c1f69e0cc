//! `CacheStore`: a bounded in-memory store that evicts (moka, weighed by bytes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use moka::notification::RemovalCause;
use moka::sync::Cache;
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Key, ListOptions, Meta, PutMode, Result,
    Store, Version, async_trait,
};

/// Bytes charged per entry on top of its key and value, for the map's own bookkeeping, so
/// that many tiny entries still count against `max_bytes`.
pub const ENTRY_OVERHEAD: u64 = 64;

/// Writes take one of these locks (by key hash), so conditional puts are atomic without
/// serialising writes to different keys. Reads take none.
const WRITE_STRIPES: usize = 64;

/// A bounded, concurrent in-memory store that evicts entries to stay under `max_bytes`.
///
/// Built on [`moka`]'s cache with its default TinyLFU admission and LRU eviction: each
/// entry weighs its key and value bytes plus [`ENTRY_OVERHEAD`]. An entry may disappear at
/// any time without a delete (so [`Capabilities::may_evict`] is set), and a value heavier
/// than the whole capacity is never retained. Conditional puts are atomic (judged against
/// what the cache holds now: an evicted key is absent). `list` sorts a snapshot of the
/// keys, so it costs O(n log n) per call: the cache is meant as a frontend, not a database.
/// Nothing survives the process.
///
/// Clones share the same data.
#[derive(Clone)]
pub struct CacheStore {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache<Key, Record>,
    stripes: Vec<Mutex<()>>,
    clock: AtomicU64,
    evictions: Arc<AtomicU64>,
    max_bytes: u64,
}

#[derive(Clone)]
struct Record {
    value: Bytes,
    /// The version callers see: the cache's own counter, or one a wrapper chose.
    shown: Version,
    modified: SystemTime,
    /// What a wrapper attached to this write (see [`CacheStore::insert_tagged`]).
    tag: Option<Tag>,
}

/// What a wrapper attaches to one cached write, handed back by [`CacheStore::get_tagged`]:
/// flag bits of its own and an optional second version (a tiered store keeps its backend's
/// version here). Held inline, so a hit on an entry whose tag has no version copies a
/// word rather than touching a shared reference count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    /// The wrapper's flags; the cache never reads them.
    pub flags: u32,
    /// A version the wrapper keeps beside the shown one.
    pub version: Option<Version>,
}

impl Record {
    /// The record as an entry, moving its parts rather than cloning them.
    #[inline]
    fn into_entry(self, key: &Key) -> Entry {
        Entry {
            meta: Meta {
                key: key.clone(),
                size: self.value.len() as u64,
                version: self.shown,
                last_modified: self.modified,
            },
            value: self.value,
        }
    }

    fn meta(&self, key: &Key) -> Meta {
        Meta {
            key: key.clone(),
            size: self.value.len() as u64,
            version: self.shown.clone(),
            last_modified: self.modified,
        }
    }
}

fn weigh(key: &Key, record: &Record) -> u32 {
    let bytes = key.as_str().len() as u64 + record.value.len() as u64 + ENTRY_OVERHEAD;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl CacheStore {
    /// An empty cache holding at most about `max_bytes` of keys and values.
    pub fn new(max_bytes: u64) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counter = evictions.clone();
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .eviction_listener(move |_key, _value, cause| {
                // Replacements and explicit deletes are not evictions.
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        CacheStore {
            inner: Arc::new(Inner {
                cache,
                stripes: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
                clock: AtomicU64::new(0),
                evictions,
                max_bytes,
            }),
        }
    }

    /// Cache `value` under `key` with a version and time the caller chose and a tag of its
    /// own, replacing what was there. For wrappers that keep their own versions (a tiered
    /// store shows its backend's): the `Store` view then reports that version, and
    /// [`CacheStore::get_tagged`] returns the tag without any decoding.
    pub fn insert_tagged(
        &self,
        key: &Key,
        value: Bytes,
        version: Version,
        modified: SystemTime,
        tag: Tag,
    ) {
        let _guard = self.inner.stripe(key);
        let record = Record {
            value,
            shown: version,
            modified,
            tag: Some(tag),
        };
        self.inner.cache.insert(key.clone(), record);
    }

    /// Replace the tag of the entry under `key` if its version is still `version`
    /// (atomically with respect to every other write); returns whether it did. For a
    /// wrapper recording something learnt about a write after the fact.
    pub fn retag_if(&self, key: &Key, version: &Version, tag: Tag) -> bool {
        let _guard = self.inner.stripe(key);
        match self.inner.cache.get(key) {
            Some(record) if &record.shown == version => {
                let record = Record {
                    tag: Some(tag),
                    ..record
                };
                self.inner.cache.insert(key.clone(), record);
                true
            }
            _ => false,
        }
    }

    /// The entry under `key` and the tag it was inserted with (if any).
    #[inline]
    pub fn get_tagged(&self, key: &Key) -> Option<(Entry, Option<Tag>)> {
        self.inner.cache.get(key).map(|mut r| {
            let tag = r.tag.take();
            (r.into_entry(key), tag)
        })
    }

    /// The entry under `key` and the flags of the tag it was inserted with (if any): for
    /// a wrapper's hit path, which needs no more of the tag than its flags.
    #[inline]
    pub fn get_flagged(&self, key: &Key) -> Option<(Entry, Option<u32>)> {
        let record = self.inner.cache.get(key)?;
        let flags = record.tag.as_ref().map(|tag| tag.flags);
        Some((record.into_entry(key), flags))
    }

    /// The capacity in bytes this cache was built with.
    pub fn max_bytes(&self) -> u64 {
        self.inner.max_bytes
    }

    /// How many entries were evicted to respect the capacity so far.
    pub fn evictions(&self) -> u64 {
        self.inner.evictions.load(Ordering::Relaxed)
    }

    /// A shared handle on the eviction counter, for wrappers that report it.
    pub fn eviction_counter(&self) -> Arc<AtomicU64> {
        self.inner.evictions.clone()
    }

    /// The bytes currently charged (after pending maintenance runs).
    pub fn weighted_bytes(&self) -> u64 {
        self.inner.cache.run_pending_tasks();
        self.inner.cache.weighted_size()
    }

    /// How many entries the cache holds (after pending maintenance runs).
    pub fn len(&self) -> u64 {
        self.inner.cache.run_pending_tasks();
        self.inner.cache.entry_count()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn stripe(&self, key: &Key) -> MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        // A fixed-key hasher: every thread must pick the same stripe for a key.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.as_str().hash(&mut hasher);
        let hash = hasher.finish();
        // The guarded data is `()`: a panic elsewhere cannot leave it inconsistent.
        self.stripes[hash as usize % WRITE_STRIPES]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot(&self, options: &ListOptions) -> Vec<Meta> {
        let mut metas: Vec<Meta> = self
            .cache
            .iter()
            .filter(|(key, _)| options.admits(key))
            .map(|(key, record)| record.meta(&key))
            .collect();
        metas.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        if let Some(limit) = options.limit {
            metas.truncate(limit);
        }
        metas
    }
}

#[async_trait]
impl Store for CacheStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: Durability::None,
            atomic_batches: false,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: None,
            may_evict: true,
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        Ok(self.inner.cache.get(key).map(|r| r.into_entry(key)))
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        Ok(self.inner.cache.get(key).map(|r| r.meta(key)))
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let _guard = self.inner.stripe(key);
        if mode != PutMode::Overwrite {
            let current = self.inner.cache.get(key).map(|r| r.shown);
            mode.check(key, current.as_ref())?;
        }
        // Versions come from one counter, so a key re-inserted after an eviction
        // never repeats an old version.
        let version = self.inner.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let record = Record {
            value,
            shown: Version::from_u64(version),
            modified: SystemTime::now(),
            tag: None,
        };
        let meta = record.meta(key);
        self.inner.cache.insert(key.clone(), record);
        Ok(meta)
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let _guard = self.inner.stripe(key);
        self.inner.cache.invalidate(key);
        Ok(())
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let metas = self.inner.snapshot(&options);
        stream::iter(metas.into_iter().map(Ok)).boxed()
    }
}

impl std::fmt::Debug for CacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheStore")
            .field("max_bytes", &self.inner.max_bytes)
            .field("entries", &self.inner.cache.entry_count())
            .finish()
    }
}
