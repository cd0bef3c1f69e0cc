//! The registry factory for S3 stores.

use std::sync::Arc;

use store_core::{ConfigMap, Registry, Result, Store, StoreFactory, async_trait};

use crate::{S3Config, S3Store};

/// Opens [`S3Store`] from `{"type": "s3", "bucket": ...}` or
/// `s3://bucket/prefix?endpoint=…&region=…`.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3Factory;

#[async_trait]
impl StoreFactory for S3Factory {
    fn type_name(&self) -> &'static str {
        "s3"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["s3"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        crate::config::config_from_uri(uri)
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(S3Store::connect(S3Config::from_map(config)?)?))
    }
}
