//! Turning a stored hash's fields back into metadata, checking every field.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use store_core::{Entry, Key, Meta, Result, Version};

use crate::errors::damaged;

/// The raw `ver`, `size`, `mod` fields of an entry hash (`HMGET`), each `None` if missing.
pub(crate) type MetaFields = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The raw `v`, `ver`, `size`, `mod`, `crc` fields.
pub(crate) type EntryFields = (
    Option<Bytes>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// The entry hash fields `get` reads, in [`EntryFields`] order.
pub(crate) const ENTRY_FIELDS: [&str; 5] = ["v", "ver", "size", "mod", "crc"];

fn number(key: &Key, field: &str, raw: &[u8]) -> Result<u64> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| damaged(key.as_str(), format!("field `{field}` is not a number")))
}

/// The metadata in `fields`; `None` if the hash does not exist (every field missing).
pub(crate) fn meta(key: &Key, fields: MetaFields) -> Result<Option<Meta>> {
    match fields {
        (None, None, None) => Ok(None),
        (Some(ver), Some(size), Some(modified)) => Ok(Some(Meta {
            key: key.clone(),
            version: Version::from_u64(number(key, "ver", &ver)?),
            size: number(key, "size", &size)?,
            last_modified: SystemTime::UNIX_EPOCH
                + Duration::from_millis(number(key, "mod", &modified)?),
        })),
        _ => Err(damaged(key.as_str(), "some of its fields are missing")),
    }
}

/// The entry in `fields`, its value checked against its size and checksum; `None` if the
/// hash does not exist.
pub(crate) fn entry(
    key: &Key,
    (value, ver, size, modified, crc): EntryFields,
) -> Result<Option<Entry>> {
    let Some(meta) = meta(key, (ver, size, modified))? else {
        return match value {
            None => Ok(None),
            Some(_) => Err(damaged(key.as_str(), "its metadata is missing")),
        };
    };
    let value = value.ok_or_else(|| damaged(key.as_str(), "its value is missing"))?;
    if value.len() as u64 != meta.size {
        return Err(damaged(
            key.as_str(),
            format!(
                "its value has {} bytes, its metadata says {}",
                value.len(),
                meta.size
            ),
        ));
    }
    let crc = crc.ok_or_else(|| damaged(key.as_str(), "its checksum is missing"))?;
    if number(key, "crc", &crc)? != u64::from(store_core::crc32c(&value)) {
        return Err(damaged(key.as_str(), "its value does not match its CRC32C"));
    }
    Ok(Some(Entry { value, meta }))
}

/// The metadata of a write the server reported as `ms` and `version`.
pub(crate) fn written(key: &Key, size: usize, ms: u64, version: u64) -> Meta {
    Meta {
        key: key.clone(),
        size: size as u64,
        version: Version::from_u64(version),
        last_modified: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn f(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    #[test]
    fn fields_parse_or_are_named_damaged() {
        let key = Key::new("k").unwrap();
        assert_eq!(meta(&key, (None, None, None)).unwrap(), None);
        let m = meta(&key, (f("7"), f("3"), f("1000"))).unwrap().unwrap();
        assert_eq!(m.version, Version::from_u64(7));
        assert_eq!(m.size, 3);
        for fields in [(f("x"), f("3"), f("1")), (f("7"), None, f("1"))] {
            let err = meta(&key, fields).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted);
            assert_eq!(err.key(), Some("k"));
        }
        let crc = store_core::crc32c(b"abc").to_string();
        let short = (
            Some(Bytes::from_static(b"ab")),
            f("7"),
            f("3"),
            f("1"),
            f(&crc),
        );
        assert_eq!(entry(&key, short).unwrap_err().kind(), ErrorKind::Corrupted);
        let flipped = (
            Some(Bytes::from_static(b"abd")),
            f("7"),
            f("3"),
            f("1"),
            f(&crc),
        );
        let err = entry(&key, flipped).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted);
        assert!(err.to_string().contains("CRC32C"), "{err}");
        let unchecked = (
            Some(Bytes::from_static(b"abc")),
            f("7"),
            f("3"),
            f("1"),
            None,
        );
        assert_eq!(
            entry(&key, unchecked).unwrap_err().kind(),
            ErrorKind::Corrupted
        );
        let whole = (
            Some(Bytes::from_static(b"abc")),
            f("7"),
            f("3"),
            f("1"),
            f(&crc),
        );
        assert_eq!(entry(&key, whole).unwrap().unwrap().value, "abc");
    }
}
