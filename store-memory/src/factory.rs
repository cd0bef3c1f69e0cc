//! Registry factories for the in-memory stores.

use std::sync::Arc;

use serde::Deserialize;
use store_core::{
    ConfigMap, Error, Registry, Result, Store, StoreFactory, async_trait, parse_config,
};

use crate::MemoryStore;

/// Opens [`MemoryStore`] from `{"type": "memory"}` or the URI `memory:`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryFactory;

/// The memory store takes no settings; the struct exists to reject unknown fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryConfig {}

#[async_trait]
impl StoreFactory for MemoryFactory {
    fn type_name(&self) -> &'static str {
        "memory"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["memory"]
    }

    /// `memory:`. It takes no path; any query parameter is rejected by name, since
    /// its config struct has no fields.
    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        if !uri.url().path().is_empty() {
            return Err(Error::invalid_config(
                "uri",
                "the memory store takes no path; use `memory:`",
            ));
        }
        uri.config::<MemoryConfig>(base("memory"))
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        let MemoryConfig {} = parse_config(config)?;
        Ok(Arc::new(MemoryStore::new()))
    }
}

/// The config map a URI starts from: only its `type`.
fn base(store_type: &str) -> ConfigMap {
    let mut config = ConfigMap::new();
    config.insert("type".into(), store_type.into());
    config
}

/// The default capacity of a `cache` store when `max_bytes` is not given: 64 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// Opens [`CacheStore`](crate::CacheStore) from `{"type": "cache", "max_bytes": N}`
/// (`max_bytes` defaults to [`DEFAULT_CACHE_BYTES`]) or the URI `cache:?max_bytes=N`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheFactory;

/// The cache's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheConfig {
    #[serde(default = "default_cache_bytes")]
    max_bytes: u64,
}

fn default_cache_bytes() -> u64 {
    DEFAULT_CACHE_BYTES
}

impl CacheFactory {
    /// Build the cache a config map describes, as its concrete type (a tiered store uses
    /// this to read the cache's eviction counter).
    pub fn open_cache(config: &ConfigMap) -> Result<crate::CacheStore> {
        let CacheConfig { max_bytes } = parse_config(config)?;
        if max_bytes == 0 {
            return Err(Error::invalid_config(
                "max_bytes",
                "must be at least 1 byte",
            ));
        }
        Ok(crate::CacheStore::new(max_bytes))
    }
}

#[async_trait]
impl StoreFactory for CacheFactory {
    fn type_name(&self) -> &'static str {
        "cache"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["cache"]
    }

    /// `cache:?max_bytes=N`: the query is read into the cache's config struct, typed.
    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        if !uri.url().path().is_empty() {
            return Err(Error::invalid_config(
                "uri",
                "the cache takes no path; use `cache:?max_bytes=N`",
            ));
        }
        uri.config::<CacheConfig>(base("cache"))
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(Self::open_cache(config)?))
    }
}
