//! The file store among things it did not write: foreign files and directories, special
//! files, damaged entries, another store's root, and configs that must not create a store.
//! (Issue 16, items 5, 9, 10, 11 and 14.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use strata::{ConfigMap, ErrorKind, FileStore, Key, ListOptions, PutMode, Store, SyncMode};

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

async fn put(store: &dyn Store, k: &str, value: &str) {
    store
        .put(&key(k), Bytes::from(value.to_owned()), PutMode::Overwrite)
        .await
        .expect("put");
}

/// One item of a listing: the key, or the error's kind, key and message.
type Item = Result<String, (ErrorKind, Option<String>, String)>;

/// Every item a full listing yields, errors included (the stream goes on after a damaged
/// entry, so this reads to its end).
async fn listing(store: &dyn Store) -> Vec<Item> {
    store
        .list(ListOptions::default())
        .map(|item| {
            item.map(|m| m.key.as_str().to_owned())
                .map_err(|e| (e.kind(), e.key().map(str::to_owned), e.to_string()))
        })
        .collect()
        .await
}

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(rel.to_string_lossy().into_owned(), bytes);
            }
        }
    }
    out
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write");
    path
}

/// A prefix of a real value file, as a crash mid-put leaves in a temp file.
async fn partial_value_file() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Never).await.unwrap();
    put(&store, "x", "some value").await;
    let bytes = std::fs::read(dir.path().join("x~")).unwrap();
    bytes[..bytes.len() / 2].to_vec()
}

#[tokio::test]
async fn opening_and_listing_remove_no_file_the_store_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let partial = partial_value_file().await;
    // The user's files, in the store's directories and in foreign ones, some named much
    // like the store's temp files (the reported loss was `c/some dir/~tmp-notes.tmp`).
    write(root, "c/some dir/~tmp-notes.tmp", b"my notes");
    write(root, "c/~t1.tmp", b"short name");
    write(
        root,
        "c/~t0123456789abcdef.tmp",
        b"our name shape, not our bytes",
    );
    write(root, "c/~t0123456789ABCDEF.tmp", &partial);
    write(root, "c/~t0123456789abcdef0.tmp", &partial);
    // Our name shape and our header bytes, but in a directory whose name is not the
    // store's encoding of any segment: never the store's own.
    write(root, "some dir/~t0123456789abcdef.tmp", &partial);
    write(root, "%41/~t0123456789abcdef.tmp", &partial);
    write(root, "notes.txt", b"top-level notes");
    let before = files(root);

    for sync in [SyncMode::Always, SyncMode::Never] {
        let store = FileStore::open(root, sync).await.unwrap();
        put(&store, "c/k", "v").await;
        assert_eq!(listing(&store).await, [Ok("c/k".to_owned())]);
        drop(store);
    }
    let after = files(root);
    for (path, bytes) in &before {
        assert_eq!(
            after.get(path),
            Some(bytes),
            "`{path}` was removed or changed"
        );
    }
}

#[tokio::test]
async fn a_crash_leftover_temp_file_is_invisible_and_removed_by_the_next_listing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = FileStore::open(root, SyncMode::Always).await.unwrap();
    put(&store, "t/k", "v").await;
    drop(store);
    // What a kill mid-put leaves next to the target: a temp file holding part of a value
    // file (or nothing yet), under the name shape of this and of earlier versions.
    let partial = partial_value_file().await;
    let leftovers = [
        write(root, "t/~t00000000deadbeef.tmp", &partial),
        write(root, "t/~t00000000deadbeef00000000deadbeef.tmp", &partial),
        write(root, "~t0000000000000001.tmp", b""),
    ];
    let store = FileStore::open(root, SyncMode::Always).await.unwrap();
    assert!(
        leftovers.iter().all(|p| p.exists()),
        "opening reads no tree"
    );
    assert_eq!(store.get(&key("t/k")).await.unwrap().unwrap().value, "v");
    assert_eq!(listing(&store).await, [Ok("t/k".to_owned())]);
    for path in &leftovers {
        assert!(!path.exists(), "{} was left behind", path.display());
    }
}

