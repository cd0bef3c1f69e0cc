//! `RedbStore` (crate `store-lmdb`): the conformance suite for both durability settings,
//! the kill -9 crash test, and the backend's own promises: group commit with per-request
//! conditions, one database per file per process, a clear error for a second process,
//! `flush` in `none` mode, compaction, and listings that hold no read transaction.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use store_core::{ConfigMap, Durability, ErrorKind, Key, ListOptions, PutMode, PutOp, Store};
use store_lmdb::{LIST_CHUNK, RedbConfig, RedbDurability, RedbStore};
use strata_tests::harness::{Fixture, runtime};

fn config_map(path: &std::path::Path, durability: &str) -> ConfigMap {
    json!({"type": "redb", "path": path, "durability": durability})
        .as_object()
        .expect("object")
        .clone()
}

async fn fixture(durability: RedbDurability) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RedbConfig::new(dir.path().join("store.redb")).durability(durability);
    let store = RedbStore::open(config).await.expect("open redb store");
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod immediate {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(RedbDurability::Immediate));
}

mod none {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(RedbDurability::None));
}

/// The suite once more with the value cache off, so every read takes the blocking path.
mod uncached {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = RedbConfig::new(dir.path().join("store.redb")).value_cache_size(0);
        let store = RedbStore::open(config).await.expect("open redb store");
        Fixture::new(Arc::new(store)).with_guard(dir)
    });
}

#[test]
fn crash_redb() {
    // The harness re-runs this test as the child, handing it the parent's config, so the
    // path is computed without side effects here (the store creates the directory).
    let dir = std::env::temp_dir().join(format!("strata-redb-crash-{}", std::process::id()));
    let config = config_map(&dir.join("crash.redb"), "immediate");
    strata_tests::crash::run("crash_redb", config, strata_tests::crash::cycles(50));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kills around the first open of a new database (the embedded default's first `put`):
/// every cycle must leave a database that opens and holds what was acknowledged, and no
/// creation debris beside it.
#[test]
fn crash_redb_creation() {
    strata_tests::crash_create::run(
        "crash_redb_creation",
        |dir| config_map(&dir.join("data").join("db.redb"), "immediate"),
        |file| file.file_name().is_some_and(|n| n == "db.redb"),
        strata_tests::crash::cycles(200),
    );
}

fn key(s: &str) -> Key {
    Key::new(s).expect("valid key")
}

fn temp_store_path() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    (dir, path)
}

/// 64 tasks queue conditional puts while the writer is held, so all of them land in one
/// group, in a known arrival order. Every condition must be judged against the writes
/// before it in that group: the first `Update(v0)` and the first `Create` of a shared key
/// win, every later one fails alone, and the unconditional neighbours all commit.
#[test]
fn conditional_puts_from_64_tasks_in_one_group() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let store = RedbStore::open(RedbConfig::new(&path)).await.expect("open");
        let shared_u = key("shared/u");
        let v0 = store
            .put(&shared_u, Bytes::from_static(b"seed"), PutMode::Create)
            .await
            .expect("seed")
            .version;
        // Keys `own/i` with i % 8 == 2 exist already, so their `Create` must fail.
        for i in (2..64).step_by(8) {
            store
                .put(&key(&format!("own/{i}")), Bytes::new(), PutMode::Create)
                .await
                .expect("pre-create");
        }
        let before = store.stats();
        let hold = store.hold_writes().await.expect("hold the writer");
        let mut tasks = Vec::new();
        for i in 0..64usize {
            let (k, mode) = match i % 4 {
                0 => (shared_u.clone(), PutMode::Update(v0.clone())),
                1 => (key("shared/c"), PutMode::Create),
                2 => (key(&format!("own/{i}")), PutMode::Create),
                _ => (key(&format!("own/{i}")), PutMode::Overwrite),
            };
            let s = store.clone();
            let value = Bytes::from(i.to_string());
            tasks.push(tokio::spawn(async move { s.put(&k, value, mode).await }));
            // Fix the arrival order: task i is queued before task i + 1 starts.
            while store.queued() < i + 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        drop(hold);
        let mut won = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.expect("task") {
                Ok(meta) => won.push((i, meta)),
                Err(e) => {
                    let expected = match i % 4 {
                        0 => ErrorKind::VersionMismatch,
                        1 | 2 => ErrorKind::AlreadyExists,
                        _ => panic!("overwrite {i} failed: {e}"),
                    };
                    assert_eq!(e.kind(), expected, "task {i}: {e}");
                }
            }
        }
        let winners: Vec<usize> = won.iter().map(|(i, _)| *i).collect();
        let expected: Vec<usize> = (0..64)
            .filter(|i| matches!(i, 0 | 1) || i % 4 == 3 || i % 8 == 6)
            .collect();
        assert_eq!(winners, expected, "exactly these puts must win");
        // Versions follow arrival order within the group.
        let versions: Vec<u64> = won
            .iter()
            .map(|(_, m)| m.version.as_str().parse().expect("numeric version"))
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        let after = store.stats();
        assert_eq!(after.commits - before.commits, 1, "one group, one commit");
        assert_eq!(after.writes - before.writes, expected.len() as u64);
        let value = |k: Key| {
            let store = store.clone();
            async move { store.get(&k).await.expect("get").expect("present").value }
        };
        assert_eq!(value(shared_u).await, Bytes::from_static(b"0"));
        assert_eq!(value(key("shared/c")).await, Bytes::from_static(b"1"));
        assert_eq!(value(key("own/2")).await, Bytes::new());
        assert_eq!(value(key("own/6")).await, Bytes::from_static(b"6"));
    });
}

