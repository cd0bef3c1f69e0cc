//! What the stats wrapper costs: the same get and put loops against a `MemoryStore`
//! directly and through `StatsStore`, in paired rounds (`strata_tests::bench`).
//!
//! `cargo bench -p strata-tests --bench stats`

use std::hint::black_box;
use std::sync::Arc;

use store_memory::MemoryStore;
use strata::stats::StatsStore;
use strata::{Key, PutMode, Store};
use strata_tests::bench::Bench;

const KEYS: usize = 10_000;
/// Operations per round (about half a second on this machine).
const OPS: usize = 200_000;

async fn round(store: &dyn Store, keys: &[Key], write: bool) -> u64 {
    let value = bytes::Bytes::from(vec![7u8; 1024]);
    for key in keys.iter().cycle().step_by(7).take(OPS) {
        if write {
            black_box(
                store
                    .put(key, value.clone(), PutMode::Overwrite)
                    .await
                    .unwrap(),
            );
        } else {
            black_box(store.get(key).await.unwrap());
        }
    }
    OPS as u64
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let keys: Vec<Key> = (0..KEYS)
            .map(|i| Key::new(format!("k/{i:06}")).unwrap())
            .collect();
        let raw = MemoryStore::new();
        let wrapped = StatsStore::new(Arc::new(raw.clone()));
        for key in &keys {
            raw.put(key, vec![1u8; 1024].into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        for (name, write) in [("get", false), ("put", true)] {
            let (raw, wrapped, keys) = (&raw, &wrapped, &keys);
            Bench::new(format!("stats layer, {name} of 1 KiB values"))
                .system("memory", || round(raw, keys, write))
                .system("stats over memory", || round(wrapped, keys, write))
                .run()
                .await
                .print();
        }
    });
}
