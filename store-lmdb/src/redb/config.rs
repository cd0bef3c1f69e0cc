//! The store's configuration, from a config map or a `redb:` URI.

use std::path::PathBuf;

use serde::Deserialize;
use store_core::{ConfigMap, Result, StoreUri};

use crate::config::{RedbDurability, embedded_config, local_path_config};

/// `{"type": "redb", "path": "...", "durability": "immediate", "cache_size": ..., "value_cache_size": ..., "create": true}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedbConfig {
    /// The database file. If it is missing and [`create`](Self::create) allows, it is
    /// created, with its parent directories.
    pub path: PathBuf,
    /// `"immediate"` (the default) or `"none"`.
    #[serde(default)]
    pub durability: RedbDurability,
    /// redb's page cache in bytes (redb's default, 1 GiB, if unset; it fills lazily).
    #[serde(default)]
    pub cache_size: Option<u64>,
    /// The value cache that serves hot reads inline, in bytes
    /// ([`DEFAULT_VALUE_CACHE_SIZE`](crate::DEFAULT_VALUE_CACHE_SIZE) if unset; 0 disables it).
    #[serde(default)]
    pub value_cache_size: Option<u64>,
    /// Whether a missing database file (and its directories) may be created. Unset, a
    /// direct [`RedbStore::open`](crate::RedbStore::open) creates, and the registry follows
    /// [`Registry::creates_missing`](store_core::Registry::creates_missing). With `false`, a
    /// missing file fails with `NotFound` naming the path, and nothing is created.
    #[serde(default)]
    pub create: Option<bool>,
}

impl RedbConfig {
    /// A config with default settings for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RedbConfig {
            path: path.into(),
            durability: RedbDurability::default(),
            cache_size: None,
            value_cache_size: None,
            create: None,
        }
    }

    /// Set redb's page cache size in bytes.
    pub fn cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// The settings, as shown when a second open of the same file disagrees with the first.
    pub(crate) fn describe(&self) -> String {
        format!(
            "durability = {}, cache_size = {}, value_cache_size = {}",
            self.durability.as_str(),
            self.cache_size
                .map_or_else(|| "default".to_owned(), |n| n.to_string()),
            self.value_cache_size
                .map_or_else(|| "default".to_owned(), |n| n.to_string()),
        )
    }
}

embedded_config!(RedbConfig, "database");

/// The config map of `redb:///abs/path/file.redb[?durability=none&cache_size=N&value_cache_size=N&create=false]`:
/// the path from the URI, every query parameter (and option) read into [`RedbConfig`].
pub(crate) fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    let base = local_path_config(uri, "database file", "redb:///absolute/path/file.redb")?;
    uri.config::<RedbConfig>(base)
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
        let map = uri("redb:///data/my%20db/x.redb?durability=none&cache_size=1024").unwrap();
        let config: RedbConfig = parse_config(&map).unwrap();
        assert_eq!(config.path, PathBuf::from("/data/my db/x.redb"));
        assert_eq!(config.durability, RedbDurability::None);
        assert_eq!(config.cache_size, Some(1024));
        assert_eq!(config.value_cache_size, None);
        assert_eq!(config.create, None);
        let map = uri("redb:///x.redb?create=false").unwrap();
        let config: RedbConfig = parse_config(&map).unwrap();
        assert_eq!(config.create, Some(false));
    }

    #[test]
    fn bad_uris_are_named() {
        for (s, needle) in [
            ("redb://host/x.redb", "local database file"),
            ("redb:///", "missing the database file path"),
            ("redb:///x.redb?colour=red", "field `colour`"),
            ("redb:///x.redb?cache_size=lots", "field `cache_size`"),
            ("redb:///x.redb?create=maybe", "field `create`"),
            ("redb:///x.redb?durability=sometimes", "field `durability`"),
            (
                "redb:///x.redb?path=/y.redb",
                "field `path`: is given twice",
            ),
        ] {
            let err = uri(s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
    }
}
