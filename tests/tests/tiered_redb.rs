//! Tiered stores over the persistent backends: the conformance suite for cache → redb,
//! cache → files, a durable redb frontend journaling write-behind, redb → S3
//! (write-behind) and the three tiers cache → redb → S3; and the kill -9 test of the
//! write-behind journal: every acknowledged write survives, and after `flush()` it is in
//! the backend with its last value.

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::json;
use store_core::{ListOptions, Store};
use store_lmdb::{RedbConfig, RedbDurability, RedbStore};
use store_memory::{CacheStore, MemoryStore};
use store_tiered::{TieredOptions, TieredStore, WritePolicy};
use strata_tests::harness::{Fixture, runtime};

async fn redb(dir: &tempfile::TempDir, name: &str) -> Arc<dyn Store> {
    let config = RedbConfig::new(dir.path().join(name)).durability(RedbDurability::Immediate);
    Arc::new(RedbStore::open(config).await.expect("open redb"))
}

fn options(write_policy: WritePolicy) -> TieredOptions {
    TieredOptions {
        write_policy,
        ..TieredOptions::default()
    }
}

/// A 64 MiB cache over a fresh redb store, with `policy`.
async fn cache_over_redb(policy: WritePolicy) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = redb(&dir, "back.redb").await;
    let store = TieredStore::open_cached(CacheStore::new(64 << 20), backend, options(policy))
        .await
        .unwrap();
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod cache_over_redb_write_through {
    use super::*;
    strata_tests::conformance_tests!(|| cache_over_redb(WritePolicy::WriteThrough));
}

mod cache_over_redb_write_behind {
    use super::*;
    strata_tests::conformance_tests!(|| cache_over_redb(WritePolicy::WriteBehind));
}

