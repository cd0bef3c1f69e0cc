//! `strata demo`: the README's main job, on the embedded default or on `--store`.
//!
//! By default a tiered store (a bounded memory cache in front of redb under `--dir`);
//! with `--store` or `--config`, the store they name. Then: typed values with a
//! compare-and-swap update, an ordered listing, and a vector index of `--vectors` vectors
//! built, flushed, queried, then reopened from the store and queried again without
//! rebuilding. Every step prints its timing, and the end says what the demo left behind.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures::TryStreamExt;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use strata::vector_index::{Filter, IndexConfig, Metadata, Metric, Value, VectorIndex};
use strata::{Durability, Key, ListOptions, Prefix, PutMode, PutOp, Store, StoreExt, redact_uri};

use crate::args::{DemoArgs, Target};
use crate::open::{Access, open_target};

#[derive(Debug, Serialize, Deserialize)]
struct Account {
    owner: String,
    balance: i64,
}

/// Where the embedded demo store lives without `--dir`.
const DEFAULT_DIR: &str = "./strata-data";
const DIM: usize = 64;
const CLUSTERS: usize = 32;
const INDEX: &str = "demo-vectors";
/// The fewest vectors the demo runs with (a vector index needs something to find).
pub const MIN_VECTORS: u64 = 1;

fn step(name: &str, start: Instant) -> anyhow::Result<()> {
    outln!("  [{:>9.1} ms] {name}", start.elapsed().as_secs_f64() * 1e3)
}

/// The store the demo runs on.
enum DemoStore<'a> {
    /// The embedded default: a 64 MiB cache over redb in this directory, writing through.
    Embedded(&'a Path),
    /// The store `--store` or `--config` names.
    Named(&'a Target),
}

impl DemoStore<'_> {
    /// What the demo runs on, for its first line (a URI's secrets redacted).
    fn describe(&self) -> String {
        match self {
            DemoStore::Embedded(dir) => format!(
                "a 64 MiB cache in front of redb at {}",
                dir.join("demo.redb").display()
            ),
            DemoStore::Named(target) => match (&target.store, &target.config) {
                (Some(uri), _) => format!("the store {}", redact_uri(uri)),
                (None, Some(path)) => format!("the store in {}", path.display()),
                (None, None) => "the default store".to_owned(),
            },
        }
    }

    /// The `strata` options that name the same store, for the closing hint.
    fn cli_options(&self) -> String {
        match self {
            DemoStore::Embedded(dir) => {
                let path = dir.join("demo.redb");
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                format!("--store redb://{}", path.display())
            }
            DemoStore::Named(target) => match (&target.store, &target.config) {
                (Some(uri), _) => format!("--store '{}'", redact_uri(uri)),
                (None, Some(path)) => format!("--config {}", path.display()),
                (None, None) => String::new(),
            },
        }
    }

    async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        match self {
            DemoStore::Embedded(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let config = serde_json::json!({
                    "type": "tiered",
                    "write_policy": "write-through",
                    "frontend": {"type": "cache", "max_bytes": 64u64 << 20},
                    "backend": {"type": "redb", "path": dir.join("demo.redb")},
                });
                let config = config
                    .as_object()
                    .context("the demo's store config is a JSON object")?;
                Ok(strata::open(config).await?)
            }
            DemoStore::Named(target) => open_target(target, Access::Create).await,
        }
    }
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

/// Query with a slightly moved copy of up to 1,000 vectors spread over `data`; returns
/// how often the vector itself came back first, and the mean time per query.
fn query_sample(index: &VectorIndex, data: &[Vec<f32>]) -> anyhow::Result<(f64, f64)> {
    query(index, data, (data.len() / 1000).max(1))
}

pub async fn run(target: &Target, args: DemoArgs) -> anyhow::Result<u8> {
    let total = Instant::now();
    let on = if target.store.is_some() || target.config.is_some() {
        DemoStore::Named(target)
    } else {
        DemoStore::Embedded(args.dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR)))
    };
    outln!("strata demo: {}", on.describe())?;

    let t = Instant::now();
    let store = on.open().await?;
    step(&format!("opened {}", on.describe()), t)?;
    let capabilities = store.capabilities();

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

    let alice = Key::new("demo/accounts/alice")?;
    if capabilities.supports_conditional_puts() {
        let t = Instant::now();
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
        match store.put_typed(&alice, &account, PutMode::Create).await {
            Err(refused) => step(&format!("a conflicting create is refused: {refused}"), t)?,
            Ok(_) => anyhow::bail!(
                "the store accepted a create of `{alice}`, which exists: its conditional puts \
                 do not hold"
            ),
        }
    } else {
        outln!("  (this store has no conditional puts: the compare-and-swap steps are skipped)")?;
    }

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

    // The vector index, on the same store.
    let t = Instant::now();
    let old: Vec<Key> = store
        .list(ListOptions::prefix(Prefix::new(format!(
            "vector-index/{INDEX}/"
        ))?))
        .map_ok(|m| m.key)
        .try_collect()
        .await?;
    if !old.is_empty() {
        for batch in old.chunks(store.capabilities().write_batch(old.len())) {
            store.delete_many(batch).await?;
        }
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
    tokio::task::spawn_blocking(move || building.upsert_many(items, 0)).await??;
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
    let (hit_rate, micros) = query_sample(&index, &data)?;
    step(
        &format!(
            "queried it: the vector itself first in {:.1}% of queries, {micros:.0} us/query",
            hit_rate * 100.0
        ),
        t,
    )?;
    // A vector that exists however few there are (`--vectors` is at least 1).
    let probe = 3.min(data.len().saturating_sub(1));
    let probe_vector = data
        .get(probe)
        .context("the demo has at least one vector")?;
    let cluster = (probe % CLUSTERS) as i64;
    let t = Instant::now();
    let filter = Filter::eq("cluster", Value::Int(cluster));
    let hits = index.search(probe_vector, 5, None, Some(&filter))?;
    let all_in_cluster = hits
        .iter()
        .all(|h| (h.id as usize % CLUSTERS) as i64 == cluster);
    step(
        &format!(
            "filtered query (cluster = {cluster}): {} hits, all in the cluster: {all_in_cluster}",
            hits.len()
        ),
        t,
    )?;

    // Close everything, reopen, and ask again: nothing is rebuilt. A store that lives in
    // this process's memory cannot be reopened, so there only the index is.
    let in_memory = capabilities.durability == Durability::None;
    drop(index);
    let t = Instant::now();
    let store = if in_memory {
        store
    } else {
        drop(store);
        on.open().await?
    };
    let index = VectorIndex::open(store.clone(), INDEX).await?;
    let vectors = index.len();
    step(
        &if in_memory {
            format!(
                "reopened the index ({vectors} vectors) without rebuilding (an in-memory store \
                 cannot be reopened: the same store)"
            )
        } else {
            format!("reopened the store and the index ({vectors} vectors) without rebuilding")
        },
        t,
    )?;
    let t = Instant::now();
    let (again, micros) = query_sample(&index, &data)?;
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
        .map(|i| {
            Ok(PutOp::overwrite(
                Key::new(format!("demo/notes/{i}"))?,
                "note",
            ))
        })
        .collect::<strata::Result<_>>()?;
    store.put_many(ops).await?;
    store.flush().await?;
    outln!(
        "done in {:.2} s. The demo left its keys under demo/ and vector-index/{INDEX}/.",
        total.elapsed().as_secs_f64(),
    )?;
    if in_memory {
        outln!("The store was in memory: they are gone now.")?;
    } else {
        outln!("Look inside: strata {} list demo/", on.cli_options())?;
    }
    Ok(0)
}
