//! Entry points for the cargo-fuzz targets in `fuzz/` (the `fuzzing` feature): not an API.
//!
//! Each feeds arbitrary bytes to a decoder of what the tiered store keeps in a durable
//! frontend, as given and sealed behind a correct checksum (so the parser behind the
//! checksum is reached too). They panic only when a property fails: a decoder panicked,
//! or bytes decoded into something whose encoding they are not.

use store_core::Key;

use crate::checks;

/// Frontend bytes as a read decodes them (the envelope around each value).
pub fn envelope(data: &[u8]) {
    let key = Key::new("fuzz/envelope").expect("a valid key");
    checks::envelope(&key, data);
    checks::envelope(&key, &checks::seal(&key, data));
}

/// A journal as write-behind recovery reads it: `data` is split into records, each a
/// little-endian `u16` length and that many bytes, stored under keys of their own.
pub fn journal(data: &[u8]) {
    let mut rest = data;
    let mut n = 0u32;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (record, tail) = tail.split_at(len);
        let key = Key::new(format!("journal/{n}")).expect("a valid key");
        checks::journal(&key, record);
        checks::journal(&key, &checks::seal(&key, record));
        rest = tail;
        n += 1;
    }
}
