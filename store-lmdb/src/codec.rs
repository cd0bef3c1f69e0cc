//! The on-disk layout: three redb tables, and how rows map to `Meta` and `Entry`.
//!
//! - `strata_meta`: key → `(version, mtime in ns since the epoch, value size)`. `head` and
//!   `list` read only this table, so they never touch values.
//! - `strata_values`: key → a 16-byte header (version, mtime, both big-endian) followed by
//!   the value. The header repeats the metadata so that `get` is one B-tree lookup, like a
//!   raw redb read; the writer keeps both rows in step inside one transaction.
//! - `strata_state`: the persisted version counter (strictly increasing across reopens).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redb::TableDefinition;
use store_core::{Entry, Error, ErrorKind, Key, Meta, Version};

/// Metadata of every key.
pub(crate) const META: TableDefinition<'static, &str, (u64, u64, u64)> =
    TableDefinition::new("strata_meta");
/// Header + value of every key.
pub(crate) const VALUES: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("strata_values");
/// Store-wide counters.
pub(crate) const STATE: TableDefinition<'static, &str, u64> = TableDefinition::new("strata_state");
/// The row of [`STATE`] holding the last version handed out.
pub(crate) const VERSION_COUNTER: &str = "version_counter";

/// Bytes in front of each value in [`VALUES`].
pub(crate) const HEADER_LEN: usize = 16;

/// The largest value redb accepts (3 GiB), less our header.
pub(crate) const MAX_VALUE_SIZE: u64 = 3 * 1024 * 1024 * 1024 - HEADER_LEN as u64;

/// Nanoseconds since the epoch (0 for earlier times; `u64` lasts until the year 2554).
pub(crate) fn to_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_nanos(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// A `Meta` from a row of [`META`].
pub(crate) fn meta_from_row(key: Key, (version, mtime, size): (u64, u64, u64)) -> Meta {
    Meta {
        key,
        size,
        version: Version::from_u64(version),
        last_modified: from_nanos(mtime),
    }
}

/// Write the header and value of a [`VALUES`] row into `out` (exactly `HEADER_LEN + value.len()`).
pub(crate) fn encode_value_into(out: &mut [u8], version: u64, mtime: u64, value: &[u8]) {
    out[..8].copy_from_slice(&version.to_be_bytes());
    out[8..HEADER_LEN].copy_from_slice(&mtime.to_be_bytes());
    out[HEADER_LEN..].copy_from_slice(value);
}

/// An `Entry` from a row of [`VALUES`].
pub(crate) fn entry_from_row(key: Key, raw: &[u8]) -> Result<Entry, Error> {
    if raw.len() < HEADER_LEN {
        return Err(Error::corrupted(
            &key,
            format!(
                "stored row is {} bytes, shorter than its {HEADER_LEN}-byte header",
                raw.len()
            ),
        ));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let value = Bytes::copy_from_slice(&raw[HEADER_LEN..]);
    let meta = meta_from_row(key, (word(0), word(8), value.len() as u64));
    Ok(Entry { value, meta })
}

/// Map a redb error to a store error at the edge, keeping the cause.
pub(crate) fn redb_error(context: &str, err: impl Into<redb::Error>) -> Error {
    match err.into() {
        redb::Error::Io(io) => Error::io(context, io),
        redb::Error::Corrupted(why) => Error::new(
            ErrorKind::Corrupted,
            format!("{context}: the database file is corrupted: {why}"),
        ),
        redb::Error::DatabaseAlreadyOpen => Error::new(
            ErrorKind::Locked,
            format!("{context}: the database is already open in another process"),
        ),
        redb::Error::ValueTooLarge(n) => Error::unsupported(format!(
            "{context}: a {n}-byte value exceeds redb's 3 GiB limit"
        )),
        other => Error::backend(context, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rows_roundtrip() {
        let key = Key::new("a/b").unwrap();
        let mut row = vec![0u8; HEADER_LEN + 3];
        encode_value_into(&mut row, 42, 1_700_000_000_000_000_123, b"xyz");
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
    }
}
