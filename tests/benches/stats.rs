//! What the stats wrapper costs: the same get and put loops against a `MemoryStore`
//! directly and through `StatsStore`, in one run, printing the ratio.
//!
//! `cargo bench -p strata-tests --bench stats`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use store_memory::MemoryStore;
use strata::stats::StatsStore;
use strata::{Key, PutMode, Store};

const KEYS: usize = 10_000;
const ROUND: Duration = Duration::from_millis(1500);

async fn ops_per_sec(store: &dyn Store, keys: &[Key], write: bool) -> f64 {
    let value = bytes::Bytes::from(vec![7u8; 1024]);
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < ROUND {
        for key in keys.iter().skip(n % 7).step_by(7).take(1000) {
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
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
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
        println!(
            "{:<6} {:>14} {:>14} {:>8} {:>16}",
            "op", "memory ops/s", "stats ops/s", "ratio", "added ns/op"
        );
        for (name, write) in [("get", false), ("put", true)] {
            // Alternate and keep the best of three rounds each, to damp noise from a shared machine.
            let (mut a, mut b) = (0f64, 0f64);
            for _ in 0..3 {
                a = a.max(ops_per_sec(&raw, &keys, write).await);
                b = b.max(ops_per_sec(&wrapped, &keys, write).await);
            }
            let added = 1e9 / b - 1e9 / a;
            println!("{name:<6} {a:>14.0} {b:>14.0} {:>8.2} {added:>16.0}", b / a);
        }
    });
}
