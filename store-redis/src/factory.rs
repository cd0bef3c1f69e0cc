//! The registry factory: `{"type": "redis", ...}` and `redis://host:port/db?namespace=...`.

use std::sync::Arc;

use store_core::{
    ConfigMap, Registry, Result, Store, StoreFactory, StoreUri, async_trait, parse_config,
};

use crate::config::{RedisConfig, config_from_uri};
use crate::store::RedisStore;

/// Opens [`RedisStore`] from `{"type": "redis", "url": "redis://..."}` and from URIs like
/// `redis://127.0.0.1:6379/0?namespace=app`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedisFactory;

#[async_trait]
impl StoreFactory for RedisFactory {
    fn type_name(&self) -> &'static str {
        "redis"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["redis"]
    }

    fn config_from_uri(&self, uri: &StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    /// A namespace needs no creating: an empty one is an empty store.
    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        let config: RedisConfig = parse_config(config)?;
        Ok(Arc::new(RedisStore::open(config).await?))
    }
}
