//! The value-file decoder, exposed for the fuzz target `fuzz/fuzz_targets/file_header.rs`
//! (cargo feature `fuzzing`, off by default; not a stable API).
//!
//! These are the checks `get`, `head` and `list` run on a file's bytes. The property they
//! must keep, for any input: an error or a value file, never a panic; and a file accepted
//! only if it is exactly what a put of its contents writes, so damaged bytes are never
//! returned as data. The same properties run on stable Rust as property tests
//! (`format/props.rs`).

use std::time::{Duration, UNIX_EPOCH};

use store_core::Key;

use crate::format;

/// What a verified value file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueFile {
    /// The key the file was written for.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// The write's version.
    pub version: u128,
    /// The modification time, in nanoseconds since the Unix epoch.
    pub modified_nanos: u64,
}

/// Decode and verify `bytes` as a whole value file, as `get` does. A header naming an
/// invalid key is an error too: the store accepts a file only for the key it asked for,
/// and every such key is valid.
pub fn decode_value_file(bytes: &[u8]) -> Result<ValueFile, String> {
    let header = format::verify_file(bytes)?;
    Key::new(&header.key).map_err(|e| e.to_string())?;
    let modified_nanos = header
        .modified
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_nanos();
    Ok(ValueFile {
        key: header.key,
        value: bytes[header.len..].to_vec(),
        version: header.version,
        modified_nanos: u64::try_from(modified_nanos).map_err(|e| e.to_string())?,
    })
}

/// Decode the header alone, as `head` and `list` do, for a file of `file_len` bytes that
/// starts with `bytes`: the key and the value's length.
pub fn decode_header(bytes: &[u8], file_len: u64) -> Result<(String, u64), String> {
    let header = format::decode(bytes)?;
    format::check_len(&header, file_len)?;
    Ok((header.key, header.value_len))
}

/// The bytes a put of `file` writes; `None` if its key is not a valid key.
pub fn encode_value_file(file: &ValueFile) -> Option<Vec<u8>> {
    let key = Key::new(&file.key).ok()?;
    let modified = UNIX_EPOCH + Duration::from_nanos(file.modified_nanos);
    let mut bytes = format::encode(&key, &file.value, file.version, modified);
    bytes.extend_from_slice(&file.value);
    Some(bytes)
}
