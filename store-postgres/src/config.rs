//! The store's configuration, from a config map or a `postgres://` URI.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, Secret, StoreUri, parse_config, redact_uri};

/// The default number of pooled connections.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The default table name.
pub const DEFAULT_TABLE: &str = "strata";

/// Whether connections use TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain TCP (the default): for a local server or a trusted network.
    #[default]
    Disable,
    /// TLS, refusing servers that do not offer it; the server's certificate is verified
    /// against the system's roots, or against `tls_ca_file` if given.
    Require,
}

/// `{"type": "postgres", "url": "postgres://user:pw@host:port/db", "table": "strata",
/// "pool_size": 16, "create_table": true, "connect_timeout": 10, "op_timeout": 30}`.
///
/// `Debug` shows the URL without its password; the password never appears in errors.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The connection URL (`postgres://user[:password]@host[:port]/database[?param=…]`),
    /// in any form `tokio_postgres::Config` parses (key-value strings too). Held as a
    /// secret: it may carry the password.
    pub url: Secret,
    /// A password that replaces the URL's (so the URL can be logged).
    #[serde(default)]
    pub password: Option<Secret>,
    /// The table holding the store: a plain identifier (`[a-z_][a-z0-9_]*`, at most 48
    /// characters), optionally schema-qualified (`schema.table`).
    #[serde(default = "default_table")]
    pub table: String,
    /// How many connections the pool keeps at most.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Whether a missing table (and its version sequence) is created on open. An existing
    /// table is always validated, never altered.
    #[serde(default = "default_true")]
    pub create_table: bool,
    /// Seconds to wait for a connection (TCP connect + authentication, or a free pooled one).
    #[serde(default = "default_connect_timeout", deserialize_with = "seconds")]
    pub connect_timeout: Duration,
    /// Seconds one operation may take in all, after which it fails `Unavailable`.
    #[serde(default = "default_op_timeout", deserialize_with = "seconds")]
    pub op_timeout: Duration,
    /// `"disable"` (the default) or `"require"`.
    #[serde(default)]
    pub tls: TlsMode,
    /// A PEM file of the certificates that may sign the server's (instead of the system's
    /// roots), for `tls = "require"`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

fn default_table() -> String {
    DEFAULT_TABLE.to_owned()
}
fn default_pool_size() -> usize {
    DEFAULT_POOL_SIZE
}
fn default_true() -> bool {
    true
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_op_timeout() -> Duration {
    Duration::from_secs(30)
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Secs {
        Number(f64),
        Text(String),
    }
    let secs = match Secs::deserialize(d)? {
        Secs::Number(n) => n,
        Secs::Text(t) => t
            .parse()
            .map_err(|_| serde::de::Error::custom("expected a number of seconds"))?,
    };
    if secs.is_nan() || secs <= 0.0 {
        return Err(serde::de::Error::custom(
            "expected a positive number of seconds",
        ));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| serde::de::Error::custom("expected a number of seconds"))
}

impl PostgresConfig {
    /// A config with default settings for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: Secret::new(url),
            password: None,
            table: default_table(),
            pool_size: DEFAULT_POOL_SIZE,
            create_table: true,
            connect_timeout: default_connect_timeout(),
            op_timeout: default_op_timeout(),
            tls: TlsMode::Disable,
            tls_ca_file: None,
        }
    }

    /// Use `table` instead of [`DEFAULT_TABLE`].
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Read a config map (`type` ignored, unknown fields rejected).
    pub fn from_map(config: &ConfigMap) -> Result<Self> {
        parse_config(config)
    }

    /// The table name, checked to be a plain identifier, so it can go into SQL unquoted.
    pub(crate) fn checked_table(&self) -> Result<&str> {
        let plain = |part: &str| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let parts: Vec<&str> = self.table.split('.').collect();
        if self.table.len() > 48 || parts.len() > 2 || !parts.iter().all(|p| plain(p)) {
            return Err(Error::invalid_config(
                "table",
                "expected a plain lower-case identifier such as `strata` or `app.strata` \
                 (letters, digits, `_`; at most 48 characters)",
            ));
        }
        Ok(&self.table)
    }

    /// The tokio-postgres settings: the URL, the password override and the connect
    /// timeout. Errors never echo the URL (it may hold the password).
    pub(crate) fn client_config(&self) -> Result<tokio_postgres::Config> {
        let mut config = tokio_postgres::Config::from_str(self.url.expose()).map_err(|_| {
            Error::invalid_config(
                "url",
                "not a PostgreSQL connection URL (`postgres://user@host:port/database`)",
            )
        })?;
        if config.get_hosts().is_empty() {
            return Err(Error::invalid_config("url", "names no host"));
        }
        if let Some(password) = &self.password {
            config.password(password.expose());
        }
        if config.get_dbname().is_none() {
            return Err(Error::invalid_config(
                "url",
                "names no database (`postgres://user@host:port/database`)",
            ));
        }
        use tokio_postgres::config::SslMode;
        match (self.tls, config.get_ssl_mode()) {
            (TlsMode::Disable, SslMode::Require) => {
                return Err(Error::invalid_config(
                    "tls",
                    "the url asks for `sslmode=require`: set `tls` to `require`",
                ));
            }
            (TlsMode::Disable, _) => config.ssl_mode(SslMode::Disable),
            (TlsMode::Require, _) => config.ssl_mode(SslMode::Require),
        };
        config.connect_timeout(self.connect_timeout);
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("strata");
        Ok(config)
    }

    /// Check every setting without connecting.
    pub fn validate(&self) -> Result<()> {
        self.checked_table()?;
        self.client_config()?;
        if self.pool_size == 0 {
            return Err(Error::invalid_config("pool_size", "must be at least 1"));
        }
        if self.tls_ca_file.is_some() && self.tls == TlsMode::Disable {
            return Err(Error::invalid_config(
                "tls_ca_file",
                "is given but `tls` is `disable`",
            ));
        }
        Ok(())
    }

    /// The URL with its password replaced by `…`, for messages.
    pub fn redacted_url(&self) -> String {
        redact_uri(self.url.expose())
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.redacted_url())
            .field("password", &self.password)
            .field("table", &self.table)
            .field("pool_size", &self.pool_size)
            .field("create_table", &self.create_table)
            .field("connect_timeout", &self.connect_timeout)
            .field("op_timeout", &self.op_timeout)
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

