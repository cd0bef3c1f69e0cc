//! The inner store of a layer's config: a config map or a URI string, opened through the
//! registry that opened the layer (so layers nest over every backend it knows).

use std::sync::Arc;

use serde::Deserialize;
use store_core::{ConfigMap, Error, ErrorKind, Registry, Result, Store, redact_uri};

/// A nested store in a layer's config: `{"type": …}` or a store URI.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum InnerSpec {
    /// A store URI, e.g. `"memory:"`.
    Uri(String),
    /// A config map, e.g. `{"type": "redb", "path": …}`.
    Map(ConfigMap),
}

impl InnerSpec {
    /// Open the store this spec names; config errors say they are about `inner`.
    pub(crate) async fn open(&self, registry: &Registry) -> Result<Arc<dyn Store>> {
        let map = match self {
            InnerSpec::Map(map) => map.clone(),
            InnerSpec::Uri(uri) => registry.config_from_uri(uri).map_err(|e| {
                Error::invalid_config(
                    "inner",
                    format!("`{}` is not a store URI we know: {e}", redact_uri(uri)),
                )
            })?,
        };
        registry.open(&map).await.map_err(|e| {
            if e.kind() == ErrorKind::InvalidConfig {
                e.context("in `inner`")
            } else {
                e
            }
        })
    }
}
