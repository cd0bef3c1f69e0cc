//! `{"type": "encrypt", "key_env": "APP_KEY" | "key_file": "/run/key", "old_keys": [{"key_env": …}], "inner": {…}}`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use store_core::{
    ConfigMap, Error, Registry, Result, Store, StoreFactory, async_trait, parse_config,
};

use super::{Encrypted, KeySource, Keyring};
use crate::nested::InnerSpec;

/// Opens [`Encrypted`]. The current key comes from exactly one of `key_env` (the name of
/// an environment variable) or `key_file` (a path, relative to the config file); each of
/// `old_keys` (`{"key_env": …}` or `{"key_file": …}`) is a key still read but no longer
/// written. Keys are 32 bytes as 64 hex digits or base64. The config holds only where
/// keys are, never a key.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptFactory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptConfig {
    key_env: Option<String>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    old_keys: Vec<KeySpec>,
    inner: InnerSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    key_env: Option<String>,
    key_file: Option<PathBuf>,
}

impl KeySpec {
    fn source(&self, field: &str, registry: &Registry) -> Result<KeySource> {
        match (&self.key_env, &self.key_file) {
            (Some(var), None) => Ok(KeySource::Env(var.clone())),
            (None, Some(path)) => Ok(KeySource::File(registry.resolve_path(path))),
            _ => Err(Error::invalid_config(
                field,
                "give exactly one of `key_env` or `key_file`",
            )),
        }
    }
}

#[async_trait]
impl StoreFactory for EncryptFactory {
    fn type_name(&self) -> &'static str {
        "encrypt"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let parsed: EncryptConfig = parse_config(config)?;
        let key = KeySpec {
            key_env: parsed.key_env.clone(),
            key_file: parsed.key_file.clone(),
        };
        let current = key.source("key_env", registry)?.load("key_env")?;
        let mut keyring = Keyring::new(&current);
        for (i, old) in parsed.old_keys.iter().enumerate() {
            let field = format!("old_keys[{i}]");
            keyring = keyring.with_old_key(&*old.source(&field, registry)?.load(&field)?);
        }
        let inner = parsed.inner.open(registry).await?;
        Ok(Arc::new(Encrypted::new(inner, keyring)))
    }
}
