//! The row format, independent of the engine that stores the rows: what a key's rows hold,
//! their checksums, and the format version.
//!
//! A store keeps, per key, a *metadata row* and a *value row* under the key's UTF-8 bytes,
//! plus two store-wide *counter rows* (see `schema.rs` for where redb keeps them). Format
//! [`FORMAT_VERSION`] = 1; integers little-endian:
//!
//! ```text
//! metadata row (28 bytes):  crc32c u32 | version u64 | mtime u64 | value size u64
//! value row (20 + n bytes): crc32c u32 | version u64 | mtime u64 | value (n bytes)
//! counter row (12 bytes):   crc32c u32 | value u64
//! ```
//!
//! - `version` is the store's version counter at the write (strictly increasing, never
//!   reused); `mtime` is nanoseconds since the Unix epoch.
//! - Each checksum is CRC32C over the row's *name* (the key, or the counter's name) — as a
//!   u16 length then its bytes — followed by the rest of the row. Binding the name catches
//!   a row that a damaged page shows under another key, not only damaged row bytes.
//! - The value row repeats version and mtime, so a `get` is one lookup; `head` and `list`
//!   read only the 28-byte metadata rows. The writer keeps both in step in one transaction.
//!
//! Every read decodes through [`decode_meta`], [`decode_value`] or [`decode_counter`],
//! which check length and checksum: damaged bytes become an error naming what failed,
//! never a wrong value. Format 0 (before checksums: metadata as three u64, a 16-byte
//! big-endian value header) is read only by the one-time upgrade ([`decode_value_v0`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use store_core::{Entry, Error, Key, Meta, Version};

/// The format this build writes, recorded in every database it creates or upgrades.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// Bytes in front of each value in a value row.
pub(crate) const VALUE_HEADER_LEN: usize = 4 + 8 + 8;
/// The length of a metadata row.
pub(crate) const META_LEN: usize = 4 + 8 + 8 + 8;
/// The length of a counter row.
pub(crate) const COUNTER_LEN: usize = 4 + 8;

/// The largest value redb accepts (3 GiB), less the value row's header.
pub(crate) const MAX_VALUE_SIZE: u64 = 3 * 1024 * 1024 * 1024 - VALUE_HEADER_LEN as u64;

/// What a metadata row holds (and a value row's header repeats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowMeta {
    pub version: u64,
    pub mtime: u64,
    pub size: u64,
}

