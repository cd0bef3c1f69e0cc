//! The store's configuration, from a config map or a `dynamodb://table?...` URI.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri};

/// The namespace (partition key value) used when the config names none.
pub const DEFAULT_NAMESPACE: &str = "strata";

/// The per-request timeout used when the config names none: 5 seconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// How often a throttled, failed (5xx) or unreachable request is retried when the config
/// says nothing: 6 retries, backing off from 25 ms to 1 s (about 2 s in all).
pub const DEFAULT_MAX_RETRIES: u32 = 6;

/// The region used when neither the config nor `AWS_REGION` / `AWS_DEFAULT_REGION` names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// `{"type": "dynamodb", "table": "t", "region": "eu-west-1", "endpoint":
/// "http://127.0.0.1:8000", "namespace": "app", "access_key_id": "...",
/// "secret_access_key": "...", "create_table": false, "timeout_ms": 5000, "max_retries": 6}`.
///
/// Credentials: both `access_key_id` and `secret_access_key` (and optionally
/// `session_token`), or none, and then `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and
/// `AWS_SESSION_TOKEN`) from the environment. The instance-metadata endpoint is never
/// asked. Debug output never shows the secret key or the session token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoConfig {
    /// The table: partition key `pk` (string), sort key `sk` (string).
    pub table: String,
    /// The AWS region; default `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// The service URL; default `https://dynamodb.<region>.amazonaws.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// This store's partition key value: stores with different namespaces share a table
    /// and nothing else.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The access key id (not secret, but paired with the secret key).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The secret access key.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// A session token for temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Create the table (on-demand billing) when it is missing at open, instead of failing
    /// with `NotFound`. Unset: no when opened directly, the registry's
    /// `creates_missing` when opened through one.
    #[serde(default)]
    pub create_table: Option<bool>,
    /// How long one request may take before it counts as failed, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How often a throttled, 5xx or unreachable request is retried before the call fails
    /// with a retryable `Unavailable` error.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_owned()
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

/// Credentials resolved from the config or the environment (Debug shows no secret).
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Secret,
    pub(crate) session_token: Option<Secret>,
}

impl DynamoConfig {
    /// A config for `table` with every other setting at its default.
    pub fn new(table: impl Into<String>) -> Self {
        DynamoConfig {
            table: table.into(),
            region: None,
            endpoint: None,
            namespace: default_namespace(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            create_table: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }

    /// Set the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Set the endpoint (a local server, a VPC endpoint).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Set the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Set explicit credentials.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(Secret::new(secret));
        self
    }

    /// Create the table at open when it is missing.
    pub fn create_table(mut self, create: bool) -> Self {
        self.create_table = Some(create);
        self
    }

    /// Set the per-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Set how often failed requests are retried.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The region to sign for.
    pub(crate) fn resolved_region(&self) -> String {
        self.region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned())
    }

