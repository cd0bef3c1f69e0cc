//! Entry points for the cargo-fuzz targets in `fuzz/` (the `fuzzing` feature): not an API.
//!
//! Each feeds arbitrary bytes to a decoder of what the index stores, as given and sealed
//! behind a correct checksum (so the parser behind the checksum is reached too). They
//! panic only when a property fails: a decoder panicked, or a graph that `open` would
//! accept panicked in use.

use store_core::Key;

use crate::checks;

/// A page, as `open` decodes it into a small index (4 dimensions, `m` = 4, 32 nodes a
/// page). The slot count the manifest would give is the page's own when it is at most
/// 32, so that well-formed input is not refused for that alone.
pub fn page(data: &[u8]) {
    let key = Key::new("vector-index/fuzz/pages/00000000-0").expect("a valid key");
    let config = checks::small_config();
    let count = |bytes: &[u8]| {
        bytes
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .filter(|&n| n as usize <= config.nodes_per_page)
            .unwrap_or(1)
    };
    checks::page(&key, &config, data, count(data));
    let sealed = checks::seal_page(data);
    checks::page(&key, &config, &sealed, count(&sealed));
}

/// A manifest, as `open` decodes and checks it.
pub fn manifest(data: &[u8]) {
    let key = Key::new("vector-index/fuzz/manifest").expect("a valid key");
    checks::manifest(&key, data);
    checks::manifest(&key, &checks::seal_manifest(&key, data));
}
