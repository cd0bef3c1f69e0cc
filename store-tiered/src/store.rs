//! `TieredStore`: the `Store` implementation that puts the policies together.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::stream::BoxStream;
use store_core::{
    Capabilities, ConditionalPuts, Entry, Error, Key, ListOptions, Meta, PutMode, Result, Store,
    async_trait,
};
use store_memory::CacheStore;
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;

use crate::config::{ReadPolicy, TieredOptions, Warm, WritePolicy};
use crate::envelope::{Envelope, MAX_HEADER};
use crate::front::Front;
use crate::queue::{Op, Queue};
use crate::shared::{Fast, Lookup, Shared, put_op};
use crate::stats::{Counters, TieredStats};
use crate::{drain, list, recover, warm};

mod range;

/// A fast frontend store in front of a durable backend store, itself a [`Store`].
///
/// See the [crate docs](crate) for the policies and what each guarantees.
#[derive(Debug)]
pub struct TieredStore {
    shared: Arc<Shared>,
    warming: AsyncMutex<Option<JoinHandle<Result<u64>>>>,
}

impl TieredStore {
    /// Compose `frontend` over `backend`. Under write-behind with a durable frontend, writes
    /// journaled by an earlier process are queued again before this returns; warm-up (if
    /// any) starts in the background (see [`TieredStore::warmed`]).
    ///
    /// Must be called within a tokio runtime (it starts the write-behind drainer).
    pub async fn open(
        frontend: Arc<dyn Store>,
        backend: Arc<dyn Store>,
        options: TieredOptions,
    ) -> Result<Self> {
        Self::open_inner(frontend, None, backend, options).await
    }

    /// Like [`TieredStore::open`] with a [`CacheStore`] frontend: hits read the cache
    /// directly (no metadata built, no boxed future), and [`TieredStats::evictions`]
    /// reports the cache's evictions. The usual memory-over-disk setup.
    pub async fn open_cached(
        cache: CacheStore,
        backend: Arc<dyn Store>,
        options: TieredOptions,
    ) -> Result<Self> {
        Self::open_inner(Arc::new(cache.clone()), Some(cache), backend, options).await
    }

    async fn open_inner(
        frontend: Arc<dyn Store>,
        cache: Option<CacheStore>,
        backend: Arc<dyn Store>,
        options: TieredOptions,
    ) -> Result<Self> {
        refuse_shared_locations(frontend.as_ref(), backend.as_ref())?;
        if options.write_policy == WritePolicy::WriteBehind
            && frontend.capabilities().conditional_puts == ConditionalPuts::Unsupported
        {
            return Err(Error::invalid_config(
                "write_policy",
                "write-behind needs a frontend with conditional puts (to mark journaled writes done)",
            ));
        }
        let queue = (options.write_policy == WritePolicy::WriteBehind)
            .then(|| Queue::new(options.queue_capacity));
        let counters = Counters {
            evictions: cache.as_ref().map(CacheStore::eviction_counter),
            ..Counters::default()
        };
        let warm_mode = options.warm;
        let front = Front::new(frontend, cache);
        let shared = Arc::new(Shared::new(front, backend, options, counters, queue));
        if shared.queue.is_some() {
            // The drainer first: requeued writes may exceed the queue's capacity.
            let work = shared
                .queue
                .as_ref()
                .map(|q| q.work.clone())
                .unwrap_or_default();
            tokio::spawn(drain::run(Arc::downgrade(&shared), work));
            recover::requeue_journal(&shared).await?;
        }
        let warming = (warm_mode != Warm::None).then(|| tokio::spawn(warm::run(shared.clone())));
        Ok(TieredStore {
            shared,
            warming: AsyncMutex::new(warming),
        })
    }

    /// The counters: hits, misses, fills, single-flight joins, evictions, queue depth,
    /// drained writes and errors.
    pub fn stats(&self) -> TieredStats {
        let depth = self.shared.queue.as_ref().map_or(0, Queue::depth);
        self.shared.counters.snapshot(depth as u64)
    }

    /// The options this store runs with.
    pub fn options(&self) -> &TieredOptions {
        &self.shared.options
    }

    /// Wait for warm-up to finish; returns how many entries it copied into the frontend
    /// (0 when warm-up is off or was already awaited).
    pub async fn warmed(&self) -> Result<u64> {
        let handle = self.warming.lock().await.take();
        match handle {
            None => Ok(0),
            Some(handle) => handle
                .await
                .map_err(|e| Error::backend("warm-up task", e))?,
        }
    }

