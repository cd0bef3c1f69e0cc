//! `RedbStore` (crate `store-lmdb`): the conformance suite for both durability settings,
//! the kill -9 crash test, and the backend's own promises: group commit with per-request
//! conditions, one database per file per process, a clear error for a second process,
//! `flush` in `none` mode, compaction, and listings that hold no read transaction.

use std::sync::Arc;

use serde_json::json;
use store_core::ConfigMap;
use store_lmdb::{RedbConfig, RedbDurability, RedbStore};
use strata_tests::harness::Fixture;

fn config_map(path: &std::path::Path, durability: &str) -> ConfigMap {
    json!({"type": "redb", "path": path, "durability": durability})
        .as_object()
        .expect("object")
        .clone()
}

async fn fixture(durability: RedbDurability) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RedbConfig::new(dir.path().join("store.redb")).durability(durability);
    let store = RedbStore::open(config).await.expect("open redb store");
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod immediate {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(RedbDurability::Immediate));
}

mod none {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(RedbDurability::None));
}

/// The suite once more with the value cache off, so every read takes the blocking path.
mod uncached {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = RedbConfig::new(dir.path().join("store.redb")).value_cache_size(0);
        let store = RedbStore::open(config).await.expect("open redb store");
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

#[test]
fn crash_redb() {
    // The harness re-runs this test as the child, handing it the parent's config, so the
    // path is computed without side effects here (the store creates the directory).
    let dir = std::env::temp_dir().join(format!("strata-redb-crash-{}", std::process::id()));
    let config = config_map(&dir.join("crash.redb"), "immediate");
    strata_tests::crash::run(
        "crash_redb",
        config,
        strata_tests::crash::cycles(50),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
