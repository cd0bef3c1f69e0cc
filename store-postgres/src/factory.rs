//! The registry factory for PostgreSQL stores.

use std::sync::Arc;

use store_core::{ConfigMap, Registry, Result, Store, StoreFactory, async_trait};

use crate::{PostgresConfig, PostgresStore};

/// Opens [`PostgresStore`] from `{"type": "postgres", "url": "postgres://…", ...}` or
/// `postgres://user@host:port/database?table=…` (scheme `postgresql` too).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresFactory;

#[async_trait]
impl StoreFactory for PostgresFactory {
    fn type_name(&self) -> &'static str {
        "postgres"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["postgresql"]
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["postgres", "postgresql"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        crate::config::config_from_uri(uri)
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(
            PostgresStore::connect(PostgresConfig::from_map(config)?).await?,
        ))
    }
}
