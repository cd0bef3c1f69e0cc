//! Versions, metadata, put modes and listing options.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::key::{Key, Prefix};

/// An opaque token that changes on every successful write of a key.
///
/// Compare versions only for equality, and only versions of the same key from the same
/// store; their text is backend-specific (a counter, an ETag, ...).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Version(Arc<str>);

impl Version {
    /// Wrap a backend's version token.
    pub fn new(token: impl AsRef<str>) -> Self {
        Version(Arc::from(token.as_ref()))
    }

    /// A version from a monotonically increasing counter.
    pub fn from_u64(n: u64) -> Self {
        Version::new(n.to_string())
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The counter this version was made from by [`Version::from_u64`], if it was one.
    /// Versions compare as exact tokens, so another spelling of a number (`"007"`, `"+7"`,
    /// `" 7"`) is not that counter's version and gives `None`, as does any other token.
    ///
    /// ```
    /// use store_core::Version;
    /// assert_eq!(Version::from_u64(7).to_u64(), Some(7));
    /// assert_eq!(Version::new("007").to_u64(), None);
    /// assert_eq!(Version::new("\"etag\"").to_u64(), None);
    /// ```
    pub fn to_u64(&self) -> Option<u64> {
        let text = self.as_str();
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let canonical = digits && (text == "0" || !text.starts_with('0'));
        // Out of range (more than 20 digits' worth) fails to parse: no counter's version.
        canonical.then(|| text.parse().ok()).flatten()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", &*self.0)
    }
}

/// What a store knows about a value without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The key.
    pub key: Key,
    /// Size of the value in bytes.
    pub size: u64,
    /// The version written last.
    pub version: Version,
    /// When the value was written last.
    pub last_modified: SystemTime,
}

/// A value with its metadata, as returned by `get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The value's bytes.
    pub value: Bytes,
    /// The value's metadata.
    pub meta: Meta,
}

/// How a put treats an existing value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PutMode {
    /// Write whatever is there (the default).
    #[default]
    Overwrite,
    /// Write only if the key is absent; otherwise fail with `AlreadyExists`.
    Create,
    /// Write only if the current version equals this one; otherwise (including when the
    /// key is absent) fail with `VersionMismatch`. This is compare-and-swap.
    Update(Version),
}

impl PutMode {
    /// Whether a put in this mode may write `key`, whose current version is `current`
    /// (`None`: the key is absent). The one check every store that decides conditions
    /// itself uses, so they all agree: `Overwrite` always may; `Create` only on an absent
    /// key (else `AlreadyExists`); `Update(v)` only if `v` is the current version (else,
    /// also on an absent key, `VersionMismatch`). Versions compare as exact tokens.
    ///
    /// ```
    /// use store_core::{ErrorKind, Key, PutMode, Version};
    /// let key = Key::new("a").unwrap();
    /// let v1 = Version::from_u64(1);
    /// assert!(PutMode::Create.check(&key, None).is_ok());
    /// assert_eq!(PutMode::Create.check(&key, Some(&v1)).unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// assert!(PutMode::Update(v1.clone()).check(&key, Some(&v1)).is_ok());
    /// let stale = PutMode::Update(Version::from_u64(0));
    /// assert_eq!(stale.check(&key, Some(&v1)).unwrap_err().kind(), ErrorKind::VersionMismatch);
    /// assert_eq!(stale.check(&key, None).unwrap_err().kind(), ErrorKind::VersionMismatch);
    /// ```
    pub fn check(&self, key: &Key, current: Option<&Version>) -> Result<()> {
        self.decide(key, current.is_some(), |expected| current == Some(expected))
    }

    /// [`check`](PutMode::check) for a store whose versions are counters (it shows
    /// version `n` as [`Version::from_u64(n)`](Version::from_u64)): the same decision as
    /// `check` with that version, made without building it (see [`Version::to_u64`]).
    ///
    /// ```
    /// use store_core::{ErrorKind, Key, PutMode, Version};
    /// let key = Key::new("a").unwrap();
    /// assert!(PutMode::Update(Version::from_u64(7)).check_counter(&key, Some(7)).is_ok());
    /// let respelled = PutMode::Update(Version::new("007"));
    /// assert_eq!(respelled.check_counter(&key, Some(7)).unwrap_err().kind(), ErrorKind::VersionMismatch);
    /// ```
    pub fn check_counter(&self, key: &Key, current: Option<u64>) -> Result<()> {
        self.decide(key, current.is_some(), |expected| {
            current.is_some() && expected.to_u64() == current
        })
    }

