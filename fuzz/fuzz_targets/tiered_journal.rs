#![no_main]
//! See `store_tiered::fuzzing::journal`: any bytes are an error, never a panic, never other data.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| store_tiered::fuzzing::journal(data));
