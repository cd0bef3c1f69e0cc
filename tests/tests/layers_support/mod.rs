//! Shared pieces of the layer tests: keys, stores and the stacks under test.

#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use store_core::{ErrorKind, Key, PutMode, Store};
use store_layers::compress::{Codec, Compressed};
use store_layers::encrypt::{Encrypted, Keyring};
use store_memory::MemoryStore;

/// A test key, as hex: never a real secret.
pub const KEY_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Another test key, as base64 (32 bytes of 0xA5).
pub const KEY_B: &str = "paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU=";

pub fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

pub fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

pub fn keyring_a() -> Keyring {
    Keyring::from_text(KEY_A).expect("key A")
}

pub fn keyring_b() -> Keyring {
    Keyring::from_text(KEY_B).expect("key B")
}

pub fn encrypted(inner: Arc<dyn Store>) -> Encrypted {
    Encrypted::new(inner, keyring_a())
}

pub fn compressed(inner: Arc<dyn Store>, codec: Codec) -> Compressed {
    Compressed::new(inner, codec)
}

/// 4 KiB of JSON-like text: compresses well.
pub fn json_like(n: usize) -> Bytes {
    let mut out = String::with_capacity(n + 128);
    let mut i = 0u64;
    while out.len() < n {
        out.push_str(&format!(
            "{{\"id\":{i},\"name\":\"user-{i}\",\"active\":{},\"tags\":[\"a\",\"b\"]}},",
            i.is_multiple_of(3)
        ));
        i += 1;
    }
    out.truncate(n);
    Bytes::from(out)
}

/// Bytes that do not compress.
pub fn noise(n: usize) -> Bytes {
    let mut out = vec![0u8; n];
    rand::Rng::fill(&mut rand::rng(), &mut out[..]);
    Bytes::from(out)
}

/// The runtime the layer tests run on.
pub fn rt() -> tokio::runtime::Runtime {
    strata_tests::harness::runtime()
}

/// Put `value` under `k` straight into the inner store (bypassing the layer).
pub async fn put_raw(inner: &Arc<dyn Store>, k: &Key, value: impl Into<Bytes>) {
    inner
        .put(k, value.into(), PutMode::Overwrite)
        .await
        .unwrap();
}

pub async fn raw(inner: &Arc<dyn Store>, k: &Key) -> Vec<u8> {
    inner.get(k).await.unwrap().expect("stored").value.to_vec()
}

/// `get` through `store` fails with `Corrupted` naming `k`.
pub async fn assert_corrupted(store: &dyn Store, k: &Key) {
    let err = store
        .get(k)
        .await
        .expect_err("tampered value must not read");
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{k}: {err}");
    assert_eq!(err.key(), Some(k.as_str()), "{err}");
}
