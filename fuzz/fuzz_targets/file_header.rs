//! The file store's value-file decoder (`store_file::fuzzing`): any bytes give an error or
//! a value file, never a panic; and a file is accepted only if it is exactly what a put of
//! what it decodes to writes, so damaged bytes never come back as data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_file::fuzzing::{decode_header, decode_value_file, encode_value_file};

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = decode_value_file(data) {
        assert_eq!(encode_value_file(&file).as_deref(), Some(data));
    }
    // The header alone, as `head` and `list` read it: for the real length and any other.
    let _ = decode_header(data, data.len() as u64);
    let _ = decode_header(data, u64::MAX);
});
