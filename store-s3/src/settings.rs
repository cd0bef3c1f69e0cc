//! What every cloud's config shares: duration fields, defaults, prefix and container
//! checks, and reading `scheme://container/prefix` URIs. Each cloud's config struct
//! declares its own fields (serde's `deny_unknown_fields` cannot be combined with a
//! flattened common part) and uses these for the common ones.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use store_core::{ConfigMap, Error, Result, StoreUri};

pub(crate) fn default_max_retries() -> usize {
    3
}
pub(crate) fn default_retry_timeout() -> Duration {
    Duration::from_secs(30)
}
pub(crate) fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}
pub(crate) fn default_concurrency() -> usize {
    crate::DEFAULT_CONCURRENCY
}
pub(crate) fn default_multipart_threshold() -> usize {
    crate::DEFAULT_MULTIPART_THRESHOLD
}

/// Whether plain HTTP is allowed: as configured, else exactly when the endpoint is
/// `http://` (an emulator or a private endpoint).
pub(crate) fn http_allowed(allow_http: Option<bool>, endpoint: Option<&str>) -> bool {
    allow_http.unwrap_or_else(|| endpoint.is_some_and(|e| e.starts_with("http://")))
}

/// A duration as a number of seconds or a string with a unit (`ms`, `s`, `m`).
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }
    let bad = |what: &dyn fmt::Display| {
        serde::de::Error::custom(format!(
            "`{what}` is not a duration: use seconds or a string like \"500ms\", \"30s\", \"2m\""
        ))
    };
    let secs = match Raw::deserialize(d)? {
        Raw::Seconds(s) => s,
        Raw::Text(t) => parse_duration_text(&t).ok_or_else(|| bad(&t))?,
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad(&secs))
}

fn parse_duration_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// Check the settings every cloud shares: a usable container name (`field` names it:
/// `bucket`, `container`), prefix, concurrency and multipart threshold.
pub(crate) fn validate(
    field: &str,
    container: &str,
    prefix: &str,
    concurrency: usize,
    multipart_threshold: usize,
) -> Result<()> {
    if container.is_empty() || container.contains('/') {
        return Err(Error::invalid_config(
            field,
            format!("`{container}` is not a {field} name"),
        ));
    }
    if prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix.split('/').any(|s| s == "." || s == "..")
        || prefix.contains("//")
        || prefix.chars().any(char::is_control)
    {
        return Err(Error::invalid_config(
            "prefix",
            format!("`{prefix}`: use `/`-separated segments without a leading or trailing `/`"),
        ));
    }
    if concurrency == 0 {
        return Err(Error::invalid_config("concurrency", "must be at least 1"));
    }
    if multipart_threshold < crate::MIN_PART_SIZE {
        return Err(Error::invalid_config(
            "multipart_threshold",
            format!(
                "must be at least {} bytes (the smallest part)",
                crate::MIN_PART_SIZE
            ),
        ));
    }
    Ok(())
}

/// Check that an endpoint is a URL.
pub(crate) fn validate_endpoint(endpoint: Option<&str>) -> Result<()> {
    if let Some(endpoint) = endpoint {
        url::Url::parse(endpoint).map_err(|e| {
            Error::invalid_config("endpoint", format!("`{endpoint}` is not a URL: {e}"))
        })?;
    }
    Ok(())
}

/// The config map for `scheme://container/prefix?…` of store `type_name`: the URI's host
/// as field `container_field`, its path as `prefix`, every query parameter and option read
/// into `T`, typed (secrets are refused in the query by `StoreUri::config`).
pub(crate) fn config_from_uri<T: serde::de::DeserializeOwned>(
    uri: &StoreUri<'_>,
    type_name: &str,
    container_field: &str,
) -> Result<ConfigMap> {
    let url = uri.url();
    let container = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
        Error::invalid_config(
            "uri",
            format!(
                "name the {container_field}, as in {}://{container_field}/prefix",
                url.scheme()
            ),
        )
    })?;
    let mut config = ConfigMap::new();
    config.insert("type".into(), type_name.into());
    config.insert(container_field.into(), container.into());
    let prefix = url.path().trim_matches('/');
    if !prefix.is_empty() {
        let decoded = percent_decode(prefix)
            .ok_or_else(|| Error::invalid_config("uri", "bad percent-encoding in the prefix"))?;
        config.insert("prefix".into(), decoded.into());
    }
    uri.config::<T>(config)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
