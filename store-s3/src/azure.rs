//! Azure Blob Storage: the shared store on object_store's `MicrosoftAzure` client. What
//! is Azure's own is its config ([`AzureConfig`]), its client builder (here) and its
//! [`Profile`](crate::cloud::AZURE_PROFILE) (metadata names without `-`, ETag versions,
//! `ContainerNotFound`). Azure answers a delete of a missing blob with 404 `BlobNotFound`
//! (S3 with success): the shared 404 handling reads that as a missing key, so `delete`
//! succeeds as the contract says, while `ContainerNotFound` stays an error.
//!
//! Names: Azure reads `\\` in a blob name as `/`, so names escape `[` as `[[` and `\\` as
//! `[]` (order-preserving: listings stay in key order; other clients see the escaped
//! names). Reported for the real service but not seen on Azurite, and not handled here:
//! a blob name ending in `.` may lose its dot (keep keys from ending in `.` on Azure).
//! Listings go through object_store's `list`, so a blob another client named with
//! something that is not a key fails the listing: keep the container (or prefix) to
//! Strata. Azurite lacks `startFrom`; the shared listing skips what sorts before the
//! start itself, so paging is right there too, at the cost of listing from the start.

mod config;

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use store_core::{ConfigMap, Error, ErrorKind, Registry, Result, Store, StoreFactory, async_trait};

pub use config::{AzureConfig, config_from_uri};

use crate::cloud::{AZURE_PROFILE, Azure};
use crate::http;
use crate::list::Lister;
use crate::store::ObjectStoreBackend;

/// A [`Store`] on an Azure Blob Storage container (or Azurite): blobs `prefix/key`,
/// versions are ETags, `Create` is `If-None-Match: *` and `Update(v)` is `If-Match: v`,
/// enforced by the service. See [`AzureStore::connect`].
pub type AzureStore = ObjectStoreBackend<Azure>;

impl AzureStore {
    /// Connect with `config`; settings it leaves out come from the `AZURE_*` environment
    /// variables, and without an access key or SAS token in the config, credentials
    /// from object_store's Azure credential chain. No request is made until the first
    /// operation.
    pub fn connect(config: AzureConfig) -> Result<Self> {
        config.validate()?;
        let client = builder(MicrosoftAzureBuilder::from_env(), &config)
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("building the Azure client: {e}"),
                )
            })?;
        let client: Arc<dyn ObjectStore> = Arc::new(client);
        Ok(Self::with_client(client, &config))
    }

    /// A store over any object_store client, taking container, prefix, concurrency and
    /// multipart threshold from `config`; its connection settings are ignored.
    pub fn with_client(client: Arc<dyn ObjectStore>, config: &AzureConfig) -> Self {
        Self::build(
            client.clone(),
            Lister::Client(client),
            config.settings(),
            &AZURE_PROFILE,
        )
    }
}

/// `base` (from the environment in `connect`) with `config` on top: explicit settings
/// win, and a configured key or SAS token is the only credential used.
fn builder(base: MicrosoftAzureBuilder, config: &AzureConfig) -> MicrosoftAzureBuilder {
    let client_options = http::client_options(config.http_allowed(), config.request_timeout);
    let mut builder = base
        .with_container_name(&config.container)
        .with_allow_http(config.http_allowed())
        .with_retry(http::retry(config.max_retries, config.retry_timeout))
        .with_client_options(client_options);
    if let Some(account) = &config.account {
        builder = builder.with_account(account);
    }
    if let Some(endpoint) = &config.endpoint {
        // An explicit endpoint is a service URL, never object_store's emulator default.
        builder = builder
            .with_use_emulator(false)
            .with_endpoint(endpoint.clone());
    }
    if let Some(key) = &config.access_key {
        builder = builder
            .with_access_key(key.expose())
            .with_credential_type("access_key");
    } else if let Some(sas) = &config.sas_token {
        builder = builder
            .with_config(AzureConfigKey::SasKey, sas.expose())
            .with_credential_type("sas_token");
    }
    builder
}

/// Opens [`AzureStore`] from `{"type": "azure", "container": ...}` or
/// `az://container/prefix?account=…` (also `azure://`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureFactory;

#[async_trait]
impl StoreFactory for AzureFactory {
    fn type_name(&self) -> &'static str {
        "azure"
    }

    fn uri_schemes(&self) -> &'static [&'static str] {
        &["az", "azure"]
    }

    fn config_from_uri(&self, uri: &store_core::StoreUri<'_>) -> Result<ConfigMap> {
        config_from_uri(uri)
    }

    async fn open(&self, config: &ConfigMap, _registry: &Registry) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(AzureStore::connect(AzureConfig::from_map(
            config,
        )?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::{ConditionalPuts, Secret};

    #[test]
    fn explicit_settings_win_over_the_environment() {
        let env = MicrosoftAzureBuilder::new()
            .with_config(AzureConfigKey::AccountName, "env-account")
            .with_config(AzureConfigKey::Token, "env-bearer-token")
            .with_config(AzureConfigKey::UseEmulator, "true");
        let mut config = AzureConfig::new("cont");
        config.account = Some("mine".into());
        config.endpoint = Some("http://127.0.0.1:1/mine".into());
        config.access_key = Some(Secret::new("a2V5"));
        let built = builder(env, &config);
        let value = |key| built.get_config_value(&key);
        assert_eq!(value(AzureConfigKey::AccountName).as_deref(), Some("mine"));
        assert_eq!(
            value(AzureConfigKey::ContainerName).as_deref(),
            Some("cont")
        );
        assert_eq!(value(AzureConfigKey::UseEmulator).as_deref(), Some("false"));
        assert_eq!(
            value(AzureConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:1/mine")
        );
        assert_eq!(
            value(AzureConfigKey::CredentialType).as_deref(),
            Some("access_key")
        );
        built.build().unwrap();
    }

    #[test]
    fn a_store_opens_without_a_request_and_hides_its_key() {
        let mut config = AzureConfig::new("cont");
        config.prefix = "app".into();
        config.account = Some("acct".into());
        config.access_key = Some(Secret::new("c2VjcmV0LWtleQ=="));
        let store = AzureStore::connect(config.clone()).unwrap();
        assert_eq!(store.locations(), ["az://cont/app/"]);
        assert_eq!(
            store.capabilities().conditional_puts,
            ConditionalPuts::Native
        );
        let shown = format!("{store:?} {config:?}");
        assert!(shown.starts_with("AzureStore"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
}
