//! The LMDB engine's own promises (the conformance suite runs in `strata-tests`): rows are
//! checksummed (damaged bytes, a lost row: `Corrupted` naming the key, listings go on),
//! versions survive a reopen, one environment per directory per process, `create = false`,
//! and a full map is a clear error that leaves the environment usable.

use std::path::Path;

use bytes::Bytes;
use common::{key, rt};
use futures::StreamExt;
use heed::types::Bytes as Raw;
use store_core::{ErrorKind, ListOptions, Meta, PutMode, Store};
use store_lmdb::{LmdbConfig, LmdbDurability, LmdbStore};

mod common;

fn config(path: &Path) -> LmdbConfig {
    // No value cache: every read goes to the environment.
    LmdbConfig::new(path).value_cache_size(0)
}

/// How to damage a row.
type Edit<'a> = Option<&'a dyn Fn(&mut Vec<u8>)>;

/// Rewrite (or, with `None`, delete) the row of `k` in the database `db`, through raw heed.
fn edit_row(path: &Path, db: &str, k: &str, edit: Edit<'_>) {
    let mut options = heed::EnvOpenOptions::new();
    options.max_dbs(3).map_size(1 << 30);
    // SAFETY: the store that wrote the environment is closed, and nothing else maps it.
    #[allow(unsafe_code)]
    let env = unsafe { options.open(path) }.unwrap();
    let mut txn = env.write_txn().unwrap();
    let table: heed::Database<Raw, Raw> = env.open_database(&txn, Some(db)).unwrap().unwrap();
    match edit {
        Some(edit) => {
            let mut row = table.get(&txn, k.as_bytes()).unwrap().unwrap().to_vec();
            edit(&mut row);
            table.put(&mut txn, k.as_bytes(), &row).unwrap();
        }
        None => {
            table.delete(&mut txn, k.as_bytes()).unwrap();
        }
    }
    txn.commit().unwrap();
    env.prepare_for_closing().wait();
}

async fn list_all(store: &LmdbStore) -> Vec<store_core::Result<Meta>> {
    store.list(ListOptions::default()).collect().await
}

#[test]
fn damaged_and_lost_rows_are_reported_by_key() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        {
            let store = LmdbStore::open(config(&path)).await.unwrap();
            for k in ["a", "b", "c", "d"] {
                store
                    .put(&key(k), Bytes::from(format!("value {k}")), PutMode::Create)
                    .await
                    .unwrap();
            }
        }
        // `b`: a flipped value byte; `c`: its metadata row damaged; `d`: its value row lost.
        edit_row(
            &path,
            "strata_values",
            "b",
            Some(&|row| *row.last_mut().unwrap() ^= 1),
        );
        edit_row(&path, "strata_meta", "c", Some(&|row| row[9] ^= 0x40));
        edit_row(&path, "strata_values", "d", None);
        let store = LmdbStore::open(config(&path)).await.unwrap();
        let corrupted = |r: store_core::Result<_>, k: &str| {
            let err = r.map(|_: ()| ()).expect_err("damage must be reported");
            assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
            assert_eq!(err.key(), Some(k), "{err}");
        };
        assert_eq!(
            store.get(&key("a")).await.unwrap().unwrap().value,
            "value a"
        );
        corrupted(store.get(&key("b")).await.map(|_| ()), "b");
        corrupted(store.head(&key("c")).await.map(|_| ()), "c");
        corrupted(store.get(&key("d")).await.map(|_| ()), "d");
        let many = store.get_many(&[key("a"), key("b")]).await;
        corrupted(many.map(|_| ()), "b");
        // The listing reports `c` by key and goes on to `d`.
        let listed = list_all(&store).await;
        assert_eq!(listed.len(), 4, "{listed:?}");
        assert!(listed[0].is_ok() && listed[1].is_ok() && listed[3].is_ok());
        corrupted(listed[2].clone().map(|_| ()), "c");
        // An overwrite repairs a damaged key, a delete removes a lost one.
        store
            .put(&key("b"), Bytes::from_static(b"new"), PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(store.get(&key("b")).await.unwrap().unwrap().value, "new");
        store.delete(&key("d")).await.unwrap();
        assert!(store.get(&key("d")).await.unwrap().is_none());
    });
}

#[test]
fn versions_grow_across_reopens_and_one_env_is_shared() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        let first = {
            let store = LmdbStore::open(LmdbConfig::new(&path)).await.unwrap();
            let again = LmdbStore::open(LmdbConfig::new(&path)).await.unwrap();
            let meta = store
                .put(&key("k"), Bytes::new(), PutMode::Create)
                .await
                .unwrap();
            assert!(again.head(&key("k")).await.unwrap().is_some(), "shared");
            let other = LmdbConfig::new(&path).durability(LmdbDurability::None);
            let err = LmdbStore::open(other).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
            meta.version
        };
        assert!(!LmdbStore::is_open(&path));
        let store = LmdbStore::open(LmdbConfig::new(&path)).await.unwrap();
        let meta = store
            .put(&key("k"), Bytes::new(), PutMode::Update(first.clone()))
            .await
            .unwrap();
        let (a, b): (u64, u64) = (
            first.as_str().parse().unwrap(),
            meta.version.as_str().parse().unwrap(),
        );
        assert!(b > a, "{a} then {b}");
        assert_eq!(
            store.locations(),
            vec![format!("lmdb://{}", store.path().display())]
        );
    });
}

#[test]
fn nothing_is_created_when_creation_is_off() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing");
        let err = LmdbStore::open(LmdbConfig::new(&path).create(false))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(!path.exists());
    });
}

#[test]
fn a_full_map_is_a_clear_error_and_the_store_goes_on() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        let store = LmdbStore::open(config(&path).map_size(1 << 20))
            .await
            .unwrap();
        store
            .put(&key("small"), Bytes::from_static(b"x"), PutMode::Create)
            .await
            .unwrap();
        let err = store
            .put(
                &key("big"),
                Bytes::from(vec![7u8; 4 << 20]),
                PutMode::Create,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("map_size"), "{err}");
        assert_eq!(err.key(), Some("big"), "{err}");
        // The failed group wrote nothing; the environment still reads and writes.
        assert!(store.get(&key("big")).await.unwrap().is_none());
        store.delete(&key("small")).await.unwrap();
        assert!(store.get(&key("small")).await.unwrap().is_none());
    });
}
