#![no_main]
//! See `vector_index::fuzzing::manifest`: any bytes are an error, never a panic, never other data.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vector_index::fuzzing::manifest(data));
