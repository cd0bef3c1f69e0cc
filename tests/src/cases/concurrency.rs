//! Many writers at once, and a compare-and-swap race.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::try_join_all;
use store_core::{Key, ListOptions, Prefix, PutMode, Store, StoreExt};

use super::util::{key, list_keys};
use crate::harness::{Outcome, require};

/// 1,000 tasks writing distinct keys at once all land.
pub async fn concurrent_writers_1000(store: Arc<dyn Store>) -> Outcome {
    let tasks = (0..1000u32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let k = key(&format!("cw/{i:04}"));
            store
                .put(&k, i.to_be_bytes().to_vec().into(), PutMode::Overwrite)
                .await
        })
    });
    for result in try_join_all(tasks).await.expect("writer task panicked") {
        result.expect("concurrent put");
    }
    let listed = list_keys(&store, ListOptions::prefix(Prefix::new("cw/").unwrap())).await;
    assert_eq!(listed.len(), 1000);
    let keys: Vec<Key> = listed.iter().map(|k| key(k)).collect();
    for (i, entry) in store.get_many(&keys).await.unwrap().into_iter().enumerate() {
        let entry = entry.expect("listed key has a value");
        assert_eq!(
            entry.value.as_ref(),
            (i as u32).to_be_bytes(),
            "{}",
            keys[i]
        );
    }
    Ok(())
}

/// 8 tasks × 50 increments of one counter through `StoreExt::update` end at exactly 400:
/// compare-and-swap loses no update.
pub async fn cas_race_8x50(store: Arc<dyn Store>) -> Outcome {
    require(
        store.capabilities().supports_conditional_puts(),
        "no conditional puts",
    )?;
    let k = key("race/counter");
    let acknowledged = Arc::new(AtomicU64::new(0));
    let tasks = (0..8).map(|_| {
        let (store, k, acknowledged) = (store.clone(), k.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for _ in 0..50 {
                store
                    .update(&k, |n: Option<u64>| n.unwrap_or(0) + 1)
                    .await?;
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), store_core::Error>(())
        })
    });
    for result in try_join_all(tasks).await.expect("racer panicked") {
        result.expect("update gave up");
    }
    assert_eq!(acknowledged.load(Ordering::Relaxed), 400);
    let total: u64 = store.get_typed(&k).await.unwrap().expect("counter exists");
    assert_eq!(
        total, 400,
        "lost updates: 400 acknowledged increments, counter at {total}"
    );
    Ok(())
}