    /// The URL requests go to.
    pub(crate) fn resolved_endpoint(&self) -> Result<url::Url> {
        let text = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => format!("https://dynamodb.{}.amazonaws.com", self.resolved_region()),
        };
        let url = url::Url::parse(&text)
            .map_err(|e| Error::invalid_config("endpoint", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::invalid_config(
                "endpoint",
                "must be an http:// or https:// URL with a host",
            ));
        }
        Ok(url)
    }

    /// Explicit credentials, else the standard environment variables.
    pub(crate) fn resolved_credentials(&self) -> Result<Credentials> {
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => Ok(Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: self.session_token.clone(),
            }),
            (Some(_), None) => Err(Error::invalid_config(
                "secret_access_key",
                "is required with access_key_id",
            )),
            (None, Some(_)) => Err(Error::invalid_config(
                "access_key_id",
                "is required with secret_access_key",
            )),
            (None, None) => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => Ok(Credentials {
                    access_key_id: id,
                    secret_access_key: Secret::new(secret),
                    session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
                }),
                _ => Err(Error::invalid_config(
                    "access_key_id",
                    "no credentials: set access_key_id and secret_access_key, or \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                )),
            },
        }
    }

    /// The timeout as a duration (at least a millisecond).
    pub(crate) fn timeout_duration(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// Refuse settings no store can work with, naming the field.
    pub(crate) fn validate(&self) -> Result<()> {
        // DynamoDB's table name rules: 3 to 255 of [A-Za-z0-9_.-].
        let name_ok = (3..=255).contains(&self.table.len())
            && self
                .table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !name_ok {
            return Err(Error::invalid_config(
                "table",
                "must be 3 to 255 letters, digits, `_`, `.` or `-`",
            ));
        }
        if self.namespace.is_empty() || self.namespace.len() > 1024 {
            return Err(Error::invalid_config(
                "namespace",
                "must be 1 to 1024 bytes (a DynamoDB partition key value)",
            ));
        }
        self.resolved_endpoint().map(drop)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl fmt::Debug for DynamoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoConfig")
            .field("table", &self.table)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("namespace", &self.namespace)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("create_table", &self.create_table)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// The config map of `dynamodb://table?region=...&endpoint=...&namespace=...`: the host is
/// the table, every query parameter (and option) is read into [`DynamoConfig`]. Secrets
/// come from options or the environment, never from the query.
pub(crate) fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    let url = uri.url();
    let table = url.host_str().unwrap_or_default();
    if table.is_empty() {
        return Err(Error::invalid_config(
            "uri",
            "missing the table, as in `dynamodb://my-table?region=eu-west-1`",
        ));
    }
    if !matches!(url.path(), "" | "/") {
        return Err(Error::invalid_config(
            "uri",
            "a `dynamodb://` URI names a table and nothing after it (use `?namespace=`)",
        ));
    }
    let mut config = ConfigMap::new();
    config.insert("type".into(), "dynamodb".into());
    config.insert("table".into(), table.into());
    uri.config::<DynamoConfig>(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::{ErrorKind, parse_config};

    fn uri(s: &str) -> Result<ConfigMap> {
        config_from_uri(&StoreUri::new(&url::Url::parse(s).unwrap(), &[]))
    }

    #[test]
    fn uri_becomes_config() {
        let map = uri(
            "dynamodb://my-table?region=eu-west-1&endpoint=http://127.0.0.1:9&namespace=app&create_table=true",
        )
        .unwrap();
        let config: DynamoConfig = parse_config(&map).unwrap();
        assert_eq!(config.table, "my-table");
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(config.namespace, "app");
        assert_eq!(config.create_table, Some(true));
        assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
    }

    #[test]
    fn bad_uris_and_fields_are_named() {
        for (s, needle) in [
            ("dynamodb:///x", "missing the table"),
            ("dynamodb://tbl/extra", "nothing after it"),
            ("dynamodb://tbl?colour=red", "field `colour`"),
            (
                "dynamodb://tbl?secret_access_key=s",
                "secrets do not belong",
            ),
            ("dynamodb://tbl?timeout_ms=soon", "field `timeout_ms`"),
        ] {
            let err = uri(s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{s}");
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
        let err = DynamoConfig::new("ab").validate().unwrap_err();
        assert!(err.to_string().contains("field `table`"), "{err}");
        let err = DynamoConfig::new("tbl")
            .namespace("")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("field `namespace`"), "{err}");
        let err = DynamoConfig::new("tbl")
            .endpoint("ftp://h")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("field `endpoint`"), "{err}");
        let mut half = DynamoConfig::new("tbl");
        half.access_key_id = Some("id".into());
        let err = half.resolved_credentials().unwrap_err();
        assert!(err.to_string().contains("secret_access_key"), "{err}");
    }

    #[test]
    fn debug_hides_the_secret() {
        let config = DynamoConfig::new("tbl").credentials("AKIDEXAMPLE", "hunter2");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
    }
}
