//! `LmdbStore` (crate `store-lmdb`): the conformance suite for both durability settings and
//! with the value cache off, the kill -9 crash test, and what the facade promises for it:
//! `type = "lmdb"` and `lmdb:///dir` open LMDB (not redb), and a second process gets a
//! clear `Locked` error.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use store_core::{ConfigMap, ErrorKind, Key, PutMode, Store};
use store_lmdb::{LmdbConfig, LmdbDurability, LmdbStore};
use strata_tests::harness::{Fixture, runtime};

fn config_map(path: &std::path::Path, durability: &str) -> ConfigMap {
    json!({"type": "lmdb", "path": path, "durability": durability})
        .as_object()
        .expect("object")
        .clone()
}

async fn fixture(config: impl FnOnce(LmdbConfig) -> LmdbConfig) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LmdbStore::open(config(LmdbConfig::new(dir.path().join("env"))))
        .await
        .expect("open lmdb store");
    Fixture::new(Arc::new(store)).with_guard(dir)
}

mod immediate {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(|c| c));
}

mod none {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(|c| c.durability(LmdbDurability::None)));
}

/// The suite once more with the value cache off, so every read takes the blocking path.
mod uncached {
    use super::*;
    strata_tests::conformance_tests!(|| fixture(|c| c.value_cache_size(0)));
}

#[test]
fn crash_lmdb() {
    // The harness re-runs this test as the child, handing it the parent's config, so the
    // path is computed without side effects here (the store creates the directory).
    let dir = std::env::temp_dir().join(format!("strata-lmdb-crash-{}", std::process::id()));
    let config = config_map(&dir.join("env"), "immediate");
    strata_tests::crash::run("crash_lmdb", config, strata_tests::crash::cycles(50));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 64 writers queued while the writer is held share one commit (one fsync), and each
/// conditional put is judged in arrival order inside it: the first `Create` of a shared
/// key wins, the others fail alone.
#[test]
fn writers_share_one_group_commit() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LmdbStore::open(LmdbConfig::new(dir.path().join("env")))
            .await
            .expect("open");
        let before = store.stats();
        let hold = store.hold_writes().await.expect("hold the writer");
        let mut tasks = Vec::new();
        for i in 0..64usize {
            let s = store.clone();
            let key = if i % 2 == 0 {
                Key::new("shared").expect("key")
            } else {
                Key::new(format!("own/{i}")).expect("key")
            };
            tasks.push(tokio::spawn(async move {
                s.put(&key, Bytes::from(i.to_string()), PutMode::Create)
                    .await
            }));
            while store.queued() < i + 1 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        drop(hold);
        let mut won = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.expect("task") {
                Ok(_) => won.push(i),
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{i}: {e}"),
            }
        }
        let expected: Vec<usize> = (0..64).filter(|i| *i == 0 || i % 2 == 1).collect();
        assert_eq!(won, expected);
        let after = store.stats();
        assert_eq!(after.commits - before.commits, 1, "one group, one commit");
        assert_eq!(after.writes - before.writes, 33);
    });
}

/// `type = "lmdb"` used to be an alias of redb: it must open an LMDB environment now, from
/// a config map and from a URI, and report its own location.
#[test]
fn the_facade_opens_lmdb_for_type_lmdb() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = dir.path().join("env");
        let store = strata::open(&config_map(&env, "none")).await.expect("open");
        assert!(env.join("data.mdb").is_file(), "an LMDB environment");
        let canonical = std::fs::canonicalize(&env).expect("canonical");
        assert_eq!(
            store.locations(),
            vec![format!("lmdb://{}", canonical.display())]
        );
        drop(store);
        let uri = format!("lmdb://{}?durability=none", env.display());
        let store = strata::open_uri(&uri).await.expect("open the URI");
        assert_eq!(
            store.capabilities().durability,
            store_core::Durability::None
        );
        let err = strata::open_uri(&format!("lmdb://{}?map_size=lots", env.display()))
            .await
            .expect_err("a bad parameter");
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("map_size"), "{err}");
    });
}

/// Another process holding the environment makes the open fail with `Locked`, saying so.
#[test]
fn a_second_process_gets_a_clear_lock_error() {
    const CHILD: &str = "STRATA_LMDB_LOCK_CHILD";
    if let Ok(dir) = std::env::var(CHILD) {
        runtime().block_on(async {
            let _store = LmdbStore::open(LmdbConfig::new(&dir))
                .await
                .expect("child open");
            println!("READY");
            std::thread::sleep(std::time::Duration::from_secs(30));
        });
        return;
    }
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = dir.path().join("env");
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "a_second_process_gets_a_clear_lock_error",
            "--nocapture",
        ])
        .env(CHILD, &env)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("stdout");
    let ready = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("READY"));
    assert!(ready, "the child opened the environment");
    let err = runtime()
        .block_on(LmdbStore::open(LmdbConfig::new(&env)))
        .expect_err("the child holds it");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    assert!(err.to_string().contains("another process"), "{err}");
}
