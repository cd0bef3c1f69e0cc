//! Damaged frontend records reach no caller as data: bytes of a durable frontend damaged
//! behind the tiered store's back (through the frontend's own `Store`) are read from the
//! backend when it holds every write (write-through), and are a `Corrupted` error naming
//! the key when the record may be the only copy (write-behind, frontend-only). Recovery
//! skips a damaged journal record and replays every healthy one; listings report the
//! damaged keys and go on.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use store_core::{
    Capabilities, Durability, Error, ErrorKind, Key, ListOptions, Meta, PutMode, Result, Store,
    async_trait,
};
use store_memory::MemoryStore;
use store_tiered::{ReadPolicy, TieredOptions, TieredStore, WritePolicy};
use strata_tests::probe::ProbeStore;

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

fn options(write_policy: WritePolicy) -> TieredOptions {
    TieredOptions {
        write_policy,
        retry_initial: Duration::from_millis(5),
        retry_max: Duration::from_millis(50),
        ..TieredOptions::default()
    }
}

/// Flip one bit of the last byte `store` holds at `key` (inside the value, past the
/// envelope's header: the damage the old format served as data).
async fn flip_last_bit(store: &dyn Store, key: &Key) {
    let mut bytes = store
        .get(key)
        .await
        .unwrap()
        .expect("a record")
        .value
        .to_vec();
    *bytes.last_mut().unwrap() ^= 0x01;
    store
        .put(key, Bytes::from(bytes), PutMode::Overwrite)
        .await
        .unwrap();
}

fn assert_corrupted(result: Result<impl std::fmt::Debug>, key: &str) {
    let error = result.expect_err("a damaged record must not be served");
    assert_eq!(error.kind(), ErrorKind::Corrupted, "{error}");
    assert_eq!(error.key(), Some(key), "{error}");
}

/// Every listed key, with `Err(key)` for each reported damaged entry.
async fn listing(store: &dyn Store) -> Vec<std::result::Result<String, String>> {
    let items: Vec<Result<Meta>> = store.list(ListOptions::default()).collect().await;
    items
        .into_iter()
        .map(|item| match item {
            Ok(meta) => Ok(meta.key.to_string()),
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::Corrupted, "{error}");
                Err(error.key().expect("names its key").to_owned())
            }
        })
        .collect()
}

#[tokio::test]
async fn write_through_reads_a_damaged_copy_from_the_backend_and_replaces_it() {
    let frontend = Arc::new(MemoryStore::new());
    let backend = Arc::new(MemoryStore::new());
    let tiered = TieredStore::open(
        frontend.clone(),
        backend.clone(),
        options(WritePolicy::WriteThrough),
    )
    .await
    .unwrap();
    let k = key("users/ada");
    tiered
        .put(&k, "analytical engine".into(), PutMode::Overwrite)
        .await
        .unwrap();
    flip_last_bit(frontend.as_ref(), &k).await;

    let got = tiered.get(&k).await.unwrap().unwrap();
    assert_eq!(
        got.value, "analytical engine",
        "the backend's value, not the damaged one"
    );
    assert_eq!(tiered.stats().corrupted, 1);
    // The damaged copy was replaced: the next read is a hit again.
    let hits = tiered.stats().hits;
    assert_eq!(
        tiered.get(&k).await.unwrap().unwrap().value,
        "analytical engine"
    );
    assert_eq!(tiered.stats().hits, hits + 1);
    assert_eq!(tiered.stats().corrupted, 1);
}

