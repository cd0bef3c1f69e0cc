//! vector-index acceptance tests: recall on Fashion-MNIST (L2) and a clustered cosine set,
//! deletes with repair, persistence round trips through every landed backend, two writers,
//! filtered search, errors and corruption.

use std::sync::Arc;

use bytes::Bytes;
use store_core::{ErrorKind, Key, ListOptions, PutMode, Store};
use store_memory::MemoryStore;
use strata_tests::vectors::{self, Truth, Vectors};
use vector_index::{Filter, IndexConfig, Metadata, Metric, Value, VectorIndex};

use futures::TryStreamExt;

/// CI-sized subset of Fashion-MNIST.
const BASE: usize = 10_000;
const QUERIES: usize = 200;
const K: usize = 10;

fn bucket_meta(i: usize) -> Metadata {
    let mut m = Metadata::new();
    m.insert("bucket".into(), Value::Int((i % 100) as i64));
    m.insert("label".into(), Value::Str(format!("c{}", i % 10)));
    m
}

fn fashion() -> (Vectors, Vectors) {
    let (train, test) = vectors::fashion_mnist();
    (train.take(BASE), test.take(QUERIES))
}

/// An index of `base` (ids = row numbers), built with one `insert` per vector.
async fn build_serial(
    store: Arc<dyn Store>,
    name: &str,
    base: &Vectors,
    metric: Metric,
) -> VectorIndex {
    let config = IndexConfig::new(base.dim, metric).nodes_per_page(128);
    let index = VectorIndex::create(store, name, config).await.unwrap();
    for i in 0..base.len() {
        index.insert(i as u64, base.row(i), bucket_meta(i)).unwrap();
    }
    index
}

/// The same, built with one parallel `upsert_many`.
async fn build(store: Arc<dyn Store>, name: &str, base: &Vectors, metric: Metric) -> VectorIndex {
    let config = IndexConfig::new(base.dim, metric).nodes_per_page(128);
    let index = VectorIndex::create(store, name, config).await.unwrap();
    index
        .upsert_many(
            (0..base.len()).map(|i| (i as u64, base.row(i), bucket_meta(i))),
            0,
        )
        .unwrap();
    assert_eq!(index.len(), base.len());
    index
}

fn run(
    index: &VectorIndex,
    queries: &Vectors,
    ef: usize,
    filter: Option<&Filter>,
) -> Vec<Vec<u64>> {
    (0..queries.len())
        .map(|q| {
            index
                .search(queries.row(q), K, Some(ef), filter)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect()
        })
        .collect()
}

