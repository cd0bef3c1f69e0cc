//! `strata::migrate`: copies, verifies, checkpoints and resumes between stores.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use store_memory::MemoryStore;
use strata::migrate::{MigrateOptions, migrate};
use strata::{
    Error, ErrorKind, Key, ListOptions, Meta, Prefix, PutMode, PutOp, Result, Store, StoreExt,
    async_trait,
};
use strata_tests::batchlimit::BatchLimit;
use strata_tests::harness::runtime;
use strata_tests::probe::ProbeStore;

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

/// A destination that acknowledges writes before they are durable, as redb with
/// `durability = "none"` or a write-behind tier over a cache does: reads see every write,
/// `flush` makes them durable, and [`crash`](Self::crash) loses whatever was not flushed.
/// `put_many` fails after `budget` calls, like a process about to be killed.
#[derive(Debug)]
struct Volatile {
    front: MemoryStore,
    durable: MemoryStore,
    unflushed: Mutex<BTreeSet<Key>>,
    budget: AtomicUsize,
    /// The greatest key made durable so far.
    flushed_up_to: Mutex<Option<Key>>,
}

impl Volatile {
    fn new(budget: usize) -> Arc<Self> {
        Arc::new(Volatile {
            front: MemoryStore::new(),
            durable: MemoryStore::new(),
            unflushed: Mutex::default(),
            budget: AtomicUsize::new(budget),
            flushed_up_to: Mutex::default(),
        })
    }

    /// The process dies: every write not flushed is gone.
    async fn crash(&self) {
        let lost: Vec<Key> = std::mem::take(&mut *self.unflushed.lock().unwrap())
            .into_iter()
            .collect();
        for key in lost {
            match self.durable.get(&key).await.unwrap() {
                Some(e) => {
                    self.front
                        .put(&key, e.value, PutMode::Overwrite)
                        .await
                        .unwrap();
                }
                None => self.front.delete(&key).await.unwrap(),
            }
        }
    }
}

#[async_trait]
impl strata::Layer for Volatile {
    fn inner(&self) -> &dyn Store {
        &self.front
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let meta = self.front.put(key, value, mode).await?;
        self.unflushed.lock().unwrap().insert(key.clone());
        Ok(meta)
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.front.delete(key).await?;
        self.unflushed.lock().unwrap().insert(key.clone());
        Ok(())
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            return Err(Error::unavailable("destination went away"));
        }
        let keys: Vec<Key> = ops.iter().map(|op| op.key.clone()).collect();
        let metas = self.front.put_many(ops).await?;
        self.unflushed.lock().unwrap().extend(keys);
        Ok(metas)
    }
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.front.delete_many(keys).await?;
        self.unflushed.lock().unwrap().extend(keys.iter().cloned());
        Ok(())
    }
    async fn flush(&self) -> Result<()> {
        let keys = std::mem::take(&mut *self.unflushed.lock().unwrap());
        for key in &keys {
            match self.front.get(key).await? {
                Some(e) => {
                    self.durable.put(key, e.value, PutMode::Overwrite).await?;
                }
                None => self.durable.delete(key).await?,
            }
        }
        let mut up_to = self.flushed_up_to.lock().unwrap();
        *up_to = keys.into_iter().chain(up_to.take()).max();
        Ok(())
    }
}

