//! `EmbeddedStore`: the `Store` implementation every engine shares. The public types
//! (`RedbStore`, `LmdbStore`) forward to it (`store_core::Layer`) and add what only their
//! engine has (its config, compaction).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, Key, ListOptions, Meta, PutMode,
    PutOp, Result, Store, async_trait, clamp_range, slice_entry,
};
use tokio::sync::oneshot;

use crate::codec::MAX_VALUE_SIZE;
use crate::config::RedbDurability;
use crate::core::Core;
use crate::lookup::{Reader, list_chunk};
use crate::open::Shared;
use crate::writer::{Request, writer_gone};

/// How many entries one `list` step reads, each step in its own read transaction.
pub const LIST_CHUNK: usize = 512;

/// A Strata store in one embedded database, of any engine. See the [crate docs](crate).
///
/// Clones (and other opens of the same path in this process) share one database, one
/// writer thread and one value cache. The database is closed when the last handle (or
/// `list` stream) is dropped; that drop waits for the writer to finish the writes already
/// queued.
#[derive(Clone)]
pub(crate) struct EmbeddedStore {
    pub(crate) shared: Arc<Shared>,
}

/// Counters of the writer thread since the database was opened in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Write transactions committed (one per group).
    pub commits: u64,
    /// Puts and deletes acknowledged.
    pub writes: u64,
}

/// While this guard lives, the writer thread takes no new requests: writes queue up and
/// then commit together. For tests and maintenance; dropping it resumes writing.
#[must_use = "writes resume as soon as the hold is dropped"]
pub struct WriteHold {
    // Dropped first: disconnecting it releases the writer.
    _release: std::sync::mpsc::Sender<()>,
    _store: Arc<Shared>,
}

impl EmbeddedStore {
    /// Open with `open` (an engine's blocking open) on the blocking pool.
    pub(crate) async fn open(
        what: &'static str,
        open: impl FnOnce() -> Result<Arc<Shared>> + Send + 'static,
    ) -> Result<EmbeddedStore> {
        let shared = tokio::task::spawn_blocking(open)
            .await
            .map_err(|e| Error::backend(what, e))??;
        Ok(EmbeddedStore { shared })
    }

