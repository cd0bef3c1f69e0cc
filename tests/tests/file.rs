//! The file store: the conformance suite per `sync` setting, kill -9 crash tests, and
//! file-store specifics (corruption on disk, temp-file cleanup, the root lock, layout).

use std::path::Path;
use std::sync::Arc;

use strata::{ConfigMap, FileStore, SyncMode};
use strata_tests::harness::Fixture;

async fn fixture(sync: SyncMode) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path(), sync)
        .await
        .expect("open file store");
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod always {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Always));
}

mod batch {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Batch));
}

mod never {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Never));
}

fn config(path: &Path, sync: &str) -> ConfigMap {
    serde_json::json!({"type": "file", "path": path, "sync": sync})
        .as_object()
        .expect("object")
        .clone()
}

/// Run the kill -9 crash harness on a fresh root. The path is only a name until the store
/// creates it, so the child processes (which re-run the test and take the parent's
/// config) leave nothing behind; the parent removes the root when the run passes.
fn crash(test_name: &str, sync: &str) {
    let root = std::env::temp_dir().join(format!("strata-{test_name}-{}", std::process::id()));
    strata_tests::crash::run(
        test_name,
        config(&root, sync),
        strata_tests::crash::cycles(50),
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn crash_file_always() {
    crash("crash_file_always", "always");
}

#[test]
fn crash_file_batch() {
    crash("crash_file_batch", "batch");
}

/// `never` promises survival of a process crash, which is exactly what kill -9 tests.
#[test]
fn crash_file_never() {
    crash("crash_file_never", "never");
}
