//! The LMDB engine's configuration, from a config map or an `lmdb:` URI.

use std::path::PathBuf;

use serde::Deserialize;
use store_core::{ConfigMap, Result, StoreUri};

use crate::config::RedbDurability;
use crate::config::{embedded_config, local_path_config};

/// What an acknowledged LMDB write survives: the same two settings as redb's.
pub type LmdbDurability = RedbDurability;

/// The default [`LmdbConfig::map_size`]: 1 TiB of address space. LMDB maps the whole
/// environment and refuses to grow past the map; reserving address space costs nothing
/// on a 64-bit system (the file grows only as data is written).
pub const DEFAULT_MAP_SIZE: u64 = 1 << 40;

/// `{"type": "lmdb", "path": "/dir", "durability": "immediate", "map_size": N, "value_cache_size": N, "create": true}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmdbConfig {
    /// The environment's directory (LMDB keeps `data.mdb` and `lock.mdb` in it; Strata adds
    /// `strata.lock`). If it is missing and [`create`](Self::create) allows, it is created,
    /// with its parent directories.
    pub path: PathBuf,
    /// `"immediate"` (the default: every commit is fsynced) or `"none"` (LMDB's
    /// `MDB_NOSYNC`: commits reach the OS, not the disk, until `flush`).
    #[serde(default)]
    pub durability: LmdbDurability,
    /// The memory map's size in bytes, the most the environment can hold
    /// ([`DEFAULT_MAP_SIZE`] if unset). A write past it fails with `Unsupported` naming
    /// the setting; reopen with a larger one (the file keeps its data).
    #[serde(default)]
    pub map_size: Option<u64>,
    /// The value cache that serves hot reads inline, in bytes
    /// ([`DEFAULT_VALUE_CACHE_SIZE`](crate::DEFAULT_VALUE_CACHE_SIZE) if unset; 0 disables it).
    #[serde(default)]
    pub value_cache_size: Option<u64>,
    /// Whether a missing environment (and its directories) may be created. Unset, a direct
    /// [`LmdbStore::open`](crate::LmdbStore::open) creates, and the registry follows
    /// [`Registry::creates_missing`](store_core::Registry::creates_missing). With `false`, a
    /// missing one fails with `NotFound` naming the path, and nothing is created.
    #[serde(default)]
    pub create: Option<bool>,
}

impl LmdbConfig {
    /// A config with default settings for the environment in the directory `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LmdbConfig {
            path: path.into(),
            durability: LmdbDurability::default(),
            map_size: None,
            value_cache_size: None,
            create: None,
        }
    }

    /// Set the memory map's size in bytes.
    pub fn map_size(mut self, bytes: u64) -> Self {
        self.map_size = Some(bytes);
        self
    }

    /// The map size in effect.
    pub(crate) fn map_bytes(&self) -> u64 {
        self.map_size.unwrap_or(DEFAULT_MAP_SIZE)
    }

    /// The settings, as shown when a second open of the same directory disagrees.
    pub(crate) fn describe(&self) -> String {
        format!(
            "durability = {}, map_size = {}, value_cache_size = {}",
            self.durability.as_str(),
            self.map_bytes(),
            self.value_cache_size
                .map_or_else(|| "default".to_owned(), |n| n.to_string()),
        )
    }
}

embedded_config!(LmdbConfig, "environment");

/// The config map of `lmdb:///abs/dir[?durability=none&map_size=N&value_cache_size=N&create=false]`.
pub(crate) fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    let base = local_path_config(uri, "environment directory", "lmdb:///absolute/path/dir")?;
    uri.config::<LmdbConfig>(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::{ErrorKind, parse_config};

    fn uri(s: &str) -> Result<ConfigMap> {
        config_from_uri(&StoreUri::new(&url::Url::parse(s).unwrap(), &[]))
    }

    #[test]
    fn uri_becomes_config() {
        let map = uri("lmdb:///data/my%20env?durability=none&map_size=1048576").unwrap();
        let config: LmdbConfig = parse_config(&map).unwrap();
        assert_eq!(config.path, PathBuf::from("/data/my env"));
        assert_eq!(config.durability, LmdbDurability::None);
        assert_eq!(config.map_size, Some(1 << 20));
        assert_eq!(config.create, None);
    }

    #[test]
    fn bad_uris_are_named() {
        for (s, needle) in [
            ("lmdb://host/x", "local environment directory"),
            ("lmdb:///", "missing the environment directory path"),
            ("lmdb:///x?cache_size=1", "field `cache_size`"),
            ("lmdb:///x?map_size=big", "field `map_size`"),
            ("lmdb:///x?durability=sometimes", "field `durability`"),
        ] {
            let err = uri(s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
    }
}
