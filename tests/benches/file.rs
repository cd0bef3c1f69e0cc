//! The file store against raw `std::fs` doing the same work, in the same run.
//!
//! - put: through the `Store` trait vs a raw loop of create temp, write, fsync, rename,
//!   fsync directory (no fsyncs for `never`, as the store);
//! - get: through the trait (which verifies the header and the value's CRC32C) vs
//!   `std::fs::read`;
//! - 32 concurrent writers, each in its own directory and all in one: `batch` vs
//!   `always` (and `never`) throughput.
//!
//! Every comparison runs in paired rounds (`strata_tests::bench`): each round runs every
//! side once, alternating which goes first, and a comparison is the median of the
//! per-round ratios, with their range. Run with `cargo bench -p strata-tests --bench file`
//! (add `-- concurrent` for the writers part only).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata::{FileStore, Key, PutMode, Store, SyncMode};
use strata_tests::bench::{Bench, Report};

/// Distinct keys a sequence cycles through (so most puts overwrite).
const KEYS: usize = 64;
const GETS: usize = 4000;
const WRITERS: usize = 32;
const RAW: &str = "raw std::fs";
const RAW_ASYNC: &str = "raw + spawn_blocking per op";
const STORE: &str = "store";

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

/// Print `report`, and the store against the raw sequence with one `spawn_blocking` per
/// operation (what `tokio::fs` does) as well as against the plain blocking loop.
fn print_trio(report: &Report) {
    print!("{report}");
    println!(
        "  {STORE} vs {RAW_ASYNC}: {}\n",
        report.ratio(STORE, RAW_ASYNC)
    );
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
    let read = move |dir: &Path, n: usize| {
        let bytes = std::fs::read(dir.join(format!("k{:02}~", n % KEYS))).expect("read");
        assert_eq!(bytes.len(), size);
    };
    let label = format!("{} {} KiB", sync.as_str(), size / 1024);
    let (raw_sub, value, keys, store) = (&raw_sub, &value, &keys, &store);

    print_trio(
        &Bench::new(format!("put  {label} (puts/s)"))
            .system(RAW, || async {
                let (dir, v) = (raw_sub.clone(), value.clone());
                tokio::task::spawn_blocking(move || {
                    for n in 0..puts {
                        raw_put(&dir, &format!("k{:02}~", n % KEYS), &v, fsync, n);
                    }
                })
                .await
                .expect("raw puts");
                puts as u64
            })
            .system(RAW_ASYNC, || async {
                for n in 0..puts {
                    let (dir, v) = (raw_sub.clone(), value.clone());
                    tokio::task::spawn_blocking(move || {
                        raw_put(&dir, &format!("k{:02}~", n % KEYS), &v, fsync, n)
                    })
                    .await
                    .expect("raw put");
                }
                puts as u64
            })
            .system(STORE, || async {
                for n in 0..puts {
                    store
                        .put(&keys[n % KEYS], value.clone(), PutMode::Overwrite)
                        .await
                        .expect("put");
                }
                puts as u64
            })
            .run()
            .await,
    );

    print_trio(
        &Bench::new(format!("get  {label} (gets/s)"))
            .system(RAW, || async {
                let dir = raw_sub.clone();
                tokio::task::spawn_blocking(move || (0..GETS).for_each(|n| read(&dir, n)))
                    .await
                    .expect("raw gets");
                GETS as u64
            })
            .system(RAW_ASYNC, || async {
                for n in 0..GETS {
                    let dir = raw_sub.clone();
                    tokio::task::spawn_blocking(move || read(&dir, n))
                        .await
                        .expect("raw get");
                }
                GETS as u64
            })
            .system(STORE, || async {
                for n in 0..GETS {
                    let entry = store
                        .get(&keys[n % KEYS])
                        .await
                        .expect("get")
                        .expect("present");
                    assert_eq!(entry.value.len(), size);
                }
                GETS as u64
            })
            .run()
            .await,
    );
}

/// One round of `WRITERS` tasks each putting its own keys into a fresh store: the puts
/// done and the time they took (opening the store is not timed).
async fn concurrent(sync: SyncMode, per_writer: usize, shared: bool) -> (u64, Duration) {
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
    ((WRITERS * per_writer) as u64, start.elapsed())
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
        for sync in [SyncMode::Always, SyncMode::Batch, SyncMode::Never] {
            if only_concurrent {
                break;
            }
            for size in [1024, 64 * 1024] {
                bench_mode(sync, size).await;
            }
        }
        for shared in [false, true] {
            let layout = if shared {
                "all in one directory"
            } else {
                "each in its own directory"
            };
            let mut bench = Bench::new(format!(
                "{WRITERS} concurrent writers, 1 KiB puts, {layout} (puts/s)"
            ));
            // `always` first: the reference the others are compared with.
            for sync in [SyncMode::Always, SyncMode::Batch, SyncMode::Never] {
                let per_writer = if sync == SyncMode::Never { 200 } else { 20 };
                bench = bench.timed(sync.as_str(), move || concurrent(sync, per_writer, shared));
            }
            bench.run().await.print();
        }
    });
}
