//! `RedbStore` against raw redb, in one run, in paired rounds (`strata_tests::bench`: each
//! round runs both sides, alternating which goes first; a comparison is the median of the
//! per-round ratios, with their range):
//! 1. through-the-trait put (both durabilities), get, a 1,000-key `get_many` and 4
//!    concurrent point readers, each against raw redb doing the same operations with the
//!    same durability on the same number of threads (a round: 1.5 s per side);
//! 2. 64 concurrent single-key writers with immediate durability: group commit against one
//!    redb write transaction per put;
//! 3. loading 1M keys into a fresh file, then a random-read pass over them
//!    (`STRATA_BENCH_KEYS` to change the count).
//!
//! `cargo bench -p strata-tests --bench redb` (`REDB_BENCH=reads|group|million` runs one
//! section).

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use redb::{Database, ReadableDatabase, TableDefinition};
use store_lmdb::{RedbConfig, RedbDurability, RedbStore};
use strata::{Key, PutMode, PutOp, Store};
use strata_tests::bench::Bench;

const TABLE: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("bench");
/// Keys in the store for sections 1 and 2.
const KEYS: usize = 10_000;
const VALUE: usize = 256;
/// How long each side runs in one round of sections 1 and 2.
const ROUND: Duration = Duration::from_millis(1500);
/// The reference side of every comparison.
const RAW: &str = "raw redb";
const READERS: usize = 4;
const WRITERS: usize = 64;

fn key_name(i: usize) -> String {
    format!("bench/{i:08}")
}

fn keys(n: usize) -> Vec<Key> {
    (0..n).map(|i| Key::new(key_name(i)).unwrap()).collect()
}

fn value() -> Bytes {
    Bytes::from(vec![7u8; VALUE])
}

fn raw_open(path: &Path) -> Arc<Database> {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(TABLE).unwrap();
    txn.commit().unwrap();
    Arc::new(db)
}

