//! Validated keys and listing prefixes.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The longest key, in UTF-8 bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// A validated key: a `/`-separated path of UTF-8 segments.
///
/// Rules, checked at construction before any I/O:
/// - 1 to [`MAX_KEY_LEN`] bytes;
/// - no empty segment (so no leading, trailing or doubled `/`);
/// - no `.` or `..` segment;
/// - no NUL or other control character.
///
/// Keys order by their raw bytes, which is the order `list` returns them in.
/// Cloning is cheap (the string is shared).
///
/// ```
/// use store_core::Key;
/// let key = Key::new("users/42/profile").unwrap();
/// assert_eq!(key.segments().count(), 3);
/// assert!(Key::new("users//42").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(Arc<str>);

impl Key {
    /// Validate `raw` and wrap it as a key.
    pub fn new(raw: impl AsRef<str>) -> Result<Self> {
        let raw = raw.as_ref();
        validate_key(raw)?;
        Ok(Key(Arc::from(raw)))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `/`-separated segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// A new key with `segment` appended (the segment may itself contain `/`).
    pub fn join(&self, segment: &str) -> Result<Key> {
        Key::new(format!("{}/{}", self.0, segment))
    }

    /// Whether this key starts with `prefix` (byte-wise).
    pub fn starts_with(&self, prefix: &Prefix) -> bool {
        self.0.starts_with(prefix.as_str())
    }
}

fn validate_key(raw: &str) -> Result<()> {
    if raw.is_empty() {
        return Err(Error::invalid_key(raw, "a key must not be empty"));
    }
    if raw.len() > MAX_KEY_LEN {
        return Err(Error::invalid_key(
            raw,
            format!(
                "a key must be at most {MAX_KEY_LEN} bytes, this one is {}",
                raw.len()
            ),
        ));
    }
    check_characters(raw)?;
    for segment in raw.split('/') {
        match segment {
            "" => {
                return Err(Error::invalid_key(
                    raw,
                    "empty segment (leading, trailing or doubled `/`)",
                ));
            }
            "." | ".." => {
                return Err(Error::invalid_key(
                    raw,
                    format!("`{segment}` is not allowed as a segment"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_characters(raw: &str) -> Result<()> {
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(Error::invalid_key(
            raw,
            format!("control character U+{:04X} is not allowed", c as u32),
        ));
    }
    Ok(())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", &*self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FromStr for Key {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Key::new(s)
    }
}

impl TryFrom<&str> for Key {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        Key::new(s)
    }
}

impl TryFrom<String> for Key {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Key::new(s)
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Key::new(raw).map_err(serde::de::Error::custom)
    }
}

/// A listing prefix: every key that starts with these bytes matches.
///
/// The empty prefix matches every key. A prefix is a plain string prefix, not a
/// segment boundary: `user` matches `users/1` and `user`; use `user/` for a "directory".
/// It may be at most [`MAX_KEY_LEN`] bytes and must not contain control characters.
///
/// ```
/// use store_core::{Key, Prefix};
/// let p = Prefix::new("logs/2026-").unwrap();
/// assert!(Key::new("logs/2026-01-01").unwrap().starts_with(&p));
/// assert!(Prefix::empty().as_str().is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Prefix(String);

impl Prefix {
    /// Validate `raw` as a prefix.
    pub fn new(raw: impl Into<String>) -> Result<Self> {
        let raw = raw.into();
        if raw.len() > MAX_KEY_LEN {
            return Err(Error::invalid_key(
                &raw,
                "a prefix must be at most 1024 bytes",
            ));
        }
        check_characters(&raw)?;
        Ok(Prefix(raw))
    }

    /// The prefix that matches every key.
    pub fn empty() -> Self {
        Prefix(String::new())
    }

    /// The prefix as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the empty prefix.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `key` matches this prefix.
    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.0)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for Prefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Prefix::new(s)
    }
}

impl From<Key> for Prefix {
    fn from(key: Key) -> Self {
        Prefix(key.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "a",
            "a/b/c",
            "ünïcødé/键/🔑",
            "with space/and-dash_1.txt",
            "..a/b..",
            "a.b",
        ] {
            assert!(Key::new(k).is_ok(), "{k}");
        }
        assert!(Key::new("x".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn rejects_invalid_keys_with_reason() {
        let cases = [
            ("", "empty"),
            ("/a", "empty segment"),
            ("a/", "empty segment"),
            ("a//b", "empty segment"),
            (".", "not allowed"),
            ("a/../b", "not allowed"),
            ("a/./b", "not allowed"),
            ("a\u{0}b", "control character"),
            ("a\nb", "control character"),
            ("a\u{7f}", "control character"),
        ];
        for (raw, why) in cases {
            let err = Key::new(raw).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidKey, "{raw:?}");
            assert!(err.to_string().contains(why), "{raw:?}: {err}");
        }
        let long = Key::new("x".repeat(MAX_KEY_LEN + 1)).unwrap_err();
        assert!(long.to_string().contains("at most 1024 bytes"), "{long}");
    }

    #[test]
    fn orders_by_raw_bytes() {
        let mut keys: Vec<Key> = ["b", "a/b", "a", "B", "é", "a0"]
            .iter()
            .map(|k| Key::new(k).unwrap())
            .collect();
        keys.sort();
        let got: Vec<&str> = keys.iter().map(Key::as_str).collect();
        assert_eq!(got, ["B", "a", "a/b", "a0", "b", "é"]);
    }

    #[test]
    fn serde_validates() {
        let k: Key = serde_json::from_str("\"a/b\"").unwrap();
        assert_eq!(k.as_str(), "a/b");
        assert!(serde_json::from_str::<Key>("\"a//b\"").is_err());
    }
}
