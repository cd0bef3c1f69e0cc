//! Google Cloud Storage settings: from a config map or a `gs://bucket/prefix` URI.

use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri};

use crate::settings::{
    self, default_concurrency, default_max_retries, default_multipart_threshold,
    default_request_timeout, default_retry_timeout, duration,
};
use crate::store::Settings;

/// Settings of a [`GcsStore`](crate::GcsStore).
///
/// Every field but `bucket` is optional. Without a service-account key or file, the
/// credentials come from the environment as object_store reads it
/// (`GOOGLE_SERVICE_ACCOUNT*`, `GOOGLE_APPLICATION_CREDENTIALS`, else the instance
/// metadata server). `Debug` never shows the key.
// Debug derived: secrets are `Secret`, whose Debug prints `<redacted>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcsConfig {
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside the bucket (without leading or trailing `/`); keys map to
    /// objects `prefix/key`.
    #[serde(default)]
    pub prefix: String,
    /// A service-account key, the JSON document itself. At most one of this and
    /// `service_account_path`. For an emulator: `{"gcs_base_url": URL,
    /// "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}`
    /// (no token is fetched, no metadata server asked).
    #[serde(default)]
    pub service_account_key: Option<Secret>,
    /// The path of a service-account key file.
    #[serde(default)]
    pub service_account_path: Option<String>,
    /// The service's base URL for emulators and private endpoints (default
    /// `https://storage.googleapis.com`).
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
    /// Values larger than this many bytes are uploaded in parts (default 32 MiB, at
    /// least 5 MiB).
    #[serde(default = "default_multipart_threshold")]
    pub multipart_threshold: usize,
}

impl GcsConfig {
    /// A config for `bucket` with every other setting at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        GcsConfig {
            bucket: bucket.into(),
            prefix: String::new(),
            service_account_key: None,
            service_account_path: None,
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
        let config: GcsConfig = store_core::parse_config(config)?;
        config.validate()?;
        Ok(config)
    }

    /// Check values serde cannot.
    pub fn validate(&self) -> Result<()> {
        settings::validate(
            "bucket",
            &self.bucket,
            &self.prefix,
            self.concurrency,
            self.multipart_threshold,
        )?;
        if self.service_account_key.is_some() && self.service_account_path.is_some() {
            return Err(Error::invalid_config(
                "service_account_path",
                "give either `service_account_key` or `service_account_path`, not both",
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
            container: &self.bucket,
            prefix: &self.prefix,
            concurrency: self.concurrency,
            multipart_threshold: self.multipart_threshold,
            endpoint: self.endpoint.as_deref(),
        }
    }
}

/// The config map for `gs://bucket/prefix?endpoint=…`: bucket and prefix from the URI,
/// every query parameter and option read into [`GcsConfig`], typed. The key
/// (`service_account_key`) is refused in the query but accepted as an option.
pub fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    settings::config_from_uri::<GcsConfig>(uri, "gcs", "bucket")
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
        let c = GcsConfig::from_map(&map(json!({
            "type": "gcs", "bucket": "b", "prefix": "p", "service_account_key": "{\"private_key\": \"pr1vate\"}",
            "endpoint": "http://127.0.0.1:4443", "max_retries": "2"
        })))
        .unwrap();
        assert_eq!(c.max_retries, 2);
        assert!(c.http_allowed());
        assert!(!format!("{c:?}").contains("pr1vate"), "{c:?}");
        for field in ["container", "access_key", "secret_access_key"] {
            let err =
                GcsConfig::from_map(&map(json!({"bucket": "b", field: "hunter22"}))).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
        let err = GcsConfig::from_map(&map(json!({
            "bucket": "b", "service_account_key": "{}", "service_account_path": "/k.json"
        })))
        .unwrap_err();
        assert!(err.to_string().contains("service_account_path"), "{err}");
        let err =
            GcsConfig::from_map(&map(json!({"bucket": "b", "endpoint": "not a url"}))).unwrap_err();
        assert!(err.to_string().contains("endpoint"), "{err}");
    }

    #[test]
    fn uri_maps_to_config_and_refuses_the_key() {
        let config = |uri: &str| config_from_uri(&StoreUri::new(&Url::parse(uri).unwrap(), &[]));
        let c =
            config("gs://bkt/a/b?endpoint=http%3A%2F%2F127.0.0.1%3A4443&concurrency=3").unwrap();
        assert_eq!(c["type"], "gcs");
        assert_eq!(c["bucket"], "bkt");
        assert_eq!(c["prefix"], "a/b");
        assert_eq!(GcsConfig::from_map(&c).unwrap().concurrency, 3);
        let err = config("gs://bkt?service_account_key=hunter22").unwrap_err();
        assert!(err.to_string().contains("`service_account_key`"), "{err}");
        assert!(!err.to_string().contains("hunter22"), "{err}");
        let err = config("gs://").unwrap_err();
        assert!(err.to_string().contains("bucket"), "{err}");
    }
}
