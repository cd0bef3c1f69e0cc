//! `RedbStore`: the redb engine's public handle.

use store_core::Result;

use super::{RedbConfig, open_blocking};
use crate::open::Settings;
use crate::store::{EmbeddedStore, embedded_handle};

/// A Strata store in one redb database file. See the [crate docs](crate) for the design.
///
/// Clones (and other opens of the same file in this process) share one database, one writer
/// thread and one value cache. The file is closed when the last handle (or `list` stream)
/// is dropped; that drop waits for the writer to finish the writes already queued. Every
/// [`Store`](store_core::Store) method is the shared embedded store's (this type
/// forwards, as a [`Layer`](store_core::Layer) does).
#[derive(Clone)]
pub struct RedbStore {
    inner: EmbeddedStore,
}

impl RedbStore {
    /// Open the database `config` names, creating it (atomically, see the crate docs) if it
    /// is missing, unless [`RedbConfig::create`] is `Some(false)`: then a missing file is
    /// `NotFound`. A second open of the same file in this process shares the first;
    /// another process gets a `Locked` error.
    pub async fn open(config: RedbConfig) -> Result<RedbStore> {
        let inner =
            EmbeddedStore::open("open the redb store", move || open_blocking(config)).await?;
        Ok(RedbStore { inner })
    }

    /// The settings this database was opened with (path made canonical).
    pub fn config(&self) -> &RedbConfig {
        match &self.inner.shared.settings {
            Settings::Redb(config) => config,
            #[cfg(feature = "lmdb")]
            Settings::Lmdb(_) => unreachable!("a RedbStore holds a redb database"),
        }
    }

    /// Reclaim free space by compacting the file; `Ok(true)` if it shrank or could shrink
    /// further. Runs on the writer thread between write groups, once the reads in flight
    /// have finished.
    pub async fn compact(&self) -> Result<bool> {
        self.inner.compact().await
    }

    /// Whether this process has `path` open as a redb store.
    pub fn is_open(path: impl AsRef<std::path::Path>) -> bool {
        super::is_open(path.as_ref())
    }
}

embedded_handle!(RedbStore, "database file");
