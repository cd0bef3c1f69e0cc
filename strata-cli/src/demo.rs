//! `strata demo`: the README's main job on the embedded default.
//!
//! A tiered store (a bounded memory cache in front of redb under `--dir`), typed values
//! with a compare-and-swap update, an ordered listing, and a vector index of `--vectors`
//! vectors built, flushed, queried, then reopened from the store and queried again
//! without rebuilding. Every step prints its timing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures::TryStreamExt;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use strata::vector_index::{Filter, IndexConfig, Metadata, Metric, Value, VectorIndex};
use strata::{Key, ListOptions, Prefix, PutMode, PutOp, Store, StoreExt};

use crate::args::DemoArgs;

#[derive(Debug, Serialize, Deserialize)]
struct Account {
    owner: String,
    balance: i64,
}

const DIM: usize = 64;
const CLUSTERS: usize = 32;
const INDEX: &str = "demo-vectors";
/// The fewest vectors the demo runs with: one per cluster, so every query has its answer.
pub const MIN_VECTORS: u64 = CLUSTERS as u64;

fn step(name: &str, start: Instant) -> anyhow::Result<()> {
    outln!("  [{:>9.1} ms] {name}", start.elapsed().as_secs_f64() * 1e3)
}

/// The demo's store: a 64 MiB cache over redb, writes through to redb.
async fn open_store(args: &DemoArgs) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let config = serde_json::json!({
        "type": "tiered",
        "write_policy": "write-through",
        "frontend": {"type": "cache", "max_bytes": 64u64 << 20},
        "backend": {"type": "redb", "path": args.dir.join("demo.redb")},
    });
    Ok(strata::open(config.as_object().expect("a JSON object")).await?)
}

/// Clustered vectors from a fixed seed: vector `i` lies near the centre of cluster
/// `i % CLUSTERS`, so a query near a stored vector has a known right answer.
fn vectors(n: usize) -> Vec<Vec<f32>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let centres: Vec<Vec<f32>> = (0..CLUSTERS)
        .map(|_| (0..DIM).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    (0..n)
        .map(|i| {
            centres[i % CLUSTERS]
                .iter()
                .map(|c| c + rng.random_range(-0.25..0.25))
                .collect()
        })
        .collect()
}

/// Query with a slightly moved copy of every `stride`-th vector; returns how often the
/// vector itself came back first, and the mean time per query.
fn query(index: &VectorIndex, data: &[Vec<f32>], stride: usize) -> anyhow::Result<(f64, f64)> {
    let start = Instant::now();
    let (mut found, mut asked) = (0usize, 0usize);
    for (i, v) in data.iter().enumerate().step_by(stride) {
        let q: Vec<f32> = v.iter().map(|x| x + 0.001).collect();
        let hits = index.search(&q, 10, None, None)?;
        found += usize::from(hits.first().is_some_and(|h| h.id == i as u64));
        asked += 1;
    }
    let per_query = start.elapsed().as_secs_f64() * 1e6 / asked as f64;
    Ok((found as f64 / asked as f64, per_query))
}

