//! The item layout: how one entry is spelled as a DynamoDB item, and read back.
//!
//! `pk` (S) the namespace, `sk` (S) the key, `v` (B) the value, `ver` (S) the version
//! token, `len` (N) the value's size, `mt` (N) the modification time in milliseconds since
//! the Unix epoch, `crc` (N) the value's CRC32C. Short names: every byte of them counts
//! against the 400 KB item limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use store_core::{Entry, Error, Key, MAX_KEY_LEN, Meta, Result, Version, crc32c};

/// DynamoDB's item size limit: 400 KB, attribute names and values together.
pub const ITEM_LIMIT: u64 = 400 * 1024;

/// What an item holds besides its key and value bytes, at most, with a namespace of
/// `ns_len` bytes: [`overhead`] without the key.
pub(crate) fn overhead_without_key(ns_len: usize) -> u64 {
    overhead(ns_len) - MAX_KEY_LEN as u64
}

/// What an item holds besides the value's bytes, at most, with a namespace of `ns_len`
/// bytes: the attribute names, the two keys, the version token and three numbers.
pub(crate) fn overhead(ns_len: usize) -> u64 {
    let names =
        "pk".len() + "sk".len() + "v".len() + "ver".len() + "len".len() + "mt".len() + "crc".len();
    // A number is counted as about one byte per two digits plus one; 21 bytes is ample.
    (names + ns_len + MAX_KEY_LEN + 32 + 3 * 21) as u64
}

/// The attributes `head` and `list` read: everything but the value (through names, so no
/// attribute can collide with one of DynamoDB's reserved words).
pub(crate) const META_PROJECTION: &str = "#sk, #ver, #len, #mt";

/// The `ExpressionAttributeNames` of [`META_PROJECTION`].
pub(crate) fn meta_names() -> Value {
    json!({"#sk": "sk", "#ver": "ver", "#len": "len", "#mt": "mt"})
}

/// The primary key of `key` in namespace `ns`.
pub(crate) fn key_of(ns: &str, key: &str) -> Value {
    json!({"pk": {"S": ns}, "sk": {"S": key}})
}

/// A fresh version token: 128 random bits, so no write (not even after a delete, or by
/// another process) ever repeats one.
pub(crate) fn new_version() -> Version {
    Version::new(format!("{:032x}", rand::random::<u128>()))
}

/// The item for `value` at `key`, written at `now` with version `version`.
pub(crate) fn encode(
    ns: &str,
    key: &Key,
    value: &[u8],
    version: &Version,
    now: SystemTime,
) -> Value {
    let millis = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    json!({
        "pk": {"S": ns},
        "sk": {"S": key.as_str()},
        "v": {"B": STANDARD.encode(value)},
        "ver": {"S": version.as_str()},
        "len": {"N": value.len().to_string()},
        "mt": {"N": millis.to_string()},
        "crc": {"N": crc32c(value).to_string()},
    })
}

/// The metadata `encode` gives the entry it writes (times kept to the millisecond, as stored).
pub(crate) fn written_meta(key: &Key, size: usize, version: Version, now: SystemTime) -> Meta {
    let millis = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Meta {
        key: key.clone(),
        size: size as u64,
        version,
        last_modified: UNIX_EPOCH
            + Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX)),
    }
}

/// The key an item holds, if it holds a readable one.
pub(crate) fn item_key(item: &Map<String, Value>) -> Option<Key> {
    item.get("sk")?
        .get("S")?
        .as_str()
        .and_then(|k| Key::new(k).ok())
}

/// The metadata of `item` (stored at `key`), checking that every field parses.
pub(crate) fn decode_meta(key: &Key, item: &Map<String, Value>) -> Result<Meta> {
    let damaged = |what: &str| Error::corrupted(key, format!("DynamoDB item: {what}"));
    let text = |name: &str, ty: &str| {
        item.get(name)
            .and_then(|v| v.get(ty))
            .and_then(Value::as_str)
    };
    let number = |name: &str| text(name, "N").and_then(|n| n.parse::<u64>().ok());
    let version = text("ver", "S")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| damaged("no version"))?;
    let size = number("len").ok_or_else(|| damaged("no readable size"))?;
    let millis = number("mt").ok_or_else(|| damaged("no readable modification time"))?;
    Ok(Meta {
        key: key.clone(),
        size,
        version: Version::new(version),
        last_modified: UNIX_EPOCH + Duration::from_millis(millis),
    })
}

/// The entry `item` holds, its value checked against the stored size and CRC32C.
pub(crate) fn decode_entry(key: &Key, item: &Map<String, Value>) -> Result<Entry> {
    let meta = decode_meta(key, item)?;
    let damaged = |what: &str| Error::corrupted(key, format!("DynamoDB item: {what}"));
    let encoded = item
        .get("v")
        .and_then(|v| v.get("B"))
        .and_then(Value::as_str)
        .ok_or_else(|| damaged("no binary value"))?;
    let value = STANDARD
        .decode(encoded)
        .map_err(|_| damaged("the value is not base64"))?;
    let crc = item
        .get("crc")
        .and_then(|v| v.get("N"))
        .and_then(Value::as_str)
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| damaged("no readable checksum"))?;
    if value.len() as u64 != meta.size {
        return Err(damaged(&format!(
            "the value has {} bytes, its size says {}",
            value.len(),
            meta.size
        )));
    }
    if crc32c(&value) != crc {
        return Err(damaged("the value does not match its CRC32C"));
    }
    Ok(Entry {
        value: Bytes::from(value),
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn an_item_reads_back_as_written() {
        let key = Key::new("a/b").unwrap();
        let version = new_version();
        let now = SystemTime::now();
        let item = object(encode("ns", &key, b"hello", &version, now));
        let entry = decode_entry(&key, &item).unwrap();
        assert_eq!(entry.value, "hello");
        assert_eq!(entry.meta, written_meta(&key, 5, version, now));
        assert_eq!(item_key(&item), Some(key));
    }

    #[test]
    fn damage_is_corrupted_naming_the_key() {
        let key = Key::new("k").unwrap();
        let good = encode("ns", &key, b"hello", &new_version(), SystemTime::now());
        let mut flipped = good.clone();
        flipped["v"]["B"] = STANDARD.encode(b"jello").into();
        let mut short = good.clone();
        short["len"]["N"] = "4".into();
        let mut no_crc = good.clone();
        no_crc.as_object_mut().unwrap().remove("crc");
        let mut bad_time = good;
        bad_time["mt"]["N"] = "soon".into();
        for item in [flipped, short, no_crc, bad_time] {
            let err = decode_entry(&key, &object(item)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted);
            assert_eq!(err.key(), Some("k"));
        }
    }
}
