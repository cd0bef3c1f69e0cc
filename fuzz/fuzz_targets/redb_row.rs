//! store-lmdb's row decoders (value, metadata and counter rows, and format-0 value rows)
//! on arbitrary bytes: an error, never a panic; an accepted row re-encodes to exactly the
//! input, so nothing but what was encoded is ever returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_lmdb::fuzzing::*;

fuzz_target!(|data: &[u8]| {
    // The first byte says how long the key is; the key follows, then the row.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 64).min(rest.len());
    let Ok(key) = std::str::from_utf8(&rest[..n]) else {
        return;
    };
    let row = &rest[n..];
    if let Ok((version, mtime, value)) = decode_value_row(key, row) {
        assert_eq!(encode_value_row(key, version, mtime, &value), row);
    }
    if let Ok((version, mtime, size)) = decode_meta_row(key, row) {
        assert_eq!(encode_meta_row(key, version, mtime, size), row);
    }
    if let Ok(value) = decode_counter_row(key, row) {
        assert_eq!(encode_counter_row(key, value), row);
    }
    if let Ok((_, _, value)) = decode_value_row_v0(row) {
        assert_eq!(value.len() + 16, row.len());
    }
});