fn raw_fill(db: &Database, n: usize) {
    let value = value();
    for chunk in (0..n).collect::<Vec<_>>().chunks(50_000) {
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TABLE).unwrap();
            for &i in chunk {
                table.insert(key_name(i).as_str(), value.as_ref()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
}

async fn store_open(path: &Path, durability: RedbDurability, cache: Option<u64>) -> RedbStore {
    let mut config = RedbConfig::new(path).durability(durability);
    if let Some(bytes) = cache {
        config = config.value_cache_size(bytes);
    }
    RedbStore::open(config).await.unwrap()
}

async fn store_fill(store: &dyn Store, keys: &[Key]) {
    for chunk in keys.chunks(50_000) {
        let ops = chunk
            .iter()
            .map(|k| PutOp::new(k.clone(), value(), PutMode::Overwrite))
            .collect();
        store.put_many(ops).await.unwrap();
    }
}

/// One transaction per put, as an application using redb directly would do.
fn raw_put(db: &Database, durability: redb::Durability, key: &str, value: &[u8]) {
    let mut txn = db.begin_write().unwrap();
    txn.set_durability(durability).unwrap();
    txn.open_table(TABLE).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

/// One read transaction per get: independent point reads.
fn raw_get(db: &Database, key: &str) -> Option<Vec<u8>> {
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(TABLE).unwrap();
    table.get(key).unwrap().map(|g| g.value().to_vec())
}

/// One round of `op(thread, random)` on `threads` OS threads for [`ROUND`]; returns the
/// operations done. The threads are joined before it returns, so it blocks its caller:
/// fine on the thread that drives the runtime (not a worker), with nothing else running.
fn threaded(threads: usize, op: impl Fn(usize, usize) + Sync) -> u64 {
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (op, done) = (&op, &done);
            s.spawn(move || {
                let mut rng = rand::rng();
                let mut n = 0u64;
                // The clock is read every 16 ops, the same on both sides.
                while start.elapsed() < ROUND {
                    for _ in 0..16 {
                        op(t, rng.random_range(0..usize::MAX));
                        n += 1;
                    }
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    done.load(Ordering::Relaxed)
}

/// One round of `op(task, random)` on `tasks` tokio tasks for [`ROUND`]; returns the
/// operations done.
async fn tasks<F, Fut>(tasks: usize, op: F) -> u64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while start.elapsed() < ROUND {
                    for _ in 0..16 {
                        let i = rand::rng().random_range(0..usize::MAX);
                        op(t, i).await;
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    total
}

/// Raw redb (the reference) against `ours`, in paired rounds; prints the report.
async fn versus<'a, Fut>(
    label: String,
    ours_name: &str,
    raw: impl Fn() -> u64 + 'a,
    ours: impl FnMut() -> Fut + 'a,
) where
    Fut: Future<Output = u64> + 'a,
{
    let raw = &raw;
    Bench::new(label)
        .system(RAW, move || async move { raw() })
        .system(ours_name, ours)
        .run()
        .await
        .print();
}

/// Point gets of random keys on `n` tasks.
fn store_gets(
    store: &Arc<dyn Store>,
    keys: &Arc<Vec<Key>>,
    n: usize,
) -> impl Future<Output = u64> + 'static {
    let (store, keys) = (store.clone(), keys.clone());
    tasks(n, move |_, i| {
        let (store, keys) = (store.clone(), keys.clone());
        async move {
            black_box(store.get(&keys[i % KEYS]).await.unwrap());
        }
    })
}

async fn section_trait_vs_raw(dir: &Path) {
    println!("\n1. through the trait vs raw redb ({KEYS} keys, {VALUE}-byte values)");
    let keys = Arc::new(keys(KEYS));
    let names: Arc<Vec<String>> = Arc::new(keys.iter().map(|k| k.to_string()).collect());
    for (label, durability, raw_durability) in [
        (
            "immediate",
            RedbDurability::Immediate,
            redb::Durability::Immediate,
        ),
        ("none", RedbDurability::None, redb::Durability::None),
    ] {
        let store: Arc<dyn Store> =
            Arc::new(store_open(&dir.join(format!("put-{label}.redb")), durability, None).await);
        let db = raw_open(&dir.join(format!("raw-put-{label}.redb")));
        versus(
            format!("put, 1 writer, durability {label} (puts/s)"),
            "strata",
            || {
                threaded(1, |_, i| {
                    raw_put(&db, raw_durability, &names[i % KEYS], &value())
                })
            },
            || {
                let (store, keys) = (store.clone(), keys.clone());
                tasks(1, move |_, i| {
                    let (store, keys) = (store.clone(), keys.clone());
                    async move {
                        let k = &keys[i % KEYS];
                        black_box(store.put(k, value(), PutMode::Overwrite).await.unwrap());
                    }
                })
            },
        )
        .await;
    }

    let db = raw_open(&dir.join("raw-read.redb"));
    raw_fill(&db, KEYS);
    for (label, cache) in [("value cache on", None), ("value cache off", Some(0))] {
        let store = Arc::new(store_open(&dir.join("read.redb"), RedbDurability::None, cache).await);
        store_fill(store.as_ref(), &keys).await;
        let dyn_store: Arc<dyn Store> = store.clone();
        // Warm both sides the same way: one pass over every key.
        for k in keys.iter() {
            black_box(dyn_store.get(k).await.unwrap());
            black_box(raw_get(&db, k.as_str()));
        }
        versus(
            format!("get, 1 task, {label} (gets/s)"),
            "strata",
            || threaded(1, |_, i| drop(black_box(raw_get(&db, &names[i % KEYS])))),
            || store_gets(&dyn_store, &keys, 1),
        )
        .await;
        versus(
            format!("get, {READERS} concurrent readers, {label} (gets/s)"),
            "strata",
            || {
                threaded(READERS, |_, i| {
                    drop(black_box(raw_get(&db, &names[i % KEYS])))
                })
            },
            || store_gets(&dyn_store, &keys, READERS),
        )
        .await;

        // 1,000 keys per call; the raw side reads them in one read transaction.
        let batch = |i: usize| (0..1000).map(move |j| (i.wrapping_mul(31) + j * 7) % KEYS);
        versus(
            format!("get_many of 1,000 keys, {label} (calls/s)"),
            "strata",
            || {
                threaded(1, |_, i| {
                    let txn = db.begin_read().unwrap();
                    let table = txn.open_table(TABLE).unwrap();
                    let out: Vec<Option<Vec<u8>>> = batch(i)
                        .map(|j| {
                            table
                                .get(names[j].as_str())
                                .unwrap()
                                .map(|g| g.value().to_vec())
                        })
                        .collect();
                    black_box(out);
                })
            },
            || {
                let (store, keys) = (dyn_store.clone(), keys.clone());
                tasks(1, move |_, i| {
                    let (store, keys) = (store.clone(), keys.clone());
                    async move {
                        let wanted: Vec<Key> = batch(i).map(|j| keys[j].clone()).collect();
                        black_box(store.get_many(&wanted).await.unwrap());
                    }
                })
            },
        )
        .await;
        drop((dyn_store, store));
    }
}

async fn section_group_commit(dir: &Path) {
    println!("\n2. {WRITERS} concurrent single-key writers, durability immediate");
    let store =
        Arc::new(store_open(&dir.join("group.redb"), RedbDurability::Immediate, None).await);
    let db = raw_open(&dir.join("raw-group.redb"));
    let own: Arc<Vec<Key>> = Arc::new(keys(WRITERS));
    let before = store.stats();
    versus(
        format!("put, {WRITERS} writers: one txn per put (raw) vs group commit (puts/s)"),
        "strata, group commit",
        || {
            threaded(WRITERS, |t, _| {
                raw_put(&db, redb::Durability::Immediate, &key_name(t), &value())
            })
        },
        || {
            let store: Arc<dyn Store> = store.clone();
            let own = own.clone();
            // Each task always writes its own key.
            tasks(WRITERS, move |t, _| {
                let (store, own) = (store.clone(), own.clone());
                async move {
                    let k = &own[t];
                    black_box(store.put(k, value(), PutMode::Overwrite).await.unwrap());
                }
            })
        },
    )
    .await;
    let after = store.stats();
    let (commits, writes) = (after.commits - before.commits, after.writes - before.writes);
    println!(
        "   group commit: {writes} puts in {commits} commits, {:.1} puts per commit",
        writes as f64 / commits.max(1) as f64
    );
}

/// The database a load round made, kept for the read pass; the previous one is deleted.
struct Loaded<T> {
    current: RefCell<Option<(T, PathBuf)>>,
    rounds: Cell<usize>,
}

impl<T> Loaded<T> {
    fn new() -> Self {
        Loaded {
            current: RefCell::new(None),
            rounds: Cell::new(0),
        }
    }

    /// Drop and delete the last round's file; returns a fresh path for this round.
    fn next_path(&self, dir: &Path, name: &str) -> PathBuf {
        if let Some((db, path)) = self.current.take() {
            drop(db);
            std::fs::remove_file(path).unwrap();
        }
        self.rounds.set(self.rounds.get() + 1);
        dir.join(format!("{name}-{}.redb", self.rounds.get()))
    }

    fn keep(&self, db: T, path: PathBuf) {
        *self.current.borrow_mut() = Some((db, path));
    }

    fn get(&self) -> T
    where
        T: Clone,
    {
        self.current.borrow().as_ref().expect("loaded").0.clone()
    }
}

async fn section_million(dir: &Path) {
    let n: usize = std::env::var("STRATA_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!(
        "\n3. {n} keys ({VALUE}-byte values): load, then a random-read pass, {READERS} readers"
    );
    let keys = Arc::new(keys(n));
    // Each load round fills a fresh file (opening it is not timed); the last round's files
    // are read by the pass.
    let (ours, raw) = (
        Loaded::<Arc<RedbStore>>::new(),
        Loaded::<Arc<Database>>::new(),
    );
    Bench::new(format!(
        "load {n} keys into a fresh file, 50,000 per batch (keys/s)"
    ))
    .no_warmup()
    .timed(RAW, || async {
        let path = raw.next_path(dir, "raw-million");
        let db = raw_open(&path);
        let start = Instant::now();
        raw_fill(&db, n);
        let took = start.elapsed();
        raw.keep(db, path);
        (n as u64, took)
    })
    .timed("strata (put_many, then flush)", || async {
        let path = ours.next_path(dir, "million");
        let store = Arc::new(store_open(&path, RedbDurability::None, None).await);
        let start = Instant::now();
        store_fill(store.as_ref(), &keys).await;
        store.flush().await.unwrap();
        let took = start.elapsed();
        ours.keep(store, path);
        (n as u64, took)
    })
    .run()
    .await
    .print();

    // The same random permutation, split between the readers, every round on both sides.
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = rand::rng();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let order = Arc::new(order);
    let per = n.div_ceil(READERS);
    let (store, db): (Arc<dyn Store>, _) = (ours.get(), raw.get());
    versus(
        format!("one pass, every key once, {READERS} readers (gets/s)"),
        "strata",
        || {
            std::thread::scope(|s| {
                for t in 0..READERS {
                    let (db, keys, order) = (&db, &keys, &order);
                    s.spawn(move || {
                        for &i in order.iter().skip(t * per).take(per) {
                            black_box(raw_get(db, keys[i].as_str()).unwrap());
                        }
                    });
                }
            });
            n as u64
        },
        || {
            let handles: Vec<_> = (0..READERS)
                .map(|t| {
                    let (store, keys, order) = (store.clone(), keys.clone(), order.clone());
                    tokio::spawn(async move {
                        for &i in order.iter().skip(t * per).take(per) {
                            black_box(store.get(&keys[i]).await.unwrap().unwrap());
                        }
                    })
                })
                .collect();
            async move {
                for h in handles {
                    h.await.unwrap();
                }
                n as u64
            }
        },
    )
    .await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(READERS)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // `REDB_BENCH=reads` (or group, million) runs one section, for profiling.
    let only = std::env::var("REDB_BENCH").ok();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    rt.block_on(async {
        if run("reads") {
            section_trait_vs_raw(dir.path()).await;
        }
        if run("group") {
            section_group_commit(dir.path()).await;
        }
        if run("million") {
            section_million(dir.path()).await;
        }
    });
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
}
