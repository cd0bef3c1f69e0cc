//! Opening and closing, for every engine: one database per path per process.
//!
//! redb's file lock and LMDB's lock file keep other *processes* from writing behind our
//! back (LMDB's through a lock of ours, see `lmdb/mod.rs`), but neither excludes a second
//! handle in the same process: two redb handles writing one file would corrupt it, and
//! LMDB forbids opening one environment twice in a process. So every open goes through a
//! process-wide map of canonical path → weak handle: a second open of the same path shares
//! the first one's database (and fails clearly if it asks for different settings). The
//! last handle closes the database while holding the map's lock, so a concurrent reopen
//! never overlaps it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex, RwLock, Weak};

use store_core::{Error, ErrorKind, Result};
use tokio::sync::mpsc;

use crate::cache::ValueCache;
use crate::config::{DEFAULT_VALUE_CACHE_SIZE, RedbDurability};
use crate::core::Core;
use crate::engine::Engine;
use crate::errors::no_panic;
#[cfg(feature = "lmdb")]
use crate::lmdb::LmdbConfig;
use crate::reads::MissQueue;
#[cfg(feature = "redb")]
use crate::redb::RedbConfig;
use crate::writer::{CHANNEL_CAPACITY, Request, Writer};

static OPEN: LazyLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = LazyLock::new(Mutex::default);

/// The settings a database was opened with (path made canonical), per engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Settings {
    #[cfg(feature = "redb")]
    Redb(RedbConfig),
    #[cfg(feature = "lmdb")]
    Lmdb(LmdbConfig),
}

impl Settings {
    /// The settings a second open must repeat to share the database: everything but the
    /// path's spelling and whether a missing database may be created.
    fn shareable(&self) -> Settings {
        let mut s = self.clone();
        match &mut s {
            #[cfg(feature = "redb")]
            Settings::Redb(c) => {
                c.path = PathBuf::new();
                c.create = None;
            }
            #[cfg(feature = "lmdb")]
            Settings::Lmdb(c) => {
                c.path = PathBuf::new();
                c.create = None;
            }
        }
        s
    }

    fn describe(&self) -> String {
        match self {
            #[cfg(feature = "redb")]
            Settings::Redb(c) => format!("redb: {}", c.describe()),
            #[cfg(feature = "lmdb")]
            Settings::Lmdb(c) => format!("lmdb: {}", c.describe()),
        }
    }
}

/// One open database, shared by every handle on its path in this process.
pub(crate) struct Shared {
    pub core: Arc<Core>,
    pub settings: Settings,
    pub tx: Option<mpsc::Sender<Request>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Open (or share) the `name` database at the canonical `path`; `open` opens the engine
/// and returns it with its version counter. Blocking: call it off the runtime.
pub(crate) fn open_shared(
    name: &'static str,
    path: PathBuf,
    settings: Settings,
    durability: RedbDurability,
    value_cache_size: Option<u64>,
    open: impl FnOnce() -> Result<(Box<dyn Engine>, u64)>,
) -> Result<Arc<Shared>> {
    let mut registry = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(shared) = registry.get(&path).and_then(Weak::upgrade) {
        if settings.shareable() != shared.settings.shareable() {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "`{}` is already open in this process with other settings ({}); \
                     open it with the same settings to share it",
                    path.display(),
                    shared.settings.describe()
                ),
            ));
        }
        return Ok(shared);
    }
    // A damaged file can make the engine panic while it opens (or repairs) it, or while
    // the format is checked: that is `Corrupted`, naming the file.
    let (engine, counter) = no_panic(open, |panic| {
        Error::new(
            ErrorKind::Corrupted,
            format!(
                "the {name} database `{}` is damaged: {name} failed an internal check while \
                 it was opening it ({panic})",
                path.display()
            ),
        )
    })?;
    let core = Arc::new(Core {
        engine: RwLock::new(Some(engine)),
        name,
        cache: ValueCache::new(value_cache_size.unwrap_or(DEFAULT_VALUE_CACHE_SIZE)),
        misses: MissQueue::default(),
        path: path.clone(),
        durability,
        commits: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    });
    let writer = Writer::new(core.clone(), counter);
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let handle = std::thread::Builder::new()
        .name(format!("strata-{name}-writer"))
        .spawn(move || writer.run(rx))
        .map_err(|e| Error::io(format!("start the {name} writer thread"), e))?;
    let shared = Arc::new(Shared {
        core,
        settings,
        tx: Some(tx),
        writer: Some(handle),
    });
    registry.insert(path, Arc::downgrade(&shared));
    Ok(shared)
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing waits for the writer (queued writes, and a durable commit with
        // `durability = "none"`). On a multi-threaded tokio worker, tell the runtime first,
        // so its other tasks move to another thread instead of stalling behind the fsync.
        // (`block_in_place` is not allowed on a current-thread runtime; there the wait
        // stays inline.)
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(|| self.close());
        } else {
            self.close();
        }
    }
}

impl Shared {
    fn close(&mut self) {
        let mut registry = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        // Closing the channel ends the writer once it has served what is queued.
        self.tx.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        // Close the database now, under the map's lock, rather than when the last
        // in-flight reader lets go of `core`.
        let engine = self
            .core
            .engine
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // An engine's drop may write (a damaged file can make that panic); this runs in
        // `Drop`, where a panic would abort the process.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(engine)));
        if registry
            .get(&self.core.path)
            .is_some_and(|weak| weak.strong_count() == 0)
        {
            registry.remove(&self.core.path);
        }
    }
}

/// Whether this process has the canonical `path` open (for tests of sharing and closing).
pub(crate) fn is_open(path: &Path) -> bool {
    OPEN.lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(path)
        .is_some_and(|w| w.strong_count() > 0)
}
