//! The file store: the conformance suite per `sync` setting, kill -9 crash tests, and
//! file-store specifics (corruption on disk, the root lock, layout). Foreign and special
//! files, temp-file cleanup, nested roots and opening without creating: `file_foreign.rs`.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use strata::{ConfigMap, ErrorKind, FileStore, Key, ListOptions, PutMode, Store, SyncMode};
use strata_tests::harness::Fixture;

async fn fixture(sync: SyncMode) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path(), sync)
        .await
        .expect("open file store");
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod always {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Always));
}

mod batch {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Batch));
}

mod never {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(SyncMode::Never));
}

fn config(path: &Path, sync: &str) -> ConfigMap {
    serde_json::json!({"type": "file", "path": path, "sync": sync})
        .as_object()
        .expect("object")
        .clone()
}

/// Run the kill -9 crash harness on a fresh root. The path is only a name until the store
/// creates it, so the child processes (which re-run the test and take the parent's
/// config) leave nothing behind; the parent removes the root when the run passes.
fn crash(test_name: &str, sync: &str) {
    let root = std::env::temp_dir().join(format!("strata-{test_name}-{}", std::process::id()));
    strata_tests::crash::run(
        test_name,
        config(&root, sync),
        strata_tests::crash::cycles(50),
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn crash_file_always() {
    crash("crash_file_always", "always");
}

#[test]
fn crash_file_batch() {
    crash("crash_file_batch", "batch");
}

/// `never` promises survival of a process crash, which is exactly what kill -9 tests.
#[test]
fn crash_file_never() {
    crash("crash_file_never", "never");
}

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

/// Every file and directory under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(dir).expect("under dir");
            out.push(rel.to_string_lossy().into_owned());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

async fn keys(store: &dyn Store, options: ListOptions) -> strata::Result<Vec<String>> {
    store
        .list(options)
        .map_ok(|m| m.key.as_str().to_owned())
        .try_collect()
        .await
}

#[tokio::test]
async fn layout_is_browsable_and_a_key_coexists_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    for k in ["a", "a/b", "a.c", "a0", "sp ace/ü"] {
        store
            .put(&key(k), Bytes::from(k.to_owned()), PutMode::Overwrite)
            .await
            .unwrap();
    }
    assert_eq!(
        tree(dir.path()),
        [
            "a",
            "a.c~",
            "a/b~",
            "a0~",
            "a~",
            "sp%20ace",
            "sp%20ace/%C3%BC~",
            "~lock"
        ]
    );
    // Byte order: `a` < `a.c` < `a/b` < `a0` ('.' < '/' < '0').
    assert_eq!(
        keys(&store, ListOptions::default()).await.unwrap(),
        ["a", "a.c", "a/b", "a0", "sp ace/ü"]
    );
}

#[tokio::test]
async fn escaping_keys_stay_under_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    let store = FileStore::open(&root, SyncMode::Never).await.unwrap();
    let awkward = [
        "..a/b",
        "...",
        "~lock",
        "~t1.tmp",
        "%2e%2e/x",
        "a\\..\\..\\b",
        "C:/windows",
        "con/nul/aux",
        "é/键/🔑",
        "sp ace/*?<>|\"'",
    ];
    for (i, k) in awkward.iter().enumerate() {
        store
            .put(&key(k), Bytes::from(vec![i as u8]), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let long = format!("long/{}/{}", "é".repeat(200), "x".repeat(600));
    store
        .put(&key(&long), Bytes::from_static(b"long"), PutMode::Overwrite)
        .await
        .unwrap();
    // Nothing but the root was created next to it.
    assert_eq!(
        tree(outer.path())
            .iter()
            .filter(|p| !p.starts_with("root"))
            .count(),
        0
    );
    // The lock file was not replaced by the key `~lock`, and every key reads back.
    assert_eq!(std::fs::metadata(root.join("~lock")).unwrap().len(), 0);
    for (i, k) in awkward.iter().enumerate() {
        assert_eq!(
            store.get(&key(k)).await.unwrap().unwrap().value,
            vec![i as u8]
        );
    }
    let mut expected: Vec<String> = awkward.iter().map(|k| k.to_string()).collect();
    expected.push(long.clone());
    expected.sort();
    assert_eq!(
        keys(&store, ListOptions::default()).await.unwrap(),
        expected
    );
    for k in awkward.iter().map(|k| k.to_string()).chain([long]) {
        store.delete(&key(&k)).await.unwrap();
    }
    assert_eq!(tree(&root), ["~lock"], "deletes prune every directory");
}

#[tokio::test]
async fn long_segments_get_hashed_names_and_keep_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    let long_file = format!("h/{}", "x".repeat(300));
    let long_dir = format!("h/{}/child", "y".repeat(300));
    for k in [&long_file, &long_dir, &"h/z".to_owned(), &"h/a".to_owned()] {
        store
            .put(&key(k), Bytes::from(k.clone()), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let names = tree(&dir.path().join("h"));
    assert!(names.iter().all(|n| n.len() < 80), "{names:?}");
    assert_eq!(
        names
            .iter()
            .filter(|n| !n.contains('/') && n.starts_with("~h") && n.ends_with('~'))
            .count(),
        1
    );
    assert!(names.iter().any(|n| n.ends_with("/~seg")), "{names:?}");
    assert_eq!(
        keys(&store, ListOptions::default()).await.unwrap(),
        ["h/a", long_file.as_str(), long_dir.as_str(), "h/z"]
    );
    assert_eq!(
        store.get(&key(&long_dir)).await.unwrap().unwrap().value,
        long_dir
    );
    store.delete(&key(&long_dir)).await.unwrap();
    store.delete(&key(&long_file)).await.unwrap();
    assert_eq!(tree(&dir.path().join("h")), ["a~", "z~"]);
}

/// Flip one byte of the file holding `k` at `offset_from_end` and return the file's path.
fn damage(root: &Path, file: &str, offset_from_end: u64) -> std::path::PathBuf {
    let path = root.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 1 - offset_from_end as usize;
    bytes[at] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn bit_flips_and_truncation_are_corruption_naming_key_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    let value = Bytes::from(vec![7u8; 4096]);
    for k in ["c/value", "c/header", "c/short"] {
        store
            .put(&key(k), value.clone(), PutMode::Overwrite)
            .await
            .unwrap();
    }
    // A flip in the value: get fails (head, which reads no value, still works).
    let path = damage(dir.path(), "c/value~", 100);
    let err = store.get(&key("c/value")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert_eq!(err.key(), Some("c/value"));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // A flip in the header: get, head and list all refuse.
    damage(dir.path(), "c/header~", 4096 + 10);
    let err = store.head(&key("c/header")).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.key()),
        (ErrorKind::Corrupted, Some("c/header"))
    );
    assert_eq!(
        store.get(&key("c/header")).await.unwrap_err().kind(),
        ErrorKind::Corrupted
    );
    let listed = keys(&store, ListOptions::default()).await.unwrap_err();
    assert_eq!(listed.kind(), ErrorKind::Corrupted);
    // A truncated file.
    let short = dir.path().join("c/short~");
    let len = std::fs::metadata(&short).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&short)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    for err in [
        store.get(&key("c/short")).await.unwrap_err(),
        store.head(&key("c/short")).await.unwrap_err(),
    ] {
        assert_eq!(
            (err.kind(), err.key()),
            (ErrorKind::Corrupted, Some("c/short")),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }
    // A conditional put on a corrupted key refuses rather than guessing; an overwrite heals it.
    let err = store
        .put(&key("c/short"), value.clone(), PutMode::Create)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted);
    store
        .put(&key("c/short"), value.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(
        store.get(&key("c/short")).await.unwrap().unwrap().value,
        value
    );
}

#[tokio::test]
async fn a_file_moved_to_another_key_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    store
        .put(&key("m/one"), Bytes::from_static(b"1"), PutMode::Overwrite)
        .await
        .unwrap();
    std::fs::copy(dir.path().join("m/one~"), dir.path().join("m/two~")).unwrap();
    let err = store.get(&key("m/two")).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.key()),
        (ErrorKind::Corrupted, Some("m/two")),
        "{err}"
    );
}

