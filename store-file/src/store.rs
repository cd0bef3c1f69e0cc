//! `FileStore`: the async face of the engine.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, Key, ListOptions, Meta, PutMode,
    Result, Store, async_trait, clamp_range, slice_entry,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::engine::Engine;
use crate::fs::{Fs, RealFs};
use crate::list::Walker;
use crate::root;

/// How many per-key lock stripes a store has. Keys hash onto stripes; two keys sharing a
/// stripe only serialize their writes.
const STRIPES: usize = 1024;
/// How many entries one listing step reads on the blocking pool.
const LIST_CHUNK: usize = 256;

/// When a write is made durable; see the crate docs for what each setting survives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// fsync the value and its directory before acknowledging each put (the default).
    #[default]
    Always,
    /// Like `always`, but concurrent puts share directory fsyncs (group commit).
    Batch,
    /// Never fsync: an acknowledged put survives a process crash, not power loss.
    Never,
}

impl SyncMode {
    /// The setting's name in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Always => "always",
            SyncMode::Batch => "batch",
            SyncMode::Never => "never",
        }
    }
}

/// A durable store keeping one checksummed file per key under a root directory.
///
/// Open it with [`FileStore::open`] (or through the registry as
/// `{"type": "file", "path": …}`). Clones share the same root and lock.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine<RealFs>>,
    stripes: Vec<Arc<Mutex<()>>>,
    hasher: RandomState,
}

impl FileStore {
    /// Open (creating if needed) the store rooted at `path`: take the root's exclusive
    /// lock (`ErrorKind::Locked` if another store holds it). A root inside another file
    /// store's root, or around one open in this process, is refused with
    /// `ErrorKind::InvalidConfig` naming both. Opening reads no directory.
    pub async fn open(path: impl AsRef<Path>, sync: SyncMode) -> Result<FileStore> {
        FileStore::open_with(path.as_ref().to_path_buf(), sync, true).await
    }

    /// Open the store rooted at `path` only if there is one, creating nothing: a missing
    /// directory, or one without the store's `~lock` file, is `ErrorKind::NotFound`
    /// naming the path. For tools that only read, so a mistyped path is not made a store.
    pub async fn open_existing(path: impl AsRef<Path>, sync: SyncMode) -> Result<FileStore> {
        FileStore::open_with(path.as_ref().to_path_buf(), sync, false).await
    }

    async fn open_with(root: PathBuf, sync: SyncMode, create: bool) -> Result<FileStore> {
        tokio::task::spawn_blocking(move || FileStore::open_blocking(&root, sync, create))
            .await
            .map_err(|e| Error::backend("opening the file store", e))?
    }

    fn open_blocking(path: &Path, sync: SyncMode, create: bool) -> Result<FileStore> {
        let (root, lock) = root::open(path, create, sync != SyncMode::Never)?;
        let engine = Engine::new(RealFs, root, sync).holding(lock);
        engine
            .sync_root()
            .map_err(|e| Error::io(format!("syncing `{}`", engine.root.display()), e))?;
        Ok(FileStore {
            inner: Arc::new(Inner {
                engine: Arc::new(engine),
                stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
                hasher: RandomState::new(),
            }),
        })
    }

    /// The root directory (absolute).
    pub fn root(&self) -> &Path {
        &self.inner.engine.root
    }

    /// The durability setting.
    pub fn sync_mode(&self) -> SyncMode {
        self.inner.engine.sync
    }

    /// The key's write lock, owned so it can move into the blocking task: if the put's
    /// future is dropped, the lock is held until the blocking write really ends.
    async fn lock_key(&self, key: &Key) -> OwnedMutexGuard<()> {
        let stripe = self.inner.hasher.hash_one(key.as_str()) as usize % STRIPES;
        self.inner.stripes[stripe].clone().lock_owned().await
    }