/// Runs `op`; if it is still running after a deadline, it hangs on the FIFO: a watchdog
/// thread then keeps opening the FIFO (read-write, which never blocks) so the blocked
/// open and read return, and the test fails instead of hanging. (A read may block the
/// runtime's own thread, so a tokio timeout could never fire.)
async fn no_hang<T>(fifo: &Path, what: &str, op: impl std::future::Future<Output = T>) -> T {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let fifo_path = fifo.to_path_buf();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(20)).is_ok() {
            return false;
        }
        while finished.try_recv().is_err() {
            let end = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&fifo_path);
            std::thread::sleep(Duration::from_millis(50));
            drop(end);
        }
        true
    });
    let out = op.await;
    done.send(()).unwrap();
    let hung = watchdog.join().unwrap();
    assert!(!hung, "{what} hung on the FIFO {}", fifo.display());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_named_like_a_value_file_is_a_damaged_entry_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), SyncMode::Always).await.unwrap();
    put(&store, "f/a", "1").await;
    put(&store, "f/z", "2").await;
    let fifo = dir.path().join("f/pipe~");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let pipe = key("f/pipe");
    let fifo_path = fifo.display().to_string();
    let err = no_hang(&fifo, "get", store.get(&pipe)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.key()),
        (ErrorKind::Corrupted, Some("f/pipe"))
    );
    assert!(err.to_string().contains(&fifo_path), "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = no_hang(&fifo, "head", store.head(&pipe)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.key()),
        (ErrorKind::Corrupted, Some("f/pipe"))
    );
    let listed = no_hang(&fifo, "list", listing(&store)).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0], Ok("f/a".to_owned()));
    let (kind, k, message) = listed[1].clone().unwrap_err();
    assert_eq!((kind, k.as_deref()), (ErrorKind::Corrupted, Some("f/pipe")));
    assert!(message.contains(&fifo_path), "{message}");
    assert_eq!(listed[2], Ok("f/z".to_owned()));
    // Still a working store: the key can be written (the rename replaces the FIFO).
    put(&store, "f/pipe", "3").await;
    assert_eq!(store.get(&pipe).await.unwrap().unwrap().value, "3");
}

#[tokio::test]
async fn one_damaged_entry_is_reported_with_its_key_and_the_listing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let store = FileStore::open(root, SyncMode::Always).await.unwrap();
    let long = format!("d/{}", "y".repeat(300));
    for k in ["d/a", "d/b", "d/c", "d/e", long.as_str(), "e/f", "g"] {
        put(&store, k, k).await;
    }
    // A flipped header byte, a truncated file, a hashed file whose header (holding its key)
    // is ruined, and a directory standing where a value file would be.
    let flip = |rel: &str, at: usize| {
        let path = root.join(rel);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[at] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
    };
    flip("d/b~", 10);
    let c = root.join("d/c~");
    let len = std::fs::metadata(&c).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&c)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let hashed = std::fs::read_dir(root.join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("~h"))
        .unwrap();
    flip(&format!("d/{hashed}"), 0);
    std::fs::create_dir(root.join("d/dir~")).unwrap();
    // Foreign files: names outside the store's alphabet, skipped (with a warning).
    write(root, "d/notes.txt", b"mine");
    write(root, "d/%41~", b"a non-canonical encoding of `A`");
    write(root, "d/%00~", b"decodes to a key with a NUL");
    write(root, "some dir/x~", b"a foreign directory");
    write(root, ".DS_Store", b"junk");

    let listed = listing(&store).await;
    let shown: Vec<String> = listed
        .iter()
        .map(|item| match item {
            Ok(k) => k.clone(),
            Err((kind, k, _)) => format!("{kind:?}({})", k.as_deref().unwrap_or("-")),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "d/a".to_owned(),
            "Corrupted(d/b)".to_owned(),
            "Corrupted(d/c)".to_owned(),
            "Corrupted(d/dir)".to_owned(),
            "d/e".to_owned(),
            format!("Corrupted(d/{hashed})"),
            "e/f".to_owned(),
            "g".to_owned(),
        ]
    );
    for item in &listed {
        if let Err((_, _, message)) = item {
            assert!(message.contains(&root.display().to_string()), "{message}");
        }
    }
    // A copy stops at the first damaged entry (it cannot copy it), naming it.
    let copy = strata::StoreExt::copy_all(
        &store,
        &strata::MemoryStore::new(),
        &strata::Prefix::new("").unwrap(),
    )
    .await;
    let err = copy.expect_err("a copy stops at a damaged entry");
    assert_eq!((err.kind(), err.key()), (ErrorKind::Corrupted, Some("d/b")));
}