#[tokio::test]
async fn a_second_open_of_the_same_root_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let first = strata::open(&config(dir.path(), "always")).await.unwrap();
    for second in [
        strata::open(&config(dir.path(), "never")).await,
        strata::open_uri(&format!("file://{}", dir.path().display())).await,
    ] {
        let err = second.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
        let root = dir.path().canonicalize().unwrap();
        assert!(
            err.to_string().contains(&root.display().to_string()),
            "{err}"
        );
    }
    drop(first);
    let again = strata::open_uri(&format!("file://{}?sync=batch", dir.path().display())).await;
    assert!(
        again.is_ok(),
        "the lock is released when the store is dropped"
    );
}

/// The lock is per root across processes too: the child of this test tries to open the
/// root the parent holds.
#[test]
fn a_second_process_gets_the_lock_error() {
    const ROOT_ENV: &str = "STRATA_FILE_LOCK_CHILD_ROOT";
    let runtime = strata_tests::harness::runtime();
    if let Ok(root) = std::env::var(ROOT_ENV) {
        let err = runtime
            .block_on(strata::open(&config(Path::new(&root), "always")))
            .unwrap_err();
        println!("CHILD {:?} {err}", err.kind());
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let _held = runtime
        .block_on(strata::open(&config(dir.path(), "always")))
        .unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_second_process_gets_the_lock_error",
            "--exact",
            "--nocapture",
        ])
        .env(ROOT_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CHILD Locked locked"), "{stdout}");
}

