//! The registry factory: `{"type": "dynamodb", ...}` and `dynamodb://table?...`.

use std::sync::Arc;

use store_core::{
    ConfigMap, Registry, Result, Store, StoreFactory, StoreUri, async_trait, parse_config,
};

use crate::config::{DynamoConfig, config_from_uri};
use crate::store::DynamoStore;

/// Opens [`DynamoStore`] from `{"type": "dynamodb", "table": "t", ...}` and from URIs like
/// `dynamodb://t?region=eu-west-1&namespace=app`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamoFactory;

#[async_trait]
impl StoreFactory for DynamoFactory {
    fn type_name(&self) -> &'static str {
        "dynamodb"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["dynamodb"]
    }

    fn config_from_uri(&self, uri: &StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    /// A missing table is created as the config's `create_table` says or, when it says
    /// nothing, as the registry's `creates_missing` does.
    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let mut config: DynamoConfig = parse_config(config)?;
        config.create_table = config.create_table.or(Some(registry.creates_missing()));
        Ok(Arc::new(DynamoStore::open(config).await?))
    }
}
