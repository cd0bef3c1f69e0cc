//! Store configuration: a serde map whose `type` field names the backend.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

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
            format!("expected a string naming the store type, found {other}"),
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
pub fn parse_config<T: DeserializeOwned>(config: &ConfigMap) -> Result<T> {
    let mut map = config.clone();
    map.remove(TYPE_FIELD);
    let value = serde_json::Value::Object(map);
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = unknown_field_name(&inner).unwrap_or(path);
        Error::invalid_config(&field, inner)
    })
}

// serde reports an unknown field at the path of the struct holding it; name the field itself.
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
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

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        path: String,
        #[serde(default)]
        max_bytes: Option<u64>,
    }

    fn map(v: serde_json::Value) -> ConfigMap {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn unknown_field_is_named() {
        let err = parse_config::<Example>(&map(serde_json::json!({
            "type": "x", "path": "/p", "colour": "red"
        })))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("field `colour`"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = parse_config::<Example>(&map(serde_json::json!({
            "path": "/p", "max_bytes": "lots"
        })))
        .unwrap_err();
        assert!(err.to_string().contains("field `max_bytes`"), "{err}");
    }

    #[test]
    fn missing_type_is_reported() {
        let err = config_type(&ConfigMap::new()).unwrap_err();
        assert!(err.to_string().contains("field `type`"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