    /// Run `f` on the engine on tokio's blocking pool.
    async fn blocking<T, G>(&self, f: G) -> Result<T>
    where
        T: Send + 'static,
        G: FnOnce(&Engine<RealFs>) -> Result<T> + Send + 'static,
    {
        let engine = self.inner.engine.clone();
        run_blocking(move || f(&engine)).await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend("a file store task failed", e))?
}

#[async_trait]
impl Store for FileStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: match self.inner.engine.sync {
                SyncMode::Always | SyncMode::Batch => Durability::PowerLoss,
                SyncMode::Never => Durability::ProcessCrash,
            },
            atomic_batches: false,
            conditional_puts: ConditionalPuts::InProcess,
            max_value_size: None,
            may_evict: false,
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        // In the page cache: answered here, without the blocking pool (see `nowait.rs`).
        if let Some(answer) = self.inner.engine.get_nowait(key) {
            return answer;
        }
        let key = key.clone();
        self.blocking(move |engine| engine.get(&key)).await
    }

    /// Reads the header and only the range (see `range.rs` for what that verifies), except
    /// for a small file already in the page cache: that is read whole, without the
    /// blocking pool, and verified as `get` verifies it.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, 0)?;
        if let Some(answer) = self.inner.engine.get_nowait(key) {
            return answer?.map(|entry| slice_entry(entry, &range)).transpose();
        }
        let key = key.clone();
        self.blocking(move |engine| engine.get_range(&key, range))
            .await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        if let Some(answer) = self.inner.engine.head_nowait(key) {
            return answer;
        }
        let key = key.clone();
        self.blocking(move |engine| engine.head(&key)).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let guard = self.lock_key(key).await;
        let key = key.clone();
        self.blocking(move |engine| {
            let _guard = guard;
            engine.put(&key, &value, &mode)
        })
        .await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let guard = self.lock_key(key).await;
        let key = key.clone();
        self.blocking(move |engine| {
            let _guard = guard;
            engine.delete(&key)
        })
        .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let limit = options.limit.unwrap_or(usize::MAX);
        let walker = Walker::new(self.inner.engine.clone(), options);
        list_stream(walker, limit)
    }

    async fn flush(&self) -> Result<()> {
        // `always` and `batch` acknowledge only after the fsyncs; `never` promises only
        // process-crash survival, which every acknowledged write already has.
        Ok(())
    }

    fn locations(&self) -> Vec<String> {
        // The root is absolute, so it always has a URL (`file:///…/`, percent-encoded).
        url::Url::from_directory_path(self.root())
            .map(|url| vec![url.to_string()])
            .unwrap_or_default()
    }
}

/// Stream a walker's entries, reading `LIST_CHUNK` at a time on the blocking pool. A
/// damaged entry is an `Err` among them; the walker ends after any other error.
pub(crate) fn list_stream<F: Fs>(
    walker: Walker<F>,
    limit: usize,
) -> BoxStream<'static, Result<Meta>> {
    stream::unfold(Some((walker, 0usize)), move |state| async move {
        let (mut walker, yielded) = state?;
        if yielded >= limit {
            return None;
        }
        let want = LIST_CHUNK.min(limit - yielded);
        let step = tokio::task::spawn_blocking(move || {
            let batch = walker.next_batch(want);
            (walker, batch)
        })
        .await;
        match step {
            Ok((walker, batch)) if !batch.is_empty() => {
                let next = yielded + batch.iter().filter(|item| item.is_ok()).count();
                let state = (batch.len() == want && !walker.is_done()).then_some((walker, next));
                Some((batch, state))
            }
            Ok(_) => None,
            Err(e) => Some((
                vec![Err(Error::backend("a file store task failed", e))],
                None,
            )),
        }
    })
    .flat_map(stream::iter)
    .boxed()
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("root", &self.inner.engine.root)
            .field("sync", &self.inner.engine.sync)
            .field("locked", &self.inner.engine.is_locked())
            .finish()
    }
}
