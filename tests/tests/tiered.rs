//! The tiered store: the conformance suite for each policy over cache → memory, and the
//! promises of the tiers themselves (single-flight misses, no stale reads after frontend
//! failures, write-behind surviving a backend outage and a crash, revalidation).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::{ErrorKind, Key, ListOptions, PutMode, Store};
use store_memory::{CacheStore, MemoryStore};
use store_tiered::{ReadPolicy, TieredOptions, TieredStore, WritePolicy};
use strata_tests::harness::Fixture;
use strata_tests::probe::ProbeStore;

async fn tier(write_policy: WritePolicy, read_policy: ReadPolicy) -> Fixture {
    let options = TieredOptions {
        write_policy,
        read_policy,
        ..TieredOptions::default()
    };
    let frontend = CacheStore::new(256 << 20);
    let store = TieredStore::open_cached(frontend, Arc::new(MemoryStore::new()), options)
        .await
        .expect("open tiered");
    Fixture::new(Arc::new(store))
}

mod write_through {
    use super::*;
    strata_tests::conformance_tests!(|| tier(WritePolicy::WriteThrough, ReadPolicy::FrontendFirst));
}

mod write_behind {
    use super::*;
    strata_tests::conformance_tests!(|| tier(WritePolicy::WriteBehind, ReadPolicy::FrontendFirst));
}

mod write_around {
    use super::*;
    strata_tests::conformance_tests!(|| tier(WritePolicy::WriteAround, ReadPolicy::FrontendFirst));
}

mod frontend_only {
    use super::*;
    strata_tests::conformance_tests!(|| tier(WritePolicy::FrontendOnly, ReadPolicy::FrontendOnly));
}

mod revalidate {
    use super::*;
    strata_tests::conformance_tests!(|| tier(WritePolicy::WriteThrough, ReadPolicy::Revalidate));
}

/// Any store as the frontend (envelopes encoded into its values), under write-behind.
mod encoded_frontend {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let options = TieredOptions {
            write_policy: WritePolicy::WriteBehind,
            ..TieredOptions::default()
        };
        let store = TieredStore::open(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryStore::new()),
            options,
        )
        .await
        .unwrap();
        Fixture::new(Arc::new(store))
    });
}

/// Nested tiers: cache → (cache → memory, write-behind), write-through at the top.
mod nested {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let inner = TieredStore::open(
            Arc::new(CacheStore::new(64 << 20)),
            Arc::new(MemoryStore::new()),
            TieredOptions {
                write_policy: WritePolicy::WriteBehind,
                ..TieredOptions::default()
            },
        )
        .await
        .unwrap();
        let outer = TieredStore::open_cached(
            CacheStore::new(64 << 20),
            Arc::new(inner),
            TieredOptions::default(),
        )
        .await
        .unwrap();
        Fixture::new(Arc::new(outer))
    });
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_storm_makes_one_backend_read_and_a_hit_makes_none() {
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    let cold = key("cold/key");
    backend
        .put(&cold, Bytes::from_static(b"v"), PutMode::Overwrite)
        .await
        .unwrap();
    // A far-away backend, so the 100 misses really do overlap.
    backend.set_latency(Duration::from_millis(20));
    let tiered = Arc::new(
        TieredStore::open_cached(
            CacheStore::new(1 << 20),
            backend.clone(),
            TieredOptions::default(),
        )
        .await
        .unwrap(),
    );
    let before = backend.calls.total();
    let reads = (0..100).map(|_| {
        let tiered = tiered.clone();
        let cold = cold.clone();
        tokio::spawn(async move { tiered.get(&cold).await.unwrap().unwrap().value })
    });
    for value in futures::future::join_all(reads).await {
        assert_eq!(value.unwrap(), "v");
    }
    assert_eq!(
        backend.calls.total() - before,
        1,
        "100 concurrent misses, one backend read"
    );
    let stats = tiered.stats();
    assert_eq!(stats.fills, 1);
    assert_eq!(stats.misses, 100);
    assert_eq!(stats.joins + 1, 100, "{stats:?}");

    let before = backend.calls.total();
    assert_eq!(tiered.get(&cold).await.unwrap().unwrap().value, "v");
    assert!(tiered.head(&cold).await.unwrap().is_some());
    assert_eq!(backend.calls.total(), before, "a hit makes no backend call");
}

