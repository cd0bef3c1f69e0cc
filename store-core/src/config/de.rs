//! A serde deserializer over a config map whose errors never hold a config value.
//!
//! serde's own messages quote the input (`invalid type: string "hunter2", expected usize`),
//! and a config value may be a secret expanded from `${VAR}`. This deserializer builds
//! each error from what serde passes it (the expected type, the *kind* of value found, the
//! accepted names), never from the value; and since custom messages (from
//! `deserialize_with` helpers, `FromStr` impls) may quote it anyway, the value at hand is
//! scrubbed out of them where the error passes a field ([`ConfigDeError::scrub`]).
//!
//! It also reads numbers and booleans that are given as strings: `${VAR}` expansions and
//! URI query parameters are always strings, and `max_retries = "${RETRIES}"` should work.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};

/// What replaces a value quoted by a custom error message.
const REDACTED: &str = "<value>";
/// Strings shorter than this are not scrubbed out of custom messages: they cannot hold a
/// secret worth the name, and replacing them would mangle the message's own words.
const MIN_SCRUBBED_LEN: usize = 4;

/// A deserialization error whose message holds no config value.
#[derive(Debug)]
pub(crate) struct ConfigDeError {
    message: String,
    /// A field the error is about that is not part of its path: serde reports a missing
    /// or repeated field at the path of the map that lacks it (an unknown one at its own).
    missing_field: Option<&'static str>,
    /// Whether `message` may still quote the value (it came from a custom message).
    unscrubbed: bool,
}

impl ConfigDeError {
    fn new(message: String) -> Self {
        ConfigDeError {
            message,
            missing_field: None,
            unscrubbed: false,
        }
    }

    fn about_field(field: &'static str, message: &str) -> Self {
        ConfigDeError {
            missing_field: Some(field),
            ..ConfigDeError::new(message.to_owned())
        }
    }

    /// The field the error names below its path, if any.
    pub(crate) fn missing_field(&self) -> Option<&'static str> {
        self.missing_field
    }

    /// The message, free of config values.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Remove every string inside `value` from a custom message (as written and as
    /// `{:?}` escapes it). Called where the error leaves the value that caused it, so the
    /// innermost value is tried first; outer ones cover messages built further up.
    fn scrub(mut self, value: &Value) -> Self {
        if !self.unscrubbed {
            return self;
        }
        let mut strings = Vec::new();
        collect_strings(value, &mut strings);
        strings.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in strings {
            if s.len() < MIN_SCRUBBED_LEN {
                continue;
            }
            let escaped: String = s.escape_debug().collect();
            for form in [s, escaped.as_str()] {
                if self.message.contains(form) {
                    self.message = self.message.replace(form, REDACTED);
                }
            }
        }
        self
    }
}

fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

impl fmt::Display for ConfigDeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigDeError {}

