//! GC sweep throughput (`store_layers::gc::sweep`), in keys listed per second, over
//! 100,000 keys (`STRATA_BENCH_KEYS` to change) on redb and on S3 (the moto server of
//! `scripts/s3-server.sh`, skipped without one):
//! - "keep all": every key reachable (a `prefix:` root), so the sweep only lists;
//! - "delete all": nothing reachable, every key old: list plus `delete_many` batches.
//!   The store is refilled before each round, outside the timed part.
//!
//! `STRATA_BENCH_ROUNDS=3 cargo bench -p strata-tests --bench gc` (`GC_BENCH=redb|s3` runs
//! one backend; on moto each round's refill of 100,000 keys takes minutes).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use store_core::{Key, Prefix, PutOp, Store};
use store_layers::gc::{self, Reachable, SweepOptions};
use store_lmdb::{RedbConfig, RedbDurability, RedbStore};
use strata_tests::bench::Bench;
use strata_tests::harness::runtime;
use strata_tests::s3env::s3_config;

fn key_count() -> usize {
    std::env::var("STRATA_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

async fn fill(store: &dyn Store, n: usize) {
    let keys: Vec<Key> = (0..n)
        .map(|i| Key::new(format!("blobs/{i:08}")).unwrap())
        .collect();
    for chunk in keys.chunks(1000) {
        let ops = chunk
            .iter()
            .map(|k| PutOp::overwrite(k.clone(), Bytes::from_static(&[7; 64])))
            .collect();
        store.put_many(ops).await.unwrap();
    }
}

fn options() -> SweepOptions {
    SweepOptions {
        clock_margin: Duration::ZERO,
        ..SweepOptions::default()
    }
}

/// One round: (re)fill the keys (untimed; a round that ran before may have deleted
/// them), then time one sweep.
async fn sweep_timed(store: &dyn Store, roots: &Reachable, n: usize) -> (u64, Duration) {
    fill(store, n).await;
    let cutoff = SystemTime::now();
    let start = Instant::now();
    let report = gc::sweep(store, roots, cutoff, options()).await.unwrap();
    let took = start.elapsed();
    assert_eq!(report.listed, n as u64);
    (report.listed, took)
}

async fn bench(label: &str, store: Arc<dyn Store>) {
    let n = key_count();
    let all = Reachable::new().with_prefix(Prefix::new("blobs/").unwrap());
    let none = Reachable::new();
    let report = Bench::new(format!("{label}: gc sweep over {n} keys (keys/s)"))
        .no_warmup()
        .timed("keep all (list only)", || sweep_timed(&*store, &all, n))
        .timed("delete all (list + delete_many)", || {
            sweep_timed(&*store, &none, n)
        })
        .run()
        .await;
    report.print();
}

fn main() {
    // `GC_BENCH=redb` or `GC_BENCH=s3` runs one backend.
    let only = std::env::var("GC_BENCH").unwrap_or_default();
    runtime().block_on(async {
        if only != "s3" {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("gc.redb");
            let config = RedbConfig::new(path).durability(RedbDurability::Immediate);
            bench("redb", Arc::new(RedbStore::open(config).await.unwrap())).await;
        }
        if only == "redb" {
            return;
        }
        if let Some(config) = s3_config() {
            bench("S3 (moto)", strata::open(&config).await.unwrap()).await;
        }
    });
}