#[tokio::test]
async fn write_behind_reports_a_damaged_record_until_the_key_is_written_again() {
    let frontend = Arc::new(MemoryStore::new());
    let backend = Arc::new(MemoryStore::new());
    let tiered = TieredStore::open(
        frontend.clone(),
        backend.clone(),
        options(WritePolicy::WriteBehind),
    )
    .await
    .unwrap();
    let k = key("ledger/7");
    let meta = tiered
        .put(&k, "balance 100".into(), PutMode::Overwrite)
        .await
        .unwrap();
    tiered.flush().await.unwrap();
    flip_last_bit(frontend.as_ref(), &k).await;

    // The record may have held a write the backend lacks: no guess, an error.
    assert_corrupted(tiered.get(&k).await, "ledger/7");
    assert_corrupted(tiered.head(&k).await, "ledger/7");
    assert_corrupted(
        tiered
            .put(&k, "balance 90".into(), PutMode::Update(meta.version))
            .await,
        "ledger/7",
    );
    assert!(tiered.stats().corrupted >= 3);
    assert_eq!(listing(&tiered).await, [Err("ledger/7".to_owned())]);

    // An overwrite does not depend on what was there, and replaces the damaged record.
    tiered
        .put(&k, "balance 90".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(tiered.get(&k).await.unwrap().unwrap().value, "balance 90");
    tiered.flush().await.unwrap();
    assert_eq!(backend.get(&k).await.unwrap().unwrap().value, "balance 90");
    assert_eq!(listing(&tiered).await, [Ok("ledger/7".to_owned())]);
}

#[tokio::test]
async fn a_frontend_only_tier_reports_a_damaged_value_and_lists_the_rest() {
    let frontend = Arc::new(MemoryStore::new());
    let options = TieredOptions {
        read_policy: ReadPolicy::FrontendOnly,
        ..options(WritePolicy::FrontendOnly)
    };
    let tiered = TieredStore::open(frontend.clone(), Arc::new(MemoryStore::new()), options)
        .await
        .unwrap();
    for k in ["a", "b", "c"] {
        tiered
            .put(
                &key(k),
                Bytes::from(format!("value of {k}")),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
    }
    // Another key's record moved under `b`: a valid envelope, for another key.
    let moved = frontend.get(&key("c")).await.unwrap().unwrap().value;
    frontend
        .put(&key("b"), moved, PutMode::Overwrite)
        .await
        .unwrap();

    assert_corrupted(tiered.get(&key("b")).await, "b");
    assert_eq!(
        listing(&tiered).await,
        [Ok("a".to_owned()), Err("b".to_owned()), Ok("c".to_owned())]
    );
    assert_eq!(
        tiered.get(&key("c")).await.unwrap().unwrap().value,
        "value of c"
    );
}

/// A memory store standing in for a durable frontend across an in-process "crash".
fn durable_memory() -> Arc<ProbeStore> {
    let store = ProbeStore::new(Arc::new(MemoryStore::new()));
    store.declare(Capabilities {
        durability: Durability::ProcessCrash,
        ..store.capabilities()
    });
    store
}

#[test]
fn recovery_skips_damaged_journal_records_and_replays_every_healthy_one() {
    let frontend = durable_memory();
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    backend.set_down(true);
    let journal = |i: usize| key(&format!("j/{i:02}"));
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let tiered = TieredStore::open(
                frontend.clone(),
                backend.clone(),
                options(WritePolicy::WriteBehind),
            )
            .await
            .unwrap();
            for i in 0..20 {
                let value = Bytes::from(format!("acknowledged write {i}"));
                tiered
                    .put(&journal(i), value, PutMode::Overwrite)
                    .await
                    .unwrap();
            }
            std::mem::forget(tiered); // no orderly shutdown
        });
        drop(runtime); // the drainer dies mid-retry: only the journal has the writes
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Damage three records behind the store's back: a flipped bit in a value, a
        // truncated record, and bytes that are no record at all.
        flip_last_bit(frontend.as_ref(), &journal(5)).await;
        let record = frontend.get(&journal(6)).await.unwrap().unwrap().value;
        frontend
            .put(
                &journal(6),
                record.slice(..record.len() / 2),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        frontend
            .put(&journal(7), "not a record".into(), PutMode::Overwrite)
            .await
            .unwrap();
        backend.set_down(false);

        let tiered = TieredStore::open(
            frontend.clone(),
            backend.clone(),
            options(WritePolicy::WriteBehind),
        )
        .await
        .expect("damaged records do not stop the healthy ones from replaying");
        assert_eq!(tiered.stats().corrupted, 3);
        tiered.flush().await.unwrap();
        for i in 0..20 {
            let got = backend.get(&journal(i)).await.unwrap().map(|e| e.value);
            if (5..=7).contains(&i) {
                // The damaged value never reaches the backend, nor a reader.
                assert_eq!(got, None, "{}", journal(i));
                assert_corrupted(tiered.get(&journal(i)).await, journal(i).as_str());
            } else {
                let want = Bytes::from(format!("acknowledged write {i}"));
                assert_eq!(got, Some(want.clone()), "{}", journal(i));
                assert_eq!(tiered.get(&journal(i)).await.unwrap().unwrap().value, want);
            }
        }
        let listed = listing(&tiered).await;
        let want: Vec<_> = (0..20)
            .map(|i| {
                let k = journal(i).to_string();
                if (5..=7).contains(&i) { Err(k) } else { Ok(k) }
            })
            .collect();
        assert_eq!(
            listed, want,
            "every key, in order, the damaged ones reported"
        );

        // Writing a damaged key again ends the report.
        tiered.delete(&journal(6)).await.unwrap();
        tiered
            .put(&journal(5), "rewritten".into(), PutMode::Overwrite)
            .await
            .unwrap();
        tiered.flush().await.unwrap();
        let listed = listing(&tiered).await;
        assert_eq!(listed.iter().filter(|item| item.is_err()).count(), 1);
        assert_eq!(listed[5], Ok("j/05".to_owned()));
        assert!(!listed.contains(&Ok("j/06".to_owned())));
    });
}

