//! A migration into a store and back out again, verified: what every networked backend's
//! tests run to show `strata migrate` works with its batches, pages and limits.

use std::sync::Arc;

use futures::TryStreamExt;
use store_core::{Key, ListOptions, PutOp, Store};
use store_memory::MemoryStore;
use strata::migrate::{MigrateOptions, migrate};

/// How many keys the round trip copies: more than one listing page and several batches
/// on every backend.
pub const KEYS: usize = 1200;

/// Migrate [`KEYS`] keys from memory into `store` and from there into a fresh memory
/// store, both verified, and check that every key and value arrived. `name` names the
/// store in failure messages. `store` must start empty.
pub async fn migrate_in_and_out(store: Arc<dyn Store>, name: &str) {
    let source: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ops = (0..KEYS)
        .map(|i| PutOp::overwrite(Key::new(format!("m/{i:05}")).unwrap(), format!("v{i}")))
        .collect();
    source.put_many(ops).await.unwrap();
    let options = MigrateOptions {
        verify: true,
        ..MigrateOptions::default()
    };
    let into = migrate(source, store.clone(), &options, &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("migrate into {name}: {e}"));
    assert_eq!((into.copied, into.verified), (KEYS as u64, KEYS as u64));
    assert!(into.failures.is_empty(), "{:?}", into.failures);
    let back: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let out = migrate(store, back.clone(), &options, &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("migrate out of {name}: {e}"));
    assert_eq!((out.copied, out.verified), (KEYS as u64, KEYS as u64));
    let listed: Vec<_> = back
        .list(ListOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), KEYS);
    let value = back
        .get(&Key::new("m/00777").unwrap())
        .await
        .unwrap()
        .expect("m/00777 copied back")
        .value;
    assert_eq!(value, "v777");
}
