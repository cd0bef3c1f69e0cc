//! `VectorIndex::export_to` (a copy of an index in another store, or under another name)
//! and `upsert_many`'s thread count.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::{
    Capabilities, Error, ErrorKind, Key, Layer, ListOptions, Meta, Prefix, PutMode, Store,
    async_trait,
};
use store_file::{FileStore, SyncMode};
use store_memory::MemoryStore;
use strata_tests::vectors::{self, Truth, Vectors};
use vector_index::{IndexConfig, Metadata, Metric, Value, VectorIndex};

const K: usize = 10;

fn meta(i: usize) -> Metadata {
    let mut m = Metadata::new();
    m.insert("bucket".into(), Value::Int((i % 7) as i64));
    m
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// An index of `base` in `store` (ids = row numbers), built on one thread.
async fn build(store: Arc<dyn Store>, name: &str, base: &Vectors) -> VectorIndex {
    let config = IndexConfig::new(base.dim, Metric::L2).nodes_per_page(64);
    let index = VectorIndex::create(store, name, config).await.unwrap();
    index
        .upsert_many((0..base.len()).map(|i| (i as u64, base.row(i), meta(i))), 1)
        .unwrap();
    index
}

/// Every query's top `K` through `index`.
fn answers(index: &VectorIndex, queries: &Vectors) -> Vec<Vec<(u64, f32)>> {
    (0..queries.len())
        .map(|q| {
            index
                .search(queries.row(q), K, Some(64), None)
                .unwrap()
                .into_iter()
                .map(|hit| (hit.id, hit.distance))
                .collect()
        })
        .collect()
}

async fn keys_under(store: &Arc<dyn Store>, prefix: &str) -> Vec<Key> {
    let options = ListOptions::prefix(Prefix::new(prefix).unwrap());
    let metas: Vec<Meta> = store.list(options).try_collect().await.unwrap();
    metas.into_iter().map(|m| m.key).collect()
}

/// An export answers as its source does, holds the changes not yet flushed, and reopens
/// from the other store with the same answers; the source and its store are unchanged.
#[test]
fn an_export_to_another_store_answers_as_the_source_and_reopens() {
    strata_tests::harness::runtime().block_on(async {
        let base = vectors::clustered(2_000, 16, 8, 0.3, 7);
        let queries = vectors::clustered(50, 16, 8, 0.3, 8);
        let source_store = memory();
        let source = build(source_store.clone(), "src", &base).await;
        source.flush().await.unwrap();
        // Changes after the last flush travel too.
        assert!(source.delete(3));
        source.upsert(5_000, base.row(10), meta(10)).unwrap();
        let before = keys_under(&source_store, "vector-index/").await;

        let dir = tempfile::tempdir().unwrap();
        let other: Arc<dyn Store> =
            Arc::new(FileStore::open(dir.path(), SyncMode::Never).await.unwrap());
        let copy = source.export_to(other.clone(), "copy").await.unwrap();
        assert_eq!(copy.name(), "copy");
        assert_eq!(copy.len(), source.len());
        assert_eq!(answers(&copy, &queries), answers(&source, &queries));
        assert!(copy.get(3).is_none());
        assert_eq!(copy.get(5_000), source.get(5_000));

        let reopened = VectorIndex::open(other.clone(), "copy").await.unwrap();
        assert_eq!(reopened.len(), source.len());
        assert_eq!(answers(&reopened, &queries), answers(&source, &queries));
        assert_eq!(keys_under(&source_store, "vector-index/").await, before);
        // The copy is an index of its own: its writes reach its store only.
        copy.upsert(6_000, base.row(11), meta(11)).unwrap();
        copy.flush().await.unwrap();
        assert!(
            VectorIndex::open(other, "copy")
                .await
                .unwrap()
                .get(6_000)
                .is_some()
        );
        assert!(source.get(6_000).is_none());
    });
}

/// An export under a name taken in the destination is `AlreadyExists`; the index there
/// keeps its contents and no page of the refused copy is left behind.
#[test]
fn an_export_onto_an_existing_index_is_refused_and_leaves_nothing() {
    strata_tests::harness::runtime().block_on(async {
        let base = vectors::clustered(600, 8, 4, 0.3, 9);
        let store = memory();
        let taken = build(store.clone(), "taken", &base.take(100)).await;
        taken.flush().await.unwrap();
        let source = build(store.clone(), "src", &base).await;
        source.flush().await.unwrap();
        let before = keys_under(&store, "vector-index/taken/").await;

        let err = source.export_to(store.clone(), "taken").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert!(err.to_string().contains("`taken`"), "{err}");
        assert_eq!(keys_under(&store, "vector-index/taken/").await, before);
        assert_eq!(VectorIndex::open(store, "taken").await.unwrap().len(), 100);
    });
}

/// An empty index exports to an empty index that opens.
#[test]
fn an_empty_index_exports() {
    strata_tests::harness::runtime().block_on(async {
        let store = memory();
        let empty = VectorIndex::create(store.clone(), "empty", IndexConfig::new(4, Metric::L2))
            .await
            .unwrap();
        let other = memory();
        let copy = empty.export_to(other.clone(), "empty").await.unwrap();
        assert!(copy.is_empty());
        let reopened = VectorIndex::open(other, "empty").await.unwrap();
        assert!(reopened.is_empty());
        assert_eq!(reopened.config(), empty.config());
    });
}

/// A store that refuses values above `max` bytes (and says so in its capabilities), or
/// fails every manifest put with a retryable error.
#[derive(Debug)]
struct Picky {
    inner: MemoryStore,
    max: Option<u64>,
    fail_manifests: bool,
}

impl Picky {
    fn store(max: Option<u64>, fail_manifests: bool) -> Arc<dyn Store> {
        Arc::new(Picky {
            inner: MemoryStore::new(),
            max,
            fail_manifests,
        })
    }
}

#[async_trait]
impl Layer for Picky {
    fn inner(&self) -> &dyn Store {
        &self.inner
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_value_size: self.max,
            ..self.inner.capabilities()
        }
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> store_core::Result<Meta> {
        if self.fail_manifests && key.as_str().ends_with("/manifest") {
            return Err(Error::unavailable("the manifest put failed (test)"));
        }
        if self.max.is_some_and(|max| value.len() as u64 > max) {
            return Err(Error::invalid_input("value too large (test)"));
        }
        self.inner.put(key, value, mode).await
    }
    async fn put_many(&self, ops: Vec<store_core::PutOp>) -> store_core::Result<Vec<Meta>> {
        if let Some(max) = self.max
            && ops.iter().any(|op| op.value.len() as u64 > max)
        {
            return Err(Error::invalid_input("value too large (test)"));
        }
        self.inner.put_many(ops).await
    }
}

/// Into a store with a smaller value limit, the copy's pages are smaller (fewer nodes per
/// page) and its answers the same.
#[test]
fn an_export_repages_for_a_store_with_smaller_values() {
    strata_tests::harness::runtime().block_on(async {
        let base = vectors::clustered(1_500, 32, 6, 0.3, 11);
        let queries = vectors::clustered(30, 32, 6, 0.3, 12);
        let source = build(memory(), "src", &base).await;
        // Room for a manifest naming every page, and pages of fewer than 64 nodes.
        let small = Picky::store(Some(16 * 1024), false);
        let copy = source.export_to(small.clone(), "small").await.unwrap();
        assert!(
            copy.config().nodes_per_page < source.config().nodes_per_page,
            "{} nodes per page",
            copy.config().nodes_per_page
        );
        let reopened = VectorIndex::open(small, "small").await.unwrap();
        assert_eq!(answers(&reopened, &queries), answers(&source, &queries));
    });
}

/// When the manifest put fails, no index of that name is visible; the error is the
/// store's, and the pages (which may belong to a manifest that landed despite the error)
/// are kept.
#[test]
fn a_failed_export_leaves_no_index() {
    strata_tests::harness::runtime().block_on(async {
        let base = vectors::clustered(500, 8, 4, 0.3, 13);
        let source = build(memory(), "src", &base).await;
        let failing = Picky::store(None, true);
        let err = source.export_to(failing.clone(), "copy").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        let err = VectorIndex::open(failing, "copy").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

/// `upsert_many` on one thread builds exactly the graph one `upsert` per item builds; on
/// two it finds the same neighbours to within the usual recall.
#[test]
fn upsert_many_takes_a_thread_count() {
    strata_tests::harness::runtime().block_on(async {
        let base = vectors::clustered(3_000, 16, 8, 0.3, 21);
        let queries = vectors::clustered(40, 16, 8, 0.3, 22);
        let config = IndexConfig::new(16, Metric::L2).nodes_per_page(64);
        let one_by_one = VectorIndex::create(memory(), "serial", config.clone())
            .await
            .unwrap();
        for i in 0..base.len() {
            one_by_one.upsert(i as u64, base.row(i), meta(i)).unwrap();
        }
        let one_thread = build(memory(), "one", &base).await;
        assert_eq!(
            answers(&one_thread, &queries),
            answers(&one_by_one, &queries)
        );

        let two = VectorIndex::create(memory(), "two", config).await.unwrap();
        two.upsert_many((0..base.len()).map(|i| (i as u64, base.row(i), meta(i))), 2)
            .unwrap();
        let truth = vectors::ground_truth(&base, &queries, K, Truth::L2, &|_| true);
        let found = |index: &VectorIndex| -> Vec<Vec<u64>> {
            answers(index, &queries)
                .into_iter()
                .map(|hits| hits.into_iter().map(|(id, _)| id).collect())
                .collect()
        };
        let recall = vectors::recall(&found(&two), &truth, K);
        assert!(recall >= 0.95, "recall@{K} on two threads = {recall:.3}");
    });
}
