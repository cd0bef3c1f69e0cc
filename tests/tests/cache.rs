//! The conformance suite against `CacheStore` (sized so nothing is evicted mid-case), and
//! the cache's own promise: it stays within its byte budget and says it may evict.

use std::sync::Arc;

use bytes::Bytes;
use store_core::{Key, PutMode, Store};
use store_memory::CacheStore;
use strata_tests::harness::Fixture;

strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(CacheStore::new(256 << 20))) });

#[tokio::test]
async fn stays_within_its_byte_budget_and_counts_evictions() {
    let cache = CacheStore::new(64 * 1024);
    assert!(cache.capabilities().may_evict);
    let value = Bytes::from(vec![7u8; 1024]);
    for i in 0..1000 {
        let key = Key::new(format!("k/{i:04}")).unwrap();
        cache
            .put(&key, value.clone(), PutMode::Overwrite)
            .await
            .unwrap();
    }
    // 1000 KiB written into a 64 KiB budget: most entries must be gone, and counted.
    assert!(
        cache.weighted_bytes() <= 64 * 1024,
        "{} bytes held",
        cache.weighted_bytes()
    );
    assert!(cache.len() < 100, "{} entries held", cache.len());
    assert!(cache.evictions() > 0);
}

#[tokio::test]
async fn a_value_larger_than_the_cache_is_not_retained() {
    let cache = CacheStore::new(4096);
    let key = Key::new("big").unwrap();
    cache
        .put(&key, Bytes::from(vec![1u8; 10_000]), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(cache.len(), 0);
    assert!(cache.get(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn opens_from_config_and_rejects_unknown_fields() {
    let store = strata::open_uri("cache:?max_bytes=1048576").await.unwrap();
    assert!(store.capabilities().may_evict);
    let config = serde_json::json!({"type": "cache", "max_bytes": 10, "maxbytes": 3});
    let err = strata::open(config.as_object().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("maxbytes"), "{err}");
}
