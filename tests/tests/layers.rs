//! The whole conformance suite over each value layer of `store-layers` on the memory
//! store, and over the stacks encrypt → compress → redb and encrypt → compress → S3
//! (moto, from the environment as in `s3.rs`: skipped without a server unless
//! `STRATA_S3_REQUIRED=1`), opened from nested config maps through the facade registry.
//! Also compress → encrypt → redb, the order in which compression pays (ciphertext does
//! not compress).

mod layers_support;

use std::sync::Arc;
use std::time::Duration;

use layers_support::{KEY_A, compressed, encrypted, memory};
use serde_json::json;
use store_core::{ConfigMap, Store};
use store_layers::compress::Codec;
use store_layers::limit::Limit;
use store_layers::retry::{Retry, RetryPolicy};
use store_layers::timeout::Timeout;
use store_lmdb::{RedbConfig, RedbStore};
use strata_tests::harness::Fixture;

mod compress_zstd {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(compressed(memory(), Codec::Zstd)))
    });
}

mod compress_lz4 {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(compressed(memory(), Codec::Lz4)))
    });
}

mod compress_none {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(compressed(memory(), Codec::None)))
    });
}

mod encrypt {
    use super::*;
    strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(encrypted(memory()))) });
}

/// Encryption over a store with batch limits (as DynamoDB's): the layer's declared byte
/// limit leaves room for its overhead on every op, so the byte-limit case passes through it.
mod encrypt_over_batch_limits {
    use super::*;
    use strata_tests::batchlimit::BatchLimit;
    strata_tests::conformance_tests!(|| async {
        let limited: Arc<dyn Store> = Arc::new(BatchLimit::new(memory(), 50).bytes(32 * 1024));
        Fixture::new(Arc::new(encrypted(limited)))
    });
}

mod retry {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(Retry::new(memory(), RetryPolicy::default())))
    });
}

mod timeout {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(Timeout::new(memory(), Duration::from_secs(30))))
    });
}

mod limit {
    use super::*;
    strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(Limit::new(memory(), 4))) });
}

/// A key file in a temp dir, and the dir (kept alive by the fixture).
fn key_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.key");
    std::fs::write(&path, format!("{KEY_A}\n")).expect("write key file");
    (dir, path)
}

fn map(value: serde_json::Value) -> ConfigMap {
    value.as_object().expect("a config map").clone()
}

/// `{"type": "encrypt", "inner": {"type": "compress", "inner": inner}}` from the registry.
async fn encrypt_compress(inner: serde_json::Value) -> (Arc<dyn Store>, tempfile::TempDir) {
    let (dir, path) = key_file();
    let config = map(json!({
        "type": "encrypt",
        "key_file": path,
        "inner": {"type": "compress", "codec": "zstd", "level": 3, "inner": inner},
    }));
    let store = strata::registry()
        .open(&config)
        .await
        .expect("open the stack");
    (store, dir)
}

mod stack_encrypt_compress_redb {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let db = tempfile::tempdir().expect("tempdir");
        let inner = json!({"type": "redb", "path": db.path().join("s.redb")});
        let (store, keys) = encrypt_compress(inner).await;
        Fixture::new(store).with_guard((db, keys))
    });
}

mod stack_compress_encrypt_redb {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let db = tempfile::tempdir().expect("tempdir");
        let redb = RedbStore::open(RedbConfig::new(db.path().join("s.redb")))
            .await
            .expect("open redb");
        let sealed = Arc::new(encrypted(Arc::new(redb)));
        Fixture::new(Arc::new(compressed(sealed, Codec::Lz4))).with_guard(db)
    });
}

mod stack_encrypt_compress_s3 {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        match strata_tests::s3env::s3_config() {
            Some(s3) => {
                let (store, keys) = encrypt_compress(serde_json::Value::Object(s3)).await;
                Fixture::new(store).with_guard(keys)
            }
            None => Fixture::skip("no S3 server configured (set STRATA_S3_ENDPOINT, ...)"),
        }
    });
}
