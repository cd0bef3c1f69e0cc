//! What tiering costs and buys, in one run:
//! 1. hit latency of a tiered store vs its frontend (a `CacheStore`) alone;
//! 2. cold-miss cost vs the backend alone;
//! 3. write-behind put throughput vs the frontend alone, with the backend 20 ms away;
//! 4. the miss storm: 100 concurrent gets of one cold key, counted at the backend.
//!
//! Hits and puts alternate bare and tiered rounds and report the median of the paired
//! ratios: on a shared machine the speed of both drifts together between rounds.
//!
//! `cargo bench -p strata-tests --bench tiered`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use store_core::{Key, PutMode, Store};
use store_memory::{CacheStore, MemoryStore};
use store_tiered::{TieredOptions, TieredStore, WritePolicy};
use strata_tests::probe::ProbeStore;

const KEYS: usize = 10_000;
const ROUND: Duration = Duration::from_millis(500);

/// Ratios of paired rounds (tiered over bare, run back to back) summarised as median
/// and range. Pairing cancels drift in the machine's speed between rounds, which on a
/// shared VM is larger than the effects measured here.
struct Paired(Vec<f64>);

impl Paired {
    fn median(&self) -> f64 {
        let mut r = self.0.clone();
        r.sort_by(f64::total_cmp);
        let n = r.len();
        if n % 2 == 1 {
            r[n / 2]
        } else {
            (r[n / 2 - 1] + r[n / 2]) / 2.0
        }
    }

    fn range(&self) -> (f64, f64) {
        let lo = self.0.iter().copied().fold(f64::MAX, f64::min);
        let hi = self.0.iter().copied().fold(f64::MIN, f64::max);
        (lo, hi)
    }
}

impl std::fmt::Display for Paired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self.range();
        write!(
            f,
            "ratio {:.2} (median of {} paired rounds, range {lo:.2}-{hi:.2})",
            self.median(),
            self.0.len()
        )
    }
}

fn median(values: &[f64]) -> f64 {
    Paired(values.to_vec()).median()
}

fn keys(prefix: &str, n: usize) -> Vec<Key> {
    (0..n)
        .map(|i| Key::new(format!("{prefix}/{i:06}")).unwrap())
        .collect()
}

/// Sequential gets over `keys` for one round; returns ns per op.
async fn get_ns(store: &dyn Store, keys: &[Key]) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < ROUND {
        for key in keys.iter().skip(n % 7).step_by(7).take(1000) {
            black_box(store.get(key).await.unwrap());
            n += 1;
        }
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Sequential puts of fresh keys; returns ops per second.
async fn put_rate(store: &dyn Store, keys: &[Key]) -> f64 {
    let value = Bytes::from(vec![7u8; 1024]);
    let start = Instant::now();
    for key in keys {
        black_box(
            store
                .put(key, value.clone(), PutMode::Overwrite)
                .await
                .unwrap(),
        );
    }
    keys.len() as f64 / start.elapsed().as_secs_f64()
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
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        a.push(get_ns(&alone, &keys).await);
        b.push(get_ns(&tiered, &keys).await);
    }
    let ratios = Paired(b.iter().zip(&a).map(|(b, a)| b / a).collect());
    println!(
        "1. hit latency       cache alone {:>8.0} ns   tiered {:>8.0} ns   {ratios}",
        median(&a),
        median(&b)
    );
    assert_eq!(tiered.stats().misses, 0, "every read was a hit");
}

async fn misses() {
    let keys = keys("miss", KEYS);
    let backend = Arc::new(MemoryStore::new());
    filled(backend.as_ref(), &keys).await;
    let start = Instant::now();
    for key in &keys {
        black_box(backend.get(key).await.unwrap());
    }
    let alone = start.elapsed().as_nanos() as f64 / KEYS as f64;
    // A fresh tier each pass so every read is cold.
    let tiered = TieredStore::open_cached(
        CacheStore::new(256 << 20),
        backend.clone(),
        TieredOptions::default(),
    )
    .await
    .unwrap();
    let start = Instant::now();
    for key in &keys {
        black_box(tiered.get(key).await.unwrap());
    }
    let cold = start.elapsed().as_nanos() as f64 / KEYS as f64;
    assert_eq!(tiered.stats().fills, KEYS as u64);
    println!(
        "2. cold miss         memory backend alone {alone:>8.0} ns   tiered {cold:>8.0} ns   ratio {:.2} (read + fill)",
        cold / alone
    );
}

async fn write_behind() {
    // Rounds of fresh keys, alternating: the machine may be shared.
    let (rounds, per_round) = (10, 5_000);
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
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        a.push(put_rate(&alone, &keys(&format!("wa{round}"), per_round)).await);
        b.push(put_rate(&tiered, &keys(&format!("wb{round}"), per_round)).await);
    }
    let ratios = Paired(b.iter().zip(&a).map(|(b, a)| b / a).collect());
    let depth = tiered.stats().queue_depth;
    let start = Instant::now();
    tiered.flush().await.unwrap();
    let drain = start.elapsed();
    println!(
        "3. write-behind put  cache alone {:>8.0}/s   tiered {:>8.0}/s   {ratios}   (backend 20 ms away; {depth} queued at the end, drained in {:.1} s at concurrency 64)",
        median(&a),
        median(&b),
        drain.as_secs_f64()
    );
    assert_eq!(
        backend.calls.put.load(Ordering::SeqCst),
        (rounds * per_round) as u64
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
        "4. miss storm        100 concurrent gets of one cold key: {} backend call(s), {:.1} ms",
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