#[tokio::test]
async fn listing_skips_excluded_subtrees_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Never).await.unwrap();
    for k in ["a/1", "b/c/d", "b/c0", "b/d"] {
        store
            .put(&key(k), Bytes::from_static(b"v"), PutMode::Overwrite)
            .await
            .unwrap();
    }
    // Ruin `b/c/d`: any listing that reads it fails, so one that succeeds skipped it.
    damage(dir.path(), "b/c/d~", 10);
    assert!(keys(&store, ListOptions::default()).await.is_err());
    let prefix = |p: &str| ListOptions::prefix(strata::Prefix::new(p).unwrap());
    assert_eq!(keys(&store, prefix("a/")).await.unwrap(), ["a/1"]);
    assert_eq!(keys(&store, prefix("b/c0")).await.unwrap(), ["b/c0"]);
    assert_eq!(
        keys(&store, ListOptions::default().start_after(key("b/c0")))
            .await
            .unwrap(),
        ["b/d"]
    );
    assert_eq!(
        keys(&store, ListOptions::default().start_after(key("b/c/d")))
            .await
            .unwrap(),
        ["b/c0", "b/d"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_put_never_leaves_a_partial_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    let k = key("drop/big");
    let old = Bytes::from(vec![1u8; 1024]);
    store
        .put(&k, old.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    let new = Bytes::from(vec![2u8; 16 << 20]);
    for wait_us in [0, 50, 500, 5_000] {
        let put = store.put(&k, new.clone(), PutMode::Overwrite);
        // Drop the put future part-way (or before it starts).
        let _ = tokio::time::timeout(std::time::Duration::from_micros(wait_us), put).await;
        let value = store.get(&k).await.unwrap().unwrap().value;
        assert!(
            value == old || value == new,
            "a partial value of {} bytes",
            value.len()
        );
        store
            .put(&k, old.clone(), PutMode::Overwrite)
            .await
            .unwrap();
    }
    // The per-key lock is held until a dropped put's blocking work ends, so the last
    // overwrite above was ordered after it; nothing is left half-written.
    assert_eq!(store.get(&k).await.unwrap().unwrap().value, old);
    drop(store);
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    assert!(!tree(dir.path()).iter().any(|n| n.ends_with(".tmp")));
    assert_eq!(
        keys(&store, ListOptions::default()).await.unwrap(),
        ["drop/big"]
    );
}

#[tokio::test]
async fn config_and_uri_are_checked_and_capabilities_follow_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = config(dir.path(), "always");
    bad.insert("colour".into(), "red".into());
    let err = strata::open(&bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("colour"), "{err}");
    let err = strata::open(&config(dir.path(), "sometimes"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sync"), "{err}");
    let uri = format!("file://{}?fsync=1", dir.path().display());
    let err = strata::open_uri(&uri).await.unwrap_err();
    assert!(err.to_string().contains("fsync"), "{err}");
    let err = strata::open_uri("file://elsewhere/data").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    for (sync, durability) in [
        ("always", strata::Durability::PowerLoss),
        ("batch", strata::Durability::PowerLoss),
        ("never", strata::Durability::ProcessCrash),
    ] {
        let uri = format!("file://{}?sync={sync}", dir.path().display());
        let store = strata::open_uri(&uri).await.unwrap();
        let caps = store.capabilities();
        assert_eq!(caps.durability, durability, "{sync}");
        assert_eq!(caps.conditional_puts, strata::ConditionalPuts::InProcess);
        assert!(!caps.atomic_batches);
    }
    // The default is `always`.
    let map = serde_json::json!({"type": "file", "path": dir.path()});
    let store = strata::open(map.as_object().unwrap()).await.unwrap();
    assert_eq!(
        store.capabilities().durability,
        strata::Durability::PowerLoss
    );
}

/// Concurrent deletes that empty a directory between them all succeed: one delete's prune
/// of the emptied directory never fails another's fsync of it (`delete_many` runs deletes
/// concurrently; `strata bench` cleaning up its keys hit this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deletes_emptying_a_directory_all_succeed() {
    for sync in [SyncMode::Always, SyncMode::Batch] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(dir.path(), sync).await.expect("open");
        for round in 0..20 {
            let batch: Vec<Key> = (0..50).map(|i| key(&format!("d/{i:03}"))).collect();
            let ops = batch
                .iter()
                .map(|k| strata::PutOp::overwrite(k.clone(), "v"))
                .collect();
            store.put_many(ops).await.expect("put_many");
            store
                .delete_many(&batch)
                .await
                .unwrap_or_else(|e| panic!("{sync:?}, round {round}: {e}"));
            assert!(
                keys(&store, ListOptions::default())
                    .await
                    .unwrap()
                    .is_empty(),
                "{sync:?}, round {round}"
            );
        }
    }
}
