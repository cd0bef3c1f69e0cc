//! Store configuration: a serde map whose `type` field names the backend.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

mod de;

/// A store's configuration, e.g. `{"type": "memory"}` or
/// `{"type": "file", "path": "/data", "sync": "always"}`. Values may nest
/// (a tiered store holds the maps of its tiers).
pub type ConfigMap = serde_json::Map<String, serde_json::Value>;

/// The name of the field that selects the backend.
pub const TYPE_FIELD: &str = "type";

/// The backend type named by a config map.
pub fn config_type(config: &ConfigMap) -> Result<&str> {
    match config.get(TYPE_FIELD) {
        Some(serde_json::Value::String(t)) => Ok(t),
        Some(other) => Err(Error::invalid_config(
            TYPE_FIELD,
            format!(
                "expected a string naming the store type, found {}",
                value_kind(other)
            ),
        )),
        None => Err(Error::invalid_config(
            TYPE_FIELD,
            "missing: say which store to open",
        )),
    }
}

/// Deserialize a backend's typed config from its map, rejecting unknown fields and wrong
/// types with `InvalidConfig` errors that name the field (`a.b` for nested ones).
///
/// The `type` field is ignored, so backend config structs need not declare it; they should
/// use `#[serde(deny_unknown_fields)]`.
///
/// Errors never print a value, since a value may be a secret (`"${AWS_SECRET_ACCESS_KEY}"`
/// expanded from the environment): they name the field and what was expected and found
/// ("field `max_retries`: expected an unsigned integer, found a string"), and a value
/// quoted by a `deserialize_with` or `FromStr` message is replaced by `<value>`. Numbers
/// and booleans may be given as strings (`"3"`, `"true"`), as URI query parameters and
/// `${VAR}` expansions always are.
pub fn parse_config<T: DeserializeOwned>(config: &ConfigMap) -> Result<T> {
    let mut map = config.clone();
    map.remove(TYPE_FIELD);
    let value = serde_json::Value::Object(map);
    de::from_value(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = match (inner.missing_field(), path.as_str()) {
            (Some(field), ".") => field.to_owned(),
            (Some(field), parent) => format!("{parent}.{field}"),
            (None, _) => path,
        };
        Error::invalid_config(&field, inner.message())
    })
}

/// What kind of JSON value `value` is, for messages that must not print it.
pub(crate) fn value_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// A URI as errors and logs may show it: the user-info password and the value of every
/// query parameter are replaced by `…`, since either may hold a secret. Text that does not
/// parse as a URI is cut before its query and user info the same way.
///
/// ```
/// use store_core::redact_uri;
/// assert_eq!(
///     redact_uri("s3://key:hunter2@bucket/p?endpoint=http://h&token=abc"),
///     "s3://key:…@bucket/p?endpoint=…&token=…"
/// );
/// assert_eq!(redact_uri("redb:///data/x.redb"), "redb:///data/x.redb");
/// ```
pub fn redact_uri(uri: &str) -> String {
    let (base, query) = match uri.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (uri, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            // User info ends at the last `@` before the path.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => {
                    let user = rest[..at].split(':').next().unwrap_or("");
                    let password = if rest[..at].contains(':') { ":…" } else { "" };
                    format!("{scheme}://{user}{password}@{}", &rest[at + 1..])
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let names: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}=…"),
                None => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&names.join("&"));
    }
    out
}

/// A secret string (an access key, a password). Its `Debug` and `Display` print
/// `<redacted>`, so it never leaks into logs or error messages.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for handing to the component that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The name `Secret` deserializes under (as a newtype struct), so that the URI parser can
/// tell a secret field from others and refuse secrets in a URI's query.
pub(crate) const SECRET_NAME: &str = "Secret";

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct SecretVisitor;
        impl<'de> serde::de::Visitor<'de> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Secret, D::Error> {
                String::deserialize(d).map(Secret)
            }
        }
        d.deserialize_newtype_struct(SECRET_NAME, SecretVisitor)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
