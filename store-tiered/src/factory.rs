//! `TieredFactory`: opens a tiered store from a config map, nested stores through the registry.

use std::sync::Arc;

use store_core::{
    ConfigMap, Error, ErrorKind, Registry, Result, Store, StoreFactory, async_trait, parse_config,
};
use store_memory::CacheFactory;

use crate::TieredStore;
use crate::config::{StoreSpec, TieredConfig};

/// Opens [`TieredStore`] from
/// `{"type": "tiered", "write_policy": "write-behind", "read_policy": "frontend-first",
/// "warm": "none", "queue_capacity": N, "frontend": {…}, "backend": {…}}`.
///
/// `frontend` and `backend` are config maps (or URI strings) opened through the same
/// registry, so tiers nest. Policy names are kebab-case; unknown fields and names are
/// rejected naming the field. When the frontend is a `cache`, warm-up is bounded by its
/// `max_bytes` unless `warm_max_bytes` says otherwise, and its evictions are counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct TieredFactory;

fn spec_map(spec: &StoreSpec, field: &str, registry: &Registry) -> Result<ConfigMap> {
    match spec {
        StoreSpec::Map(map) => Ok(map.clone()),
        StoreSpec::Uri(uri) => registry.config_from_uri(uri).map_err(|e| {
            Error::invalid_config(
                field,
                format!(
                    "`{}` is not a store URI we know: {e}",
                    store_core::redact_uri(uri)
                ),
            )
        }),
    }
}

/// Say which nested store a config error is about; other errors pass unchanged.
fn nested(field: &str, error: Error) -> Error {
    if error.kind() != ErrorKind::InvalidConfig {
        return error;
    }
    error.context(format_args!("in `{field}`"))
}

#[async_trait]
impl StoreFactory for TieredFactory {
    fn type_name(&self) -> &'static str {
        "tiered"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let parsed: TieredConfig = parse_config(config)?;
        let mut options = parsed.options();
        let frontend_map = spec_map(&parsed.frontend, "frontend", registry)?;
        let backend_map = spec_map(&parsed.backend, "backend", registry)?;
        let is_cache = frontend_map.get("type").and_then(|t| t.as_str()) == Some("cache");
        let backend = registry
            .open(&backend_map)
            .await
            .map_err(|e| nested("backend", e))?;
        let store = if is_cache {
            let cache =
                CacheFactory::open_cache(&frontend_map).map_err(|e| nested("frontend", e))?;
            options.warm_max_bytes = options.warm_max_bytes.or(Some(cache.max_bytes()));
            TieredStore::open_cached(cache, backend, options).await?
        } else {
            let frontend = registry
                .open(&frontend_map)
                .await
                .map_err(|e| nested("frontend", e))?;
            TieredStore::open(frontend, backend, options).await?
        };
        Ok(Arc::new(store))
    }
}
