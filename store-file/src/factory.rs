//! The registry factory: `{"type": "file", "path": …, "sync": …, "create": …}` and
//! `file:///abs/path`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use store_core::{
    ConfigMap, Error, Registry, Result, Store, StoreFactory, async_trait, parse_config,
};

use crate::{FileStore, SyncMode};

/// Opens [`FileStore`] from `{"type": "file", "path": "/data", "sync": "always"}` or the
/// URI `file:///data` (optionally `file:///data?sync=batch&create=false`).
///
/// `create` says whether a missing root is created; without it, the registry's
/// [`creates_missing`](Registry::creates_missing) decides (on by default; read-only tools
/// turn it off, so that a mistyped path fails with `NotFound` instead of becoming an
/// empty store).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileFactory;

/// The file store's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// The root directory (a relative one is relative to the registry's base directory).
    path: PathBuf,
    /// `always` (default), `batch` or `never`.
    #[serde(default)]
    sync: SyncMode,
    /// Create the root if it is missing (default: the registry's setting).
    #[serde(default)]
    create: Option<bool>,
}

#[async_trait]
impl StoreFactory for FileFactory {
    fn type_name(&self) -> &'static str {
        "file"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["file"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        let url = uri.url();
        let mut plain = url.clone();
        plain.set_query(None);
        plain.set_fragment(None);
        let path = plain.to_file_path().map_err(|()| {
            Error::invalid_config("uri", "not an absolute local path (use `file:///abs/path`)")
        })?;
        if url.fragment().is_some() {
            return Err(Error::invalid_config(
                "uri",
                "a file store URI takes no fragment",
            ));
        }
        let mut config = ConfigMap::new();
        config.insert("type".into(), "file".into());
        config.insert("path".into(), path.to_string_lossy().into_owned().into());
        // Query parameters and options are read into `FileConfig`, typed; unknown ones
        // are rejected by name.
        uri.config::<FileConfig>(config)
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let FileConfig { path, sync, create } = parse_config(config)?;
        let path = registry.resolve_path(path);
        let store = if create.unwrap_or(registry.creates_missing()) {
            FileStore::open(path, sync).await?
        } else {
            FileStore::open_existing(path, sync).await?
        };
        Ok(Arc::new(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn uri(raw: &str) -> Result<ConfigMap> {
        FileFactory.config_from_uri(&store_core::StoreUri::new(
            &url::Url::parse(raw).unwrap(),
            &[],
        ))
    }

    #[test]
    fn uri_maps_to_config() {
        let config = uri("file:///data/store?sync=batch&create=false").unwrap();
        assert_eq!(
            serde_json::Value::Object(config),
            serde_json::json!({"type": "file", "path": "/data/store", "sync": "batch", "create": "false"})
        );
        assert_eq!(
            uri("file:///d#x").unwrap_err().kind(),
            ErrorKind::InvalidConfig
        );
    }

    #[test]
    fn unknown_fields_and_bad_settings_are_rejected() {
        for (config, field) in [
            (
                serde_json::json!({"type": "file", "path": "/d", "colour": 1}),
                "colour",
            ),
            (
                serde_json::json!({"type": "file", "path": "/d", "sync": "sometimes"}),
                "sync",
            ),
            (serde_json::json!({"type": "file"}), "path"),
            (
                serde_json::json!({"type": "file", "path": "/d", "create": "yes"}),
                "create",
            ),
        ] {
            let err = parse_config::<FileConfig>(config.as_object().unwrap()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(field), "{err}");
        }
    }
}
