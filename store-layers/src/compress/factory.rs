//! `{"type": "compress", "codec": "zstd"|"lz4"|"none", "level": 3, "inner": {…}}`.

use std::sync::Arc;

use serde::Deserialize;
use store_core::{ConfigMap, Registry, Result, Store, StoreFactory, async_trait, parse_config};

use super::{Codec, Compressed, DEFAULT_ZSTD_LEVEL, check_level};
use crate::nested::InnerSpec;

/// Opens [`Compressed`]: `codec` (default `zstd`) is what new values are written with,
/// `level` the zstd level (default 3; an error with another codec), `inner` the store
/// (a config map or URI) the compressed values go to.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompressFactory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompressConfig {
    #[serde(default = "default_codec")]
    codec: Codec,
    level: Option<i32>,
    inner: InnerSpec,
}

fn default_codec() -> Codec {
    Codec::Zstd
}

#[async_trait]
impl StoreFactory for CompressFactory {
    fn type_name(&self) -> &'static str {
        "compress"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let CompressConfig {
            codec,
            level,
            inner,
        } = parse_config(config)?;
        if level.is_some() && codec != Codec::Zstd {
            return Err(store_core::Error::invalid_config(
                "level",
                "only the zstd codec has levels",
            ));
        }
        let level = level.unwrap_or(DEFAULT_ZSTD_LEVEL);
        // Checked before the inner store is opened, so a bad level touches nothing.
        check_level(level)?;
        let inner = inner.open(registry).await?;
        Ok(Arc::new(Compressed::new(inner, codec).with_level(level)?))
    }
}