/// The config map of `postgres://user@host:port/database?table=…&pool_size=…`: the URL
/// without its query becomes `url`, every query parameter (and option) a field.
pub(crate) fn config_from_uri(uri: &StoreUri<'_>) -> Result<ConfigMap> {
    let mut url = uri.url().clone();
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_config(
            "uri",
            "a PostgreSQL URI names a server: `postgres://user@host:port/database`",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut config = ConfigMap::new();
    config.insert("type".into(), "postgres".into());
    config.insert("url".into(), url.as_str().into());
    uri.config::<PostgresConfig>(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn uri(s: &str, options: &[(String, String)]) -> Result<ConfigMap> {
        config_from_uri(&StoreUri::new(&url::Url::parse(s).unwrap(), options))
    }

    #[test]
    fn uri_becomes_config() {
        let map = uri(
            "postgres://app@db.example:5433/prod?table=app.kv&pool_size=4&create_table=false&op_timeout=2.5",
            &[],
        )
        .unwrap();
        let config = PostgresConfig::from_map(&map).unwrap();
        assert_eq!(config.url.expose(), "postgres://app@db.example:5433/prod");
        assert_eq!(config.table, "app.kv");
        assert_eq!(config.pool_size, 4);
        assert!(!config.create_table);
        assert_eq!(config.op_timeout, Duration::from_millis(2500));
        assert_eq!(config.tls, TlsMode::Disable);
        config.validate().unwrap();
        let map = uri("postgres://u@h/db?tls=require&tls_ca_file=/etc/ca.pem", &[]).unwrap();
        let config = PostgresConfig::from_map(&map).unwrap();
        assert_eq!(config.tls, TlsMode::Require);
        assert_eq!(config.tls_ca_file, Some(PathBuf::from("/etc/ca.pem")));
        config.validate().unwrap();
    }

    #[test]
    fn tls_settings_must_agree() {
        let err = PostgresConfig::new("postgres://u@h/db?sslmode=require")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("field `tls`"), "{err}");
        let mut config = PostgresConfig::new("postgres://u@h/db");
        config.tls_ca_file = Some("/ca.pem".into());
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("field `tls_ca_file`"), "{err}");
    }

    #[test]
    fn bad_settings_are_named_and_secrets_never_shown() {
        for (s, needle) in [
            ("postgres://u@h/db?tls=maybe", "field `tls`"),
            ("postgres://u@h/db?colour=red", "field `colour`"),
            ("postgres://u@h/db?pool_size=lots", "field `pool_size`"),
            (
                "postgres://u@h/db?password=hunter2",
                "secrets do not belong",
            ),
            ("postgres://u@h/db?op_timeout=-1", "field `op_timeout`"),
        ] {
            let err = uri(s, &[]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{s}");
            assert!(err.to_string().contains(needle), "{s}: {err}");
            assert!(!err.to_string().contains("hunter2"), "{s}: {err}");
        }
        for (table, ok) in [
            ("strata", true),
            ("app.kv_2", true),
            ("Strata", false),
            ("a;drop table x", false),
            ("a.b.c", false),
            ("", false),
        ] {
            let config = PostgresConfig::new("postgres://u@h/db").table(table);
            assert_eq!(config.validate().is_ok(), ok, "{table}");
        }
        let config = PostgresConfig::new("postgres://u:hunter2@h/db");
        assert!(!format!("{config:?}").contains("hunter2"));
        let err = PostgresConfig::new("postgres://u:hunter2@h:notaport/db")
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        let err = PostgresConfig::new("postgres://u@h")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("no database"), "{err}");
    }

    #[test]
    fn password_comes_as_an_option() {
        let map = uri(
            "postgres://u@h/db",
            &[("password".to_owned(), "hunter2".to_owned())],
        )
        .unwrap();
        let config = PostgresConfig::from_map(&map).unwrap();
        assert_eq!(
            config.client_config().unwrap().get_password(),
            Some(&b"hunter2"[..])
        );
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