/// `put_many` and `delete_many` are one unit each: a failed condition anywhere in a batch
/// writes nothing of it, even when its group neighbours commit.
#[test]
fn batches_fail_whole_inside_a_group() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let store = RedbStore::open(RedbConfig::new(&path)).await.expect("open");
        store
            .put(&key("taken"), Bytes::from_static(b"x"), PutMode::Create)
            .await
            .expect("seed");
        let hold = store.hold_writes().await.expect("hold");
        let s = store.clone();
        let bad = tokio::spawn(async move {
            s.put_many(vec![
                PutOp::new(key("batch/a"), Bytes::from_static(b"a"), PutMode::Create),
                PutOp::new(key("taken"), Bytes::from_static(b"y"), PutMode::Create),
            ])
            .await
        });
        while store.queued() < 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let s = store.clone();
        let good = tokio::spawn(async move {
            s.put(&key("neighbour"), Bytes::from_static(b"n"), PutMode::Create)
                .await
        });
        while store.queued() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(hold);
        let err = bad.await.expect("task").expect_err("the batch must fail");
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        good.await.expect("task").expect("the neighbour commits");
        assert!(store.get(&key("batch/a")).await.expect("get").is_none());
        assert_eq!(
            store
                .get(&key("taken"))
                .await
                .expect("get")
                .expect("kept")
                .value,
            Bytes::from_static(b"x")
        );
    });
}

/// A second open of the same file in this process shares the database; asking for other
/// settings fails clearly; once every handle is gone, the file is closed and reopens.
#[test]
fn second_open_in_process_shares_or_fails_clearly() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let first = RedbStore::open(RedbConfig::new(&path)).await.expect("open");
        let second = RedbStore::open(RedbConfig::new(&path))
            .await
            .expect("share");
        first
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
            .await
            .expect("put");
        assert!(second.get(&key("k")).await.expect("get").is_some());
        let err = RedbStore::open(RedbConfig::new(&path).durability(RedbDurability::None))
            .await
            .expect_err("other settings must not share");
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert!(err.message().contains("already open"), "{err}");
        assert!(err.message().contains("durability = immediate"), "{err}");
        drop((first, second));
        assert!(!RedbStore::is_open(&path));
        let again = RedbStore::open(RedbConfig::new(&path).durability(RedbDurability::None))
            .await
            .expect("reopen with other settings once closed");
        assert!(again.get(&key("k")).await.expect("get").is_some());
    });
}