/// Options for a run of `src/` that checkpoints to `dir` and resumes from there, one
/// batch of 100 at a time (so "dies after n batches" means after n × 100 keys).
fn resuming(dir: &tempfile::TempDir) -> MigrateOptions {
    MigrateOptions {
        prefix: Prefix::new("src/").unwrap(),
        checkpoint: Some(dir.path().join("migrate.json")),
        resume: true,
        batch: 100,
        concurrency: 1,
        ..Default::default()
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

/// `migrate` (verified) and `copy_all` at default options from `from` into a fresh store
/// made by `limited` each: every key arrives, in batches the store takes.
async fn both_copies_fit(from: Arc<MemoryStore>, limited: impl Fn() -> Arc<dyn Store>) {
    let keys = contents(from.as_ref(), "").await.len() as u64;
    let to = limited();
    let options = MigrateOptions {
        verify: true,
        ..Default::default()
    };
    let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((report.copied, report.verified), (keys, keys));
    assert_eq!(
        contents(to.as_ref(), "").await,
        contents(from.as_ref(), "").await
    );

    let copied = limited();
    let copy = from
        .copy_all(copied.as_ref(), &Prefix::empty())
        .await
        .unwrap();
    assert_eq!(copy.keys, keys);
    assert_eq!(
        contents(copied.as_ref(), "").await,
        contents(from.as_ref(), "").await
    );
}

/// At default options, into a store that takes 10 writes per batch (as DynamoDB takes
/// 100): batches are capped at the destination's `max_batch_writes`, not refused.
#[test]
fn default_batches_fit_a_destination_with_a_small_max_batch_writes() {
    runtime().block_on(async {
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 300).await;
        both_copies_fit(from, || {
            Arc::new(BatchLimit::new(Arc::new(MemoryStore::new()), 10))
        })
        .await;
    });
}

/// Into a store that takes 8 KiB of keys and values per batch (as DynamoDB takes 4 MB of
/// items), values of 1 KiB and more: batches are cut by bytes too, not refused.
#[test]
fn default_batches_fit_a_destination_with_a_small_max_batch_bytes() {
    runtime().block_on(async {
        let from = Arc::new(MemoryStore::new());
        for i in 0..120usize {
            let key = Key::new(format!("big/{i:04}")).unwrap();
            let value = vec![i as u8; 1024 + i * 20];
            from.put(&key, value.into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        both_copies_fit(from, || {
            Arc::new(BatchLimit::new(Arc::new(MemoryStore::new()), 100).bytes(8 * 1024))
        })
        .await;
    });
}

#[test]
fn interrupted_run_resumes_from_its_checkpoint() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 2000).await;
        let to = Volatile::new(10);
        let options = MigrateOptions {
            verify: true,
            ..resuming(&dir)
        };
        let checkpoint = options.checkpoint.clone().unwrap();
        let err = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        assert!(err.retryable(), "{err}");
        assert!(checkpoint.exists(), "the interrupted run left a checkpoint");
        assert_eq!(
            to.front.len(),
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
            2000,
            "progress reports every key once: the 1000 verified, then the 1000 copied"
        );
        assert_eq!(
            report.resumed_after.as_ref().map(Key::as_str),
            Some("src/000999")
        );
        assert_eq!(report.copied, 1000, "only the rest is copied");
        assert_eq!(report.verified, 2000, "and every key of the range verified");
        assert!(
            !checkpoint.exists(),
            "a finished run removes its checkpoint"
        );
        assert_eq!(
            contents(&to.front, "").await,
            contents(from.as_ref(), "src/").await
        );
    });
}

fn checkpointed_key(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let cp: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(cp["last_key"].as_str().unwrap().to_owned())
}

#[test]
fn the_checkpoint_never_runs_ahead_of_a_destination_flush() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("migrate.json");
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 3000).await;
        let to = Volatile::new(usize::MAX);
        let options = MigrateOptions {
            prefix: Prefix::new("src/").unwrap(),
            checkpoint: Some(checkpoint.clone()),
            batch: 50,
            concurrency: 3,
            // Flush and checkpoint after every batch: the most checkpoints to check.
            checkpoint_interval: Duration::ZERO,
            ..Default::default()
        };
        let checked = AtomicUsize::new(0);
        let progress = |_, _| {
            // Called after each batch: whatever checkpoint is on disk now must name a key
            // the destination has made durable.
            if let Some(last) = checkpointed_key(&checkpoint) {
                let flushed = to.flushed_up_to.lock().unwrap().clone();
                assert!(
                    flushed.as_ref().is_some_and(|f| f.as_str() >= last.as_str()),
                    "the checkpoint names {last}, but the destination flushed only up to {flushed:?}"
                );
                checked.fetch_add(1, Ordering::Relaxed);
            }
        };
        migrate(from.clone(), to.clone(), &options, &progress)
            .await
            .unwrap();
        assert!(
            checked.load(Ordering::Relaxed) >= 50,
            "checked {} checkpoints",
            checked.load(Ordering::Relaxed)
        );
        to.crash().await;
        assert_eq!(
            contents(&to.durable, "").await,
            contents(from.as_ref(), "src/").await
        );
    });
}

