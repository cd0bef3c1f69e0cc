//! `LmdbStore` against raw LMDB (heed) and `RedbStore`, side by side, in one run of paired
//! rounds (`strata_tests::bench`): point gets with the value cache on (hot) and off (every
//! get reads the engine), puts per durability from one writer, and a full listing.
//!
//! Raw heed does what an application using LMDB directly would: one read transaction per
//! get, one write transaction per put, read on the calling thread. It opens its own
//! environment (LMDB allows one per path per process, and so does the store).
//!
//! `cargo bench -p strata-tests --bench lmdb` (`STRATA_BENCH_ROUNDS` rounds, default 5).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use heed::types::Bytes as Raw;
use heed::{Database, Env, EnvFlags, EnvOpenOptions};
use store_lmdb::{LmdbConfig, LmdbStore, RedbConfig, RedbDurability, RedbStore};
use strata::{Key, ListOptions, PutMode, PutOp, Store};
use strata_tests::bench::Bench;

/// Keys in every store.
const KEYS: usize = 20_000;
const VALUE: usize = 1024;
/// Gets per round.
const GETS: usize = 20_000;
/// Puts per round without fsync, and with it.
const PUTS_NONE: usize = 2_000;
const PUTS_IMMEDIATE: usize = 100;

const RAW: &str = "raw heed";
const OURS: &str = "strata lmdb";
const REDB: &str = "strata redb";

fn key_name(i: usize) -> String {
    format!("bench/{i:08}")
}

fn value() -> Bytes {
    Bytes::from(vec![7u8; VALUE])
}

/// A raw environment with one database, `sync` deciding whether commits fsync.
fn raw_open(dir: &Path, sync: bool) -> (Env, Database<Raw, Raw>) {
    std::fs::create_dir_all(dir).unwrap();
    let mut options = EnvOpenOptions::new();
    options.map_size(1 << 32).max_dbs(1);
    if !sync {
        #[allow(unsafe_code)]
        // SAFETY: the flag only changes when commits are synced (durability, not memory
        // safety); nothing else opens this environment.
        unsafe {
            options.flags(EnvFlags::NO_SYNC)
        };
    }
    // SAFETY: this environment is opened once in this process and never by another.
    #[allow(unsafe_code)]
    let env = unsafe { options.open(dir) }.unwrap();
    let mut txn = env.write_txn().unwrap();
    let db: Database<Raw, Raw> = env.create_database(&mut txn, Some("bench")).unwrap();
    txn.commit().unwrap();
    (env, db)
}

fn raw_fill(env: &Env, db: Database<Raw, Raw>) {
    let mut txn = env.write_txn().unwrap();
    for i in 0..KEYS {
        db.put(&mut txn, key_name(i).as_bytes(), &value()).unwrap();
    }
    txn.commit().unwrap();
}

async fn fill(store: &dyn Store, keys: &[Key]) {
    let ops: Vec<PutOp> = keys
        .iter()
        .map(|k| PutOp::overwrite(k.clone(), value()))
        .collect();
    for batch in store.capabilities().put_batches(ops, 5_000) {
        store.put_many(batch).await.unwrap();
    }
    store.flush().await.unwrap();
}

async fn lmdb(dir: &Path, durability: RedbDurability, cache: Option<u64>) -> Arc<dyn Store> {
    let mut config = LmdbConfig::new(dir).durability(durability);
    if let Some(bytes) = cache {
        config = config.value_cache_size(bytes);
    }
    Arc::new(LmdbStore::open(config).await.unwrap())
}

async fn redb(path: &Path, durability: RedbDurability, cache: Option<u64>) -> Arc<dyn Store> {
    let mut config = RedbConfig::new(path).durability(durability);
    if let Some(bytes) = cache {
        config = config.value_cache_size(bytes);
    }
    Arc::new(RedbStore::open(config).await.unwrap())
}

/// A pseudo-random key index for step `i` (the same sequence for every system).
fn pick(i: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 3) % KEYS
}

