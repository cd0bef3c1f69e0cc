//! Opening and closing: one database per file per process.
//!
//! redb's file lock keeps other *processes* out, but its byte-range locks do not exclude a
//! second handle in the same process, and two handles writing one file would corrupt it. So
//! every open goes through a process-wide map of canonical path → weak handle: a second
//! open of the same file shares the first one's database (and fails clearly if it asks for
//! different settings). The last handle closes the database while holding the map's lock,
//! so a concurrent reopen never overlaps it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex, RwLock, Weak};

use store_core::{Error, ErrorKind, Result};
use tokio::sync::mpsc;

use crate::cache::ValueCache;
use crate::config::{DEFAULT_VALUE_CACHE_SIZE, RedbConfig};
use crate::create::{open_database, resolve};
use crate::errors::{damaged, no_panic};
use crate::reads::MissQueue;
use crate::schema::prepare;
use crate::writer::{CHANNEL_CAPACITY, Core, Request, Writer};

static OPEN: LazyLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = LazyLock::new(Mutex::default);

/// One open database, shared by every handle on its file in this process.
pub(crate) struct Shared {
    pub core: Arc<Core>,
    pub config: RedbConfig,
    pub tx: Option<mpsc::Sender<Request>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Open (or share) the database `config` names. Blocking: call it off the runtime.
pub(crate) fn open_blocking(config: RedbConfig) -> Result<Arc<Shared>> {
    let path = resolve(&config.path, config.creates())?;
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(shared) = open.get(&path).and_then(Weak::upgrade) {
        let mut wanted = config.clone();
        wanted.path.clone_from(&shared.config.path);
        // Whether a missing file may be created does not matter once it is open.
        wanted.create = shared.config.create;
        if wanted != shared.config {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "`{}` is already open in this process with other settings ({}); \
                     open it with the same settings to share it",
                    path.display(),
                    shared.config.describe()
                ),
            ));
        }
        return Ok(shared);
    }
    let mut builder = redb::Database::builder();
    if let Some(bytes) = config.cache_size {
        builder.set_cache_size(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    // A damaged file can make redb panic while it opens (or repairs) it, or while the
    // format is checked: that is `Corrupted`, naming the file.
    let (db, counter) = no_panic(
        || {
            let db = open_database(&builder, &path, config.creates())?;
            let counter = prepare(&db, &path)?;
            Ok((db, counter))
        },
        |panic| damaged(&path, "opening it", panic),
    )?;
    let core = Arc::new(Core {
        db: RwLock::new(Some(db)),
        cache: ValueCache::new(config.value_cache_size.unwrap_or(DEFAULT_VALUE_CACHE_SIZE)),
        misses: MissQueue::default(),
        path: path.clone(),
        durability: config.durability,
        commits: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    });
    let writer = Writer::new(core.clone(), counter);
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let handle = std::thread::Builder::new()
        .name("strata-redb-writer".into())
        .spawn(move || writer.run(rx))
        .map_err(|e| Error::io("start the redb writer thread", e))?;
    let mut config = config;
    config.path.clone_from(&path);
    let shared = Arc::new(Shared {
        core,
        config,
        tx: Some(tx),
        writer: Some(handle),
    });
    open.insert(path, Arc::downgrade(&shared));
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
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        // Closing the channel ends the writer once it has served what is queued.
        self.tx.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        // Close the file now, under the map's lock, rather than when the last in-flight
        // reader lets go of `core`.
        let db = self
            .core
            .db
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // redb's drop may write (a damaged file can make that panic); this runs in `Drop`,
        // where a panic would abort the process.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(db)));
        if open
            .get(&self.core.path)
            .is_some_and(|weak| weak.strong_count() == 0)
        {
            open.remove(&self.core.path);
        }
    }
}

/// Whether this process has the file open (for tests of sharing and closing).
pub(crate) fn is_open(path: &Path) -> bool {
    resolve(path, false).is_ok_and(|p| {
        OPEN.lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&p)
            .is_some_and(|w| w.strong_count() > 0)
    })
}
