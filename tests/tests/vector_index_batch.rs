//! A vector index on a store that takes few writes (or few bytes) per batch, as DynamoDB
//! takes 100 items of 4 MB in all: a flush that rewrites more pages than that must still
//! commit.

use std::sync::Arc;

use store_core::Store;
use store_memory::MemoryStore;
use strata_tests::batchlimit::BatchLimit;
use vector_index::{IndexConfig, Metadata, Metric, VectorIndex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_of_more_pages_than_max_batch_writes_commits() {
    let store: Arc<dyn Store> = Arc::new(BatchLimit::new(Arc::new(MemoryStore::new()), 10));
    // Two nodes per page: 60 vectors are 30 pages, three batches' worth.
    let config = IndexConfig::new(4, Metric::L2).nodes_per_page(2);
    let index = VectorIndex::create(store.clone(), "small-batches", config)
        .await
        .unwrap();
    for i in 0..60u64 {
        let x = i as f32;
        index
            .insert(i, &[x, x * 0.5, -x, 1.0], Metadata::new())
            .unwrap();
    }
    let report = index.flush().await.unwrap();
    assert!(report.pages_written > 10, "{} pages", report.pages_written);
    let again = VectorIndex::open(store, "small-batches").await.unwrap();
    assert_eq!(again.len(), 60);
    assert_eq!(again.get(42), index.get(42));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_of_more_page_bytes_than_max_batch_bytes_commits() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let store: Arc<dyn Store> = Arc::new(BatchLimit::new(inner, 100).bytes(16 * 1024));
    // 64-dimensional vectors, 16 per page: a page is several KiB, so 400 vectors (25
    // pages) are many batches' worth of bytes though few of ops.
    let config = IndexConfig::new(64, Metric::L2).nodes_per_page(16);
    let index = VectorIndex::create(store.clone(), "small-bytes", config)
        .await
        .unwrap();
    for i in 0..400u64 {
        let v: Vec<f32> = (0..64).map(|d| ((i * 31 + d) % 97) as f32).collect();
        index.insert(i, &v, Metadata::new()).unwrap();
    }
    let report = index.flush().await.unwrap();
    assert!(
        report.bytes_written > 4 * 16 * 1024,
        "{} bytes",
        report.bytes_written
    );
    let again = VectorIndex::open(store, "small-bytes").await.unwrap();
    assert_eq!(again.len(), 400);
    assert_eq!(again.get(123), index.get(123));
}
