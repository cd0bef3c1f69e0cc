//! The value-file format: a checksummed header, then the value.
//!
//! ```text
//! magic "STRF" | format u8 = 1 | flags u8 = 0 | key length u16 | value length u64
//! | value CRC32C u32 | version u128 | modified (ns since the Unix epoch) u64
//! | key bytes | header CRC32C u32 (over everything before it) | value
//! ```
//! All integers are little-endian. A reader checks the header checksum, the key, the file
//! length and (for a full read) the value checksum, so a bit flip or a truncation is
//! reported as corruption instead of returning wrong bytes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use store_core::{Key, MAX_KEY_LEN, Version, crc32c};

const MAGIC: &[u8; 4] = b"STRF";
const FORMAT: u8 = 1;
/// The first bytes of every value file this version writes: the magic and the format.
pub(crate) const START: &[u8] = b"STRF\x01";
const FIXED: usize = 4 + 1 + 1 + 2 + 8 + 4 + 16 + 8;

/// The longest header there is; reading this many bytes always covers the header.
pub(crate) const MAX_HEADER: usize = FIXED + MAX_KEY_LEN + 4;

/// What a value file's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub key: String,
    pub value_len: u64,
    pub value_crc: u32,
    pub version: u128,
    pub modified: SystemTime,
    /// The header's own length; the value starts here.
    pub len: usize,
}

impl Header {
    /// The version as the store reports it: 32 hex digits.
    pub fn version(&self) -> Version {
        version_text(self.version)
    }
}

/// The text form of a version.
pub(crate) fn version_text(version: u128) -> Version {
    Version::new(format!("{version:032x}"))
}

/// The length of the header of every value file written at `key` (a file holding
/// another key fails its key check anyway).
pub(crate) fn header_len(key: &Key) -> usize {
    FIXED + key.as_str().len() + 4
}

/// Encode the header for `value` written at `key`.
pub(crate) fn encode(key: &Key, value: &[u8], version: u128, modified: SystemTime) -> Vec<u8> {
    let key = key.as_str().as_bytes();
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut out = Vec::with_capacity(FIXED + key.len() + 4);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    out.push(0);
    // Keys are at most MAX_KEY_LEN (1024) bytes, so the length fits.
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c(value).to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
    out.extend_from_slice(key);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parse the header at the start of `bytes` (which may hold only the header's prefix of a
/// longer file). Errors say what is wrong, for a `Corrupted` error.
pub(crate) fn decode(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < FIXED + 4 {
        return Err(format!(
            "file too short for a header ({} bytes)",
            bytes.len()
        ));
    }
    if &bytes[..4] != MAGIC {
        return Err("bad magic number: not a Strata value file".into());
    }
    if bytes[4] != FORMAT {
        return Err(format!("unknown format version {}", bytes[4]));
    }
    // No flag is defined yet: a file using one was written by a later version, which
    // this one would misread.
    if bytes[5] != 0 {
        return Err(format!("unknown flags {:#04x}", bytes[5]));
    }
    let key_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let len = FIXED + key_len + 4;
    if key_len > MAX_KEY_LEN || bytes.len() < len {
        return Err(format!("header cut short (key length {key_len})"));
    }
    let stored = u32::from_le_bytes(take(&bytes[len - 4..]));
    if crc32c(&bytes[..len - 4]) != stored {
        return Err("header checksum mismatch".into());
    }
    let key = std::str::from_utf8(&bytes[FIXED..FIXED + key_len])
        .map_err(|_| "key in header is not UTF-8".to_string())?
        .to_owned();
    let nanos = u64::from_le_bytes(take(&bytes[36..44]));
    Ok(Header {
        key,
        value_len: u64::from_le_bytes(take(&bytes[8..16])),
        value_crc: u32::from_le_bytes(take(&bytes[16..20])),
        version: u128::from_le_bytes(take(&bytes[20..36])),
        modified: UNIX_EPOCH + Duration::from_nanos(nanos),
        len,
    })
}

/// The first `N` bytes of `bytes` (callers check the length first).
fn take<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Check that a file of `file_len` bytes holds exactly the header and its value.
pub(crate) fn check_len(header: &Header, file_len: u64) -> Result<(), String> {
    let expected = header.len as u64 + header.value_len;
    if file_len != expected {
        return Err(format!(
            "file is {file_len} bytes, header and value need {expected} (truncated or extended)"
        ));
    }
    Ok(())
}

/// Check the value's checksum.
pub(crate) fn check_value(header: &Header, value: &[u8]) -> Result<(), String> {
    if crc32c(value) != header.value_crc {
        return Err("value checksum mismatch".into());
    }
    Ok(())
}

/// Decode and verify a whole value file (header, length, value checksum), as `get` reads
/// it; the value is `bytes[header.len..]`.
pub(crate) fn verify_file(bytes: &[u8]) -> Result<Header, String> {
    let header = decode(bytes)?;
    check_len(&header, bytes.len() as u64)?;
    check_value(&header, &bytes[header.len..])?;
    Ok(header)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_magic_and_format() {
        assert_eq!(START, [&MAGIC[..], &[FORMAT]].concat());
    }

    #[test]
    fn checksum_is_crc32c() {
        // The standard check value of CRC-32C: files written by any build stay readable.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn round_trip_and_every_bit_flip_is_caught() {
        let key = Key::new("a/b").unwrap();
        let at = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let bytes = encode(&key, b"value", 0xfeed, at);
        let header = decode(&bytes).unwrap();
        assert_eq!(
            (
                header.key.as_str(),
                header.value_len,
                header.version,
                header.modified
            ),
            ("a/b", 5, 0xfeed, at)
        );
        assert_eq!(header.len, bytes.len());
        assert!(check_value(&header, b"value").is_ok());
        assert!(check_value(&header, b"valuf").is_err());
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&flipped).is_err(), "flip of bit {bit} not caught");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn unknown_flags_are_refused_even_with_a_valid_checksum() {
        let key = Key::new("k").unwrap();
        let mut bytes = encode(&key, b"v", 1, UNIX_EPOCH);
        bytes[5] = 1;
        let body = bytes.len() - 4;
        let crc = crc32c(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
        let err = decode(&bytes).unwrap_err();
        assert!(err.contains("unknown flags"), "{err}");
    }
}