/// CRC32C of a row named `name` whose bytes after the checksum are `parts` in order.
/// crc-fast, as in store-file: carry-less-multiply folding, a fraction of a microsecond
/// for a 64 KiB value.
fn checksum(name: &str, parts: &[&[u8]]) -> u32 {
    let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
    // Names are keys (at most 1024 bytes) or counter names: the length fits in a u16.
    digest.update(&(name.len() as u16).to_le_bytes());
    digest.update(name.as_bytes());
    for part in parts {
        digest.update(part);
    }
    // The algorithm's width is 32 bits: the u64 never holds more.
    digest.finalize() as u32
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn stored_crc(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Fill in the checksum of `row`, a row named `name`, over everything after it.
fn seal(name: &str, row: &mut [u8]) {
    let crc = checksum(name, &[&row[4..]]);
    row[..4].copy_from_slice(&crc.to_le_bytes());
}

/// Check a fixed-length row (`what` names it in the error): its length and checksum.
fn check_fixed(name: &str, row: &[u8], len: usize, what: &str) -> Result<(), String> {
    if row.len() != len {
        return Err(format!("its {what} is {} bytes, not {len}", row.len()));
    }
    if checksum(name, &[&row[4..]]) != stored_crc(row) {
        return Err(format!("its {what} fails its checksum"));
    }
    Ok(())
}

/// The metadata row of `key`.
pub(crate) fn encode_meta(key: &str, meta: RowMeta) -> [u8; META_LEN] {
    let mut row = [0u8; META_LEN];
    row[4..12].copy_from_slice(&meta.version.to_le_bytes());
    row[12..20].copy_from_slice(&meta.mtime.to_le_bytes());
    row[20..28].copy_from_slice(&meta.size.to_le_bytes());
    seal(key, &mut row);
    row
}

/// Check and read the metadata row stored at `key`.
pub(crate) fn decode_meta(key: &str, row: &[u8]) -> Result<RowMeta, String> {
    check_fixed(key, row, META_LEN, "metadata row")?;
    Ok(RowMeta {
        version: word(row, 4),
        mtime: word(row, 12),
        size: word(row, 20),
    })
}

/// Write the value row of `key` into `out`, which is exactly `VALUE_HEADER_LEN +
/// value.len()` bytes (redb's reserved space, so the value is copied once).
pub(crate) fn encode_value_into(out: &mut [u8], key: &str, version: u64, mtime: u64, value: &[u8]) {
    out[4..12].copy_from_slice(&version.to_le_bytes());
    out[12..VALUE_HEADER_LEN].copy_from_slice(&mtime.to_le_bytes());
    out[VALUE_HEADER_LEN..].copy_from_slice(value);
    seal(key, out);
}

/// Check the value row stored at `key`; its metadata and the value's bytes.
pub(crate) fn decode_value<'a>(key: &str, row: &'a [u8]) -> Result<(RowMeta, &'a [u8]), String> {
    if row.len() < VALUE_HEADER_LEN {
        return Err(format!(
            "its value row is {} bytes, shorter than its {VALUE_HEADER_LEN}-byte header",
            row.len()
        ));
    }
    if checksum(key, &[&row[4..]]) != stored_crc(row) {
        return Err("its value row fails its checksum".into());
    }
    let value = &row[VALUE_HEADER_LEN..];
    let meta = RowMeta {
        version: word(row, 4),
        mtime: word(row, 12),
        size: value.len() as u64,
    };
    Ok((meta, value))
}

/// A value row of format 0: a 16-byte header (version, mtime, big-endian), then the value.
/// No checksum: the upgrade takes these bytes as they are.
#[cfg(any(feature = "redb", feature = "fuzzing"))]
pub(crate) fn decode_value_v0(row: &[u8]) -> Result<(RowMeta, &[u8]), String> {
    if row.len() < 16 {
        return Err(format!(
            "its format-0 value row is {} bytes, shorter than its 16-byte header",
            row.len()
        ));
    }
    let be = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&row[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let value = &row[16..];
    let meta = RowMeta {
        version: be(0),
        mtime: be(8),
        size: value.len() as u64,
    };
    Ok((meta, value))
}

/// The counter row named `name`.
pub(crate) fn encode_counter(name: &str, value: u64) -> [u8; COUNTER_LEN] {
    let mut row = [0u8; COUNTER_LEN];
    row[4..].copy_from_slice(&value.to_le_bytes());
    seal(name, &mut row);
    row
}

/// Check and read the counter row named `name`.
pub(crate) fn decode_counter(name: &str, row: &[u8]) -> Result<u64, String> {
    check_fixed(name, row, COUNTER_LEN, &format!("`{name}` row"))?;
    Ok(word(row, 4))
}

/// Nanoseconds since the epoch (0 for earlier times; `u64` lasts until the year 2554).
pub(crate) fn to_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_nanos(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// The store's `Meta` for `key` and a decoded row.
pub(crate) fn to_meta(key: Key, row: RowMeta) -> Meta {
    Meta {
        key,
        size: row.size,
        version: Version::from_u64(row.version),
        last_modified: from_nanos(row.mtime),
    }
}

/// The `Meta` of the metadata row stored at `key`, or `Corrupted` naming the key.
pub(crate) fn meta_from_row(key: Key, row: &[u8]) -> Result<Meta, Error> {
    match decode_meta(key.as_str(), row) {
        Ok(meta) => Ok(to_meta(key, meta)),
        Err(why) => Err(Error::corrupted(&key, why)),
    }
}

/// The `Entry` of the value row stored at `key`, or `Corrupted` naming the key.
pub(crate) fn entry_from_row(key: Key, row: &[u8]) -> Result<Entry, Error> {
    match decode_value(key.as_str(), row) {
        Ok((meta, value)) => Ok(Entry {
            value: Bytes::copy_from_slice(value),
            meta: to_meta(key, meta),
        }),
        Err(why) => Err(Error::corrupted(&key, why)),
    }
}

/// The part of the value row stored at `key` that `range` selects (cut at the value's
/// end), with its metadata; `Corrupted` naming the key if the row fails its checksum. The
/// whole row is checked (it is in memory), and only the range is copied out of it.
pub(crate) fn range_from_row(
    key: Key,
    row: &[u8],
    range: &std::ops::Range<u64>,
) -> Result<(Bytes, Meta), Error> {
    match decode_value(key.as_str(), row) {
        Ok((meta, value)) => {
            let within = store_core::clamp_range(range, value.len() as u64)?;
            // Both ends are at most the value's length, a `usize`.
            let part = &value[within.start as usize..within.end as usize];
            Ok((Bytes::copy_from_slice(part), to_meta(key, meta)))
        }
        Err(why) => Err(Error::corrupted(&key, why)),
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn value_row(key: &str, version: u64, mtime: u64, value: &[u8]) -> Vec<u8> {
        let mut row = vec![0u8; VALUE_HEADER_LEN + value.len()];
        encode_value_into(&mut row, key, version, mtime, value);
        row
    }

    #[test]
    fn checksum_is_crc32c() {
        // The digest the rows use is CRC-32/ISCSI: its standard check value.
        let mut d = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
        d.update(b"123456789");
        assert_eq!(d.finalize() as u32, 0xE306_9283);
    }

    #[test]
    fn value_rows_roundtrip() {
        let key = Key::new("a/b").unwrap();
        let row = value_row("a/b", 42, 1_700_000_000_000_000_123, b"xyz");
        let entry = entry_from_row(key.clone(), &row).unwrap();
        assert_eq!(entry.value.as_ref(), b"xyz");
        assert_eq!(entry.meta.version, Version::from_u64(42));
        assert_eq!(entry.meta.size, 3);
        assert_eq!(
            to_nanos(entry.meta.last_modified),
            1_700_000_000_000_000_123
        );
        let err = entry_from_row(key, &row[..5]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted);
        assert_eq!(err.key(), Some("a/b"));
    }

    /// A range read checks the whole row, so a flip outside the range is still caught.
    #[test]
    fn a_range_of_a_value_row_is_checked_against_the_whole_row() {
        let key = Key::new("k").unwrap();
        let mut row = value_row("k", 3, 4, b"0123456789");
        let (part, meta) = range_from_row(key.clone(), &row, &(2..5)).unwrap();
        assert_eq!((part.as_ref(), meta.size), (&b"234"[..], 10));
        assert_eq!(range_from_row(key.clone(), &row, &(8..99)).unwrap().0, "89");
        let last = row.len() - 1;
        row[last] ^= 1;
        let err = range_from_row(key, &row, &(2..5)).unwrap_err();
        assert_eq!((err.kind(), err.key()), (ErrorKind::Corrupted, Some("k")));
    }

    #[test]
    fn meta_rows_roundtrip() {
        let meta = RowMeta {
            version: 7,
            mtime: 99,
            size: 1 << 40,
        };
        let row = encode_meta("k", meta);
        assert_eq!(decode_meta("k", &row), Ok(meta));
    }

    /// A row is bound to its key: the same bytes under another key are damage.
    #[test]
    fn rows_are_bound_to_their_key() {
        let row = value_row("users/1", 1, 2, b"ada");
        assert!(decode_value("users/2", &row).is_err());
        let meta = encode_meta(
            "users/1",
            RowMeta {
                version: 1,
                mtime: 2,
                size: 3,
            },
        );
        assert!(decode_meta("users/2", &meta).is_err());
        let counter = encode_counter("version_counter", 5);
        assert!(decode_counter("format", &counter).is_err());
        assert_eq!(decode_counter("version_counter", &counter), Ok(5));
    }

    /// Every single-bit flip anywhere in a row is caught.
    #[test]
    fn every_bit_flip_is_caught() {
        let row = value_row("k", 3, 4, b"some value bytes");
        for bit in 0..row.len() * 8 {
            let mut bad = row.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_value("k", &bad).is_err(), "bit {bit}");
        }
        let meta = encode_meta(
            "k",
            RowMeta {
                version: 3,
                mtime: 4,
                size: 5,
            },
        );
        for bit in 0..META_LEN * 8 {
            let mut bad = meta;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_meta("k", &bad).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn format_0_rows_read_as_before() {
        let mut row = Vec::new();
        row.extend_from_slice(&9u64.to_be_bytes());
        row.extend_from_slice(&10u64.to_be_bytes());
        row.extend_from_slice(b"old");
        let (meta, value) = decode_value_v0(&row).unwrap();
        assert_eq!((meta.version, meta.mtime, meta.size), (9, 10, 3));
        assert_eq!(value, b"old");
        assert!(decode_value_v0(&row[..15]).is_err());
    }
}
