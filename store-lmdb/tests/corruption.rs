//! Damaged files: bytes that fail their checksum are `Corrupted` naming the key and never
//! returned, a listing reports a damaged entry and goes on, redb's panics on damaged pages
//! become `Corrupted`, and random bit flips never produce a wrong value (issue 16, items
//! 3 and 4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::{key, rt};
use futures::StreamExt;
use redb::{ReadableTable, TableDefinition};
use store_core::{Error, ErrorKind, Key, ListOptions, Meta, PutMode, PutOp, Store};
use store_lmdb::{RedbConfig, RedbStore};

mod common;

const META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("strata_meta");
const VALUES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("strata_values");
const PAGE: usize = 4096;

/// The value written at key number `i`: marked with its key, of a length from 0 to ~2 KiB
/// (a few span several pages).
fn value_of(i: usize) -> Bytes {
    let len = match i % 7 {
        0 => 0,
        6 => 9000,
        n => n * 300,
    };
    let mut v = format!("<value of key-{i:03}>").into_bytes();
    v.extend((0..len).map(|j| (i * 31 + j * 7) as u8));
    v.into()
}

fn config(path: &Path) -> RedbConfig {
    // No value cache: every read goes to the file.
    RedbConfig::new(path).value_cache_size(0)
}

/// A database of `n` keys, written in deterministic groups; returns each key's metadata.
async fn build(path: &Path, n: usize) -> BTreeMap<Key, (Bytes, Meta)> {
    let store = RedbStore::open(config(path)).await.unwrap();
    let mut written = BTreeMap::new();
    let all: Vec<usize> = (0..n).collect();
    for batch in all.chunks(50) {
        let ops: Vec<PutOp> = batch
            .iter()
            .map(|&i| PutOp::new(key(&format!("key-{i:03}")), value_of(i), PutMode::Create))
            .collect();
        let metas = store.put_many(ops.clone()).await.unwrap();
        for (op, meta) in ops.into_iter().zip(metas) {
            written.insert(op.key, (op.value, meta));
        }
    }
    written
}

/// Rewrite the row of `key` in `table` with `edit` applied, through raw redb.
fn edit_row(
    path: &Path,
    table: TableDefinition<'static, &str, &[u8]>,
    k: &str,
    edit: impl Fn(&mut Vec<u8>),
) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(table).unwrap();
        let mut row = t.get(k).unwrap().unwrap().value().to_vec();
        edit(&mut row);
        t.insert(k, row.as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

fn remove_row(path: &Path, table: TableDefinition<'static, &str, &[u8]>, k: &str) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(table).unwrap().remove(k).unwrap();
    txn.commit().unwrap();
}

async fn list_all(store: &RedbStore) -> Vec<Result<Meta, Error>> {
    store.list(ListOptions::default()).collect().await
}

fn assert_corrupted(result: Result<impl std::fmt::Debug, Error>, k: &str) {
    let err = result.expect_err("damage must be reported");
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert_eq!(err.key(), Some(k), "{err}");
}

/// A row whose bytes fail their checksum: `get`, `get_many` and `head` report it naming
/// the key, `list` yields it as an error and goes on, and an overwrite or a delete repairs
/// the key.
#[test]
fn damaged_rows_are_reported_by_key_and_skipped_by_list() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let written = build(&path, 5).await;
        // Value bytes of key-001 and the metadata of key-003 flipped in place.
        edit_row(&path, VALUES, "key-001", |row| {
            *row.last_mut().unwrap() ^= 0x04
        });
        edit_row(&path, META, "key-003", |row| row[12] ^= 0x80);

        let store = RedbStore::open(config(&path)).await.unwrap();
        assert_corrupted(store.get(&key("key-001")).await, "key-001");
        assert_corrupted(
            store.get_many(&[key("key-000"), key("key-001")]).await,
            "key-001",
        );
        assert_corrupted(store.head(&key("key-003")).await, "key-003");
        // Its value row is intact, and it is the value that was written.
        let entry = store.get(&key("key-003")).await.unwrap().unwrap();
        assert_eq!(entry.value, written[&key("key-003")].0);

        let listed = list_all(&store).await;
        assert_eq!(listed.len(), 5, "{listed:?}");
        for (i, item) in listed.into_iter().enumerate() {
            let k = format!("key-{i:03}");
            if i == 3 {
                assert_corrupted(item, &k);
            } else {
                assert_eq!(item.unwrap(), written[&key(&k)].1, "{k}");
            }
        }
        // An overwrite needs no current version, so it replaces the damaged rows; a
        // delete removes them.
        store
            .put(
                &key("key-003"),
                Bytes::from_static(b"fixed"),
                PutMode::Overwrite,
            )
            .await
            .unwrap();
        store.delete(&key("key-001")).await.unwrap();
        // A conditional put must read the version, and refuses a damaged one.
        let listed: Vec<_> = list_all(&store).await;
        assert!(listed.iter().all(Result::is_ok), "{listed:?}");
        assert_eq!(listed.len(), 4);
    });
}

