//! `strata::migrate`: copies, verifies, checkpoints and resumes between stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::futures::stream::BoxStream;
use store_memory::MemoryStore;
use strata::migrate::{MigrateOptions, migrate};
use strata::{
    Capabilities, Entry, Error, Key, ListOptions, Meta, Prefix, PutMode, PutOp, Result, Store,
    async_trait,
};
use strata_tests::harness::runtime;

/// Fills `store` with `n` keys under `src/` plus one key outside the prefix.
async fn fill(store: &dyn Store, n: usize) {
    let ops = (0..n)
        .map(|i| {
            PutOp::overwrite(
                Key::new(format!("src/{i:06}")).unwrap(),
                format!("value-{i}").repeat(i % 7 + 1),
            )
        })
        .collect();
    store.put_many(ops).await.unwrap();
    store
        .put(
            &Key::new("zzz/outside").unwrap(),
            "x".into(),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
}

async fn contents(store: &dyn Store, prefix: &str) -> Vec<(String, Bytes)> {
    let metas: Vec<Meta> = store
        .list(ListOptions::prefix(Prefix::new(prefix).unwrap()))
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<Key> = metas.into_iter().map(|m| m.key).collect();
    let entries = store.get_many(&keys).await.unwrap();
    keys.into_iter()
        .zip(entries)
        .map(|(k, e)| (k.to_string(), e.unwrap().value))
        .collect()
}

/// A destination that fails every `put_many` after the first `budget` ones, like a
/// process killed half way.
#[derive(Debug)]
struct DiesAfter {
    inner: MemoryStore,
    budget: AtomicUsize,
}

#[async_trait]
impl Store for DiesAfter {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.inner.head(key).await
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.inner.put(key, value, mode).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner.delete(key).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.inner.list(options)
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            return Err(Error::unavailable("destination went away"));
        }
        self.inner.put_many(ops).await
    }
}

#[test]
fn copies_the_prefix_and_verifies() {
    runtime().block_on(async {
        let (from, to) = (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
        fill(from.as_ref(), 1000).await;
        let options = MigrateOptions {
            prefix: Prefix::new("src/").unwrap(),
            verify: true,
            batch: 64,
            ..Default::default()
        };
        let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(report.copied, 1000);
        assert_eq!(report.verified, 1000);
        assert!(report.failures.is_empty());
        assert_eq!(
            contents(to.as_ref(), "").await,
            contents(from.as_ref(), "src/").await
        );
        assert_eq!(from.len(), 1001, "nothing is deleted from the source");
    });
}

#[test]
fn interrupted_run_resumes_from_its_checkpoint() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("migrate.json");
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 2000).await;
        let to = Arc::new(DiesAfter {
            inner: MemoryStore::new(),
            budget: AtomicUsize::new(10),
        });
        let options = MigrateOptions {
            prefix: Prefix::new("src/").unwrap(),
            verify: true,
            checkpoint: Some(checkpoint.clone()),
            resume: true,
            batch: 100,
            concurrency: 1,
        };
        let err = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        assert!(err.retryable(), "{err}");
        assert!(checkpoint.exists(), "the interrupted run left a checkpoint");
        assert_eq!(
            to.inner.len(),
            1000,
            "ten batches of 100 landed before the failure"
        );

        to.budget.store(usize::MAX, Ordering::SeqCst);
        let seen = AtomicUsize::new(0);
        let progress = |keys: u64, _| {
            seen.fetch_add(keys as usize, Ordering::Relaxed);
        };
        let report = migrate(from.clone(), to.clone(), &options, &progress)
            .await
            .unwrap();
        assert_eq!(
            seen.load(Ordering::Relaxed),
            1000,
            "progress reports every key once"
        );
        assert_eq!(
            report.resumed_after.as_ref().map(Key::as_str),
            Some("src/000999")
        );
        assert_eq!(report.copied, 1000, "only the rest is copied");
        assert_eq!(report.verified, 1000);
        assert!(
            !checkpoint.exists(),
            "a finished run removes its checkpoint"
        );
        assert_eq!(
            contents(&to.inner, "").await,
            contents(from.as_ref(), "src/").await
        );
    });
}
