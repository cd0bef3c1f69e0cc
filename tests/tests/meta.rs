//! The suite can fail: a store that ignores `PutMode` must be caught by it.

use std::sync::Arc;

use bytes::Bytes;
use store_core::futures::stream::BoxStream;
use store_core::{
    Capabilities, Entry, Key, ListOptions, Meta, PutMode, PutOp, Result, Store, async_trait,
};
use store_memory::MemoryStore;
use strata_tests::harness::{Fixture, run_suite, runtime};

/// A broken store: claims conditional puts but always overwrites. Its `get` takes a
/// millisecond, as a store doing real I/O might, so racing read-modify-writes overlap
/// for certain (a bare yield left that to the scheduler, and a loaded machine once ran
/// the racers one after another).
#[derive(Debug)]
struct IgnoresPutMode(MemoryStore);

#[async_trait]
impl Store for IgnoresPutMode {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let entry = self.0.get(key).await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        entry
    }
    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.0.head(key).await
    }
    async fn put(&self, key: &Key, value: Bytes, _mode: PutMode) -> Result<Meta> {
        self.0.put(key, value, PutMode::Overwrite).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.0.delete(key).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.0.list(options)
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let ops = ops
            .into_iter()
            .map(|op| PutOp::overwrite(op.key, op.value))
            .collect();
        self.0.put_many(ops).await
    }
}

#[test]
fn suite_fails_a_store_that_ignores_put_mode() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::new(Arc::new(IgnoresPutMode(MemoryStore::new())))
    }));
    let failed = report.failed();
    for must_fail in [
        "create_on_existing_key_fails",
        "update_with_stale_version_fails",
        "update_with_a_respelled_version_fails",
        "update_missing_key_fails",
        "put_many_atomic_on_conflict",
        "cas_race_8x50",
    ] {
        assert!(
            failed.contains(&must_fail),
            "`{must_fail}` should fail; failed: {failed:?}"
        );
    }
    // The rest of the contract is intact, so nothing else may fail: the suite pins the
    // failure on conditional puts, not on noise.
    assert_eq!(failed.len(), 6, "unexpected failures: {failed:?}");
}

#[test]
fn suite_passes_the_reference_store() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::new(Arc::new(MemoryStore::new()))
    }));
    assert!(report.failed().is_empty(), "{:?}", report.failed());
    assert!(
        report.passed().len() >= 25,
        "only {} cases ran",
        report.passed().len()
    );
    assert!(report.skipped().is_empty());
}

#[test]
fn skipped_fixture_skips_every_case_without_running_it() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::skip("no server configured")
    }));
    assert!(report.passed().is_empty() && report.failed().is_empty());
    assert_eq!(report.skipped().len(), strata_tests::cases::ALL.len());
}
