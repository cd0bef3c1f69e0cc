//! The registry factory: `{"type": "redb", ...}` and `redb:///path`.

use std::sync::Arc;

use store_core::{ConfigMap, Registry, Result, Store, StoreFactory, async_trait, parse_config};

use super::RedbStore;
use super::config::{RedbConfig, config_from_uri};

/// Opens [`RedbStore`] from `{"type": "redb", "path": "..."}` and from
/// URIs like `redb:///var/lib/app/data.redb?durability=none`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedbFactory;

#[async_trait]
impl StoreFactory for RedbFactory {
    fn type_name(&self) -> &'static str {
        "redb"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["redb"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    /// A missing file is created if the config's `create` says so, else if the registry
    /// [creates missing stores](Registry::creates_missing). A relative `path` is relative
    /// to the registry's [base directory](Registry::base_dir), if it has one.
    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let mut config: RedbConfig = parse_config(config)?;
        config.path = registry.resolve_path(&config.path);
        config.create = Some(config.create.unwrap_or(registry.creates_missing()));
        Ok(Arc::new(RedbStore::open(config).await?))
    }
}
