//! The file store against raw `std::fs` doing the same work, in the same run.
//!
//! - put: through the `Store` trait vs a raw loop of create temp, write, fsync, rename,
//!   fsync directory (no fsyncs for `never`, as the store);
//! - get: through the trait (which verifies the header and the value's CRC32C) vs
//!   `std::fs::read`;
//! - 32 concurrent writers, each in its own directory and all in one: `batch` vs
//!   `always` (and `never`) throughput.
//!
//! Each measurement alternates raw and store rounds and keeps each side's best round, so
//! a noisy neighbour hurts both sides alike. Run with
//! `cargo bench -p strata-tests --bench file` (add `-- concurrent` for the writers part only).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata::{FileStore, Key, PutMode, Store, SyncMode};

const ROUNDS: usize = 3;
/// Distinct keys a sequence cycles through (so most puts overwrite).
const KEYS: usize = 64;
const GETS: usize = 4000;
const WRITERS: usize = 32;

fn puts_for(sync: SyncMode) -> usize {
    match sync {
        SyncMode::Never => 4000,
        SyncMode::Always | SyncMode::Batch => 150,
    }
}

/// The raw sequence for one put: the same protocol the store follows.
fn raw_put(dir: &Path, name: &str, value: &[u8], sync: bool, n: usize) {
    let tmp = dir.join(format!("~t{n:016x}.tmp"));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .expect("create temp");
    file.write_all(value).expect("write");
    if sync {
        file.sync_data().expect("fsync file");
    }
    drop(file);
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
    if sync {
        File::open(dir)
            .expect("open dir")
            .sync_all()
            .expect("fsync dir");
    }
}

fn rate(ops: usize, took: Duration) -> f64 {
    ops as f64 / took.as_secs_f64()
}

/// Best times of: the raw sequence in one blocking loop, the raw sequence with one
/// `spawn_blocking` per operation (what `tokio::fs` does), and the store.
struct Trio {
    raw: Duration,
    raw_async: Duration,
    store: Duration,
}

impl Trio {
    fn new() -> Self {
        Trio {
            raw: Duration::MAX,
            raw_async: Duration::MAX,
            store: Duration::MAX,
        }
    }

    fn report(&self, what: &str, ops: usize) {
        let (raw, raw_async, store) = (
            rate(ops, self.raw),
            rate(ops, self.raw_async),
            rate(ops, self.store),
        );
        println!(
            "{what:<18} raw {raw:>8.0}/s  raw+spawn_blocking {raw_async:>8.0}/s  store {store:>8.0}/s  \
             store/raw {:.2}  store/raw+spawn_blocking {:.2}",
            store / raw,
            store / raw_async
        );
    }
}

async fn bench_mode(sync: SyncMode, size: usize) {
    let value = Bytes::from(vec![0xA5u8; size]);
    let keys: Vec<Key> = (0..KEYS)
        .map(|i| Key::new(format!("bench/k{i:02}")).expect("key"))
        .collect();
    let raw_dir = tempfile::tempdir().expect("raw dir");
    let raw_sub = raw_dir.path().join("bench");
    std::fs::create_dir(&raw_sub).expect("raw subdir");
    let store_dir = tempfile::tempdir().expect("store dir");
    let store = Arc::new(FileStore::open(store_dir.path(), sync).await.expect("open"));
    let fsync = sync != SyncMode::Never;
    let puts = puts_for(sync);
    let mut put = Trio::new();
    let mut get = Trio::new();
    let read = move |dir: &Path, n: usize| {
        let bytes = std::fs::read(dir.join(format!("k{:02}~", n % KEYS))).expect("read");
        assert_eq!(bytes.len(), size);
    };
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let dir = raw_sub.clone();
        let v = value.clone();
        tokio::task::spawn_blocking(move || {
            for n in 0..puts {
                raw_put(&dir, &format!("k{:02}~", n % KEYS), &v, fsync, n);
            }
        })
        .await
        .expect("raw puts");
        put.raw = put.raw.min(start.elapsed());

        let start = Instant::now();
        for n in 0..puts {
            let dir = raw_sub.clone();
            let v = value.clone();
            tokio::task::spawn_blocking(move || {
                raw_put(&dir, &format!("k{:02}~", n % KEYS), &v, fsync, n)
            })
            .await
            .expect("raw put");
        }
        put.raw_async = put.raw_async.min(start.elapsed());

        let start = Instant::now();
        for n in 0..puts {
            store
                .put(&keys[n % KEYS], value.clone(), PutMode::Overwrite)
                .await
                .expect("put");
        }
        put.store = put.store.min(start.elapsed());

        let start = Instant::now();
        let dir = raw_sub.clone();
        tokio::task::spawn_blocking(move || (0..GETS).for_each(|n| read(&dir, n)))
            .await
            .expect("raw gets");
        get.raw = get.raw.min(start.elapsed());

        let start = Instant::now();
        for n in 0..GETS {
            let dir = raw_sub.clone();
            tokio::task::spawn_blocking(move || read(&dir, n))
                .await
                .expect("raw get");
        }
        get.raw_async = get.raw_async.min(start.elapsed());

        let start = Instant::now();
        for n in 0..GETS {
            let entry = store
                .get(&keys[n % KEYS])
                .await
                .expect("get")
                .expect("present");
            assert_eq!(entry.value.len(), size);
        }
        get.store = get.store.min(start.elapsed());
    }
    let label = format!("{} {} KiB", sync.as_str(), size / 1024);
    put.report(&format!("put  {label}"), puts);
    get.report(&format!("get  {label}"), GETS);
}

/// Throughput of `WRITERS` tasks each putting its own keys.
async fn concurrent(sync: SyncMode, per_writer: usize, shared: bool) -> f64 {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(FileStore::open(dir.path(), sync).await.expect("open"));
    let value = Bytes::from(vec![0x5Au8; 1024]);
    let start = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let value = value.clone();
            tokio::spawn(async move {
                for n in 0..per_writer {
                    let key = if shared {
                        Key::new(format!("c/w{w:02}-k{}", n % 8))
                    } else {
                        Key::new(format!("c/w{w:02}/k{}", n % 8))
                    }
                    .expect("key");
                    store
                        .put(&key, value.clone(), PutMode::Overwrite)
                        .await
                        .expect("put");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    rate(WRITERS * per_writer, start.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo bench -p strata-tests --bench file -- concurrent` runs only the writers part.
    let only_concurrent = std::env::args().any(|a| a == "concurrent");
    runtime.block_on(async {
        println!("store-file benchmark: best of {ROUNDS} alternating rounds per side");
        for sync in [SyncMode::Always, SyncMode::Batch, SyncMode::Never] {
            if only_concurrent {
                break;
            }
            for size in [1024, 64 * 1024] {
                bench_mode(sync, size).await;
            }
        }
        for shared in [false, true] {
            let layout = if shared { "all in one directory" } else { "each in its own directory" };
            println!("{WRITERS} concurrent writers, 1 KiB puts, {layout}:");
            let mut best = [0f64; 3];
            for _ in 0..ROUNDS {
                for (i, sync) in [SyncMode::Always, SyncMode::Batch, SyncMode::Never]
                    .into_iter()
                    .enumerate()
                {
                    let per_writer = if sync == SyncMode::Never { 200 } else { 20 };
                    best[i] = best[i].max(concurrent(sync, per_writer, shared).await);
                }
            }
            println!(
                "  always {:>8.0} ops/s   batch {:>8.0} ops/s   never {:>8.0} ops/s   batch/always {:.2}",
                best[0],
                best[1],
                best[2],
                best[1] / best[0]
            );
        }
    });
}
