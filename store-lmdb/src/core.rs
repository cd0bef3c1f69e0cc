//! `Core`: what the writer thread and the readers of one open database share.

use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use store_core::{Error, ErrorKind, Result};

use crate::cache::ValueCache;
use crate::config::RedbDurability;
use crate::engine::{self, Engine, ReadRows};
use crate::errors::no_panic;
use crate::reads::MissQueue;

/// The database, the value cache and the counters of one open store.
pub(crate) struct Core {
    /// `None` once the store is closed. A read holds the read lock for its transaction
    /// (short: one point read, one batch of misses or one list chunk); `compact` takes
    /// the write lock.
    pub engine: RwLock<Option<Box<dyn Engine>>>,
    /// The engine's name, as errors and URIs spell it: `redb` or `lmdb`.
    pub name: &'static str,
    pub cache: ValueCache,
    /// Point reads that missed the cache, waiting for the blocking pool.
    pub misses: MissQueue,
    /// The canonical path of the database (redb: its file; LMDB: its directory).
    pub path: PathBuf,
    pub durability: RedbDurability,
    pub commits: AtomicU64,
    pub writes: AtomicU64,
}

impl Core {
    /// Run `f` in a fresh read transaction: it sees every write acknowledged before this call.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn ReadRows) -> Result<T>) -> Result<T> {
        let engine = self.engine.read().unwrap_or_else(|p| p.into_inner());
        let engine = engine.as_deref().ok_or_else(|| self.closed())?;
        no_panic(
            || engine::read(engine, f),
            |panic| self.damaged("reading", panic),
        )
    }

    /// Run `f` with the open engine.
    pub(crate) fn with_engine<T>(&self, f: impl FnOnce(&dyn Engine) -> Result<T>) -> Result<T> {
        let engine = self.engine.read().unwrap_or_else(|p| p.into_inner());
        f(engine.as_deref().ok_or_else(|| self.closed())?)
    }

    pub(crate) fn closed(&self) -> Error {
        Error::closed(format!(
            "the {} store `{}` is closed",
            self.name,
            self.path.display()
        ))
    }

    /// `Corrupted` for a panic inside the engine while doing `what` with no particular key.
    pub(crate) fn damaged(&self, what: &str, panic: &str) -> Error {
        Error::new(
            ErrorKind::Corrupted,
            format!(
                "the {} database `{}` is damaged: {} failed an internal check while it was \
                 {what} ({panic})",
                self.name,
                self.path.display(),
                self.name
            ),
        )
    }

    /// `Corrupted` for a panic inside the engine while doing `what` with the key `key`.
    pub(crate) fn damaged_at(&self, key: impl std::fmt::Display, what: &str, panic: &str) -> Error {
        self.damaged(what, panic).with_key(key)
    }
}
