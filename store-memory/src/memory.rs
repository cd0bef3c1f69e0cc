//! `MemoryStore`: the reference implementation of the contract.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Key, ListOptions, Meta, PutMode, PutOp,
    Result, Store, Version, async_trait,
};

/// How many entries one `list` step copies out under the read lock.
const LIST_CHUNK: usize = 256;

/// A concurrent, ordered in-memory store.
///
/// Every operation holds a lock only for the duration of a map access (never across an
/// `await`); `list` copies out runs of 256 of metadata and releases the lock
/// between them, so long listings neither clone the map nor block writers. Conditional
/// puts, `put_many` and `delete_many` are atomic. Versions are drawn from one counter and
/// so strictly increase. Nothing survives the process.
///
/// Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    map: RwLock<BTreeMap<Key, Record>>,
    clock: AtomicU64,
}

#[derive(Clone)]
struct Record {
    value: Bytes,
    version: u64,
    modified: SystemTime,
}

impl Record {
    fn meta(&self, key: &Key) -> Meta {
        Meta {
            key: key.clone(),
            size: self.value.len() as u64,
            version: Version::from_u64(self.version),
            last_modified: self.modified,
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.inner.read().len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    // A panic while holding the lock cannot leave the map half-updated (every mutation
    // is a single insert or remove after all checks), so a poisoned lock is still usable.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Key, Record>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Key, Record>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    fn next_version(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn list_chunk(&self, options: &ListOptions, after: Option<&Key>, max: usize) -> Vec<Meta> {
        let map = self.read();
        // Start at whichever is later: just after `after`, or the first key with the prefix.
        let prefix = options.prefix.as_str();
        let lower = match after {
            Some(key) if key.as_str() >= prefix => Bound::Excluded(key.as_str()),
            _ => Bound::Included(prefix),
        };
        map.range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| options.prefix.matches(key.as_str()))
            .take(max)
            .map(|(key, record)| record.meta(key))
            .collect()
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: Durability::None,
            atomic_batches: true,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: None,
            may_evict: false,
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let map = self.inner.read();
        Ok(map.get(key).map(|r| Entry {
            value: r.value.clone(),
            meta: r.meta(key),
        }))
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        Ok(self.inner.read().get(key).map(|r| r.meta(key)))
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let mut map = self.inner.write();
        mode.check_counter(key, map.get(key).map(|r| r.version))?;
        let record = Record {
            value,
            version: self.inner.next_version(),
            modified: SystemTime::now(),
        };
        let meta = record.meta(key);
        map.insert(key.clone(), record);
        Ok(meta)
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner.write().remove(key);
        Ok(())
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let inner = self.inner.clone();
        let limit = options.limit.unwrap_or(usize::MAX);
        let state = (inner, options, 0usize, false);
        stream::unfold(
            state,
            move |(inner, mut options, yielded, done)| async move {
                if done || yielded >= limit {
                    return None;
                }
                let want = LIST_CHUNK.min(limit - yielded);
                let chunk = inner.list_chunk(&options, options.start_after.as_ref(), want);
                let finished = chunk.len() < want;
                if let Some(last) = chunk.last() {
                    options.start_after = Some(last.key.clone());
                }
                let yielded = yielded + chunk.len();
                Some((
                    stream::iter(chunk.into_iter().map(Ok)),
                    (inner, options, yielded, finished),
                ))
            },
        )
        .flatten()
        .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let map = self.inner.read();
        Ok(keys
            .iter()
            .map(|key| {
                map.get(key).map(|r| Entry {
                    value: r.value.clone(),
                    meta: r.meta(key),
                })
            })
            .collect())
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let mut map = self.inner.write();
        // Check every condition first, seeing earlier writes of the same batch, so that a
        // failure leaves the map untouched.
        let mut pending: HashMap<&Key, u64> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let current = pending
                .get(&op.key)
                .copied()
                .or_else(|| map.get(&op.key).map(|r| r.version));
            op.mode.check_counter(&op.key, current)?;
            // Placeholder versions, distinct per op, only for checks within the batch.
            pending.insert(&op.key, u64::MAX - i as u64);
        }
        let now = SystemTime::now();
        let mut metas = Vec::with_capacity(ops.len());
        for op in ops {
            let record = Record {
                value: op.value,
                version: self.inner.next_version(),
                modified: now,
            };
            metas.push(record.meta(&op.key));
            map.insert(op.key, record);
        }
        Ok(metas)
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let mut map = self.inner.write();
        for key in keys {
            map.remove(key);
        }
        Ok(())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .finish()
    }
}