#[tokio::test]
async fn a_frontend_that_fails_writes_never_causes_a_stale_read() {
    let frontend = ProbeStore::new(Arc::new(MemoryStore::new()));
    let backend = Arc::new(MemoryStore::new());
    let tiered = TieredStore::open(
        frontend.clone(),
        backend.clone(),
        options(WritePolicy::WriteThrough),
    )
    .await
    .unwrap();
    let k = key("profile");
    tiered
        .put(&k, "old".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(tiered.get(&k).await.unwrap().unwrap().value, "old"); // cached
    // The frontend now refuses writes and deletes, but still serves its (stale) copy.
    frontend.fail_writes(true);
    let meta = tiered
        .put(&k, "new".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(backend.get(&k).await.unwrap().unwrap().value, "new");
    let read = tiered.get(&k).await.unwrap().unwrap();
    assert_eq!(read.value, "new", "served the stale frontend copy");
    assert_eq!(read.meta.version, meta.version);
    tiered.delete(&k).await.unwrap();
    assert!(
        tiered.get(&k).await.unwrap().is_none(),
        "served a deleted value"
    );
    assert!(tiered.stats().frontend_errors > 0);
    // When the frontend recovers, it is used again.
    frontend.fail_writes(false);
    tiered
        .put(&k, "again".into(), PutMode::Overwrite)
        .await
        .unwrap();
    let gets = frontend.calls.get.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(tiered.get(&k).await.unwrap().unwrap().value, "again");
    assert_eq!(
        frontend.calls.get.load(std::sync::atomic::Ordering::SeqCst),
        gets + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_behind_rides_out_a_backend_outage() {
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    let tiered = Arc::new(
        TieredStore::open_cached(
            CacheStore::new(1 << 20),
            backend.clone(),
            TieredOptions {
                queue_capacity: 8,
                ..options(WritePolicy::WriteBehind)
            },
        )
        .await
        .unwrap(),
    );
    backend.set_down(true);
    for i in 0..8 {
        let k = key(&format!("k/{i}"));
        tiered
            .put(&k, Bytes::from(format!("v{i}")), PutMode::Overwrite)
            .await
            .unwrap();
        // Rewrites of a queued key coalesce and take no new slot.
        tiered
            .put(&k, Bytes::from(format!("w{i}")), PutMode::Overwrite)
            .await
            .unwrap();
    }
    assert_eq!(tiered.stats().queue_depth, 8);
    // Reads see every acknowledged write while the backend is down.
    assert_eq!(tiered.get(&key("k/3")).await.unwrap().unwrap().value, "w3");
    let listed: Result<Vec<_>, _> = tiered.list(ListOptions::default()).try_collect().await;
    assert!(listed.is_err(), "listing needs the backend, which is down");
    // The queue is full: a write to a new key waits instead of being dropped.
    let blocked = {
        let tiered = tiered.clone();
        tokio::spawn(async move {
            tiered
                .put(&key("k/8"), "v8".into(), PutMode::Overwrite)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !blocked.is_finished(),
        "a full queue must apply backpressure"
    );
    let err = tiered.flush().await.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    // The backend's error is passed on, with context, not rebuilt from its text: the kind
    // is printed once, the backend's message kept.
    let shown = err.to_string();
    assert_eq!(shown.matches("unavailable").count(), 1, "{shown}");
    assert_eq!(
        shown,
        "unavailable: write-behind could not reach the backend: probe: injected failure"
    );

    backend.set_down(false);
    blocked.await.unwrap().unwrap();
    tiered.flush().await.unwrap();
    assert_eq!(tiered.stats().queue_depth, 0);
    for i in 0..8 {
        let got = backend.get(&key(&format!("k/{i}"))).await.unwrap().unwrap();
        assert_eq!(got.value, Bytes::from(format!("w{i}")), "last value wins");
    }
    assert_eq!(backend.get(&key("k/8")).await.unwrap().unwrap().value, "v8");
    assert!(tiered.stats().backend_errors > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_behind_keeps_per_key_order_and_deletes() {
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    backend.set_latency(Duration::from_millis(2));
    let tiered = TieredStore::open_cached(
        CacheStore::new(1 << 20),
        backend.clone(),
        options(WritePolicy::WriteBehind),
    )
    .await
    .unwrap();
    for round in 0..20 {
        for i in 0..10 {
            let k = key(&format!("o/{i}"));
            if (round + i) % 7 == 0 {
                tiered.delete(&k).await.unwrap();
            } else {
                tiered
                    .put(&k, Bytes::from(format!("{round}")), PutMode::Overwrite)
                    .await
                    .unwrap();
            }
        }
    }
    tiered.flush().await.unwrap();
    for i in 0..10 {
        let k = key(&format!("o/{i}"));
        let expect = if (19 + i) % 7 == 0 {
            None
        } else {
            Some(Bytes::from("19"))
        };
        assert_eq!(
            backend.get(&k).await.unwrap().map(|e| e.value),
            expect,
            "{k}"
        );
        assert_eq!(
            tiered.get(&k).await.unwrap().map(|e| e.value),
            expect,
            "{k}"
        );
    }
}

/// A "crash": the first store's runtime is torn down with writes still queued (the
/// backend is down), so only the frontend's journal can bring them back.
#[test]
fn write_behind_requeues_its_journal_after_a_crash() {
    // A memory store standing in for a durable frontend (the kill -9 test uses real ones).
    let frontend = ProbeStore::new(Arc::new(MemoryStore::new()));
    frontend.declare(store_core::Capabilities {
        durability: store_core::Durability::ProcessCrash,
        ..frontend.capabilities()
    });
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    backend.set_down(true);
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
            for i in 0..50 {
                let k = key(&format!("j/{i:02}"));
                tiered
                    .put(&k, Bytes::from(format!("v{i}")), PutMode::Overwrite)
                    .await
                    .unwrap();
            }
            tiered.delete(&key("j/07")).await.unwrap();
            std::mem::forget(tiered); // no orderly shutdown
        });
        drop(runtime); // kills the drainer mid-retry
    }
    backend.set_down(false);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        backend
            .put(&key("j/07"), "stale".into(), PutMode::Overwrite)
            .await
            .unwrap();
        let tiered = TieredStore::open(
            frontend.clone(),
            backend.clone(),
            options(WritePolicy::WriteBehind),
        )
        .await
        .unwrap();
        tiered.flush().await.unwrap();
        for i in 0..50 {
            let k = key(&format!("j/{i:02}"));
            let got = backend.get(&k).await.unwrap().map(|e| e.value);
            let expect = (i != 7).then(|| Bytes::from(format!("v{i}")));
            assert_eq!(got, expect, "{k}");
        }
    });
}

#[tokio::test]
async fn revalidate_sees_another_stores_overwrite() {
    let backend: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let open = |read_policy| {
        let backend = backend.clone();
        async move {
            TieredStore::open_cached(
                CacheStore::new(1 << 20),
                backend,
                TieredOptions {
                    read_policy,
                    ..TieredOptions::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let writer = open(ReadPolicy::FrontendFirst).await;
    let reader = open(ReadPolicy::Revalidate).await;
    let k = key("shared/doc");
    writer
        .put(&k, "one".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(reader.get(&k).await.unwrap().unwrap().value, "one");
    writer
        .put(&k, "two".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(reader.get(&k).await.unwrap().unwrap().value, "two");
    assert_eq!(reader.stats().stale, 1);
    writer.delete(&k).await.unwrap();
    assert!(reader.get(&k).await.unwrap().is_none());
    // The same sequence without revalidation serves its cached copy: the policy matters.
    let lazy = open(ReadPolicy::FrontendFirst).await;
    writer
        .put(&k, "three".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(lazy.get(&k).await.unwrap().unwrap().value, "three");
    writer
        .put(&k, "four".into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(lazy.get(&k).await.unwrap().unwrap().value, "three");
}

#[tokio::test]
async fn warm_up_copies_backend_entries_within_the_cache_budget() {
    let backend: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for i in 0..100 {
        backend
            .put(
                &key(&format!("w/{i:03}")),
                Bytes::from(vec![1u8; 1000]),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
    }
    let config = serde_json::json!({
        "type": "tiered",
        "warm": "all",
        "warm_max_bytes": 50_000,
        "frontend": {"type": "cache", "max_bytes": 1 << 20},
        "backend": "memory:",
    });
    let store = strata::open(config.as_object().unwrap()).await.unwrap();
    drop(store); // the config path opens; the typed path below lets us await warm-up
    let tiered = TieredStore::open_cached(
        CacheStore::new(1 << 20),
        backend,
        TieredOptions {
            warm: store_tiered::Warm::All,
            warm_max_bytes: Some(50_000),
            ..TieredOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(tiered.warmed().await.unwrap(), 50);
    tiered.get(&key("w/000")).await.unwrap().unwrap();
    assert_eq!(tiered.stats().hits, 1);
    tiered.get(&key("w/099")).await.unwrap().unwrap();
    assert_eq!(tiered.stats().misses, 1);
}

#[tokio::test]
async fn config_rejects_unknown_fields_and_policies_naming_them() {
    let bad_field = serde_json::json!({
        "type": "tiered", "frontend": "memory:", "backend": "memory:", "queue_capacty": 3,
    });
    let err = strata::open(bad_field.as_object().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("queue_capacty"), "{err}");
    let bad_policy = serde_json::json!({
        "type": "tiered", "frontend": "memory:", "backend": "memory:", "write_policy": "write-sideways",
    });
    let err = strata::open(bad_policy.as_object().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("write_policy"), "{err}");
    let bad_nested = serde_json::json!({
        "type": "tiered", "frontend": {"type": "cache", "max_byte": 1}, "backend": "memory:",
    });
    let err = strata::open(bad_nested.as_object().unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("frontend") && err.to_string().contains("max_byte"),
        "{err}"
    );
    let ok = serde_json::json!({
        "type": "tiered", "write_policy": "write-behind", "frontend": {"type": "cache"}, "backend": "memory:",
    });
    strata::open(ok.as_object().unwrap()).await.unwrap();
}

/// A range miss reads only the range from the backend and fills nothing (a fill would
/// fetch the whole value); a `get` then fills as before, and a range hit is served from
/// the frontend without a backend call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_miss_reads_the_backend_range_and_a_range_hit_reads_the_frontend() {
    use std::sync::atomic::Ordering::SeqCst;
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    let k = key("big/value");
    let value = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<_>>());
    backend
        .put(&k, value.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    let tiered = TieredStore::open_cached(
        CacheStore::new(1 << 20),
        backend.clone(),
        TieredOptions::default(),
    )
    .await
    .unwrap();
    let (part, meta) = tiered.get_range(&k, 10..20).await.unwrap().unwrap();
    assert_eq!((part, meta.size), (value.slice(10..20), 100_000));
    assert_eq!(backend.calls.get_range.load(SeqCst), 1);
    assert_eq!(backend.calls.get.load(SeqCst), 0, "not the whole value");
    assert_eq!(tiered.stats().fills, 0, "a range miss fills nothing");
    assert_eq!(tiered.get(&k).await.unwrap().unwrap().value, value);
    assert_eq!(tiered.stats().fills, 1, "a get miss still fills");
    let before = backend.calls.total();
    let (part, _) = tiered
        .get_range(&k, 99_990..u64::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(part, value.slice(99_990..));
    assert_eq!(
        backend.calls.total(),
        before,
        "a range hit makes no backend call"
    );
}