async fn gets(label: &str, cache: Option<u64>, root: &Path, keys: &[Key]) {
    let (env, db) = raw_open(&root.join(format!("raw-{label}")), true);
    raw_fill(&env, db);
    let ours = lmdb(
        &root.join(format!("lmdb-{label}")),
        RedbDurability::None,
        cache,
    )
    .await;
    let theirs = redb(
        &root.join(format!("redb-{label}.redb")),
        RedbDurability::None,
        cache,
    )
    .await;
    fill(ours.as_ref(), keys).await;
    fill(theirs.as_ref(), keys).await;
    let names: Vec<String> = (0..KEYS).map(key_name).collect();
    let (env, names) = (&env, &names);
    let get = |store: Arc<dyn Store>| {
        move || {
            let store = store.clone();
            async move {
                for i in 0..GETS {
                    black_box(store.get(&keys[pick(i)]).await.unwrap());
                }
                GETS as u64
            }
        }
    };
    Bench::new(format!(
        "get, 1 task, value cache {label} ({KEYS} keys of {VALUE} bytes; gets/s)"
    ))
    .system(RAW, move || async move {
        for i in 0..GETS {
            let txn = env.read_txn().unwrap();
            black_box(
                db.get(&txn, names[pick(i)].as_bytes())
                    .unwrap()
                    .map(<[u8]>::len),
            );
        }
        GETS as u64
    })
    .system(OURS, get(ours.clone()))
    .system(REDB, get(theirs.clone()))
    .run()
    .await
    .print();
}

async fn puts(durability: RedbDurability, count: usize, root: &Path) {
    let label = match durability {
        RedbDurability::Immediate => "immediate",
        RedbDurability::None => "none",
    };
    let sync = durability == RedbDurability::Immediate;
    let (env, db) = raw_open(&root.join(format!("raw-put-{label}")), sync);
    let ours = lmdb(&root.join(format!("lmdb-put-{label}")), durability, None).await;
    let theirs = redb(
        &root.join(format!("redb-put-{label}.redb")),
        durability,
        None,
    )
    .await;
    let keys: Vec<Key> = (0..count).map(|i| Key::new(key_name(i)).unwrap()).collect();
    let (env, keys) = (&env, &keys);
    let put = |store: Arc<dyn Store>| {
        move || {
            let store = store.clone();
            async move {
                for k in keys {
                    store.put(k, value(), PutMode::Overwrite).await.unwrap();
                }
                count as u64
            }
        }
    };
    Bench::new(format!(
        "put, 1 writer, durability {label}, one commit per put (puts/s)"
    ))
    .system(RAW, move || async move {
        let value = value();
        for k in keys {
            let mut txn = env.write_txn().unwrap();
            db.put(&mut txn, k.as_str().as_bytes(), &value).unwrap();
            txn.commit().unwrap();
        }
        count as u64
    })
    .system(OURS, put(ours.clone()))
    .system(REDB, put(theirs.clone()))
    .run()
    .await
    .print();
}

async fn listing(root: &Path, keys: &[Key]) {
    let (env, db) = raw_open(&root.join("raw-list"), false);
    raw_fill(&env, db);
    let ours = lmdb(&root.join("lmdb-list"), RedbDurability::None, None).await;
    let theirs = redb(&root.join("redb-list.redb"), RedbDurability::None, None).await;
    fill(ours.as_ref(), keys).await;
    fill(theirs.as_ref(), keys).await;
    let env = &env;
    let list = |store: Arc<dyn Store>| {
        move || {
            let store = store.clone();
            async move {
                let metas: Vec<_> = store
                    .list(ListOptions::default())
                    .try_collect()
                    .await
                    .unwrap();
                assert_eq!(metas.len(), KEYS);
                KEYS as u64
            }
        }
    };
    Bench::new(format!(
        "list all {KEYS} keys (raw: a cursor over keys and value lengths; entries/s)"
    ))
    .system(RAW, move || async move {
        let txn = env.read_txn().unwrap();
        let mut n = 0u64;
        for row in db.iter(&txn).unwrap() {
            let (k, v) = row.unwrap();
            black_box((k.len(), v.len()));
            n += 1;
        }
        n
    })
    .system(OURS, list(ours.clone()))
    .system(REDB, list(theirs.clone()))
    .run()
    .await
    .print();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let keys: Vec<Key> = (0..KEYS).map(|i| Key::new(key_name(i)).unwrap()).collect();
    runtime.block_on(async {
        println!("LMDB (heed) vs strata's LMDB and redb engines, 2 tokio workers\n");
        gets("on", None, root, &keys).await;
        gets("off", Some(0), root, &keys).await;
        puts(RedbDurability::None, PUTS_NONE, root).await;
        puts(RedbDurability::Immediate, PUTS_IMMEDIATE, root).await;
        listing(root, &keys).await;
    });
}
