//! The registry factory: `{"type": "lmdb", ...}` and `lmdb:///path`.

use std::sync::Arc;

use store_core::{ConfigMap, Registry, Result, Store, StoreFactory, async_trait, parse_config};

use super::LmdbStore;
use super::config::{LmdbConfig, config_from_uri};

/// Opens [`LmdbStore`] from `{"type": "lmdb", "path": "..."}` and from
/// URIs like `lmdb:///var/lib/app/data?durability=none`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LmdbFactory;

#[async_trait]
impl StoreFactory for LmdbFactory {
    fn type_name(&self) -> &'static str {
        "lmdb"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["lmdb"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    /// A missing environment is created if the config's `create` says so, else if the registry
    /// [creates missing stores](Registry::creates_missing). A relative `path` is relative
    /// to the registry's [base directory](Registry::base_dir), if it has one.
    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let mut config: LmdbConfig = parse_config(config)?;
        config.path = registry.resolve_path(&config.path);
        config.create = Some(config.create.unwrap_or(registry.creates_missing()));
        Ok(Arc::new(LmdbStore::open(config).await?))
    }
}
