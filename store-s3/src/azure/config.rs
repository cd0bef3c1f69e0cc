//! Azure Blob Storage settings: from a config map or an `az://container/prefix` URI.

use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri};

use crate::settings::{
    self, default_concurrency, default_max_retries, default_multipart_threshold,
    default_request_timeout, default_retry_timeout, duration,
};
use crate::store::Settings;

/// Settings of an [`AzureStore`](crate::AzureStore).
///
/// Every field but `container` is optional. Settings left out come from the `AZURE_*`
/// environment variables as object_store reads them (`AZURE_STORAGE_ACCOUNT_NAME`,
/// `AZURE_STORAGE_ACCOUNT_KEY`, client secret, workload identity, managed identity,
/// Azure CLI); explicit ones always win. `Debug` never shows the access key or the SAS
/// token.
// Debug derived: secrets are `Secret`, whose Debug prints `<redacted>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    /// The container.
    pub container: String,
    /// A key prefix inside the container (without leading or trailing `/`); keys map to
    /// blobs `prefix/key`.
    #[serde(default)]
    pub prefix: String,
    /// The storage account (`AZURE_STORAGE_ACCOUNT_NAME` when absent).
    #[serde(default)]
    pub account: Option<String>,
    /// The account's shared key. With it, every credential from the environment is
    /// ignored; at most one of `access_key` and `sas_token`.
    #[serde(default)]
    pub access_key: Option<Secret>,
    /// A shared access signature (the query string `sv=…&sig=…`, without `?`).
    #[serde(default)]
    pub sas_token: Option<Secret>,
    /// The blob service URL for emulators and private endpoints, account included for
    /// Azurite (`http://127.0.0.1:10000/devstoreaccount1`); the default is
    /// `https://<account>.blob.core.windows.net`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Allow plain `http://` endpoints; defaults to true exactly when the endpoint is one.
    #[serde(default)]
    pub allow_http: Option<bool>,
    /// How often a failed request is retried (default 3).
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
    /// How long retries of one request may go on, in seconds or as `"500ms"`, `"30s"`,
    /// `"2m"` (default 30 s).
    #[serde(default = "default_retry_timeout", deserialize_with = "duration")]
    pub retry_timeout: Duration,
    /// How long one HTTP request may take (default 30 s); also bounds connecting.
    #[serde(default = "default_request_timeout", deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// How many requests `get_many` / `put_many` keep in flight (default 32).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Values larger than this many bytes are uploaded in blocks (default 32 MiB, at
    /// least 5 MiB).
    #[serde(default = "default_multipart_threshold")]
    pub multipart_threshold: usize,
}

impl AzureConfig {
    /// A config for `container` with every other setting at its default.
    pub fn new(container: impl Into<String>) -> Self {
        AzureConfig {
            container: container.into(),
            prefix: String::new(),
            account: None,
            access_key: None,
            sas_token: None,
            endpoint: None,
            allow_http: None,
            max_retries: default_max_retries(),
            retry_timeout: default_retry_timeout(),
            request_timeout: default_request_timeout(),
            concurrency: default_concurrency(),
            multipart_threshold: default_multipart_threshold(),
        }
    }

    /// Parse a config map (`type` is ignored; unknown fields are rejected).
    pub fn from_map(config: &ConfigMap) -> Result<Self> {
        let config: AzureConfig = store_core::parse_config(config)?;
        config.validate()?;
        Ok(config)
    }

    /// Check values serde cannot.
    pub fn validate(&self) -> Result<()> {
        settings::validate(
            "container",
            &self.container,
            &self.prefix,
            self.concurrency,
            self.multipart_threshold,
        )?;
        if self.access_key.is_some() && self.sas_token.is_some() {
            return Err(Error::invalid_config(
                "sas_token",
                "give either `access_key` or `sas_token`, not both",
            ));
        }
        settings::validate_endpoint(self.endpoint.as_deref())
    }

    /// Whether plain HTTP is allowed: as configured, else when the endpoint is `http://`.
    pub fn http_allowed(&self) -> bool {
        settings::http_allowed(self.allow_http, self.endpoint.as_deref())
    }

    pub(crate) fn settings(&self) -> Settings<'_> {
        Settings {
            container: &self.container,
            prefix: &self.prefix,
            concurrency: self.concurrency,
            multipart_threshold: self.multipart_threshold,
            endpoint: self.endpoint.as_deref(),
        }
    }
}

/// The config map for `az://container/prefix?account=…&endpoint=…` (or `azure://`):
/// container and prefix from the URI, every query parameter and option read into
/// [`AzureConfig`], typed. Secrets (`access_key`, `sas_token`) are refused in the query
/// but accepted as options.
pub fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    settings::config_from_uri::<AzureConfig>(uri, "azure", "container")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store_core::ErrorKind;
    use url::Url;

    fn map(v: serde_json::Value) -> ConfigMap {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_its_own_fields_and_rejects_others() {
        let c = AzureConfig::from_map(&map(json!({
            "type": "azure", "container": "c", "prefix": "p/q", "account": "acct",
            "access_key": "s3cr3t-key", "endpoint": "http://127.0.0.1:10000/acct",
            "retry_timeout": "2s", "concurrency": 4
        })))
        .unwrap();
        assert_eq!(c.account.as_deref(), Some("acct"));
        assert_eq!(c.access_key.as_ref().unwrap().expose(), "s3cr3t-key");
        assert!(c.http_allowed());
        assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
        // S3's field names are not Azure's.
        for field in ["bucket", "secret_access_key", "region"] {
            let err = AzureConfig::from_map(&map(json!({"container": "c", field: "hunter22"})))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
        let err = AzureConfig::from_map(&map(json!({
            "container": "c", "access_key": "k3y-value", "sas_token": "s4s-value"
        })))
        .unwrap_err();
        assert!(err.to_string().contains("sas_token"), "{err}");
        assert!(!err.to_string().contains("k3y") && !err.to_string().contains("s4s"));
        assert!(AzureConfig::from_map(&map(json!({"prefix": "x"}))).is_err());
    }

    #[test]
    fn uri_maps_to_config_and_refuses_secrets() {
        let config = |uri: &str| config_from_uri(&StoreUri::new(&Url::parse(uri).unwrap(), &[]));
        for scheme in ["az", "azure"] {
            let c = config(&format!(
                "{scheme}://cont/some/prefix?account=acct&endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Facct"
            ))
            .unwrap();
            assert_eq!(c["type"], "azure");
            assert_eq!(c["container"], "cont");
            assert_eq!(c["prefix"], "some/prefix");
            assert_eq!(c["endpoint"], "http://127.0.0.1:10000/acct");
            AzureConfig::from_map(&c).unwrap();
        }
        for secret in ["access_key", "sas_token"] {
            let err = config(&format!("az://cont?{secret}=hunter22")).unwrap_err();
            assert!(err.to_string().contains(&format!("`{secret}`")), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
        let err = config("az://cont?bucket=b").unwrap_err();
        assert!(err.to_string().contains("`bucket`"), "{err}");
    }
}
