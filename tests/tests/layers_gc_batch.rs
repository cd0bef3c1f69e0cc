//! GC into a store that takes few writes per batch (as DynamoDB takes 100): the sweep's
//! `delete_many` calls stay within the store's `max_batch_writes` at default options.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use store_core::{Key, ListOptions, PutMode, PutOp, Store};
use store_layers::gc::{self, INFLIGHT_PREFIX, Reachable, SweepOptions};
use store_memory::MemoryStore;
use strata_tests::batchlimit::BatchLimit;
use strata_tests::harness::runtime;

#[test]
fn default_sweep_fits_a_store_with_a_small_max_batch_writes() {
    runtime().block_on(async {
        let store = BatchLimit::new(Arc::new(MemoryStore::new()), 10);
        let garbage: Vec<PutOp> = (0..300)
            .map(|i| {
                PutOp::overwrite(
                    Key::new(format!("blob/{i:04}")).unwrap(),
                    bytes::Bytes::from("x"),
                )
            })
            .collect();
        for chunk in garbage.chunks(10) {
            store.put_many(chunk.to_vec()).await.unwrap();
        }
        // Dead writers' in-flight records: removed at the end of the sweep, also in batches.
        for i in 0..25 {
            let key = Key::new(format!("{INFLIGHT_PREFIX}{i:04}")).unwrap();
            store
                .put(&key, "".into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        let keep = Reachable::new().with_key(Key::new("blob/0007").unwrap());
        let options = SweepOptions {
            inflight_ttl: Duration::ZERO,
            clock_margin: Duration::ZERO,
            ..SweepOptions::default()
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let report = gc::sweep(&store, &keep, SystemTime::now(), options)
            .await
            .unwrap();
        assert_eq!((report.deleted, report.abandoned), (299, 25));
        let left: Vec<String> =
            futures::TryStreamExt::try_collect::<Vec<_>>(store.list(ListOptions::default()))
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.key.to_string())
                // The released lease record stays, by design.
                .filter(|k| k != gc::LEASE_KEY)
                .collect();
        assert_eq!(left, ["blob/0007"]);
    });
}