/// The best recall over a sweep of `ef` values (the acceptance asks that 0.95 be reachable).
fn best_recall(index: &VectorIndex, queries: &Vectors, truth: &[Vec<usize>]) -> f64 {
    [32, 64, 128, 256]
        .iter()
        .map(|&ef| vectors::recall(&run(index, queries, ef, None), truth, K))
        .fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fashion_mnist_l2_reaches_recall_095() {
    let (base, queries) = fashion();
    let truth = vectors::ground_truth(&base, &queries, K, Truth::L2, &|_| true);
    let index = build_serial(Arc::new(MemoryStore::new()), "fmnist", &base, Metric::L2).await;
    let recall = best_recall(&index, &queries, &truth);
    assert!(recall >= 0.95, "recall@10 = {recall:.3}");
    let batch = build(Arc::new(MemoryStore::new()), "fmnist", &base, Metric::L2).await;
    let recall = best_recall(&batch, &queries, &truth);
    assert!(
        recall >= 0.95,
        "recall@10 built by upsert_many = {recall:.3}"
    );
    // Distances are Euclidean (not squared) and ascending.
    let hits = index.search(queries.row(0), K, Some(64), None).unwrap();
    let exact = base
        .row(hits[0].id as usize)
        .iter()
        .zip(queries.row(0))
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f32>()
        .sqrt();
    assert!((hits[0].distance - exact).abs() <= 1e-3 * exact.max(1.0));
    assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clustered_cosine_reaches_recall_095() {
    let all = vectors::clustered(10_200, 96, 40, 0.35, 7);
    let base = all.take(10_000);
    let queries = Vectors {
        dim: all.dim,
        data: all.data[10_000 * all.dim..].to_vec(),
    };
    let truth = vectors::ground_truth(&base, &queries, K, Truth::Cosine, &|_| true);
    let index = build_serial(
        Arc::new(MemoryStore::new()),
        "clustered",
        &base,
        Metric::Cosine,
    )
    .await;
    let recall = best_recall(&index, &queries, &truth);
    assert!(recall >= 0.95, "recall@10 = {recall:.3}");
    let stored = index.get(0).unwrap().vector;
    let norm: f32 = stored.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "cosine vectors are stored normalised"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_metric_ranks_by_inner_product() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let index = VectorIndex::create(store, "dot", IndexConfig::new(2, Metric::Dot))
        .await
        .unwrap();
    for i in 0..200u64 {
        let a = i as f32 / 200.0 * std::f32::consts::PI;
        let r = 1.0 + (i % 7) as f32;
        index
            .insert(i, &[r * a.cos(), r * a.sin()], Metadata::new())
            .unwrap();
    }
    let q = [0.0f32, 1.0];
    let hits = index.search(&q, 5, Some(200), None).unwrap();
    let mut best: Vec<(f32, u64)> = (0..200u64)
        .map(|i| {
            let v = index.get(i).unwrap().vector;
            (-(v[0] * q[0] + v[1] * q[1]), i)
        })
        .collect();
    best.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        best[..5].iter().map(|b| b.1).collect::<Vec<_>>()
    );
    assert!((hits[0].distance - best[0].0).abs() < 1e-4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_never_returned_and_recall_holds_after_reinsert_and_compact() {
    let (base, queries) = fashion();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let index = build(store.clone(), "churn", &base, Metric::L2).await;
    index.flush().await.unwrap();
    // Delete 10 %: every tenth id, which removes a spread of the graph.
    let gone = |i: usize| i % 10 == 3;
    for i in (0..base.len()).filter(|&i| gone(i)) {
        assert!(index.delete(i as u64));
    }
    assert!(!index.delete(3), "deleting twice reports absence");
    assert_eq!(index.len(), base.len() - base.len() / 10);
    assert!(index.get(3).is_none());
    let truth_live = vectors::ground_truth(&base, &queries, K, Truth::L2, &|i| !gone(i));
    for ef in [10, 64, 256] {
        for hits in run(&index, &queries, ef, None) {
            assert!(
                hits.iter().all(|&id| !gone(id as usize)),
                "a deleted id came back"
            );
            assert_eq!(hits.len(), K);
        }
    }
    let recall = best_recall(&index, &queries, &truth_live);
    assert!(recall >= 0.95, "recall after deleting 10 %: {recall:.3}");

    // Reinsert them (as upserts), then compare with the full ground truth.
    for i in (0..base.len()).filter(|&i| gone(i)) {
        index.upsert(i as u64, base.row(i), bucket_meta(i)).unwrap();
    }
    // Upserting a live id replaces it in place of adding a second copy.
    index.upsert(5, base.row(5), bucket_meta(5)).unwrap();
    assert_eq!(index.len(), base.len());
    let truth_all = vectors::ground_truth(&base, &queries, K, Truth::L2, &|_| true);
    let recall = best_recall(&index, &queries, &truth_all);
    assert!(recall >= 0.95, "recall after reinserting: {recall:.3}");

    // Compact reclaims the tombstones, persists, and keeps recall.
    assert!(index.slots() > index.len());
    index.compact().await.unwrap();
    assert_eq!(index.slots(), index.len());
    let recall = best_recall(&index, &queries, &truth_all);
    assert!(recall >= 0.95, "recall after compact: {recall:.3}");
    let reopened = VectorIndex::open(store.clone(), "churn").await.unwrap();
    assert_eq!(reopened.slots(), base.len());
    assert_eq!(
        run(&reopened, &queries, 64, None),
        run(&index, &queries, 64, None)
    );
    // No page key is left behind that the manifest does not reference.
    let keys: Vec<_> = store
        .list(ListOptions::prefix(
            "vector-index/churn/pages/".parse().unwrap(),
        ))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys.len(), BASE.div_ceil(128));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_search_at_one_percent_selectivity_keeps_recall() {
    let (base, queries) = fashion();
    let index = build(Arc::new(MemoryStore::new()), "filtered", &base, Metric::L2).await;
    // 1 %: bucket == 7 (exact-scan fallback); 30 %: a range (walked in the graph).
    let one = Filter::eq("bucket", 7i64);
    let truth = vectors::ground_truth(&base, &queries, K, Truth::L2, &|i| i % 100 == 7);
    let found = run(&index, &queries, 64, Some(&one));
    for hits in &found {
        assert!(hits.iter().all(|&id| id % 100 == 7));
    }
    let recall = vectors::recall(&found, &truth, K);
    assert!(recall >= 0.90, "filtered recall at 1 %: {recall:.3}");

    let wide = Filter::range("bucket", Some(Value::Int(10)), Some(Value::Int(39)));
    let truth = vectors::ground_truth(&base, &queries, K, Truth::L2, &|i| {
        (10..40).contains(&(i % 100))
    });
    let found = run(&index, &queries, 128, Some(&wide));
    for hits in &found {
        assert!(hits.iter().all(|&id| (10..40).contains(&(id % 100))));
    }
    let recall = vectors::recall(&found, &truth, K);
    assert!(recall >= 0.90, "filtered recall at 30 %: {recall:.3}");

    let labels = Filter::is_in("label", vec!["c1".into(), "c4".into()]);
    let found = run(&index, &queries, 64, Some(&labels));
    for hits in &found {
        assert!(hits.iter().all(|&id| id % 10 == 1 || id % 10 == 4));
    }
    let nothing = Filter::eq("bucket", 1000i64);
    assert!(
        index
            .search(queries.row(0), K, None, Some(&nothing))
            .unwrap()
            .is_empty()
    );
}

/// Build, flush, reopen through a fresh handle of `reopen`'s store and compare answers.
async fn round_trip(write: Arc<dyn Store>, reopen: Arc<dyn Store>) {
    let base = vectors::clustered(3_000, 32, 20, 0.3, 11);
    let queries = vectors::clustered(50, 32, 20, 0.3, 12);
    let index = build(write, "trip", &base, Metric::L2).await;
    for i in (0..3_000u64).step_by(17) {
        index.delete(i);
    }
    let report = index.flush().await.unwrap();
    assert!(report.committed && report.pages_written > 0);
    let again = VectorIndex::open(reopen, "trip").await.unwrap();
    assert_eq!(again.len(), index.len());
    assert_eq!(again.config(), index.config());
    assert_eq!(again.get(5), index.get(5));
    assert!(again.get(17).is_none());
    for q in 0..queries.len() {
        let filter = Filter::eq("label", "c3");
        for f in [None, Some(&filter)] {
            assert_eq!(
                again.search(queries.row(q), K, Some(50), f).unwrap(),
                index.search(queries.row(q), K, Some(50), f).unwrap()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_round_trip_memory() {
    let config = serde_json::json!({ "type": "memory" });
    let store = strata::open(config.as_object().unwrap()).await.unwrap();
    round_trip(store.clone(), store).await;
}

/// Build and flush through the store `config` describes, close everything, reopen the
/// store from its config and the index from the store, and compare answers.
async fn round_trip_reopening(config: store_core::ConfigMap) {
    let base = vectors::clustered(3_000, 32, 20, 0.3, 11);
    let queries = vectors::clustered(50, 32, 20, 0.3, 12);
    let filter = Filter::eq("label", "c3");
    let answers = |index: &VectorIndex| {
        (0..queries.len())
            .flat_map(|q| {
                [None, Some(&filter)].map(|f| index.search(queries.row(q), K, Some(50), f).unwrap())
            })
            .collect::<Vec<_>>()
    };
    let store = strata::open(&config).await.unwrap();
    let index = build(store.clone(), "trip", &base, Metric::L2).await;
    for i in (0..3_000u64).step_by(17) {
        index.delete(i);
    }
    assert!(index.flush().await.unwrap().committed);
    let (len, expected, sample) = (index.len(), answers(&index), index.get(5));
    drop(index);
    drop(store);
    let store = strata::open(&config).await.unwrap();
    let again = VectorIndex::open(store, "trip").await.unwrap();
    assert_eq!(again.len(), len);
    assert_eq!(again.get(5), sample);
    assert!(again.get(17).is_none());
    assert_eq!(answers(&again), expected);
}

fn config(value: serde_json::Value) -> store_core::ConfigMap {
    value.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_round_trip_files() {
    let dir = tempfile::tempdir().unwrap();
    round_trip_reopening(config(
        serde_json::json!({"type": "file", "path": dir.path()}),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_round_trip_redb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.redb");
    round_trip_reopening(config(serde_json::json!({"type": "redb", "path": path}))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_round_trip_tiered_cache_over_redb() {
    let dir = tempfile::tempdir().unwrap();
    round_trip_reopening(config(serde_json::json!({
        "type": "tiered",
        "write_policy": "write-behind",
        "frontend": {"type": "cache", "max_bytes": 8 << 20},
        "backend": {"type": "redb", "path": dir.path().join("v.redb")},
    })))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_round_trip_s3() {
    let Some(s3) = strata_tests::s3env::s3_config() else {
        return;
    };
    round_trip_reopening(s3).await;
}

/// An index on a cache in front of S3: once the cache is warm, reopening and querying
/// make no S3 reads at all; a cold cache reads the manifest and each page once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_tiered_s3_queries_make_no_backend_reads() {
    use strata::stats::{Op, StatsStore};
    let Some(s3) = strata_tests::s3env::s3_config() else {
        return;
    };
    let backend = StatsStore::new(strata::open(&s3).await.unwrap());
    let counters = backend.stats();
    let backend: Arc<dyn Store> = Arc::new(backend);
    let tier = |backend: Arc<dyn Store>| async move {
        let store = store_tiered::TieredStore::open_cached(
            store_memory::CacheStore::new(64 << 20),
            backend,
            store_tiered::TieredOptions::default(),
        )
        .await
        .unwrap();
        Arc::new(store) as Arc<dyn Store>
    };
    let reads = || {
        let s = counters.snapshot();
        [Op::Get, Op::GetMany, Op::Head, Op::List]
            .map(|op| s.op(op).requests)
            .iter()
            .sum::<u64>()
    };
    let base = vectors::clustered(2_000, 16, 10, 0.3, 5);
    let warm = tier(backend.clone()).await;
    let index = build(warm.clone(), "s3warm", &base, Metric::L2).await;
    index.flush().await.unwrap();
    let pages = index.slots().div_ceil(index.config().nodes_per_page) as u64;
    drop(index);

    let before = reads();
    let again = VectorIndex::open(warm, "s3warm").await.unwrap();
    for i in (0..base.len()).step_by(20) {
        assert_eq!(
            again.search(base.row(i), 1, Some(32), None).unwrap()[0].id,
            i as u64
        );
    }
    assert_eq!(
        reads(),
        before,
        "a warm cache answers the reopen; queries read nothing"
    );

    let before = reads();
    let cold = VectorIndex::open(tier(backend).await, "s3warm")
        .await
        .unwrap();
    let cold_reads = reads() - before;
    assert!(
        cold_reads >= 1 && cold_reads <= pages + 1,
        "a cold reopen reads the manifest and each page once: {cold_reads} reads for {pages} pages"
    );
    let before = reads();
    cold.search(base.row(3), 1, None, None).unwrap();
    assert_eq!(reads(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_writes_only_dirty_pages_and_open_reads_few_keys() {
    let stats = strata::stats::StatsStore::new(Arc::new(MemoryStore::new()));
    let counters = stats.stats();
    let store: Arc<dyn Store> = Arc::new(stats);
    let base = vectors::clustered(2_000, 16, 10, 0.3, 3);
    let config = IndexConfig::new(16, Metric::L2).nodes_per_page(100);
    let index = VectorIndex::create(store.clone(), "pages", config)
        .await
        .unwrap();
    for i in 0..base.len() {
        index
            .insert(i as u64, base.row(i), Metadata::new())
            .unwrap();
    }
    assert_eq!(index.flush().await.unwrap().pages_written, 20);
    assert_eq!(
        index.flush().await.unwrap(),
        vector_index::FlushReport::default()
    );
    let mut meta = Metadata::new();
    meta.insert("x".into(), Value::Float(1.5));
    index.upsert(2_000, base.row(0), meta.clone()).unwrap();
    let report = index.flush().await.unwrap();
    assert!(
        report.committed && report.pages_written < 20,
        "one insert rewrote {} of 21 pages",
        report.pages_written
    );
    let before = counters.snapshot();
    let reopened = VectorIndex::open(store, "pages").await.unwrap();
    let after = counters.snapshot();
    use strata::stats::Op;
    assert_eq!(after.op(Op::Get).requests - before.op(Op::Get).requests, 1);
    assert_eq!(
        after.op(Op::GetMany).requests - before.op(Op::GetMany).requests,
        1
    );
    assert_eq!(reopened.get(2_000).unwrap().metadata, meta);
    // Nothing was rebuilt: building a graph marks every page it touches dirty, and the
    // reopened index has nothing to write.
    assert_eq!(
        reopened.flush().await.unwrap(),
        vector_index::FlushReport::default()
    );
    assert_eq!(
        reopened.search(base.row(7), 1, Some(32), None).unwrap()[0].id,
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_emptied_by_deletes_takes_new_vectors() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let base = vectors::clustered(500, 8, 5, 0.3, 9);
    let index = build(store.clone(), "emptied", &base, Metric::L2).await;
    for i in 0..500u64 {
        assert!(index.delete(i));
    }
    assert!(index.is_empty());
    assert!(index.search(base.row(0), 5, None, None).unwrap().is_empty());
    for i in 1_000..1_050u64 {
        let row = base.row((i - 1_000) as usize);
        index.insert(i, row, Metadata::new()).unwrap();
    }
    // Every new vector is reachable, even with a k far beyond the index's size.
    for i in 1_000..1_050u64 {
        let row = base.row((i - 1_000) as usize);
        let hits = index.search(row, usize::MAX, Some(64), None).unwrap();
        assert_eq!(hits.len(), 50);
        assert!(hits.iter().all(|h| h.id >= 1_000));
        assert!(hits.iter().any(|h| h.id == i && h.distance == 0.0));
    }
    index.flush().await.unwrap();
    let again = VectorIndex::open(store, "emptied").await.unwrap();
    assert_eq!(again.len(), 50);
    assert_eq!(
        again.search(base.row(3), 1, None, None).unwrap()[0].id,
        1_003
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_gets_a_conflict_not_a_silent_overwrite() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = IndexConfig::new(4, Metric::L2);
    let creator = VectorIndex::create(store.clone(), "shared", config.clone())
        .await
        .unwrap();
    creator
        .insert(1, &[1.0, 0.0, 0.0, 0.0], Metadata::new())
        .unwrap();
    creator.flush().await.unwrap();
    let a = VectorIndex::open(store.clone(), "shared").await.unwrap();
    let b = VectorIndex::open(store.clone(), "shared").await.unwrap();
    a.insert(2, &[0.0, 1.0, 0.0, 0.0], Metadata::new()).unwrap();
    b.insert(3, &[0.0, 0.0, 1.0, 0.0], Metadata::new()).unwrap();
    a.flush().await.unwrap();
    let err = b.flush().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
    assert!(err.to_string().contains("another writer"), "{err}");
    // The first writer's data is intact; the loser left no visible change.
    let seen = VectorIndex::open(store.clone(), "shared").await.unwrap();
    assert!(seen.get(2).is_some() && seen.get(3).is_none());
    assert_eq!(seen.len(), 2);
    // Creating the same name again is refused too.
    let err = VectorIndex::create(store, "shared", config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_an_error_not_a_panic() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let index = VectorIndex::create(store.clone(), "strict", IndexConfig::new(3, Metric::Cosine))
        .await
        .unwrap();
    let kind = |r: store_core::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        kind(index.insert(1, &[1.0, 2.0], Metadata::new())),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(index.insert(1, &[1.0, f32::NAN, 0.0], Metadata::new())),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(index.upsert(1, &[f32::INFINITY, 0.0, 0.0], Metadata::new())),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(index.insert(1, &[0.0, 0.0, 0.0], Metadata::new())),
        ErrorKind::InvalidInput
    );
    let mut nan_meta = Metadata::new();
    nan_meta.insert("x".into(), Value::Float(f64::NAN));
    assert_eq!(
        kind(index.insert(1, &[1.0, 0.0, 0.0], nan_meta)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        index.search(&[1.0; 4], 3, None, None).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        index
            .search(&[f32::NAN; 3], 3, None, None)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    index.insert(1, &[1.0, 0.0, 0.0], Metadata::new()).unwrap();
    assert_eq!(
        kind(index.insert(1, &[1.0, 0.0, 0.0], Metadata::new())),
        ErrorKind::AlreadyExists
    );
    assert!(
        index
            .search(&[1.0, 0.0, 0.0], 0, None, None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        index.search(&[1.0, 0.0, 0.0], 5, None, None).unwrap().len(),
        1
    );

    let err = VectorIndex::open(store.clone(), "nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = VectorIndex::open(store.clone(), "../x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    let err = VectorIndex::create(store, "zero", IndexConfig::new(0, Metric::L2))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
}

/// An index of 1,000 nodes in 10 pages, flushed; returns the store and a page key.
async fn stored_index() -> (Arc<dyn Store>, Key) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let base = vectors::clustered(1_000, 8, 5, 0.3, 5);
    let config = IndexConfig::new(8, Metric::L2).nodes_per_page(100);
    let index = VectorIndex::create(store.clone(), "fragile", config)
        .await
        .unwrap();
    for i in 0..base.len() {
        index.insert(i as u64, base.row(i), bucket_meta(i)).unwrap();
    }
    index.flush().await.unwrap();
    let pages: Vec<_> = store
        .list(ListOptions::prefix(
            "vector-index/fragile/pages/".parse().unwrap(),
        ))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 10);
    (store, pages[3].key.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_or_missing_pages_are_corrupted_errors() {
    // A flipped byte inside a page.
    let (store, page) = stored_index().await;
    let mut bytes = store.get(&page).await.unwrap().unwrap().value.to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    store
        .put(&page, Bytes::from(bytes), PutMode::Overwrite)
        .await
        .unwrap();
    let err = VectorIndex::open(store, "fragile").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");

    // A page that is gone.
    let (store, page) = stored_index().await;
    store.delete(&page).await.unwrap();
    let err = VectorIndex::open(store, "fragile").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert_eq!(err.key(), Some(page.as_str()));

    // A page replaced by another page with a valid checksum of its own.
    let (store, page) = stored_index().await;
    let keys: Vec<_> = store
        .list(ListOptions::prefix(
            "vector-index/fragile/pages/00000004-".parse().unwrap(),
        ))
        .try_collect()
        .await
        .unwrap();
    let swapped = store.get(&keys[0].key).await.unwrap().unwrap().value;
    store.put(&page, swapped, PutMode::Overwrite).await.unwrap();
    let err = VectorIndex::open(store, "fragile").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");

    // A manifest that is not a manifest.
    let (store, _) = stored_index().await;
    let manifest = Key::new("vector-index/fragile/manifest").unwrap();
    store
        .put(
            &manifest,
            Bytes::from_static(b"\xff\x00garbage"),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let err = VectorIndex::open(store, "fragile").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_searches_agree_with_serial_ones() {
    let base = vectors::clustered(3_000, 24, 12, 0.3, 21);
    let queries = vectors::clustered(64, 24, 12, 0.3, 22);
    let index = Arc::new(build(Arc::new(MemoryStore::new()), "parallel", &base, Metric::L2).await);
    let serial = run(&index, &queries, 40, None);
    let queries = Arc::new(queries);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (index, queries) = (index.clone(), queries.clone());
            tokio::task::spawn_blocking(move || run(&index, &queries, 40, None))
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), serial);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_many_validates_first_and_keeps_the_last_duplicate() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let base = vectors::clustered(3_000, 8, 6, 0.3, 31);
    let index = build(store, "many", &base, Metric::L2).await;
    // One bad vector anywhere: an error, and nothing changed.
    let bad = [f32::NAN; 8];
    let err = index
        .upsert_many(
            [
                (9_000u64, base.row(1), Metadata::new()),
                (9_001, &bad[..], Metadata::new()),
            ],
            0,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(index.get(9_000).is_none());
    assert_eq!(index.len(), 3_000);
    // Replacing existing ids and repeating one within the batch: the last one wins.
    let mut tagged = Metadata::new();
    tagged.insert("v".into(), Value::Int(2));
    index
        .upsert_many(
            [
                (5u64, base.row(6), Metadata::new()),
                (5, base.row(7), tagged.clone()),
                (9_000, base.row(8), Metadata::new()),
            ],
            0,
        )
        .unwrap();
    assert_eq!(index.len(), 3_001);
    let five = index.get(5).unwrap();
    assert_eq!(five.vector, base.row(7));
    assert_eq!(five.metadata, tagged);
    // Every vector is found as its own nearest neighbour (or ties with an equal one).
    for i in (0..3_000).step_by(7) {
        let hits = index.search(base.row(i), 1, Some(64), None).unwrap();
        assert_eq!(hits[0].distance, 0.0, "row {i}");
    }
}

/// A memory store declaring other capabilities, and enforcing its value-size limit.
#[derive(Debug)]
struct Declares(MemoryStore, store_core::Capabilities);

impl Declares {
    /// Refuses a value over the declared limit, as a store with that limit does.
    fn check_size(&self, value: &Bytes) -> store_core::Result<()> {
        match self.1.max_value_size {
            Some(max) if value.len() as u64 > max => Err(store_core::Error::invalid_input(
                format!("{} bytes is over the limit", value.len()),
            )),
            _ => Ok(()),
        }
    }
}

#[store_core::async_trait]
impl store_core::Layer for Declares {
    fn inner(&self) -> &dyn Store {
        &self.0
    }
    fn capabilities(&self) -> store_core::Capabilities {
        self.1
    }
    async fn put(
        &self,
        key: &Key,
        value: Bytes,
        mode: PutMode,
    ) -> store_core::Result<store_core::Meta> {
        self.check_size(&value)?;
        self.0.put(key, value, mode).await
    }
    async fn put_many(
        &self,
        ops: Vec<store_core::PutOp>,
    ) -> store_core::Result<Vec<store_core::Meta>> {
        for op in &ops {
            self.check_size(&op.value)?;
        }
        self.0.put_many(ops).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_capabilities_shape_or_refuse_an_index() {
    let memory = MemoryStore::new().capabilities();
    let with = |caps| -> Arc<dyn Store> { Arc::new(Declares(MemoryStore::new(), caps)) };
    // A 64 KiB value limit: pages shrink to fit, and the index round-trips.
    let limited = with(store_core::Capabilities {
        max_value_size: Some(64 * 1024),
        ..memory
    });
    let base = vectors::clustered(1_000, 256, 8, 0.3, 41);
    let index = build(limited.clone(), "small-pages", &base, Metric::L2).await;
    let per = index.config().nodes_per_page;
    assert!(
        per < 128 && per * 256 * 4 <= 64 * 1024,
        "{per} nodes per page"
    );
    index.flush().await.unwrap();
    let again = VectorIndex::open(limited, "small-pages").await.unwrap();
    assert_eq!(again.len(), 1_000);
    assert_eq!(again.get(9), index.get(9));
    // No conditional puts, or a cache that may evict: refused up front.
    for caps in [
        store_core::Capabilities {
            conditional_puts: store_core::ConditionalPuts::Unsupported,
            ..memory
        },
        store_core::Capabilities {
            may_evict: true,
            ..memory
        },
    ] {
        let err = VectorIndex::create(with(caps), "refused", IndexConfig::new(4, Metric::L2))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
}