/// A key with only one of its two rows (a damaged page lost or moved the other) is
/// damaged, not missing: `get` and `head` say so instead of "no value".
#[test]
fn a_key_missing_one_of_its_rows_is_reported() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        build(&path, 4).await;
        remove_row(&path, VALUES, "key-001");
        remove_row(&path, META, "key-002");
        let store = RedbStore::open(config(&path)).await.unwrap();
        assert_corrupted(store.get(&key("key-001")).await, "key-001");
        assert_corrupted(store.head(&key("key-002")).await, "key-002");
        assert!(store.get(&key("key-000")).await.unwrap().is_some());
        assert!(store.get(&key("absent")).await.unwrap().is_none());
        assert!(store.head(&key("absent")).await.unwrap().is_none());
        let err = store
            .put(&key("key-002"), Bytes::new(), PutMode::Create)
            .await;
        assert!(
            err.is_ok(),
            "a create of a key without metadata writes it: {err:?}"
        );
    });
}

/// The 4 KiB page holding `needle`.
fn page_of(bytes: &[u8], needle: &[u8]) -> usize {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in file");
    at / PAGE * PAGE
}

/// A leaf page claiming 65,535 entries: redb indexes past the page and panics (in release
/// builds too). The read is `Corrupted` naming the key and the file, the writer that trips
/// on it refuses further writes with a clear error, reads of other pages go on, and
/// closing the store does not panic.
#[test]
fn panics_inside_redb_are_corrupted_errors() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        build(&path, 60).await;
        let mut bytes = std::fs::read(&path).unwrap();
        let page = page_of(&bytes, b"<value of key-030>");
        bytes[page + 2..page + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();

        let store = RedbStore::open(config(&path)).await.unwrap();
        let err = store.get(&key("key-030")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert_eq!(err.key(), Some("key-030"), "{err}");
        assert!(err.to_string().contains("db.redb"), "names the file: {err}");
        // head and list read the metadata table, which is intact.
        assert!(store.head(&key("key-030")).await.unwrap().is_some());
        assert_eq!(list_all(&store).await.len(), 60);

        let err = store
            .put(
                &key("key-030"),
                Bytes::from_static(b"x"),
                PutMode::Overwrite,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        let err = store
            .put(
                &key("elsewhere"),
                Bytes::from_static(b"x"),
                PutMode::Overwrite,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("refuses writes"), "{err}");
        assert_eq!(store.flush().await.map_err(|e| e.kind()), Ok(()));
        drop(store);
    });
}

/// A page of redb's own table of tables with an impossible type byte (a failed internal
/// check: a panic in debug builds of redb, an error in release ones) fails the open as
/// `Corrupted` naming the file, not "task panicked".
#[test]
fn a_damaged_table_directory_fails_the_open_clearly() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        build(&path, 3).await;
        let mut bytes = std::fs::read(&path).unwrap();
        let page = page_of(&bytes, b"strata_values");
        bytes[page] = 0x7F;
        std::fs::write(&path, &bytes).unwrap();
        let err = RedbStore::open(config(&path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("db.redb"), "{err}");
    });
}