/// A durable frontend: write-behind journals in redb, drains to memory.
mod redb_journal_over_memory {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let dir = tempfile::tempdir().unwrap();
        let frontend = redb(&dir, "front.redb").await;
        let store = TieredStore::open(
            frontend,
            Arc::new(MemoryStore::new()),
            options(WritePolicy::WriteBehind),
        )
        .await
        .unwrap();
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

mod cache_over_files_write_behind {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let dir = tempfile::tempdir().unwrap();
        let config = json!({"type": "file", "path": dir.path().join("files")});
        let backend = strata::open(config.as_object().unwrap()).await.unwrap();
        let store = TieredStore::open_cached(
            CacheStore::new(64 << 20),
            backend,
            options(WritePolicy::WriteBehind),
        )
        .await
        .unwrap();
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

/// An S3 store on the test server, or `None` to skip (see `strata_tests::s3env`).
async fn s3() -> Option<Arc<dyn Store>> {
    let config = strata_tests::s3env::s3_config()?;
    Some(strata::open(&config).await.expect("open S3"))
}

const NO_S3: &str = "no S3 server configured (set STRATA_S3_ENDPOINT, ...)";

/// redb in front of S3, write-behind: the durable local tier journals, S3 drains.
mod redb_over_s3_write_behind {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(backend) = s3().await else {
            return Fixture::skip(NO_S3);
        };
        let dir = tempfile::tempdir().unwrap();
        let frontend = redb(&dir, "front.redb").await;
        let store = TieredStore::open(frontend, backend, options(WritePolicy::WriteBehind))
            .await
            .unwrap();
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

/// Three tiers: a memory cache over (redb over S3, write-behind).
mod cache_over_redb_over_s3 {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(backend) = s3().await else {
            return Fixture::skip(NO_S3);
        };
        let dir = tempfile::tempdir().unwrap();
        let middle = TieredStore::open(
            redb(&dir, "middle.redb").await,
            backend,
            options(WritePolicy::WriteBehind),
        )
        .await
        .unwrap();
        let store = TieredStore::open_cached(
            CacheStore::new(64 << 20),
            Arc::new(middle),
            options(WritePolicy::WriteThrough),
        )
        .await
        .unwrap();
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

#[test]
fn crash_tiered_write_behind_redb_journal() {
    // The child re-runs this test with the parent's config: paths only, no side effects.
    let dir = std::env::temp_dir().join(format!("strata-tiered-crash-{}", std::process::id()));
    let front = dir.join("front.redb");
    let back = dir.join("back.redb");
    let config = json!({
        "type": "tiered",
        "write_policy": "write-behind",
        "frontend": {"type": "redb", "path": front},
        "backend": {"type": "redb", "path": back},
    });
    let config = config.as_object().unwrap().clone();
    strata_tests::crash::run(
        "crash_tiered_write_behind_redb_journal",
        config.clone(),
        strata_tests::crash::cycles(50),
    );
    // Every acknowledged write is now readable through the tier (checked each cycle);
    // after one more reopen and flush, the backend alone must hold the same values.
    runtime().block_on(async {
        let tiered = strata::open(&config).await.expect("reopen tiered");
        tiered.flush().await.expect("flush");
        let mut seen = Vec::new();
        let metas: Vec<_> = tiered
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        for meta in metas {
            let entry = tiered
                .get(&meta.key)
                .await
                .unwrap()
                .expect("listed key reads");
            seen.push((meta.key, entry.value));
        }
        drop(tiered);
        assert!(!seen.is_empty(), "the crash test wrote nothing");
        let backend = strata::open(json!({"type": "redb", "path": back}).as_object().unwrap())
            .await
            .expect("open backend alone");
        for (key, value) in &seen {
            let got = backend.get(key).await.unwrap();
            assert_eq!(
                got.map(|e| e.value).as_ref(),
                Some(value),
                "{key} in the backend"
            );
        }
        let backend_keys: Vec<_> = backend
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            backend_keys.len(),
            seen.len(),
            "the backend holds exactly the tier's keys"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A redb journal whose records were damaged while the store was closed (through redb's
/// own `Store`, so redb sees well-formed rows): the damaged record's key is reported
/// `Corrupted` after reopening, the healthy records replay, and none of the damaged bytes
/// reach the backend.
#[test]
fn a_damaged_record_in_a_redb_journal_is_reported_and_the_others_replay() {
    use bytes::Bytes;
    use store_core::{ErrorKind, Key, PutMode};
    use strata_tests::probe::ProbeStore;

    let dir = tempfile::tempdir().unwrap();
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    backend.set_down(true);
    let keys: Vec<Key> = (0..10)
        .map(|i| Key::new(format!("orders/{i}")).unwrap())
        .collect();
    {
        let rt = runtime();
        rt.block_on(async {
            let tiered = TieredStore::open(
                redb(&dir, "front.redb").await,
                backend.clone(),
                options(WritePolicy::WriteBehind),
            )
            .await
            .unwrap();
            for (i, k) in keys.iter().enumerate() {
                let value = Bytes::from(format!("order {i}"));
                tiered.put(k, value, PutMode::Overwrite).await.unwrap();
            }
            std::mem::forget(tiered);
        });
        drop(rt); // the drainer never reached the backend
    }
    runtime().block_on(async {
        let front = redb(&dir, "front.redb").await;
        let mut record = front.get(&keys[3]).await.unwrap().unwrap().value.to_vec();
        let last = record.len() - 1;
        record[last] ^= 0x08;
        front
            .put(&keys[3], Bytes::from(record), PutMode::Overwrite)
            .await
            .unwrap();
        backend.set_down(false);
        let tiered = TieredStore::open(front, backend.clone(), options(WritePolicy::WriteBehind))
            .await
            .unwrap();
        tiered.flush().await.unwrap();
        assert_eq!(tiered.stats().corrupted, 1);
        let error = tiered.get(&keys[3]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Corrupted, "{error}");
        assert_eq!(error.key(), Some("orders/3"));
        assert_eq!(backend.get(&keys[3]).await.unwrap(), None);
        for (i, k) in keys.iter().enumerate().filter(|(i, _)| *i != 3) {
            let want = Bytes::from(format!("order {i}"));
            assert_eq!(backend.get(k).await.unwrap().unwrap().value, want, "{k}");
            assert_eq!(tiered.get(k).await.unwrap().unwrap().value, want, "{k}");
        }
    });
}

fn redb_map(path: &std::path::Path) -> serde_json::Value {
    json!({"type": "redb", "path": path})
}

fn tiered_map(frontend: serde_json::Value, backend: serde_json::Value) -> store_core::ConfigMap {
    json!({"type": "tiered", "write_policy": "write-behind", "frontend": frontend, "backend": backend})
        .as_object()
        .expect("object")
        .clone()
}

/// Issue 16, item 8: one redb file as both tiers (however its path is spelled, and however
/// deep the stack nests it) is refused with `InvalidConfig` naming the file, instead of
/// tiers that overwrite each other.
#[test]
fn tiers_sharing_a_redb_file_are_refused() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let path = dir.path().join("shared.redb");
        let spelled_otherwise = dir
            .path()
            .join("sub")
            .join("..")
            .join(".")
            .join("shared.redb");
        let nested =
            json!({"type": "tiered", "frontend": {"type": "cache"}, "backend": redb_map(&path)});
        for config in [
            tiered_map(redb_map(&path), redb_map(&path)),
            tiered_map(redb_map(&path), redb_map(&spelled_otherwise)),
            tiered_map(redb_map(&path), nested),
        ] {
            let err = strata::open(&config)
                .await
                .expect_err("shared tiers refused");
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidConfig, "{err}");
            let text = err.to_string();
            assert!(text.contains("share data"), "{text}");
            assert!(
                text.matches("shared.redb").count() >= 2,
                "names both tiers' locations: {text}"
            );
        }
        // Separate files stack, and the stack reports both (through the stats layer too).
        let config = tiered_map(
            redb_map(&dir.path().join("front.redb")),
            redb_map(&dir.path().join("back.redb")),
        );
        let store = strata::open(&config).await.expect("separate tiers");
        let stats = strata::stats::StatsStore::new(store);
        let locations = stats.locations();
        assert_eq!(locations.len(), 2, "{locations:?}");
        assert!(locations[0].starts_with("redb:///") && locations[0].ends_with("/front.redb"));
        assert!(locations[1].ends_with("/back.redb"), "{locations:?}");
    });
}