    /// The decision itself: `present` says whether the key has a value, `is_current`
    /// whether a version is the current one (never true of an absent key).
    fn decide(
        &self,
        key: &Key,
        present: bool,
        is_current: impl FnOnce(&Version) -> bool,
    ) -> Result<()> {
        match self {
            PutMode::Overwrite => Ok(()),
            PutMode::Create if present => Err(Error::already_exists(key)),
            PutMode::Create => Ok(()),
            PutMode::Update(expected) if is_current(expected) => Ok(()),
            PutMode::Update(expected) => Err(Error::version_mismatch(key, expected)),
        }
    }
}

/// One write in a `put_many` batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutOp {
    /// The key to write.
    pub key: Key,
    /// The value to write.
    pub value: Bytes,
    /// The condition for the write.
    pub mode: PutMode,
}

impl PutOp {
    /// An unconditional write.
    pub fn overwrite(key: Key, value: impl Into<Bytes>) -> Self {
        PutOp {
            key,
            value: value.into(),
            mode: PutMode::Overwrite,
        }
    }

    /// A write with the given mode.
    pub fn new(key: Key, value: impl Into<Bytes>, mode: PutMode) -> Self {
        PutOp {
            key,
            value: value.into(),
            mode,
        }
    }

    /// What this op counts against a store's
    /// [`max_batch_bytes`](crate::Capabilities::max_batch_bytes): its key and value bytes.
    pub fn batch_bytes(&self) -> u64 {
        (self.key.as_str().len() + self.value.len()) as u64
    }
}

/// Options for `list`. The default lists every key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys starting with this prefix.
    pub prefix: Prefix,
    /// Only keys strictly greater than this one (for paging).
    pub start_after: Option<Key>,
    /// At most this many entries.
    pub limit: Option<usize>,
}

impl ListOptions {
    /// List keys under `prefix`.
    pub fn prefix(prefix: Prefix) -> Self {
        ListOptions {
            prefix,
            ..Default::default()
        }
    }

    /// Set `start_after`.
    pub fn start_after(mut self, key: Key) -> Self {
        self.start_after = Some(key);
        self
    }

    /// Set `limit`.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether `key` falls in the range these options select (ignoring `limit`).
    pub fn admits(&self, key: &Key) -> bool {
        self.prefix.matches(key.as_str())
            && self.start_after.as_ref().is_none_or(|after| key > after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_counter` is `check` with the counter's version, for every mode and state,
    /// also for tokens that spell the counter another way.
    #[test]
    fn the_counter_check_decides_as_the_version_check() {
        let key = Key::new("k").unwrap();
        let tokens = [
            "0",
            "7",
            "8",
            "07",
            "+7",
            " 7",
            "7 ",
            "",
            "x",
            "-1",
            "18446744073709551615",
            "18446744073709551616",
        ];
        let mut modes = vec![PutMode::Overwrite, PutMode::Create];
        modes.extend(tokens.iter().map(|t| PutMode::Update(Version::new(t))));
        for mode in &modes {
            for current in [None, Some(0), Some(7), Some(u64::MAX)] {
                let version = current.map(Version::from_u64);
                let by_version = mode.check(&key, version.as_ref()).map_err(|e| e.kind());
                let by_counter = mode.check_counter(&key, current).map_err(|e| e.kind());
                assert_eq!(by_counter, by_version, "{mode:?} on {current:?}");
            }
        }
    }

    #[test]
    fn only_a_counter_s_own_text_is_its_version() {
        for n in [0, 1, 7, 10, u64::MAX] {
            assert_eq!(Version::from_u64(n).to_u64(), Some(n));
        }
        for token in [
            "",
            "07",
            "00",
            "+7",
            "-0",
            " 7",
            "7 ",
            "1e3",
            "18446744073709551616",
        ] {
            assert_eq!(Version::new(token).to_u64(), None, "{token:?}");
        }
    }
}