/// A journal record as builds before checksums wrote it (format 1): a dirty put.
fn format_1_dirty_put(shown: &str, value: &[u8]) -> Bytes {
    let mut out = b"STv1".to_vec();
    out.push(0); // flags: no backend version yet, not a tombstone
    out.extend_from_slice(&(shown.len() as u16).to_be_bytes());
    out.extend_from_slice(shown.as_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&1_700_000_000_000_000_000u64.to_be_bytes());
    out.extend_from_slice(value);
    Bytes::from(out)
}

#[tokio::test]
async fn a_journal_written_before_checksums_still_replays() {
    let frontend = durable_memory();
    let k = key("legacy/1");
    frontend
        .put(
            &k,
            format_1_dirty_put("wb-old", b"kept"),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let backend = Arc::new(MemoryStore::new());
    let tiered = TieredStore::open(
        frontend.clone(),
        backend.clone(),
        options(WritePolicy::WriteBehind),
    )
    .await
    .unwrap();
    let got = tiered.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (got.value.as_ref(), got.meta.version.as_str()),
        (&b"kept"[..], "wb-old")
    );
    tiered.flush().await.unwrap();
    assert_eq!(backend.get(&k).await.unwrap().unwrap().value, "kept");
    assert_eq!(tiered.stats().corrupted, 0);
    // Marked clean, the record is rewritten in the checksummed format.
    let record = frontend.get(&k).await.unwrap().unwrap().value;
    assert!(record.starts_with(b"STv2"));
}

/// A backend whose listing reports one damaged entry (as the list contract allows).
#[derive(Debug)]
struct DamagedListing {
    inner: MemoryStore,
    damaged: Key,
}

#[async_trait]
impl store_core::Layer for DamagedListing {
    fn inner(&self) -> &dyn Store {
        &self.inner
    }
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let damaged = self.damaged.clone();
        self.inner
            .list(options)
            .map(move |item| match item {
                Ok(meta) if meta.key == damaged => {
                    Err(Error::corrupted(&meta.key, "checksum mismatch"))
                }
                other => other,
            })
            .boxed()
    }
}

#[tokio::test]
async fn a_damaged_backend_entry_is_reported_and_the_listing_goes_on() {
    let backend = Arc::new(DamagedListing {
        inner: MemoryStore::new(),
        damaged: key("b"),
    });
    for policy in [WritePolicy::WriteThrough, WritePolicy::WriteBehind] {
        let tiered = TieredStore::open(
            Arc::new(MemoryStore::new()),
            backend.clone(),
            options(policy),
        )
        .await
        .unwrap();
        for k in ["a", "b", "c"] {
            tiered
                .put(&key(k), "v".into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        tiered.flush().await.unwrap();
        assert_eq!(
            listing(&tiered).await,
            [Ok("a".to_owned()), Err("b".to_owned()), Ok("c".to_owned())],
            "{policy:?}"
        );
        let limited: Vec<_> = tiered.list(ListOptions::default().limit(2)).collect().await;
        assert_eq!(
            limited.len(),
            3,
            "a reported entry is not one of the `limit` listed"
        );
    }
}