#[test]
fn a_crash_after_an_interrupted_run_loses_nothing_the_resume_skips() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 2000).await;
        let to = Volatile::new(10);
        let options = resuming(&dir);
        migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        // The process dies: only what was flushed survives.
        to.crash().await;
        to.budget.store(usize::MAX, Ordering::SeqCst);
        let resumed = MigrateOptions {
            verify: true,
            ..options
        };
        let report = migrate(from.clone(), to.clone(), &resumed, &|_, _| {})
            .await
            .unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.verified, 2000);
        to.crash().await;
        assert_eq!(
            contents(&to.durable, "").await,
            contents(from.as_ref(), "src/").await,
            "the destination lost keys the checkpoint said were copied"
        );
    });
}

#[test]
fn verify_after_resume_checks_the_keys_earlier_runs_copied() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let from = Arc::new(MemoryStore::new());
        fill(from.as_ref(), 1000).await;
        let to = Volatile::new(5);
        let options = MigrateOptions {
            verify: true,
            ..resuming(&dir)
        };
        migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        // Something took a key and changed another behind the checkpoint.
        let (lost, changed) = (
            Key::new("src/000042").unwrap(),
            Key::new("src/000317").unwrap(),
        );
        to.front.delete(&lost).await.unwrap();
        to.front
            .put(&changed, "other bytes".into(), PutMode::Overwrite)
            .await
            .unwrap();
        to.budget.store(usize::MAX, Ordering::SeqCst);
        let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap();
        let failed: Vec<&str> = report.failures.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            failed,
            [lost.as_str(), changed.as_str()],
            "{:?}",
            report.failures
        );
        assert_eq!(report.verified, 998);
        assert_eq!(report.copied, 500);
    });
}

#[test]
fn skip_corrupt_reports_damaged_entries_and_copies_every_healthy_key() {
    runtime().block_on(async {
        let memory = Arc::new(MemoryStore::new());
        fill(memory.as_ref(), 600).await;
        let from = ProbeStore::new(memory.clone());
        // One entry the listing reports as damaged, one whose value fails its checksum.
        let (listed, value) = (
            Key::new("src/000100").unwrap(),
            Key::new("src/000450").unwrap(),
        );
        from.damage(&listed);
        from.damage_value(&value);
        let options = MigrateOptions {
            prefix: Prefix::new("src/").unwrap(),
            batch: 64,
            verify: true,
            ..Default::default()
        };

        // Without the flag: stop at the first, naming it.
        let to = Arc::new(MemoryStore::new());
        let err = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert_eq!(err.damaged_key(), Some(listed.as_str()), "{err}");

        let to = Arc::new(MemoryStore::new());
        let skipping = MigrateOptions {
            skip_corrupt: true,
            ..options
        };
        let report = migrate(from.clone(), to.clone(), &skipping, &|_, _| {})
            .await
            .unwrap();
        let damaged: Vec<&str> = report.damaged.keys().map(String::as_str).collect();
        assert_eq!(damaged, [listed.as_str(), value.as_str()]);
        assert!(
            report
                .damaged
                .values()
                .all(|why| why.contains("injected damage"))
        );
        assert_eq!(report.copied, 598);
        assert_eq!(report.verified, 598);
        let mut expected = contents(memory.as_ref(), "src/").await;
        expected.retain(|(k, _)| k != listed.as_str() && k != value.as_str());
        assert_eq!(contents(to.as_ref(), "").await, expected);
    });
}

#[test]
fn damaged_entries_an_interrupted_run_skipped_are_reported_by_the_resume() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let memory = Arc::new(MemoryStore::new());
        fill(memory.as_ref(), 1000).await;
        let from = ProbeStore::new(memory.clone());
        let damaged = Key::new("src/000007").unwrap();
        from.damage_value(&damaged);
        let to = Volatile::new(3);
        let options = MigrateOptions {
            skip_corrupt: true,
            ..resuming(&dir)
        };
        migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap_err();
        to.budget.store(usize::MAX, Ordering::SeqCst);
        let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(
            report.resumed_after.as_ref().map(Key::as_str),
            Some("src/000299")
        );
        let keys: Vec<&str> = report.damaged.keys().map(String::as_str).collect();
        assert_eq!(keys, [damaged.as_str()]);
        assert_eq!(to.front.len(), 999);
    });
}