/// A small deterministic generator, so every run flips the same bits.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Debug, Default)]
struct Tally {
    opened: usize,
    open_refused: usize,
    exact: usize,
    corrupted_reports: usize,
    vanished: usize,
}

/// What one damaged copy gave: panics if any read returned wrong data, lost a key without
/// any report, or failed with anything but `Corrupted`.
async fn check_copy(
    path: &Path,
    written: &BTreeMap<Key, (Bytes, Meta)>,
    seed: u64,
    tally: &mut Tally,
) {
    let store = match RedbStore::open(config(path)).await {
        Ok(store) => store,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupted, "seed {seed}: open: {e}");
            tally.open_refused += 1;
            return;
        }
    };
    tally.opened += 1;
    let reports = std::cell::Cell::new(0);
    let mut vanished = Vec::new();
    let check_err = |e: Error, what: &str| {
        assert_eq!(e.kind(), ErrorKind::Corrupted, "seed {seed}: {what}: {e}");
        reports.set(reports.get() + 1);
    };
    for (k, (value, meta)) in written {
        match store.get(k).await {
            Ok(Some(entry)) => {
                // Not `assert_eq!`: it would print kilobytes of value.
                assert!(
                    entry.value == value,
                    "seed {seed}: wrong value for {k} ({} bytes, written {}; first difference at byte {:?})",
                    entry.value.len(),
                    value.len(),
                    entry
                        .value
                        .iter()
                        .zip(value.iter())
                        .position(|(a, b)| a != b)
                );
                assert_eq!(&entry.meta, meta, "seed {seed}: wrong metadata for {k}");
            }
            Ok(None) => vanished.push(k.clone()),
            Err(e) => check_err(e, "get"),
        }
        match store.head(k).await {
            Ok(Some(found)) => assert_eq!(&found, meta, "seed {seed}: wrong head for {k}"),
            Ok(None) => vanished.push(k.clone()),
            Err(e) => check_err(e, "head"),
        }
    }
    let mut listed = 0;
    for item in list_all(&store).await {
        match item {
            Ok(meta) => {
                let expected = written.get(&meta.key).map(|(_, m)| m);
                assert_eq!(
                    expected,
                    Some(&meta),
                    "seed {seed}: list showed wrong metadata"
                );
                listed += 1;
            }
            Err(e) => check_err(e, "list"),
        }
    }
    let reports = reports.get();
    if listed < written.len() && reports == 0 {
        panic!("seed {seed}: list lost keys without reporting any damage");
    }
    // A write either works or is refused as damage; it never panics or hangs.
    if let Err(e) = store
        .put(
            &key("after/damage"),
            Bytes::from_static(b"x"),
            PutMode::Overwrite,
        )
        .await
    {
        assert_eq!(e.kind(), ErrorKind::Corrupted, "seed {seed}: put: {e}");
    }
    if !vanished.is_empty() {
        assert!(
            reports > 0,
            "seed {seed}: {vanished:?} vanished and nothing reported damage"
        );
    }
    tally.vanished += vanished.len();
    tally.corrupted_reports += reports;
    if reports == 0 && vanished.is_empty() {
        tally.exact += 1;
    }
}

/// Issue 16, item 3: 20 random bit flips past the first 4 KiB of a 397-key database, over
/// many seeds. Every read returns exactly what was written or `Corrupted`; a key is never
/// lost without some read reporting damage; nothing panics.
#[test]
fn random_bit_flips_never_give_wrong_values() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pristine = dir.path().join("pristine.redb");
        let written = build(&pristine, 397).await;
        let bytes = std::fs::read(&pristine).unwrap();
        let mut tally = Tally::default();
        for seed in 1..=24u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut damaged = bytes.clone();
            for _ in 0..20 {
                let at = PAGE + rng.below((damaged.len() - PAGE) as u64) as usize;
                damaged[at] ^= 1 << rng.below(8);
            }
            let path: PathBuf = dir.path().join(format!("seed-{seed}.redb"));
            std::fs::write(&path, &damaged).unwrap();
            check_copy(&path, &written, seed, &mut tally).await;
        }
        eprintln!("bit flips, 24 copies of {} keys: {tally:?}", written.len());
    });
}
