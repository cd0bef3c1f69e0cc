//! `LmdbStore`: the LMDB engine's public handle.

use store_core::Result;

use super::{LmdbConfig, open_blocking};
use crate::open::Settings;
use crate::store::{EmbeddedStore, embedded_handle};

/// A Strata store in one LMDB environment (a directory). See the [crate docs](crate).
///
/// Clones (and other opens of the same directory in this process) share one environment,
/// one writer thread and one value cache. The environment is closed when the last handle
/// (or `list` stream) is dropped; that drop waits for the writer to finish the writes
/// already queued. Every [`Store`](store_core::Store) method is the shared embedded
/// store's (this type forwards, as a [`Layer`](store_core::Layer) does).
#[derive(Clone)]
pub struct LmdbStore {
    inner: EmbeddedStore,
}

impl LmdbStore {
    /// Open the environment `config` names, creating it (and its directory) if it is
    /// missing, unless [`LmdbConfig::create`] is `Some(false)`: then a missing one is
    /// `NotFound`. A second open of the same directory in this process shares the first;
    /// another process gets a `Locked` error.
    pub async fn open(config: LmdbConfig) -> Result<LmdbStore> {
        let inner =
            EmbeddedStore::open("open the LMDB store", move || open_blocking(config)).await?;
        Ok(LmdbStore { inner })
    }

    /// The settings this database was opened with (path made canonical).
    pub fn config(&self) -> &LmdbConfig {
        match &self.inner.shared.settings {
            Settings::Lmdb(config) => config,
            #[cfg(feature = "redb")]
            Settings::Redb(_) => unreachable!("an LmdbStore holds an LMDB environment"),
        }
    }

    /// Whether this process has the directory `path` open as an LMDB store.
    pub fn is_open(path: impl AsRef<std::path::Path>) -> bool {
        super::is_open(path.as_ref())
    }
}

embedded_handle!(LmdbStore, "environment directory");
