//! Small helpers shared by the cases.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::{Key, ListOptions, Meta, Store};

/// A key from a string that must be valid.
pub fn key(raw: &str) -> Key {
    Key::new(raw).unwrap_or_else(|e| panic!("test key {raw:?} should be valid: {e}"))
}

/// A value from a string.
pub fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Everything `list` yields for `options`.
pub async fn list(store: &Arc<dyn Store>, options: ListOptions) -> Vec<Meta> {
    store.list(options).try_collect().await.expect("list")
}

/// The keys `list` yields for `options`, as strings.
pub async fn list_keys(store: &Arc<dyn Store>, options: ListOptions) -> Vec<String> {
    list(store, options)
        .await
        .into_iter()
        .map(|m| m.key.to_string())
        .collect()
}

/// The value at `key`, which must exist.
pub async fn must_get(store: &Arc<dyn Store>, key: &Key) -> Bytes {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"))
        .unwrap_or_else(|| panic!("{key} should exist"))
        .value
}

/// A deterministic, non-repeating-looking byte pattern of `len` bytes.
pub fn pattern(len: usize, seed: u8) -> Bytes {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}