    fn frontend_only_reads(&self) -> bool {
        self.shared.options.read_policy == ReadPolicy::FrontendOnly
            || self.shared.options.write_policy == WritePolicy::FrontendOnly
    }

    /// The hit path of a cache frontend without revalidation: synchronous, and called
    /// from `get` and `head` directly rather than through a shared async fn, because each
    /// nested future moves the ~100-byte answer once more (see BENCHMARKS.md for what
    /// each step saved).
    /// The rest lives in its own boxed future, so the future `async_trait` boxes for
    /// every read stays small (its size is that of its largest path).
    #[inline(always)]
    fn hit_now(&self, key: &Key) -> Option<Option<Entry>> {
        let hit = self.shared.cached_hit(key)?;
        Counters::bump(&self.shared.counters.hits);
        Some(hit)
    }

    async fn read_general(&self, key: &Key, want_value: bool) -> Result<Option<Entry>> {
        let shared = &self.shared;
        if let Lookup::Hit(envelope) = shared.lookup(key).await?
            && (self.frontend_only_reads() || shared.still_current(&envelope, key).await?)
        {
            Counters::bump(&shared.counters.hits);
            return Ok((!envelope.tombstone).then(|| envelope.entry(key)));
        }
        self.read_miss(key, want_value).await
    }

    async fn read_miss(&self, key: &Key, want_value: bool) -> Result<Option<Entry>> {
        let shared = &self.shared;
        if self.frontend_only_reads() {
            Counters::bump(&shared.counters.misses);
            return Ok(shared.pending(key).flatten());
        }
        Counters::bump(&shared.counters.misses);
        let (_guard, waited) = shared.locks.lock(key).await;
        if waited
            && let Lookup::Hit(envelope) = shared.lookup(key).await?
            && shared.still_current(&envelope, key).await?
        {
            // Someone filled it while we waited: single-flight.
            Counters::bump(&shared.counters.joins);
            return Ok((!envelope.tombstone).then(|| envelope.entry(key)));
        }
        shared.read_through(key, want_value).await
    }

    async fn put_frontend_only(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let shared = &self.shared;
        // An overwrite does not depend on what is there (so it also replaces a damaged
        // record); the other modes need the current version.
        let current = match mode {
            PutMode::Overwrite => None,
            _ => match shared.lookup(key).await? {
                Lookup::Hit(envelope) if !envelope.tombstone => Some(envelope.shown),
                _ => None,
            },
        };
        mode.check(key, current.as_ref())?;
        let envelope = shared.new_write(value);
        shared.front.write(key, &envelope).await?;
        Ok(envelope.meta(key))
    }

    /// A write-behind overwrite: journal it in the frontend, queue it, acknowledge.
    async fn put_behind_overwrite(&self, key: &Key, envelope: Envelope) -> Result<Meta> {
        let (op, meta) = put_op(key, envelope.clone());
        self.shared.write_behind(key, op, envelope).await?;
        Ok(meta)
    }

    /// A conditional write-behind put (overwrites take `put_behind_overwrite`).
    async fn put_write_behind(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let shared = &self.shared;
        // Conditional: the backend decides, after this key's earlier writes reach it.
        shared.drain_key(key).await?;
        let mode = match mode {
            PutMode::Update(expected) => {
                PutMode::Update(shared.backend_version(key, &expected).await?)
            }
            other => other,
        };
        self.put_through(key, value, mode).await
    }

    async fn put_through(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let shared = &self.shared;
        let meta = shared.backend.put(key, value.clone(), mode).await?;
        if shared.options.write_policy == WritePolicy::WriteAround {
            shared.invalidate_frontend(key).await;
        } else {
            let entry = Entry {
                value,
                meta: meta.clone(),
            };
            shared
                .store_frontend(key, &Envelope::from_backend(entry))
                .await;
        }
        Ok(meta)
    }
}

