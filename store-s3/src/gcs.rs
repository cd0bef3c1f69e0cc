//! Google Cloud Storage: the shared store on object_store's `GoogleCloudStorage` client.
//! What is GCS's own is its config ([`GcsConfig`]), its client builder (here) and its
//! [`Profile`](crate::cloud::GCS_PROFILE): versions are object generations, since
//! object_store sends a conditional update as `x-goog-if-generation-match` (a create as
//! generation `0`), so compare-and-swap is enforced by the service.
//!
//! Not integration-tested in CI: no emulator installable here speaks the XML API
//! object_store writes with (see `tests/tests/gcs.rs` for running the suite against a
//! real bucket).

mod config;

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::gcp::GoogleCloudStorageBuilder;
use store_core::{ConfigMap, Error, ErrorKind, Registry, Result, Store, StoreFactory, async_trait};

pub use config::{GcsConfig, config_from_uri};

use crate::cloud::{GCS_PROFILE, Gcs};
use crate::http;
use crate::list::Lister;
use crate::store::ObjectStoreBackend;

/// A [`Store`] on a Google Cloud Storage bucket: objects `prefix/key`, versions are
/// generations. See [`GcsStore::connect`].
pub type GcsStore = ObjectStoreBackend<Gcs>;

impl GcsStore {
    /// Connect with `config`; without a key or key file in it, credentials come from the
    /// environment as object_store's GCS client finds them. No request is made until
    /// the first operation.
    pub fn connect(config: GcsConfig) -> Result<Self> {
        config.validate()?;
        let client = builder(GoogleCloudStorageBuilder::from_env(), &config)
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("building the GCS client: {e}"),
                )
            })?;
        let client: Arc<dyn ObjectStore> = Arc::new(client);
        Ok(Self::with_client(client, &config))
    }

    /// A store over any object_store client, taking bucket, prefix, concurrency and
    /// multipart threshold from `config`; its connection settings are ignored.
    pub fn with_client(client: Arc<dyn ObjectStore>, config: &GcsConfig) -> Self {
        Self::build(
            client.clone(),
            Lister::Client(client),
            config.settings(),
            &GCS_PROFILE,
        )
    }
}

/// `base` (from the environment in `connect`) with `config` on top.
fn builder(base: GoogleCloudStorageBuilder, config: &GcsConfig) -> GoogleCloudStorageBuilder {
    let client_options = http::client_options(config.http_allowed(), config.request_timeout);
    let mut builder = base
        .with_bucket_name(&config.bucket)
        .with_retry(http::retry(config.max_retries, config.retry_timeout))
        .with_client_options(client_options);
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_base_url(endpoint);
    }
    if let Some(key) = &config.service_account_key {
        builder = builder.with_service_account_key(key.expose());
    } else if let Some(path) = &config.service_account_path {
        builder = builder.with_service_account_path(path);
    }
    builder
}

/// Opens [`GcsStore`] from `{"type": "gcs", "bucket": ...}` or `gs://bucket/prefix`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcsFactory;

#[async_trait]
impl StoreFactory for GcsFactory {
    fn type_name(&self) -> &'static str {
        "gcs"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["gs"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(GcsStore::connect(GcsConfig::from_map(config)?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::{ConditionalPuts, Secret};

    /// object_store's emulator-style key: no token is fetched, no metadata server asked.
    const EMULATOR_KEY: &str = r#"{"gcs_base_url": "http://127.0.0.1:1", "disable_oauth": true,
        "client_email": "", "private_key": "", "private_key_id": ""}"#;

    #[test]
    fn a_store_opens_without_a_request_and_hides_its_key() {
        let mut config = GcsConfig::new("bkt");
        config.prefix = "app/v1".into();
        config.service_account_key = Some(Secret::new(EMULATOR_KEY));
        let store = GcsStore::connect(config.clone()).unwrap();
        assert_eq!(store.locations(), ["gs://bkt/app/v1/"]);
        assert_eq!(
            store.capabilities().conditional_puts,
            ConditionalPuts::Native
        );
        let shown = format!("{store:?} {config:?}");
        assert!(shown.starts_with("GcsStore"), "{shown}");
        assert!(!shown.contains("disable_oauth"), "{shown}");
    }

    #[test]
    fn a_bad_key_is_a_config_error_that_does_not_print_it() {
        let mut config = GcsConfig::new("bkt");
        config.service_account_key = Some(Secret::new("{\"private_key\": \"pr1vate\""));
        let err = GcsStore::connect(config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(!err.to_string().contains("pr1vate"), "{err}");
    }
}