const CHILD_PATH_ENV: &str = "STRATA_REDB_LOCK_CHILD";

/// Another process opening a file this one holds gets `Locked`, saying it is already open.
/// The test re-runs itself as that other process.
#[test]
fn second_process_gets_a_clear_locked_error() {
    if let Ok(path) = std::env::var(CHILD_PATH_ENV) {
        let result = runtime().block_on(RedbStore::open(RedbConfig::new(path)));
        match result {
            Ok(_) => println!("CHILD opened"),
            Err(e) => println!("CHILD {} {}", e.kind().as_str(), e.message()),
        }
        return;
    }
    let (_dir, path) = temp_store_path();
    let store = runtime()
        .block_on(RedbStore::open(RedbConfig::new(&path)))
        .expect("open");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "second_process_gets_a_clear_locked_error",
            "--nocapture",
        ])
        .env(CHILD_PATH_ENV, &path)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CHILD "))
        .unwrap_or_else(|| panic!("no report from the child: {stdout}"));
    assert!(
        line.starts_with(&format!("CHILD {} ", ErrorKind::Locked.as_str())),
        "{line}"
    );
    assert!(line.contains("already open in another process"), "{line}");
    drop(store);
}

/// Config maps go through the registry: unknown fields are named, `lmdb` is an alias,
/// `redb:///abs/path` URIs work.
#[test]
fn config_is_checked_and_lmdb_is_no_alias() {
    runtime().block_on(async {
        let (dir, path) = temp_store_path();
        let mut map = config_map(&path, "immediate");
        map.insert("colour".into(), json!("red"));
        let err = strata::open(&map).await.expect_err("unknown field");
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("colour"), "{err}");

        let mut map = config_map(&path, "sometimes");
        let err = strata::open(&map).await.expect_err("bad durability");
        assert!(err.to_string().contains("durability"), "{err}");

        // `lmdb` was an alias of redb; it now opens an LMDB environment (a directory).
        let env = dir.path().join("env");
        map.insert("type".into(), json!("lmdb"));
        map.insert("path".into(), json!(env));
        map.insert("durability".into(), json!("none"));
        let store = strata::open(&map).await.expect("lmdb");
        assert_eq!(store.capabilities().durability, Durability::None);
        assert!(env.join("data.mdb").is_file(), "an LMDB environment");
        store
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
            .await
            .expect("put");
        store.flush().await.expect("flush");
        drop(store);

        let uri = format!("redb://{}", dir.path().join("uri.redb").display());
        let store = strata::open_uri(&uri).await.expect("open by URI");
        assert_eq!(store.capabilities().durability, Durability::PowerLoss);
    });
}

/// The embedded default (`./strata-data/strata.redb`, relative) creates its directories.
#[test]
fn relative_default_style_path_creates_directories() {
    runtime().block_on(async {
        let base = format!("strata-data-test-{}", std::process::id());
        let map = json!({"type": "redb", "path": format!("./{base}/nested/strata.redb")})
            .as_object()
            .expect("object")
            .clone();
        let result = strata::open(&map).await;
        let exists = std::path::Path::new(&base)
            .join("nested/strata.redb")
            .is_file();
        let _ = std::fs::remove_dir_all(&base);
        let store = result.expect("open a relative path");
        assert!(exists, "the database file was created");
        drop(store);
    });
}