    /// The canonical path of the database.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.core().path
    }

    /// Reclaim free space by compacting the file; `Ok(true)` if it shrank or could shrink
    /// further. Runs on the writer thread between write groups. Fails with a retryable
    /// `Unavailable` if reads keep transactions open for more than a few seconds.
    // Only redb compacts in place (the trait's default refuses).
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) async fn compact(&self) -> Result<bool> {
        let (reply, done) = oneshot::channel();
        self.send(Request::Compact { reply }).await?;
        done.await.map_err(|_| writer_gone(self.core()))?
    }

    /// Stop the writer between groups until the returned guard is dropped.
    pub(crate) async fn hold_writes(&self) -> Result<WriteHold> {
        let (held, is_held) = oneshot::channel();
        let (release, wait) = std::sync::mpsc::channel();
        self.send(Request::Hold {
            held,
            release: wait,
        })
        .await?;
        is_held.await.map_err(|_| writer_gone(self.core()))?;
        Ok(WriteHold {
            _release: release,
            _store: self.shared.clone(),
        })
    }

    /// How many writes are waiting for the writer.
    pub(crate) fn queued(&self) -> usize {
        self.shared
            .tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// Counters of group commit since the file was opened in this process.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.core().commits.load(Ordering::Relaxed),
            writes: self.core().writes.load(Ordering::Relaxed),
        }
    }

    fn core(&self) -> &Arc<Core> {
        &self.shared.core
    }

    async fn send(&self, request: Request) -> Result<()> {
        let tx = self
            .shared
            .tx
            .as_ref()
            .ok_or_else(|| writer_gone(self.core()))?;
        // Cancel-safe: if this future is dropped before the send completes, nothing was
        // queued; once queued, the writer owns the request.
        tx.send(request).await.map_err(|_| writer_gone(self.core()))
    }

    async fn write(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        for op in &ops {
            if op.value.len() as u64 > MAX_VALUE_SIZE {
                return Err(Error::unsupported(format!(
                    "a {}-byte value exceeds the limit of {MAX_VALUE_SIZE} bytes",
                    op.value.len()
                ))
                .with_key(&op.key));
            }
        }
        let (reply, done) = oneshot::channel();
        self.send(Request::Put { ops, reply }).await?;
        done.await.map_err(|_| writer_gone(self.core()))?
    }

    async fn delete_keys(&self, keys: Vec<Key>) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.send(Request::Delete { keys, reply }).await?;
        done.await.map_err(|_| writer_gone(self.core()))?
    }

    /// Run `read` on tokio's blocking pool (never on a runtime worker: it may hit the disk).
    async fn blocking<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Core) -> Result<T> + Send + 'static,
    {
        let core = self.core().clone();
        tokio::task::spawn_blocking(move || read(&core))
            .await
            .map_err(|e| Error::backend("a read task failed", e))?
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: match self.core().durability {
                RedbDurability::Immediate => Durability::PowerLoss,
                RedbDurability::None => Durability::None,
            },
            atomic_batches: true,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: Some(MAX_VALUE_SIZE),
            may_evict: false,
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let cache = &self.core().cache;
        if let Some(entry) = cache.get(key) {
            return Ok(Some(entry));
        }
        crate::reads::get_missed(self.core(), key.clone()).await
    }

    /// A cached value is sliced. Otherwise one read transaction checks the whole row's
    /// checksum (the row is in memory, so that is cheap) and copies out only the range;
    /// the value cache, which holds whole values, is not filled.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, 0)?;
        if let Some(entry) = self.core().cache.get(key) {
            return slice_entry(entry, &range).map(Some);
        }
        let key = key.clone();
        self.blocking(move |core| core.read(|rows| Reader::new(core, rows).range(&key, range)))
            .await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        if let Some(meta) = self.core().cache.head(key) {
            return Ok(Some(meta));
        }
        let key = key.clone();
        self.blocking(move |core| core.read(|rows| Reader::new(core, rows).meta(&key)))
            .await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let op = PutOp::new(key.clone(), value, mode);
        let mut metas = self.write(vec![op]).await?;
        metas
            .pop()
            .ok_or_else(|| Error::backend("put", "the writer acknowledged nothing"))
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.delete_keys(vec![key.clone()]).await
    }

    /// A damaged row is yielded as `Corrupted` naming its key and the listing goes on; a
    /// failure that leaves no next key to resume from (the engine failing on a damaged
    /// page) ends it.
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let store = self.clone();
        let limit = options.limit.unwrap_or(usize::MAX);
        let after = options.start_after.as_ref().map(|k| k.as_str().to_owned());
        let options = Arc::new(options);
        let state = (store, after, 0usize, false);
        stream::unfold(state, move |(store, after, yielded, done)| {
            let options = options.clone();
            async move {
                if done || yielded >= limit {
                    return None;
                }
                let want = LIST_CHUNK.min(limit - yielded);
                let from = after.clone();
                let chunk = store
                    .blocking(move |core| Ok(list_chunk(core, &options, from.as_deref(), want)))
                    .await;
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => return Some((stream::iter(vec![Err(e)]), (store, after, 0, true))),
                };
                let yielded = yielded + chunk.items.len();
                let after = chunk.last.or(after);
                Some((
                    stream::iter(chunk.items),
                    (store, after, yielded, chunk.end),
                ))
            }
        })
        .flatten()
        .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let cache = &self.core().cache;
        let mut out: Vec<Option<Entry>> = Vec::with_capacity(keys.len());
        let mut misses = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let hit = cache.get(key);
            if hit.is_none() {
                misses.push((i, cache.ticket(key)));
            }
            out.push(hit);
        }
        if misses.is_empty() {
            return Ok(out);
        }
        // One blocking task and one read transaction for every miss.
        let wanted: Vec<Key> = misses.iter().map(|(i, _)| keys[*i].clone()).collect();
        let found = self
            .blocking(move |core| {
                let found = core.read(|rows| {
                    let reader = Reader::new(core, rows);
                    wanted.iter().map(|key| reader.entry(key)).collect()
                })?;
                let found: Vec<Option<Entry>> = found;
                for ((_, ticket), entry) in misses.iter().zip(&found) {
                    if let Some(entry) = entry {
                        core.cache.fill(*ticket, entry);
                    }
                }
                Ok((misses, found))
            })
            .await?;
        let (misses, found) = found;
        for ((i, _), entry) in misses.into_iter().zip(found) {
            out[i] = entry;
        }
        Ok(out)
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        self.write(ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.delete_keys(keys.to_vec()).await
    }

    /// `redb:///canonical/path/file.redb` or `lmdb:///canonical/dir` (percent-encoded as a
    /// file URL's path).
    fn locations(&self) -> Vec<String> {
        let path = &self.core().path;
        let encoded = url::Url::from_file_path(path)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|()| path.to_string_lossy().into_owned());
        vec![format!("{}://{encoded}", self.core().name)]
    }

    async fn flush(&self) -> Result<()> {
        // With immediate durability every acknowledged write is already fsynced.
        if self.core().durability == RedbDurability::Immediate {
            return Ok(());
        }
        let (reply, done) = oneshot::channel();
        self.send(Request::Flush { reply }).await?;
        done.await.map_err(|_| writer_gone(self.core()))?
    }
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(self.core().name)
            .field("path", &self.core().path)
            .field("durability", &self.core().durability)
            .finish()
    }
}

/// What every engine's public handle (a struct with an `inner: EmbeddedStore` field and a
/// `config()` method) shares: `path`, `hold_writes`, `queued`, `stats`, the [`Store`]
/// methods (forwarded, as a `store_core::Layer`) and `Debug`. `$what` names the path
/// ("database file", "environment directory").
macro_rules! embedded_handle {
    ($handle:ident, $what:literal) => {
        impl $handle {
            #[doc = concat!("The canonical path of the ", $what, ".")]
            pub fn path(&self) -> &std::path::Path {
                self.inner.path()
            }

            /// Stop the writer between groups until the returned guard is dropped.
            pub async fn hold_writes(&self) -> store_core::Result<$crate::WriteHold> {
                self.inner.hold_writes().await
            }

            /// How many writes are waiting for the writer.
            pub fn queued(&self) -> usize {
                self.inner.queued()
            }

            #[doc = concat!("Counters of group commit since the ", $what, " was opened in this process.")]
            pub fn stats(&self) -> $crate::WriterStats {
                self.inner.stats()
            }
        }

        impl store_core::Layer for $handle {
            fn inner(&self) -> &dyn store_core::Store {
                &self.inner
            }
        }

        impl std::fmt::Debug for $handle {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($handle))
                    .field("path", &self.path())
                    .field("durability", &self.config().durability)
                    .finish()
            }
        }
    };
}
pub(crate) use embedded_handle;