/// An unreadable subdirectory does not stop the store from opening (opening reads no
/// tree); the listing that reaches it fails naming that directory.
#[test]
fn an_unreadable_directory_fails_the_listing_that_reaches_it_naming_it() {
    const ROOT_ENV: &str = "STRATA_FILE_UNREADABLE_ROOT";
    let runtime = strata_tests::harness::runtime();
    if let Ok(root) = std::env::var(ROOT_ENV) {
        runtime.block_on(async {
            match FileStore::open(&root, SyncMode::Always).await {
                Ok(store) => {
                    println!("OPEN ok");
                    for item in listing(&store).await {
                        println!("ITEM {item:?}");
                    }
                }
                Err(e) => println!("OPEN failed: {e}"),
            }
        });
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    runtime.block_on(async {
        let store = FileStore::open(&root, SyncMode::Always).await.unwrap();
        for k in ["a/1", "locked/2", "z/3"] {
            put(&store, k, "v").await;
        }
    });
    let locked = root.join("locked");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "an_unreadable_directory_fails_the_listing_that_reaches_it_naming_it",
            "--exact",
            "--nocapture",
        ])
        .env(ROOT_ENV, &root);
    // A privileged user reads any directory: then the child runs as `nobody`, owning the
    // tree, for which mode 000 does bar reading.
    if std::fs::read_dir(&locked).is_ok() {
        use std::os::unix::process::CommandExt;
        const NOBODY: u32 = 65534;
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(path) = stack.pop() {
            std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
            if path.is_dir() && path != locked {
                for entry in std::fs::read_dir(&path).unwrap() {
                    stack.push(entry.unwrap().path());
                }
            }
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        child.uid(NOBODY).gid(NOBODY);
    }
    let out = child.output().unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("OPEN ok"), "{stdout}");
    let items: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once("ITEM ").map(|(_, item)| item))
        .collect();
    assert_eq!(items.len(), 2, "{stdout}");
    assert_eq!(items[0], r#"Ok("a/1")"#);
    assert!(items[1].starts_with("Err((PermissionDenied"), "{stdout}");
    let locked_path = locked.canonicalize().unwrap().display().to_string();
    assert!(items[1].contains(&format!("`{locked_path}`")), "{stdout}");
}

fn config(path: &Path) -> ConfigMap {
    serde_json::json!({"type": "file", "path": path})
        .as_object()
        .expect("object")
        .clone()
}

