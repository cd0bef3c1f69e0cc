//! The S3 store's settings: from a config map or an `s3://` URI, with region and
//! endpoint falling back to the standard AWS environment variables.

use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri};

use crate::settings::{
    self, default_concurrency, default_max_retries, default_multipart_threshold,
    default_request_timeout, default_retry_timeout, duration,
};

/// The default number of requests `get_many` / `put_many` keep in flight.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// The default size above which values are uploaded in parts.
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 32 * 1024 * 1024;
/// S3's smallest allowed part (except the last), so the smallest useful threshold.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Settings of an [`S3Store`](crate::S3Store).
///
/// Every field but `bucket` is optional. `Debug` never shows the secret key or the
/// session token.
// Debug derived: secrets are `Secret`, whose Debug prints `<redacted>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// A key prefix inside the bucket (without leading or trailing `/`); keys map to
    /// `prefix/key`.
    #[serde(default)]
    pub prefix: String,
    /// The region (`AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// The endpoint URL for S3-compatible servers (`AWS_ENDPOINT_URL_S3`, then
    /// `AWS_ENDPOINT_URL`, then `AWS_ENDPOINT`); AWS itself when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The access key id. With [`secret_access_key`](Self::secret_access_key) (both or
    /// neither), it replaces every credential from the environment; without both, the
    /// AWS credential chain is used (`AWS_ACCESS_KEY_ID`, web identity, container,
    /// instance metadata; see the crate docs).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The secret access key, with [`access_key_id`](Self::access_key_id).
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// A session token for temporary credentials, with the key pair (never taken from
    /// `AWS_SESSION_TOKEN` when the pair is configured).
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Allow plain `http://` endpoints; defaults to true exactly when the endpoint is one.
    #[serde(default)]
    pub allow_http: Option<bool>,
    /// Address buckets as `bucket.endpoint` instead of `endpoint/bucket`.
    #[serde(default)]
    pub virtual_hosted_style: bool,
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
    /// Values larger than this many bytes are uploaded in parts (default 32 MiB,
    /// at least 5 MiB).
    #[serde(default = "default_multipart_threshold")]
    pub multipart_threshold: usize,
}

impl S3Config {
    /// A config for `bucket` with every other setting at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: String::new(),
            region: None,
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            allow_http: None,
            virtual_hosted_style: false,
            max_retries: default_max_retries(),
            retry_timeout: default_retry_timeout(),
            request_timeout: default_request_timeout(),
            concurrency: DEFAULT_CONCURRENCY,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
        }
    }

    /// Parse a config map (`type` is ignored; unknown fields are rejected).
    pub fn from_map(config: &ConfigMap) -> Result<Self> {
        let config: S3Config = store_core::parse_config(config)?;
        config.validate()?;
        Ok(config)
    }

    /// Fill an absent region and endpoint from the standard AWS environment variables
    /// (`AWS_REGION`, then `AWS_DEFAULT_REGION`; `AWS_ENDPOINT_URL_S3`, then
    /// `AWS_ENDPOINT_URL`, then `AWS_ENDPOINT`, as object_store reads them), read through
    /// `env` (so tests need not touch the process environment).
    ///
    /// Credentials are not filled here: without a configured key pair,
    /// [`S3Store::connect`](crate::S3Store::connect) leaves them to the AWS credential
    /// chain, which reads `AWS_ACCESS_KEY_ID` and the rest itself.
    pub fn with_env_fallback(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
        if self.region.is_none() {
            self.region = first(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
        }
        if self.endpoint.is_none() {
            self.endpoint = first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]);
        }
        self
    }

    /// Check values serde cannot: a usable bucket, prefix, concurrency and threshold.
    pub fn validate(&self) -> Result<()> {
        settings::validate(
            "bucket",
            &self.bucket,
            &self.prefix,
            self.concurrency,
            self.multipart_threshold,
        )?;
        // Credentials replace the environment's as a whole (see `S3Store::connect`), so
        // half a key pair is a mistake, not something to complete from elsewhere.
        let half = match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) => Some(("secret_access_key", "access_key_id")),
            (None, Some(_)) => Some(("access_key_id", "secret_access_key")),
            _ => None,
        };
        if let Some((missing, given)) = half {
            return Err(Error::invalid_config(
                missing,
                format!(
                    "missing while `{given}` is set: give both (a config file can take them \
                     from `${{AWS_ACCESS_KEY_ID}}` / `${{AWS_SECRET_ACCESS_KEY}}`), or neither to \
                     use the AWS credential chain"
                ),
            ));
        }
        if self.session_token.is_some() && self.access_key_id.is_none() {
            return Err(Error::invalid_config(
                "session_token",
                "a session token belongs to a key pair: set `access_key_id` and \
                 `secret_access_key` too",
            ));
        }
        settings::validate_endpoint(self.endpoint.as_deref())?;
        Ok(())
    }

    /// Whether plain HTTP is allowed: as configured, else when the endpoint is `http://`.
    pub fn http_allowed(&self) -> bool {
        settings::http_allowed(self.allow_http, self.endpoint.as_deref())
    }
}

