//! Finding and creating the database file: files an interrupted creation left are
//! repaired, foreign files are left alone, creation debris is swept, and with creation off
//! nothing at all is created.

use std::path::Path;

use bytes::Bytes;
use common::{key, rt};
use redb::StorageBackend;
use redb::backends::FileBackend;
use store_core::{ConfigMap, ErrorKind, PutMode, Registry, Store};
use store_lmdb::{RedbConfig, RedbFactory, RedbStore};

mod common;

/// A file backend whose write of redb's magic number fails, as if the process died just
/// before it: what redb's in-place creation leaves after a kill.
#[derive(Debug)]
struct DiesBeforeMagic(FileBackend);

impl StorageBackend for DiesBeforeMagic {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        if offset == 0 && data.starts_with(b"redb") {
            return Err(std::io::Error::other("killed before the magic number"));
        }
        self.0.write(offset, data)
    }
}

fn interrupted_creation(path: &Path) {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    let backend = DiesBeforeMagic(FileBackend::new(file).unwrap());
    assert!(
        redb::Database::builder()
            .create_with_backend(backend)
            .is_err()
    );
}

async fn roundtrip(store: &RedbStore) {
    store
        .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
        .await
        .unwrap();
    let got = store.get(&key("k")).await.unwrap().unwrap();
    assert_eq!(got.value.as_ref(), b"v");
}

/// The state that bricked databases (issue 16, item 1) is recognised and replaced.
#[test]
fn files_an_interrupted_creation_left_are_repaired() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bricked.redb");
        interrupted_creation(&path);
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 0, "redb sized the file before it died");
        let err = redb::Database::open(&path).expect_err("raw redb refuses it");
        assert!(err.to_string().contains("magic number"), "{err}");

        let store = RedbStore::open(RedbConfig::new(&path)).await.unwrap();
        roundtrip(&store).await;
        drop(store);
        assert!(redb::Database::open(&path).is_ok(), "now a real database");

        let empty = dir.path().join("empty.redb");
        std::fs::write(&empty, b"").unwrap();
        let store = RedbStore::open(RedbConfig::new(&empty).create(false))
            .await
            .unwrap();
        roundtrip(&store).await;
    });
}

/// A file that is neither a database nor an interrupted creation is refused, unchanged.
#[test]
fn foreign_files_are_refused_untouched() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        let text = b"my notes, not a database\n".repeat(100);
        std::fs::write(&path, &text).unwrap();
        let err = RedbStore::open(RedbConfig::new(&path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert!(err.to_string().contains("not a redb database"), "{err}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), text);
    });
}

/// A creation sweeps the temporary files of killed creators (exactly that pattern), and
/// leaves everything else in the directory alone.
#[test]
fn creation_sweeps_only_its_own_debris() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let debris = dir.path().join(".db.redb.4242-0.creating");
        let others = [".db.redb.notes", ".db.redb.x-1.creating", "db.redb.bak"];
        std::fs::write(&debris, b"half a database").unwrap();
        for other in others {
            std::fs::write(dir.path().join(other), b"keep").unwrap();
        }
        let store = RedbStore::open(RedbConfig::new(dir.path().join("db.redb")))
            .await
            .unwrap();
        roundtrip(&store).await;
        assert!(!debris.exists(), "the dead creator's file was removed");
        for other in others {
            assert!(dir.path().join(other).exists(), "{other} was kept");
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".db.redb.notes",
                ".db.redb.x-1.creating",
                "db.redb",
                "db.redb.bak"
            ]
        );
    });
}

fn registry(creates_missing: bool) -> Registry {
    let mut registry = Registry::new().with_creates_missing(creates_missing);
    registry.register(RedbFactory);
    registry
}

fn map(path: &Path, create: Option<bool>) -> ConfigMap {
    let mut map = ConfigMap::new();
    map.insert("type".into(), "redb".into());
    map.insert("path".into(), path.to_string_lossy().into_owned().into());
    if let Some(create) = create {
        map.insert("create".into(), create.into());
    }
    map
}

/// Item 14: with creation off, a missing file or directory is `NotFound` naming the path,
/// and neither the file nor any directory is created.
#[test]
fn with_creation_off_nothing_is_created() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = dir.path().join("no").join("such").join("x.redb");
        let missing_file = dir.path().join("x.redb");
        for path in [&missing_dir, &missing_file] {
            let direct = RedbStore::open(RedbConfig::new(path).create(false))
                .await
                .unwrap_err();
            let through_registry = registry(false).open(&map(path, None)).await.unwrap_err();
            let config_says_no = registry(true)
                .open(&map(path, Some(false)))
                .await
                .unwrap_err();
            for err in [direct, through_registry, config_says_no] {
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                assert!(err.to_string().contains("x.redb"), "{err}");
                assert!(err.key().is_none(), "names the path, never a key: {err:?}");
            }
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "nothing was created: {left:?}");

        // `create = true` overrides the registry; then creation off opens what exists.
        let store = registry(false)
            .open(&map(&missing_dir, Some(true)))
            .await
            .unwrap();
        drop(store);
        let store = registry(false)
            .open(&map(&missing_dir, None))
            .await
            .unwrap();
        store
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
            .await
            .unwrap();
    });
}

/// Opening the same file with and without `create` shares it: the flag only matters for
/// a file that is missing.
#[test]
fn create_flag_does_not_split_a_shared_database() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        let first = RedbStore::open(RedbConfig::new(&path)).await.unwrap();
        let second = RedbStore::open(RedbConfig::new(&path).create(false))
            .await
            .unwrap();
        first
            .put(&key("k"), Bytes::from_static(b"v"), PutMode::Create)
            .await
            .unwrap();
        assert!(second.get(&key("k")).await.unwrap().is_some());
    });
}