/// A listing holds no read transaction between chunks: compaction, which needs every read
/// transaction closed, succeeds while a long listing is half consumed.
#[test]
fn listing_holds_no_transaction_and_compact_reclaims() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let store = RedbStore::open(RedbConfig::new(&path).durability(RedbDurability::None))
            .await
            .expect("open");
        let ops: Vec<PutOp> = (0..3 * LIST_CHUNK)
            .map(|i| {
                PutOp::new(
                    key(&format!("l/{i:05}")),
                    Bytes::from(vec![7u8; 4096]),
                    PutMode::Overwrite,
                )
            })
            .collect();
        store.put_many(ops).await.expect("fill");
        let mut listing = store.list(ListOptions::default());
        for _ in 0..10 {
            listing.next().await.expect("item").expect("meta");
        }
        let keys: Vec<Key> = (0..3 * LIST_CHUNK)
            .map(|i| key(&format!("l/{i:05}")))
            .collect();
        store
            .delete_many(&keys[..2 * LIST_CHUNK])
            .await
            .expect("delete");
        store.flush().await.expect("flush");
        let size_before = std::fs::metadata(&path).expect("stat").len();
        store.compact().await.expect("compact while listing");
        let size_after = std::fs::metadata(&path).expect("stat").len();
        assert!(size_after < size_before, "{size_after} < {size_before}");
        // The listing goes on from where it was, over what is left.
        let rest: Vec<_> = listing.collect().await;
        assert!(rest.iter().all(Result::is_ok));
        assert!(!rest.is_empty());
        assert_eq!(store.list(ListOptions::default()).count().await, LIST_CHUNK);
    });
}

/// With `durability = "none"`, closing the last handle commits durably: the writes are there
/// after a reopen.
#[test]
fn none_mode_keeps_writes_across_a_clean_close() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let store = RedbStore::open(RedbConfig::new(&path).durability(RedbDurability::None))
            .await
            .expect("open");
        store
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
            .await
            .expect("put");
        drop(store);
        assert!(!RedbStore::is_open(&path));
        let store = RedbStore::open(RedbConfig::new(&path))
            .await
            .expect("reopen");
        let entry = store.get(&key("k")).await.expect("get").expect("kept");
        assert_eq!(entry.value, Bytes::from_static(b"v"));
    });
}

/// Cold point gets from many tasks are coalesced into shared read transactions; each must
/// still see its own task's last acknowledged write and nobody else's value.
#[test]
fn coalesced_cold_reads_see_acknowledged_writes() {
    runtime().block_on(async {
        let (_dir, path) = temp_store_path();
        let store = RedbStore::open(
            RedbConfig::new(&path)
                .durability(RedbDurability::None)
                .value_cache_size(0),
        )
        .await
        .expect("open");
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let k = key(&format!("cold/{t}"));
                    for i in 0..100u32 {
                        let value = Bytes::from(format!("{t}/{i}"));
                        store
                            .put(&k, value.clone(), PutMode::Overwrite)
                            .await
                            .expect("put");
                        let got = store.get(&k).await.expect("get").expect("present");
                        assert_eq!(got.value, value, "task {t} read a stale or foreign value");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
}

/// Dropping the last handle closes the file wherever it happens: in a task on a
/// multi-threaded runtime (the wait is announced with `block_in_place`), on a
/// current-thread runtime (where that is not allowed, so the wait stays inline), and
/// outside any runtime.
#[test]
fn last_handle_closes_on_any_runtime() {
    let (_dir, path) = temp_store_path();
    let open = |path: std::path::PathBuf| async move {
        let store = RedbStore::open(RedbConfig::new(&path).durability(RedbDurability::None))
            .await
            .expect("open");
        store
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Overwrite)
            .await
            .expect("put");
        store
    };
    let multi = runtime();
    let p = path.clone();
    multi.block_on(async move {
        let store = open(p).await;
        tokio::spawn(async move { drop(store) })
            .await
            .expect("task");
    });
    assert!(!RedbStore::is_open(&path));
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = current.block_on(open(path.clone()));
    current.block_on(async move { drop(store) });
    assert!(!RedbStore::is_open(&path));
    let store = multi.block_on(open(path.clone()));
    drop(store);
    assert!(!RedbStore::is_open(&path));
}