/// Tiers that keep data in the same place would overwrite each other's entries (the
/// backend would then serve the frontend's envelopes as values): refuse them.
fn refuse_shared_locations(frontend: &dyn Store, backend: &dyn Store) -> Result<()> {
    let (front, back) = (frontend.locations(), backend.locations());
    for f in &front {
        if let Some(b) = back.iter().find(|b| store_core::locations_overlap(f, b)) {
            return Err(Error::invalid_config(
                "backend",
                format!(
                    "the frontend and the backend share data: the frontend keeps it at \
                     `{f}` and the backend at `{b}`; give each tier its own place"
                ),
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl Store for TieredStore {
    fn capabilities(&self) -> Capabilities {
        let front = self.shared.front.store.capabilities();
        let back = self.shared.backend.capabilities();
        let max_value_size = match (
            front.max_value_size.map(|m| m.saturating_sub(MAX_HEADER)),
            back.max_value_size,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (durability, conditional_puts, may_evict) = match self.shared.options.write_policy {
            WritePolicy::WriteThrough | WritePolicy::WriteAround => {
                (back.durability, back.conditional_puts, back.may_evict)
            }
            // Acknowledged once journaled in the frontend; it survives what the frontend
            // survives, then what the backend does once drained.
            WritePolicy::WriteBehind => (
                front.durability.min(back.durability),
                back.conditional_puts,
                back.may_evict,
            ),
            WritePolicy::FrontendOnly => (
                front.durability,
                ConditionalPuts::InProcess,
                front.may_evict,
            ),
        };
        Capabilities {
            durability,
            atomic_batches: false,
            conditional_puts,
            max_value_size,
            may_evict,
            // Batches are not forwarded as batches: `put_many`/`delete_many` are the
            // default loops of single-key ops, so no tier's batch limit applies.
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        // Not a `match`: its scrutinee would live across the await below, and the boxed
        // future would carry room for a whole entry (120 bytes instead of 32).
        if let Some(hit) = self.hit_now(key) {
            return Ok(hit);
        }
        Box::pin(self.read_general(key, true)).await
    }

    /// From the tier that holds the key; a miss reads only the range from the backend and
    /// fills nothing (see `store/range.rs`).
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        Box::pin(self.read_range(key, range)).await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        if let Some(hit) = self.hit_now(key) {
            return Ok(hit.map(|entry| entry.meta));
        }
        Ok(Box::pin(self.read_general(key, false))
            .await?
            .map(|entry| entry.meta))
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let (_guard, _) = self.shared.locks.lock(key).await;
        let policy = self.shared.options.write_policy;
        if policy == WritePolicy::WriteBehind && mode == PutMode::Overwrite {
            // The hot path: with a cache frontend it completes without suspending, and
            // everything else is boxed so this future stays small.
            let envelope = self.shared.new_write(value);
            return match self.shared.write_behind_now(key, envelope) {
                Fast::Done(meta) => Ok(meta),
                Fast::Queue(op, record, meta) => {
                    // `Fast::Queue` only comes from a store that has a queue.
                    if let Some(queue) = &self.shared.queue {
                        Box::pin(queue.push(key, op, record)).await;
                    }
                    Ok(meta)
                }
                Fast::No(envelope) => Box::pin(self.put_behind_overwrite(key, envelope)).await,
            };
        }
        match policy {
            WritePolicy::FrontendOnly => Box::pin(self.put_frontend_only(key, value, mode)).await,
            WritePolicy::WriteBehind => Box::pin(self.put_write_behind(key, value, mode)).await,
            WritePolicy::WriteThrough | WritePolicy::WriteAround => {
                Box::pin(self.put_through(key, value, mode)).await
            }
        }
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let shared = &self.shared;
        let (_guard, _) = shared.locks.lock(key).await;
        match shared.options.write_policy {
            WritePolicy::FrontendOnly => shared.front.delete(key).await,
            WritePolicy::WriteBehind => {
                let tombstone = Envelope::tombstone(shared.next_version());
                shared.write_behind(key, Op::Delete, tombstone).await
            }
            WritePolicy::WriteThrough | WritePolicy::WriteAround => {
                shared.backend.delete(key).await?;
                shared.invalidate_frontend(key).await;
                Ok(())
            }
        }
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        list::list(self.shared.clone(), options)
    }

    /// Both tiers' locations, so a stack that nests this store is checked too.
    fn locations(&self) -> Vec<String> {
        let mut all = self.shared.front.store.locations();
        for b in self.shared.backend.locations() {
            if !all.contains(&b) {
                all.push(b);
            }
        }
        all
    }

    /// Under write-behind, waits until every write acknowledged before the call is in the
    /// backend (or returns the error that keeps one out), then flushes both tiers.
    async fn flush(&self) -> Result<()> {
        let shared = &self.shared;
        if let Some(queue) = &shared.queue {
            let mark = queue.mark();
            loop {
                let changed = queue.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if queue.flushed(&mark)? {
                    break;
                }
                changed.await;
            }
        }
        if shared.options.write_policy != WritePolicy::FrontendOnly {
            shared.backend.flush().await?;
        }
        shared.front.store.flush().await
    }
}

impl Drop for TieredStore {
    fn drop(&mut self) {
        // The drainer finishes what is queued, then stops.
        self.shared.closed.store(true, Ordering::Release);
        if let Some(queue) = &self.shared.queue {
            queue.work.notify_one();
        }
    }
}
