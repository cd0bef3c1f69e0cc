//! The suite can fail: a store that ignores `PutMode` must be caught by it.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use store_core::{
    Capabilities, Entry, Key, Layer, Meta, PutMode, PutOp, Result, Store, async_trait,
};
use store_memory::MemoryStore;
use strata_tests::batchlimit::BatchLimit;
use strata_tests::cases::layer;
use strata_tests::harness::{Fixture, Outcome, Verdict, run_case, run_suite, runtime};
use strata_tests::probe::ProbeStore;

/// A broken store: claims conditional puts but always overwrites. Its `get` takes a
/// millisecond, as a store doing real I/O might, so racing read-modify-writes overlap
/// for certain (a bare yield left that to the scheduler, and a loaded machine once ran
/// the racers one after another).
#[derive(Debug)]
struct IgnoresPutMode(MemoryStore);

#[async_trait]
impl Layer for IgnoresPutMode {
    fn inner(&self) -> &dyn Store {
        &self.0
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let entry = self.0.get(key).await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        entry
    }
    async fn put(&self, key: &Key, value: Bytes, _mode: PutMode) -> Result<Meta> {
        self.0.put(key, value, PutMode::Overwrite).await
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
        "layer_keeps_atomic_put_many",
        "cas_race_8x50",
    ] {
        assert!(
            failed.contains(&must_fail),
            "`{must_fail}` should fail; failed: {failed:?}"
        );
    }
    // The rest of the contract is intact, so nothing else may fail: the suite pins the
    // failure on conditional puts, not on noise.
    assert_eq!(failed.len(), 7, "unexpected failures: {failed:?}");
}

/// What a hand-written forwarding wrapper that forwards the six required methods and
/// `capabilities`, and forgets the rest, does: `Store`'s defaults, that is one `put` per
/// op (16 at a time, not atomic), one `delete` per key, and a `flush` that does nothing.
/// Written as a `Layer` overriding those methods with the defaults' behaviour.
#[derive(Debug)]
struct ForgetsBatches(Arc<dyn Store>);

#[async_trait]
impl Layer for ForgetsBatches {
    fn inner(&self) -> &dyn Store {
        &*self.0
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let gets: Vec<_> = keys.iter().map(|key| self.0.get(key)).collect();
        stream::iter(gets).buffered(16).try_collect().await
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        stream::iter(ops)
            .map(|op| async move { self.0.put(&op.key, op.value, op.mode).await })
            .buffered(16)
            .try_collect()
            .await
    }
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        for key in keys {
            self.0.delete(key).await?;
        }
        Ok(())
    }
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

fn forgets_batches(store: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(ForgetsBatches(store))
}

#[test]
fn layer_cases_fail_a_wrapper_that_forgets_batches_and_flush() {
    type Check = fn(Arc<dyn Store>, layer::Wrap) -> BoxFuture<'static, Outcome>;
    let checks: [(&str, Check); 3] = [
        ("forwards_batches", |s, w| {
            layer::forwards_batches(s, w).boxed()
        }),
        ("keeps_atomic_put_many", |s, w| {
            layer::keeps_atomic_put_many(s, w).boxed()
        }),
        ("forwards_flush", |s, w| layer::forwards_flush(s, w).boxed()),
    ];
    runtime().block_on(async {
        for (name, check) in checks {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            let fixture = Fixture::new(store.clone());
            let verdict = run_case(check(store.clone(), forgets_batches), fixture).await;
            assert!(
                matches!(verdict, Verdict::Failed(_)),
                "`{name}` should fail for a wrapper that forgets batches and flush: {verdict:?}"
            );
            // The same check passes for a layer that forgets nothing.
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            let fixture = Fixture::new(store.clone());
            let verdict = run_case(check(store, layer::do_nothing), fixture).await;
            assert_eq!(verdict, Verdict::Passed, "`{name}` over a do-nothing layer");
        }
    });
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
    assert_eq!(report.skipped(), ONLY_FOR_LIMITED_BATCHES);
}

/// The cases the memory store cannot run: it takes batches of any size, so it declares
/// no `max_batch_writes` or `max_batch_bytes` to check. [`BatchLimit`] over it runs them.
const ONLY_FOR_LIMITED_BATCHES: [&str; 2] = [
    "batch_writes_up_to_max_batch_writes",
    "put_many_up_to_max_batch_bytes",
];

/// With a declared batch limit the reference store runs every case, none skipped.
#[test]
fn suite_passes_the_reference_store_with_a_batch_limit() {
    let report = runtime().block_on(run_suite(|| async {
        // 1,000 bytes: less than 16 of the suite's larger ops, so both limits cut batches.
        let limited = BatchLimit::new(Arc::new(MemoryStore::new()), 16).bytes(1_000);
        Fixture::new(Arc::new(limited))
    }));
    assert!(report.failed().is_empty(), "{:?}", report.failed());
    assert!(report.skipped().is_empty(), "{:?}", report.skipped());
}

/// A store that declares batch limits but takes larger batches anyway.
#[derive(Debug)]
struct ClaimsABatchLimit(MemoryStore);

#[async_trait]
impl Layer for ClaimsABatchLimit {
    fn inner(&self) -> &dyn Store {
        &self.0
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch_writes: Some(8),
            max_batch_bytes: Some(1_000),
            ..self.0.capabilities()
        }
    }
}

#[test]
fn suite_fails_a_store_that_does_not_enforce_its_batch_limit() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::new(Arc::new(ClaimsABatchLimit(MemoryStore::new())))
    }));
    assert_eq!(report.failed(), ONLY_FOR_LIMITED_BATCHES);
}

#[test]
fn skipped_fixture_skips_every_case_without_running_it() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::skip("no server configured")
    }));
    assert!(report.passed().is_empty() && report.failed().is_empty());
    assert_eq!(report.skipped().len(), strata_tests::cases::ALL.len());
}

/// The test probe is a store like the one it wraps: over a memory store it passes the
/// whole suite, atomic batches included (it used to claim the memory store's atomic
/// `put_many` and deliver `Store`'s default, one put at a time).
#[test]
fn the_probe_passes_the_suite_over_the_reference_store() {
    let report = runtime().block_on(run_suite(|| async {
        Fixture::new(ProbeStore::new(Arc::new(MemoryStore::new())))
    }));
    assert!(report.failed().is_empty(), "{:?}", report.failed());
    assert_eq!(report.skipped(), ONLY_FOR_LIMITED_BATCHES);
}