pub async fn run(args: DemoArgs) -> anyhow::Result<u8> {
    let total = Instant::now();
    outln!(
        "strata demo: a 64 MiB cache in front of redb at {}",
        args.dir.join("demo.redb").display()
    )?;

    let t = Instant::now();
    let store = open_store(&args).await?;
    step("opened the tiered store (cache -> redb)", t)?;

    // Typed values and compare-and-swap.
    let t = Instant::now();
    for (owner, balance) in [("alice", 100), ("bob", 50), ("carol", 75)] {
        let key = Key::new(format!("demo/accounts/{owner}"))?;
        let account = Account {
            owner: owner.into(),
            balance,
        };
        store.put_typed(&key, &account, PutMode::Overwrite).await?;
    }
    step("wrote 3 typed accounts (CBOR)", t)?;

    let t = Instant::now();
    let alice = Key::new("demo/accounts/alice")?;
    let (account, meta) = store
        .update(&alice, |current: Option<Account>| {
            let mut account = current.unwrap_or(Account {
                owner: "alice".into(),
                balance: 0,
            });
            account.balance += 25;
            account
        })
        .await?;
    step(
        &format!(
            "compare-and-swap update: alice has {} (version {})",
            account.balance, meta.version
        ),
        t,
    )?;
    let t = Instant::now();
    let stale = store
        .put_typed(&alice, &account, PutMode::Create)
        .await
        .expect_err("alice exists, so a create must fail");
    step(&format!("a conflicting create is refused: {stale}"), t)?;

    let t = Instant::now();
    let listed: Vec<_> = store
        .list(ListOptions::prefix(Prefix::new("demo/accounts/")?))
        .try_collect()
        .await?;
    step(
        &format!("listed {} accounts in key order:", listed.len()),
        t,
    )?;
    for meta in &listed {
        outln!("                  {} ({} bytes)", meta.key, meta.size)?;
    }

    // The vector index, on the same tiered store.
    let t = Instant::now();
    let old: Vec<Key> = store
        .list(ListOptions::prefix(Prefix::new(format!(
            "vector-index/{INDEX}/"
        ))?))
        .map_ok(|m| m.key)
        .try_collect()
        .await?;
    if !old.is_empty() {
        store.delete_many(&old).await?;
        step(
            &format!("removed the previous run's index ({} keys)", old.len()),
            t,
        )?;
    }
    let data = vectors(args.vectors);
    let t = Instant::now();
    let index = VectorIndex::create(
        store.clone(),
        INDEX,
        IndexConfig::new(DIM, Metric::L2).ef_search(64),
    )
    .await?;
    let index = Arc::new(index);
    let items: Vec<(u64, Vec<f32>, Metadata)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut meta = Metadata::new();
            meta.insert("cluster".into(), Value::Int((i % CLUSTERS) as i64));
            (i as u64, v.clone(), meta)
        })
        .collect();
    let building = index.clone();
    // Building is CPU work on every core: keep it off the async runtime.
    tokio::task::spawn_blocking(move || building.upsert_many(items)).await??;
    step(
        &format!("built an HNSW index of {} vectors (dim {DIM})", index.len()),
        t,
    )?;

    let t = Instant::now();
    let report = index.flush().await?;
    step(
        &format!(
            "flushed it: {} pages, {:.1} MiB, manifest committed last",
            report.pages_written,
            report.bytes_written as f64 / (1 << 20) as f64
        ),
        t,
    )?;

    let t = Instant::now();
    let (hit_rate, micros) = query(&index, &data, 20)?;
    step(
        &format!(
            "queried it: the vector itself first in {:.1}% of queries, {micros:.0} us/query",
            hit_rate * 100.0
        ),
        t,
    )?;
    let t = Instant::now();
    let filter = Filter::eq("cluster", Value::Int(3));
    let hits = index.search(&data[3], 5, None, Some(&filter))?;
    let all_in_cluster = hits.iter().all(|h| h.id as usize % CLUSTERS == 3);
    step(
        &format!(
            "filtered query (cluster = 3): {} hits, all in the cluster: {all_in_cluster}",
            hits.len()
        ),
        t,
    )?;

    // Close everything, reopen from redb, and ask again: nothing is rebuilt.
    drop(index);
    drop(store);
    let t = Instant::now();
    let store = open_store(&args).await?;
    let index = VectorIndex::open(store.clone(), INDEX).await?;
    step(
        &format!(
            "reopened the store and the index ({} vectors) without rebuilding",
            index.len()
        ),
        t,
    )?;
    let t = Instant::now();
    let (again, micros) = query(&index, &data, 20)?;
    step(
        &format!(
            "queried it again: {:.1}% first, {micros:.0} us/query",
            again * 100.0
        ),
        t,
    )?;
    let balance: Option<Account> = store.get_typed(&alice).await?;
    outln!(
        "  alice's balance after the reopen: {:?}",
        balance.map(|a| a.balance)
    )?;

    // Leave a little data for `strata list` to find.
    let ops = (0..3)
        .map(|i| PutOp::overwrite(Key::new(format!("demo/notes/{i}")).expect("valid"), "note"))
        .collect();
    store.put_many(ops).await?;
    store.flush().await?;
    outln!(
        "done in {:.2} s. Look inside: strata --store redb://{} list demo/",
        total.elapsed().as_secs_f64(),
        std::fs::canonicalize(args.dir.join("demo.redb"))
            .unwrap_or_else(|_| args.dir.join("demo.redb"))
            .display()
    )?;
    Ok(0)
}
