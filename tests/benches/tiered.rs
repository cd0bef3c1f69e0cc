//! What tiering costs and buys, in one run:
//! 1. hit latency of a tiered store vs its frontend (a `CacheStore`) alone;
//! 2. cold-miss cost vs the backend alone;
//! 3. write-behind put throughput vs the frontend alone, with the backend 20 ms away;
//! 4. the miss storm: 100 concurrent gets of one cold key, counted at the backend.
//!
//! Hits, misses and puts are measured in paired rounds (`strata_tests::bench`): the median
//! of the per-round ratios, with their range.
//!
//! `cargo bench -p strata-tests --bench tiered`

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use store_core::{Key, PutMode, Store};
use store_memory::{CacheStore, MemoryStore};
use store_tiered::{TieredOptions, TieredStore, WritePolicy};
use strata_tests::bench::Bench;
use strata_tests::probe::ProbeStore;

const KEYS: usize = 10_000;
/// Gets per hit round.
const GETS: usize = 200_000;

fn keys(prefix: &str, n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| Key::new(format!("{prefix}/{i:06}")).unwrap())
        .collect()
}

/// One round of sequential gets over `keys`; returns the number of gets.
async fn get_round(store: &dyn Store, keys: &[Key]) -> u64 {
    for key in keys.iter().cycle().step_by(7).take(GETS) {
        black_box(store.get(key).await.unwrap());
    }
    GETS as u64
}

/// Sequential puts of fresh keys; returns the number of puts.
async fn put_round(store: &dyn Store, keys: &[Key]) -> u64 {
    let value = Bytes::from(vec![7u8; 1024]);
    for key in keys {
        black_box(
            store
                .put(key, value.clone(), PutMode::Overwrite)
                .await
                .unwrap(),
        );
    }
    keys.len() as u64
}

async fn filled(store: &dyn Store, keys: &[Key]) {
    for key in keys {
        store
            .put(key, vec![1u8; 1024].into(), PutMode::Overwrite)
            .await
            .unwrap();
    }
}

async fn hits() {
    let keys = keys("hit", KEYS);
    let alone = CacheStore::new(256 << 20);
    filled(&alone, &keys).await;
    let tiered = TieredStore::open_cached(
        CacheStore::new(256 << 20),
        Arc::new(MemoryStore::new()),
        TieredOptions::default(),
    )
    .await
    .unwrap();
    filled(&tiered, &keys).await;
    let (alone, tiered_ref, keys) = (&alone, &tiered, &keys);
    let report = Bench::new("1. hit latency: gets of 1 KiB values, all hits")
        .system("cache alone", || get_round(alone, keys))
        .system("tiered (cache over memory)", || get_round(tiered_ref, keys))
        .run()
        .await;
    print!("{report}");
    println!(
        "   tiered hit latency / cache hit latency: {}\n",
        report.ratio("cache alone", "tiered (cache over memory)")
    );
    assert_eq!(tiered.stats().misses, 0, "every read was a hit");
}

async fn misses() {
    let keys = keys("miss", KEYS);
    let backend = Arc::new(MemoryStore::new());
    filled(backend.as_ref(), &keys).await;
    let (backend, keys) = (&backend, &keys);
    let report = Bench::new("2. cold miss: every get reads the backend and fills the frontend")
        .system("memory backend alone", || async move {
            for key in keys {
                black_box(backend.get(key).await.unwrap());
            }
            keys.len() as u64
        })
        .system("tiered, cold (read + fill)", || async move {
            // A fresh tier each round, so every read is cold.
            let tiered = TieredStore::open_cached(
                CacheStore::new(256 << 20),
                backend.clone(),
                TieredOptions::default(),
            )
            .await
            .unwrap();
            for key in keys {
                black_box(tiered.get(key).await.unwrap());
            }
            assert_eq!(tiered.stats().fills, KEYS as u64);
            keys.len() as u64
        })
        .run()
        .await;
    report.print();
}

async fn write_behind() {
    // Rounds of fresh keys, alternating: the machine may be shared.
    let per_round = 5_000;
    let rounds = strata_tests::bench::rounds() + 1; // and the warm-up round
    let alone = CacheStore::new(256 << 20);
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    backend.set_latency(Duration::from_millis(20));
    let tiered = TieredStore::open_cached(
        CacheStore::new(256 << 20),
        backend.clone(),
        TieredOptions {
            write_policy: WritePolicy::WriteBehind,
            queue_capacity: rounds * per_round,
            drain_concurrency: 64,
            ..TieredOptions::default()
        },
    )
    .await
    .unwrap();
    // Fresh keys every round, made before the timing starts.
    let fresh = |side: &str| -> Vec<Vec<Key>> {
        (0..rounds)
            .map(|r| keys(&format!("{side}{r}"), per_round))
            .collect()
    };
    let (keys_a, keys_b) = (fresh("wa"), fresh("wb"));
    let (round_a, round_b) = (Cell::new(0), Cell::new(0));
    let (alone_ref, tiered_ref) = (&alone, &tiered);
    let next = |round: &Cell<usize>| {
        round.set(round.get() + 1);
        round.get() - 1
    };
    Bench::new("3. write-behind put of fresh keys, backend 20 ms away")
        .system("cache alone", || {
            put_round(alone_ref, &keys_a[next(&round_a)])
        })
        .system("tiered write-behind", || {
            put_round(tiered_ref, &keys_b[next(&round_b)])
        })
        .run()
        .await
        .print();
    let depth = tiered.stats().queue_depth;
    let start = Instant::now();
    tiered.flush().await.unwrap();
    println!(
        "   {depth} writes queued at the end, drained in {:.1} s at concurrency 64",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        backend.calls.put.load(Ordering::SeqCst),
        (round_b.get() * per_round) as u64
    );
}

async fn storm() {
    let backend = ProbeStore::new(Arc::new(MemoryStore::new()));
    let key = Key::new("storm/key").unwrap();
    backend
        .put(&key, "v".into(), PutMode::Overwrite)
        .await
        .unwrap();
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
    let start = Instant::now();
    let reads = (0..100).map(|_| {
        let (tiered, key) = (tiered.clone(), key.clone());
        tokio::spawn(async move { tiered.get(&key).await.unwrap() })
    });
    futures::future::join_all(reads).await;
    println!(
        "4. miss storm: 100 concurrent gets of one cold key: {} backend call(s), {:.1} ms",
        backend.calls.total() - before,
        start.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // `TIERED_BENCH=hits` (or misses, write-behind, storm) runs one part, for profiling.
    let only = std::env::var("TIERED_BENCH").ok();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    rt.block_on(async {
        if run("hits") {
            hits().await;
        }
        if run("misses") {
            misses().await;
        }
        if run("write-behind") {
            write_behind().await;
        }
        if run("storm") {
            storm().await;
        }
    });
}