/// The config map for `s3://bucket/prefix?endpoint=…&region=…`: bucket and prefix from
/// the URI, every query parameter and option read into [`S3Config`], typed. Secrets
/// (`secret_access_key`, `session_token`) are refused in the query but accepted as options.
pub fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    settings::config_from_uri::<S3Config>(uri, "s3", "bucket")
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
    fn parses_every_field() {
        let c = S3Config::from_map(&map(json!({
            "type": "s3", "bucket": "b", "prefix": "p/q", "region": "eu-west-1",
            "endpoint": "http://127.0.0.1:9000", "access_key_id": "AKID",
            "secret_access_key": "s3cr3t-value", "session_token": "t0ken-value",
            "allow_http": true, "virtual_hosted_style": false, "max_retries": 2,
            "retry_timeout": "1500ms", "request_timeout": 5, "concurrency": 8,
            "multipart_threshold": 8388608
        })))
        .unwrap();
        assert_eq!(c.prefix, "p/q");
        assert_eq!(c.retry_timeout, Duration::from_millis(1500));
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(
            c.secret_access_key.as_ref().unwrap().expose(),
            "s3cr3t-value"
        );
        assert!(c.http_allowed());
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut c = S3Config::new("b");
        c.secret_access_key = Some(Secret::new("s3cr3t-value"));
        c.session_token = Some(Secret::new("t0ken-value"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("t0ken"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn unknown_and_bad_fields_are_rejected() {
        let e = S3Config::from_map(&map(json!({"bucket": "b", "colour": 1}))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.to_string().contains("colour"), "{e}");
        let e = S3Config::from_map(&map(json!({"bucket": "b", "concurrency": 0}))).unwrap_err();
        assert!(e.to_string().contains("concurrency"), "{e}");
        let e = S3Config::from_map(&map(json!({"bucket": "b", "prefix": "/x/"}))).unwrap_err();
        assert!(e.to_string().contains("prefix"), "{e}");
        let e =
            S3Config::from_map(&map(json!({"bucket": "b", "retry_timeout": "soon"}))).unwrap_err();
        assert!(e.to_string().contains("retry_timeout"), "{e}");
        let e = S3Config::from_map(&map(json!({"bucket": "b", "multipart_threshold": 10})))
            .unwrap_err();
        assert!(e.to_string().contains("multipart_threshold"), "{e}");
        assert!(S3Config::from_map(&map(json!({"prefix": "x"}))).is_err());
    }

    #[test]
    fn environment_fills_only_absent_settings() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("env-id".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
            "AWS_DEFAULT_REGION" => Some("ap-south-1".to_owned()),
            "AWS_ENDPOINT" => Some("http://env:9000".to_owned()),
            _ => None,
        };
        let filled = S3Config::new("b").with_env_fallback(env);
        assert_eq!(filled.region.as_deref(), Some("ap-south-1"));
        assert_eq!(filled.endpoint.as_deref(), Some("http://env:9000"));
        // Credentials are the credential chain's business, not copied into the config.
        assert!(filled.access_key_id.is_none() && filled.secret_access_key.is_none());

        let mut explicit = S3Config::new("b");
        explicit.region = Some("eu-west-1".into());
        explicit.endpoint = Some("http://mine:9000".into());
        let kept = explicit.with_env_fallback(env);
        assert_eq!(kept.region.as_deref(), Some("eu-west-1"));
        assert_eq!(kept.endpoint.as_deref(), Some("http://mine:9000"));
    }

    #[test]
    fn credentials_come_as_a_pair() {
        for (config, missing) in [
            (
                json!({"bucket": "b", "access_key_id": "AKID"}),
                "secret_access_key",
            ),
            (
                json!({"bucket": "b", "secret_access_key": "s3cr3t-value"}),
                "access_key_id",
            ),
            (
                json!({"bucket": "b", "session_token": "t0ken-value"}),
                "session_token",
            ),
        ] {
            let err = S3Config::from_map(&map(config)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(
                err.to_string().contains(&format!("field `{missing}`")),
                "{err}"
            );
            let shown = err.to_string();
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("t0ken"),
                "{shown}"
            );
        }
    }

    fn uri_config(uri: &str, options: &[(String, String)]) -> Result<ConfigMap> {
        config_from_uri(&StoreUri::new(&Url::parse(uri).unwrap(), options))
    }

    #[test]
    fn uri_maps_to_config() {
        let c = uri_config("s3://bkt/some/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1&concurrency=4&allow_http=true&retry_timeout=1500ms", &[]).unwrap();
        assert_eq!(c["type"], "s3");
        assert_eq!(c["bucket"], "bkt");
        assert_eq!(c["prefix"], "some/prefix");
        assert_eq!(c["endpoint"], "http://127.0.0.1:9000");
        let parsed = S3Config::from_map(&c).unwrap();
        assert_eq!(parsed.concurrency, 4);
        assert_eq!(parsed.allow_http, Some(true));
        assert_eq!(parsed.retry_timeout, Duration::from_millis(1500));

        let bare = uri_config("s3://bkt", &[]).unwrap();
        assert!(!bare.contains_key("prefix"));
        for secret in ["secret_access_key", "session_token"] {
            let err = uri_config(&format!("s3://bkt/p?{secret}=hunter22"), &[]).unwrap_err();
            assert!(err.to_string().contains(&format!("`{secret}`")), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
        let err = uri_config("s3://bkt?colour=red", &[]).unwrap_err();
        assert!(err.to_string().contains("field `colour`"), "{err}");
        let err = uri_config("s3://bkt?concurrency=many", &[]).unwrap_err();
        assert!(err.to_string().contains("field `concurrency`"), "{err}");
    }

    #[test]
    fn uri_options_carry_secrets() {
        let options = [
            ("access_key_id".to_owned(), "AKID".to_owned()),
            ("secret_access_key".to_owned(), "s3cr3t-value".to_owned()),
        ];
        let c = uri_config("s3://bkt/p", &options).unwrap();
        let parsed = S3Config::from_map(&c).unwrap();
        assert_eq!(parsed.access_key_id.as_deref(), Some("AKID"));
        assert_eq!(parsed.secret_access_key.unwrap().expose(), "s3cr3t-value");
    }
}
