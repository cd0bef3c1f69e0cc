//! The store's configuration, from a config map or a `redis://` URI.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri, redact_uri};

/// The namespace used when the config names none.
pub const DEFAULT_NAMESPACE: &str = "strata";

/// The connect and response timeout used when the config names none: 5 seconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// `{"type": "redis", "url": "redis://[user:password@]host:port[/db]", "namespace": "app",
/// "timeout_ms": 5000}`.
///
/// Debug output shows the URL with its password replaced by `…`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// The server, as redis-rs parses it: `redis://[user:password@]host:port[/db]`. A
    /// secret, because it may carry a password.
    pub url: Secret,
    /// Every key of this store lives under `{namespace}:` (braces included: a Redis
    /// Cluster hash tag, so a namespace's keys share one slot and every script may touch
    /// them all). Two stores with different namespaces share nothing.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// How long connecting and each reply may take before the call fails with a
    /// retryable `Unavailable` error, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_owned()
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl RedisConfig {
    /// A config for the server at `url` with the default namespace and timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: Secret::new(url),
            namespace: default_namespace(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    /// Set the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Set the connect and response timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The URL without its password, for messages.
    pub(crate) fn shown_url(&self) -> String {
        redact_uri(self.url.expose())
    }

    /// The timeout as a duration (at least a millisecond: zero would mean "never").
    pub(crate) fn timeout_duration(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// Refuse settings no store can work with, naming the field.
    pub(crate) fn validate(&self) -> Result<()> {
        let ns = &self.namespace;
        if ns.is_empty() {
            return Err(Error::invalid_config("namespace", "must not be empty"));
        }
        // Braces would end or nest the Cluster hash tag `{namespace}`.
        if ns.contains(['{', '}']) || ns.chars().any(char::is_control) {
            return Err(Error::invalid_config(
                "namespace",
                "must not contain `{`, `}` or control characters",
            ));
        }
        if !self.url.expose().starts_with("redis://") {
            return Err(Error::invalid_config(
                "url",
                format!("`{}` is not a `redis://host:port/db` URL", self.shown_url()),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.shown_url())
            .field("namespace", &self.namespace)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The config map of `redis://[user:password@]host:port[/db][?namespace=...&timeout_ms=N]`:
/// the URI without its query becomes `url`, every query parameter (and option) is read
/// into [`RedisConfig`].
pub(crate) fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    let mut url = uri.url().clone();
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_config(
            "uri",
            "missing the server, as in `redis://127.0.0.1:6379/0`",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut config = ConfigMap::new();
    config.insert("type".into(), "redis".into());
    config.insert("url".into(), url.as_str().into());
    uri.config::<RedisConfig>(config)
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
        let map = uri("redis://:pw@127.0.0.1:6380/3?namespace=app&timeout_ms=250").unwrap();
        let config: RedisConfig = parse_config(&map).unwrap();
        assert_eq!(config.url.expose(), "redis://:pw@127.0.0.1:6380/3");
        assert_eq!(config.namespace, "app");
        assert_eq!(config.timeout_ms, 250);
        let config: RedisConfig = parse_config(&uri("redis://h:1").unwrap()).unwrap();
        assert_eq!(config.namespace, DEFAULT_NAMESPACE);
        assert_eq!(config.timeout_ms, DEFAULT_TIMEOUT_MS);
    }

    #[test]
    fn bad_uris_and_fields_are_named() {
        for (s, needle) in [
            ("redis:///0", "missing the server"),
            ("redis://h:1/0?colour=red", "field `colour`"),
            ("redis://h:1/0?timeout_ms=soon", "field `timeout_ms`"),
            ("redis://h:1/0?url=redis://x", "field `url`: is given twice"),
        ] {
            let err = uri(s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{s}");
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
        for (ns, needle) in [("", "must not be empty"), ("a{b", "`{`")] {
            let err = RedisConfig::new("redis://h:1")
                .namespace(ns)
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains("field `namespace`"), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        let err = RedisConfig::new("http://h:1").validate().unwrap_err();
        assert!(err.to_string().contains("field `url`"), "{err}");
    }

    #[test]
    fn debug_hides_the_password() {
        let config = RedisConfig::new("redis://user:hunter2@h:1/0");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user"), "{shown}");
    }
}