impl de::Error for ConfigDeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConfigDeError {
            unscrubbed: true,
            ..ConfigDeError::new(msg.to_string())
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ConfigDeError::new(format!("expected {}, found {}", expected(exp), kind(unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ConfigDeError::new(format!(
            "expected {}, found {} that is not one",
            expected(exp),
            kind(unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        ConfigDeError::new(format!(
            "expected {}, found {len} element{}",
            expected(exp),
            if len == 1 { "" } else { "s" }
        ))
    }

    fn unknown_variant(_variant: &str, known: &'static [&'static str]) -> Self {
        // The names are the type's, not the user's; the value given may be a secret.
        ConfigDeError::new(if known.is_empty() {
            "unknown value; no value is accepted here".to_owned()
        } else {
            format!("unknown value; expected one of {}", quoted(known))
        })
    }

    fn unknown_field(_field: &str, known: &'static [&'static str]) -> Self {
        // The path names the field (a name the user wrote, not a value).
        ConfigDeError::new(if known.is_empty() {
            "unknown field; this config takes no fields".to_owned()
        } else {
            format!("unknown field; known fields: {}", quoted(known))
        })
    }

    fn missing_field(field: &'static str) -> Self {
        ConfigDeError::about_field(field, "missing")
    }

    fn duplicate_field(field: &'static str) -> Self {
        ConfigDeError::about_field(field, "given more than once")
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What kind of value was found, without the value.
fn kind(unexp: Unexpected<'_>) -> &'static str {
    match unexp {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a number with a fraction",
        Unexpected::Char(_) => "a character",
        Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit => "null",
        Unexpected::Option => "an optional value",
        Unexpected::NewtypeStruct => "a newtype struct",
        Unexpected::Seq => "a list",
        Unexpected::Map => "a map",
        Unexpected::Enum
        | Unexpected::UnitVariant
        | Unexpected::NewtypeVariant
        | Unexpected::TupleVariant
        | Unexpected::StructVariant => "an enum variant",
        // `Other` carries free text, which may be anything.
        Unexpected::Other(_) => "another kind of value",
    }
}

/// What was expected, in words rather than Rust type names where serde gives those.
fn expected(exp: &dyn Expected) -> String {
    let text = exp.to_string();
    let words = match text.as_str() {
        "u64" | "usize" | "u128" => "an unsigned integer",
        "u8" => "an unsigned integer up to 255",
        "u16" => "an unsigned integer up to 65535",
        "u32" => "an unsigned integer up to 4294967295",
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "an integer",
        "f32" | "f64" => "a number",
        "char" => "a single character",
        _ if text.starts_with("struct ") => "a map of fields",
        _ => return text,
    };
    words.to_owned()
}

/// Deserializes config values from a borrowed JSON value, with [`ConfigDeError`]s.
pub(crate) struct ValueDe<'de>(pub(crate) &'de Value);

impl<'de> ValueDe<'de> {
    /// A string that spells a number, read as the number; `None` otherwise.
    fn number_in_string<V: Visitor<'de>>(
        &self,
        visitor: V,
    ) -> Result<Result<V::Value, ConfigDeError>, V> {
        let Value::String(s) = self.0 else {
            return Err(visitor);
        };
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            Ok(visitor.visit_u64(n))
        } else if let Ok(n) = s.parse::<i64>() {
            Ok(visitor.visit_i64(n))
        } else if let Ok(n) = s.parse::<f64>() {
            Ok(visitor.visit_f64(n))
        } else {
            Err(visitor)
        }
    }
}

macro_rules! lenient_numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigDeError> {
            match self.number_in_string(visitor) {
                Ok(result) => result,
                Err(visitor) => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for ValueDe<'de> {
    type Error = ConfigDeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigDeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => {
                let mut seq = SeqDe(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                match seq.0.len() {
                    0 => Ok(value),
                    left => Err(de::Error::invalid_length(
                        items.len(),
                        &format!("{} elements", items.len() - left).as_str(),
                    )),
                }
            }
            Value::Object(map) => visitor.visit_map(MapDe::new(map)),
        }
    }

    lenient_numbers! {
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigDeError> {
        match self.0 {
            Value::String(s) if s.trim() == "true" => visitor.visit_bool(true),
            Value::String(s) if s.trim() == "false" => visitor.visit_bool(false),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigDeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ConfigDeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigDeError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.iter().next().expect("one entry");
                visitor.visit_enum(EnumDe { variant, value })
            }
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ConfigDeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct SeqDe<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = ConfigDeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ConfigDeError> {
        match self.0.next() {
            Some(value) => seed
                .deserialize(ValueDe(value))
                .map(Some)
                .map_err(|e| e.scrub(value)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe<'de> {
    entries: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> MapDe<'de> {
    fn new(map: &'de Map<String, Value>) -> Self {
        MapDe {
            entries: map.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = ConfigDeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ConfigDeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ConfigDeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a map value was asked for before its key"))?;
        seed.deserialize(ValueDe(value)).map_err(|e| e.scrub(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum variant with content: `{"variant": value}`.
struct EnumDe<'de> {
    variant: &'de str,
    value: &'de Value,
}

impl<'de> EnumAccess<'de> for EnumDe<'de> {
    type Error = ConfigDeError;
    type Variant = ValueDe<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ValueDe<'de>), ConfigDeError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.variant))?;
        Ok((variant, ValueDe(self.value)))
    }
}

impl<'de> VariantAccess<'de> for ValueDe<'de> {
    type Error = ConfigDeError;

    fn unit_variant(self) -> Result<(), ConfigDeError> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(de::Error::invalid_type(unexpected(other), &"no content")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ConfigDeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ConfigDeError> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigDeError> {
        self.deserialize_any(visitor)
    }
}

/// Deserialize `T` from `value`, with the path to the failing field.
pub(crate) fn from_value<'de, T: de::Deserialize<'de>>(
    value: &'de Value,
) -> Result<T, serde_path_to_error::Error<ConfigDeError>> {
    serde_path_to_error::deserialize(ValueDe(value)).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner().scrub(value);
        serde_path_to_error::Error::new(path, inner)
    })
}
