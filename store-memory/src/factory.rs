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

    fn config_from_uri(&self, uri: &url::Url) -> Result<ConfigMap> {
        if !uri.path().is_empty() || uri.query().is_some() {
            return Err(Error::invalid_config(
                "uri",
                format!("`{uri}`: the memory store takes no path or options; use `memory:`"),
            ));
        }
        let mut config = ConfigMap::new();
        config.insert("type".into(), "memory".into());
        Ok(config)
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        let MemoryConfig {} = parse_config(config)?;
        Ok(Arc::new(MemoryStore::new()))
    }
}
