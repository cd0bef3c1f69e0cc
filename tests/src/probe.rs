//! `ProbeStore`: a test wrapper that counts calls, injects failures and damage, and adds
//! latency.
//!
//! Wrappers such as the tiered store promise things about the calls they make to the
//! stores they wrap (one backend read per miss storm, none per hit) and about how they
//! behave when one fails; this is how the tests observe and provoke that. The benchmarks
//! use its latency to stand in for a store that is far away.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::{
    Capabilities, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Result, Store,
    async_trait,
};

/// Counts of calls a [`ProbeStore`] received, by operation.
#[derive(Debug, Default)]
pub struct Calls {
    /// `get` calls.
    pub get: AtomicU64,
    /// `head` calls.
    pub head: AtomicU64,
    /// `put` calls.
    pub put: AtomicU64,
    /// `delete` calls.
    pub delete: AtomicU64,
    /// `list` calls.
    pub list: AtomicU64,
    /// `get_range` calls.
    pub get_range: AtomicU64,
    /// `get_many` calls (one per batch).
    pub get_many: AtomicU64,
    /// `put_many` calls (one per batch).
    pub put_many: AtomicU64,
    /// `delete_many` calls (one per batch).
    pub delete_many: AtomicU64,
    /// `flush` calls.
    pub flush: AtomicU64,
}

impl Calls {
    /// Every call so far.
    pub fn total(&self) -> u64 {
        [
            &self.get,
            &self.head,
            &self.put,
            &self.delete,
            &self.list,
            &self.get_range,
            &self.get_many,
            &self.put_many,
            &self.delete_many,
            &self.flush,
        ]
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .sum()
    }
}

/// Wraps a store; counts calls, and fails or delays them on demand.
///
/// A [`Layer`]: every call, batches included, reaches the wrapped store as the same call
/// (a `put_many` stays one atomic `put_many` where the wrapped store's is atomic), after
/// the probe has counted, delayed, failed or damaged it.
#[derive(Debug)]
pub struct ProbeStore {
    inner: Arc<dyn Store>,
    /// What was called.
    pub calls: Calls,
    fail_reads: AtomicBool,
    fail_writes: AtomicBool,
    latency_micros: AtomicU64,
    declared: Mutex<Option<Capabilities>>,
    damaged: Arc<Mutex<BTreeSet<Key>>>,
    damaged_values: Mutex<BTreeSet<Key>>,
}

impl ProbeStore {
    /// A probe around `inner` that neither fails nor delays.
    pub fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(ProbeStore {
            inner,
            calls: Calls::default(),
            fail_reads: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
            latency_micros: AtomicU64::new(0),
            declared: Mutex::new(None),
            damaged: Arc::default(),
            damaged_values: Mutex::default(),
        })
    }

    /// Report `capabilities` instead of the wrapped store's (say, to stand in for a
    /// durable store with a memory one in an in-process crash test).
    pub fn declare(&self, capabilities: Capabilities) {
        *self.declared.lock().unwrap_or_else(|p| p.into_inner()) = Some(capabilities);
    }

    /// Report `key` as damaged, as a store whose checksum caught a bit flip does: `get`
    /// (alone, ranged or in a batch) and `head` fail with `Corrupted` naming the key, and `list` yields that error in
    /// the key's place and goes on (the list contract).
    pub fn damage(&self, key: &Key) {
        self.damaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
    }

    /// Report only the *value* of `key` as damaged: `get` (alone, ranged or in a batch) fails with `Corrupted` naming
    /// the key, while `head` and `list` still see it (as with a store that checks value
    /// checksums on full reads only).
    pub fn damage_value(&self, key: &Key) {
        self.damaged_values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
    }

    fn check_damage(&self, key: &Key) -> Result<()> {
        is_damaged(&self.damaged, key)
    }

    /// What a read of `key`'s value meets: damage to the entry or to its value alone.
    fn check_value(&self, key: &Key) -> Result<()> {
        self.check_damage(key)?;
        is_damaged(&self.damaged_values, key)
    }

    /// Make every read (`get`, `get_range`, `head`, `list`, `get_many`) fail (a retryable
    /// `Unavailable`) until turned off.
    pub fn fail_reads(&self, fail: bool) {
        self.fail_reads.store(fail, Ordering::SeqCst);
    }

    /// Make every write (`put`, `delete`, `put_many`, `delete_many`) fail (a retryable
    /// `Unavailable`) until turned off. `flush` still reaches the wrapped store.
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Both of the above: the store is down.
    pub fn set_down(&self, down: bool) {
        self.fail_reads(down);
        self.fail_writes(down);
    }

    /// Delay every call by `latency` (a store that far away).
    pub fn set_latency(&self, latency: Duration) {
        self.latency_micros
            .store(latency.as_micros() as u64, Ordering::SeqCst);
    }

    async fn enter(&self, counter: &AtomicU64, write: bool) -> Result<()> {
        counter.fetch_add(1, Ordering::SeqCst);
        let micros = self.latency_micros.load(Ordering::SeqCst);
        if micros > 0 {
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        let failing = if write {
            &self.fail_writes
        } else {
            &self.fail_reads
        };
        if failing.load(Ordering::SeqCst) {
            return Err(Error::unavailable("probe: injected failure"));
        }
        Ok(())
    }
}

fn is_damaged(damaged: &Mutex<BTreeSet<Key>>, key: &Key) -> Result<()> {
    if damaged
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(key)
    {
        return Err(Error::corrupted(key, "probe: injected damage"));
    }
    Ok(())
}

#[async_trait]
impl Layer for ProbeStore {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    fn capabilities(&self) -> Capabilities {
        let declared = *self.declared.lock().unwrap_or_else(|p| p.into_inner());
        declared.unwrap_or_else(|| self.inner.capabilities())
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.enter(&self.calls.get, false).await?;
        self.check_value(key)?;
        self.inner.get(key).await
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        self.enter(&self.calls.get_range, false).await?;
        self.check_value(key)?;
        self.inner.get_range(key, range).await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.enter(&self.calls.head, false).await?;
        self.check_damage(key)?;
        self.inner.head(key).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.enter(&self.calls.put, true).await?;
        self.inner.put(key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.enter(&self.calls.delete, true).await?;
        self.inner.delete(key).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.calls.list.fetch_add(1, Ordering::SeqCst);
        if self.fail_reads.load(Ordering::SeqCst) {
            let error = Error::unavailable("probe: injected failure");
            return futures::stream::once(async move { Err(error) }).boxed();
        }
        let damaged = self.damaged.clone();
        self.inner
            .list(options)
            .map(move |item| match item {
                Ok(meta) => is_damaged(&damaged, &meta.key).map(|()| meta),
                Err(e) => Err(e),
            })
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        self.enter(&self.calls.get_many, false).await?;
        for key in keys {
            self.check_value(key)?;
        }
        self.inner.get_many(keys).await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.enter(&self.calls.put_many, true).await?;
        self.inner.put_many(ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.enter(&self.calls.delete_many, true).await?;
        self.inner.delete_many(keys).await
    }

    /// Counted and forwarded, never delayed or failed: a down store shows in the writes a
    /// flush waits for, which is what the tiered tests provoke, not in `flush` itself.
    async fn flush(&self) -> Result<()> {
        self.calls.flush.fetch_add(1, Ordering::SeqCst);
        self.inner.flush().await
    }
}