#[tokio::test]
async fn a_root_inside_or_around_another_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outer = dir.path().join("outer");
    let outer_store = FileStore::open(&outer, SyncMode::Always).await.unwrap();
    put(&outer_store, "k", "v").await;
    let canonical_outer = outer.canonicalize().unwrap().display().to_string();
    // Inside: an ancestor holds a store's lock file. Refused before anything is created.
    for inner in [outer.join("sub"), outer.join("deeper/still")] {
        let err = strata::open(&config(&inner)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        let message = err.to_string();
        assert!(message.contains(&canonical_outer), "{message}");
        let resolved = Path::new(&canonical_outer).join(inner.strip_prefix(&outer).unwrap());
        assert!(
            message.contains(&resolved.display().to_string()),
            "{message}"
        );
        assert!(
            !inner.exists(),
            "a refused open created {}",
            inner.display()
        );
    }
    assert_eq!(listing(&outer_store).await, [Ok("k".to_owned())]);
    drop(outer_store);

    // Around: a root that contains a root open in this process.
    let inner = dir.path().join("b/inner");
    let inner_store = FileStore::open(&inner, SyncMode::Always).await.unwrap();
    put(&inner_store, "i", "v").await;
    let around = dir.path().join("b");
    let err = FileStore::open(&around, SyncMode::Always)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&inner.canonicalize().unwrap().display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&around.canonicalize().unwrap().display().to_string()),
        "{message}"
    );
    drop(inner_store);

    // Once the inner store is closed the outer one opens (nothing cheap finds a closed
    // root below), and its listing skips the other store's tree instead of failing on it.
    let around_store = FileStore::open(&around, SyncMode::Always).await.unwrap();
    put(&around_store, "own", "v").await;
    assert_eq!(listing(&around_store).await, [Ok("own".to_owned())]);
}

#[tokio::test]
async fn with_creation_off_a_missing_root_is_not_found_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/store");
    let strict = strata::registry().with_creates_missing(false);
    let mut no_create = config(&missing);
    no_create.insert("create".into(), false.into());
    for (registry, config) in [
        (strata::registry(), no_create.clone()),
        (strict.clone(), config(&missing)),
        (strict.clone(), no_create.clone()),
    ] {
        let err = registry.open(&config).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.key().is_none(), "{err}");
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
        assert!(
            !dir.path().join("no").exists(),
            "a read-only open created directories"
        );
    }
    // An existing directory that holds no store is not one either, and stays untouched.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = strict.open(&config(&empty)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // `create = true` overrides the registry, and then an existing store opens read-only.
    let mut create = config(&missing);
    create.insert("create".into(), true.into());
    let store = strict.open(&create).await.unwrap();
    put(&*store, "k", "v").await;
    drop(store);
    let store = strict.open(&config(&missing)).await.unwrap();
    assert_eq!(listing(&*store).await, [Ok("k".to_owned())]);
    let mut typo = config(&missing);
    typo.insert("create".into(), "yes".into());
    let err = strata::open(&typo).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("create"), "{err}");
}

#[tokio::test]
async fn a_file_uri_must_be_absolute() {
    let name = format!("strata-relative-uri-{}", std::process::id());
    for uri in [
        format!("file:{name}"),
        format!("file:{name}/sub"),
        "file:".to_owned(),
    ] {
        let err = strata::open_uri(&uri).await.unwrap_err();
        // A refused URI must not have opened (or created) `/<name>` either.
        let _ = std::fs::remove_dir_all(Path::new("/").join(&name));
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{uri}: {err}");
        assert!(err.to_string().contains("file:///"), "{uri}: {err}");
    }
    // The absolute spellings still open.
    let dir = tempfile::tempdir().unwrap();
    for uri in [
        format!("file://{}", dir.path().display()),
        format!("file:{}", dir.path().display()),
    ] {
        drop(
            strata::open_uri(&uri)
                .await
                .unwrap_or_else(|e| panic!("{uri}: {e}")),
        );
    }
}

#[tokio::test]
async fn locations_name_the_canonical_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a b");
    std::fs::create_dir(&root).unwrap();
    let store = strata::open(&config(&root.join("../a b"))).await.unwrap();
    let canonical = root.canonicalize().unwrap();
    let expected = format!("file://{}/", canonical.display()).replace(' ', "%20");
    assert!(
        expected.starts_with("file:///") && expected.ends_with("/a%20b/"),
        "{expected}"
    );
    assert_eq!(store.locations(), std::slice::from_ref(&expected));
    assert!(strata::locations_overlap(
        &expected,
        &format!("{expected}x/")
    ));
}
