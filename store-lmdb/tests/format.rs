//! The format version: a database written before checksums (format 0) is upgraded in
//! place on open, a build that knows only format 0 refuses a format-1 file instead of
//! misreading it, and a format newer than this build's is refused.

use std::path::Path;

use bytes::Bytes;
use common::{key, rt};
use futures::TryStreamExt;
use redb::{ReadableDatabase, TableDefinition};
use store_core::{ErrorKind, Key, ListOptions, PutMode, Store, Version};
use store_lmdb::{RedbConfig, RedbStore};

mod common;

const META_V0: TableDefinition<'static, &str, (u64, u64, u64)> =
    TableDefinition::new("strata_meta");
const VALUES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("strata_values");
const STATE_V0: TableDefinition<'static, &str, u64> = TableDefinition::new("strata_state");
const FORMAT: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("strata_format");

/// A database as the code before checksums wrote it: (version, mtime, size) metadata, a
/// 16-byte big-endian header before each value, the counter in `strata_state`.
fn write_format_0(path: &Path, rows: &[(&str, u64, &[u8])], counter: u64) {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META_V0).unwrap();
        let mut values = txn.open_table(VALUES).unwrap();
        for (k, version, value) in rows {
            let mtime = 1_700_000_000_000_000_000 + version;
            meta.insert(*k, (*version, mtime, value.len() as u64))
                .unwrap();
            let mut row = version.to_be_bytes().to_vec();
            row.extend_from_slice(&mtime.to_be_bytes());
            row.extend_from_slice(value);
            values.insert(*k, row.as_slice()).unwrap();
        }
        let mut state = txn.open_table(STATE_V0).unwrap();
        state.insert("version_counter", counter).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn format_0_databases_are_upgraded_in_place() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        let rows: [(&str, u64, &[u8]); 3] =
            [("a", 3, b"alpha"), ("b/c", 7, b""), ("d", 9, &[0xFF; 3000])];
        write_format_0(&path, &rows, 9);

        let store = RedbStore::open(RedbConfig::new(&path).create(false))
            .await
            .unwrap();
        for (k, version, value) in rows {
            let entry = store.get(&key(k)).await.unwrap().expect("kept");
            assert_eq!(entry.value.as_ref(), value, "{k}");
            assert_eq!(entry.meta.version, Version::from_u64(version), "{k}");
            let meta = store.head(&key(k)).await.unwrap().expect("kept");
            assert_eq!(meta, entry.meta, "{k}");
        }
        let listed: Vec<Key> = store
            .list(ListOptions::default())
            .map_ok(|m| m.key)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, [key("a"), key("b/c"), key("d")]);
        // Versions go on from the old counter: a compare-and-swap against the old version
        // works, and the new version is later.
        let meta = store
            .put(
                &key("a"),
                Bytes::from_static(b"new"),
                PutMode::Update(Version::from_u64(3)),
            )
            .await
            .unwrap();
        assert_eq!(meta.version, Version::from_u64(10));
        drop(store);

        // The file is format 1 now: the old tables are gone, and the old code's first
        // step (opening `strata_meta` as three u64) fails instead of misreading.
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        assert!(
            txn.open_table(STATE_V0).is_err(),
            "strata_state was dropped"
        );
        let err = txn.open_table(META_V0).expect_err("type mismatch");
        assert!(err.to_string().contains("strata_meta"), "{err}");
        assert!(
            txn.open_table(FORMAT)
                .unwrap()
                .get("format")
                .unwrap()
                .is_some()
        );
        drop(txn);
        drop(db);

        let store = RedbStore::open(RedbConfig::new(&path)).await.unwrap();
        let entry = store.get(&key("a")).await.unwrap().unwrap();
        assert_eq!(entry.value.as_ref(), b"new");
    });
}

/// A format-0 row too short for its header stops the upgrade, naming the key, and the
/// file is left as it was.
#[test]
fn an_upgrade_that_finds_a_damaged_row_changes_nothing() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        write_format_0(&path, &[("good", 1, b"fine")], 1);
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(VALUES)
                .unwrap()
                .insert("short", &[1u8, 2][..])
                .unwrap();
            txn.commit().unwrap();
        }
        let err = RedbStore::open(RedbConfig::new(&path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert_eq!(err.key(), Some("short"), "{err}");
        assert!(err.to_string().contains("upgrade"), "{err}");
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        assert!(txn.open_table(META_V0).is_ok(), "still format 0");
        let values = txn.open_table(VALUES).unwrap();
        assert_eq!(values.get("good").unwrap().unwrap().value().len(), 16 + 4);
        assert!(txn.open_table(FORMAT).is_err(), "no format row was written");
    });
}

fn checked_row(name: &str, value: u64) -> Vec<u8> {
    let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
    digest.update(&(name.len() as u16).to_le_bytes());
    digest.update(name.as_bytes());
    digest.update(&value.to_le_bytes());
    let mut row = (digest.finalize() as u32).to_le_bytes().to_vec();
    row.extend_from_slice(&value.to_le_bytes());
    row
}

fn set_format_row(path: &Path, row: &[u8]) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(FORMAT)
        .unwrap()
        .insert("format", row)
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn newer_formats_and_damaged_format_rows_are_refused() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        drop(RedbStore::open(RedbConfig::new(&path)).await.unwrap());

        set_format_row(&path, &checked_row("format", 2));
        let err = RedbStore::open(RedbConfig::new(&path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("format 2"), "{err}");

        let mut flipped = checked_row("format", 1);
        flipped[6] ^= 0x10;
        set_format_row(&path, &flipped);
        let err = RedbStore::open(RedbConfig::new(&path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("db.redb"), "names the file: {err}");

        set_format_row(&path, &checked_row("format", 1));
        drop(RedbStore::open(RedbConfig::new(&path)).await.unwrap());
    });
}
