//! From a store URI to a config map: one way for every backend.
//!
//! A URI's query (`?durability=none&cache_size=1024`) and the extra options of
//! `open_uri_with` are text. They become fields of the config map, and the map is checked
//! at once against the backend's own config struct — the same
//! `#[serde(deny_unknown_fields)]` struct every config map goes through, whose
//! deserializer reads numbers and booleans written as text. So no backend keeps a list of
//! its query parameters or parses numbers by hand: a new config field is a URI parameter
//! too, an unknown one is rejected by name, and a mistyped one is reported like any config
//! error (naming the field, never the value).

use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, Visitor};
use serde_json::Value;
use url::Url;

use crate::config::{ConfigMap, SECRET_NAME, parse_config};
use crate::error::{Error, Result};

/// A store URI on its way to a config map, as a [`StoreFactory`](crate::StoreFactory) sees
/// it: the parsed URI, and the options given beside it (`Registry::open_uri_with`).
#[derive(Debug, Clone, Copy)]
pub struct StoreUri<'a> {
    url: &'a Url,
    options: &'a [(String, String)],
}

impl<'a> StoreUri<'a> {
    /// A URI with options given beside it (they may hold secrets: they are not part of
    /// the URI's text, which gets logged).
    pub fn new(url: &'a Url, options: &'a [(String, String)]) -> Self {
        StoreUri { url, options }
    }

    /// The parsed URI.
    pub fn url(&self) -> &'a Url {
        self.url
    }

    /// The config map of this URI for a backend whose config struct is `T`: `base` (the
    /// fields the backend read from the URI's host and path, plus `type`) with every
    /// query parameter and option added, checked against `T`.
    ///
    /// Unknown parameters, wrongly typed values and a parameter given twice (or also set
    /// by the URI's path) are `InvalidConfig` errors naming the parameter, never its
    /// value. A [`Secret`](crate::Secret) field may come from the options but not from the
    /// URI's query.
    pub fn config<T: DeserializeOwned>(&self, base: ConfigMap) -> Result<ConfigMap> {
        let mut config = base;
        let query = self
            .url
            .query_pairs()
            .map(|(n, v)| (n.into_owned(), v.into_owned(), true));
        let options = self
            .options
            .iter()
            .map(|(n, v)| (n.clone(), v.clone(), false));
        for (name, text, in_uri) in query.chain(options) {
            if config.contains_key(&name) {
                return Err(Error::invalid_config(&name, "is given twice"));
            }
            if in_uri && is_secret::<T>(&name) {
                return Err(Error::invalid_config(
                    &name,
                    "secrets do not belong in a URI (it gets logged); pass them as options \
                     or in a config map",
                ));
            }
            config.insert(name, Value::String(text));
        }
        parse_config::<T>(&config)?;
        Ok(config)
    }
}

/// Whether `T`'s field `name` is a [`Secret`](crate::Secret): deserialize a map holding
/// only that field and watch for the request of a `Secret`. Whatever else goes wrong (a
/// missing field, a type the probe's text does not fit) says nothing and is ignored.
fn is_secret<T: DeserializeOwned>(name: &str) -> bool {
    let mut asked = false;
    let _ = T::deserialize(Probe {
        name,
        asked: &mut asked,
    });
    asked
}

/// A one-field map whose value reports a request for a `Secret`.
struct Probe<'p> {
    name: &'p str,
    asked: &'p mut bool,
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(ProbeMap {
            name: Some(self.name),
            asked: self.asked,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct ProbeMap<'p> {
    name: Option<&'p str>,
    asked: &'p mut bool,
}

impl<'de> MapAccess<'de> for ProbeMap<'_> {
    type Error = de::value::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.name {
            Some(name) => seed.deserialize(name.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.name = None;
        seed.deserialize(ProbeValue { asked: self.asked })
    }
}

struct ProbeValue<'p> {
    asked: &'p mut bool,
}

impl<'de> de::Deserializer<'de> for ProbeValue<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_str("")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == SECRET_NAME {
            *self.asked = true;
            return Err(de::Error::custom("a secret"));
        }
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Secret, parse_config};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Safe,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        path: String,
        #[serde(default)]
        size: Option<u64>,
        #[serde(default)]
        ratio: Option<f64>,
        #[serde(default)]
        on: bool,
        #[serde(default)]
        mode: Option<Mode>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        secret: Option<Secret>,
    }

    fn config(uri: &str, options: &[(&str, &str)]) -> Result<ConfigMap> {
        let url = Url::parse(uri).unwrap();
        let options: Vec<(String, String)> = options
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut base = ConfigMap::new();
        base.insert("type".into(), "example".into());
        base.insert("path".into(), url.path().into());
        StoreUri::new(&url, &options).config::<Example>(base)
    }

    #[test]
    fn query_values_are_typed_by_the_config_struct() {
        let map = config("x:///p?size=1024&ratio=0.5&on=true&mode=safe&name=007", &[]).unwrap();
        assert_eq!(map["type"], serde_json::json!("example"));
        let parsed: Example = parse_config(&map).unwrap();
        assert_eq!(parsed.path, "/p");
        assert_eq!(parsed.size, Some(1024));
        assert_eq!(parsed.ratio, Some(0.5));
        assert!(parsed.on);
        assert_eq!(parsed.mode, Some(Mode::Safe));
        // A string field stays a string even when it looks like a number.
        assert_eq!(parsed.name.as_deref(), Some("007"));
    }

    #[test]
    fn errors_name_the_field_never_the_value() {
        for (uri, field) in [
            ("x:///p?colour=SECRETVALUE", "colour"),
            ("x:///p?size=SECRETVALUE", "size"),
            ("x:///p?on=SECRETVALUE", "on"),
            ("x:///p?mode=SECRETVALUE", "mode"),
            ("x:///p?size=1&size=2", "size"),
            ("x:///p?path=/q", "path"),
        ] {
            let err = config(uri, &[]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{uri}");
            let shown = err.to_string();
            assert!(shown.contains(&format!("`{field}`")), "{uri}: {shown}");
            assert!(!shown.contains("SECRETVALUE"), "{uri}: {shown}");
        }
    }

    #[test]
    fn secrets_come_from_options_not_from_the_uri() {
        let err = config("x:///p?secret=hunter2", &[]).unwrap_err();
        assert!(
            err.to_string().contains("secrets do not belong in a URI"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let map = config("x:///p", &[("secret", "hunter2")]).unwrap();
        let parsed: Example = parse_config(&map).unwrap();
        assert_eq!(parsed.secret.unwrap().expose(), "hunter2");
    }
}
