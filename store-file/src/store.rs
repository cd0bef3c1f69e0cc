//! `FileStore`: the async face of the engine.

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, ErrorKind, Key, ListOptions, Meta,
    PutMode, Result, Store, async_trait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::engine::Engine;
use crate::fs::{Fs, RealFs};
use crate::layout::LOCK_FILE;
use crate::list::Walker;

/// How many per-key lock stripes a store has. Keys hash onto stripes; two keys sharing a
/// stripe only serialize their writes.
const STRIPES: usize = 1024;
/// How long opening waits for a held root lock before reporting `Locked`. A lock is also
/// held, briefly, by a process forked (to run a command) from one that had the store
/// open, until it execs; waiting a little rides that out.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
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
    /// lock (`ErrorKind::Locked` if another store holds it) and remove temp files left
    /// by a crash.
    pub async fn open(path: impl AsRef<Path>, sync: SyncMode) -> Result<FileStore> {
        let root = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || FileStore::open_blocking(root, sync))
            .await
            .map_err(|e| Error::backend("opening the file store", e))?
    }

    fn open_blocking(root: PathBuf, sync: SyncMode) -> Result<FileStore> {
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating the root `{}`", root.display()), e))?;
        let root = root
            .canonicalize()
            .map_err(|e| Error::io(format!("resolving the root `{}`", root.display()), e))?;
        let lock_path = root.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| {
                Error::io(
                    format!("opening the lock file `{}`", lock_path.display()),
                    e,
                )
            })?;
        match try_lock_for(&lock, LOCK_WAIT) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "the file store at `{}` is locked: another store (in this or another process) has it open",
                        root.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking `{}`", lock_path.display()), e));
            }
        }
        if sync != SyncMode::Never {
            // The root may have just been created: make its entry (and the lock file's)
            // durable, or power loss could take the whole store with it.
            for dir in [Some(root.as_path()), root.parent()].into_iter().flatten() {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(format!("syncing `{}`", dir.display()), e))?;
            }
        }
        let engine = Engine::new(RealFs, root.clone(), sync).holding(lock);
        engine
            .recover()
            .map_err(|e| Error::io(format!("recovering `{}`", root.display()), e))?;
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

/// Try to take `file`'s exclusive lock, retrying for up to `wait`.
fn try_lock_for(file: &File, wait: std::time::Duration) -> Result<(), TryLockError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
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
}

/// Stream a walker's entries, reading `LIST_CHUNK` at a time on the blocking pool.
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
            Ok((walker, Ok(batch))) if !batch.is_empty() => {
                let next = yielded + batch.len();
                let state = (batch.len() == want).then_some((walker, next));
                Some((batch.into_iter().map(Ok).collect::<Vec<_>>(), state))
            }
            Ok((_, Ok(_))) => None,
            Ok((_, Err(e))) => Some((vec![Err(e)], None)),
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
