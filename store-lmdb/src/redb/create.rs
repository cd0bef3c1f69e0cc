//! Finding, creating and repairing the database file, so that no interruption ever leaves
//! a file that does not open.
//!
//! redb's own `create` initialises a new file in place: it sizes the file, writes its
//! header without the magic number, fsyncs, then writes the magic number. A kill in
//! between (0–4 ms after the file appears; 70 of 150 tries in the issue that found it)
//! leaves a file that every later open rejects as "not a redb database". So:
//!
//! 1. **A new database is built under a temporary name** in the same directory
//!    (`.NAME.PID-N.creating`, created exclusively), with its tables and format version,
//!    committed durably (fsynced), and only then given its name, by a rename that never
//!    replaces an existing file (`renameat2(RENAME_NOREPLACE)`, or a hard link where that
//!    is unsupported); then the directory is fsynced. The path therefore holds either
//!    nothing or a complete, empty database. Two processes creating at once both build;
//!    one rename wins and the other opens the winner's file.
//! 2. **Debris is removed only once the database exists**: the temporary files of killed
//!    creators (names of exactly that pattern) are deleted after a successful creation. A
//!    creator whose file was deleted under it sees its rename fail, and opens the database
//!    that exists by then.
//! 3. **A file that an interrupted creation left** (by earlier versions, or by raw redb) is
//!    recognised — empty, or a redb header without its magic number followed only by
//!    zeros, which cannot have held data — and replaced by a new database, under an
//!    exclusive lock on it so that concurrent repairs do not race.
//! 4. **Nothing is created when creation is off**: neither the file nor its directories;
//!    a missing one is `NotFound` naming the path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use redb::Database;
use store_core::{Error, ErrorKind, Result};

use super::errors::redb_error;
use super::schema::initialise;
use crate::dirs::{create_dirs, sync_dir};

/// redb's magic number, the first bytes of every initialised database file.
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
/// redb's database header: magic number, flags, layout and two commit slots.
const REDB_HEADER_LEN: usize = 320;
/// An interrupted creation leaves redb's initial layout (73,728 bytes with 4 KiB pages);
/// a larger file has held data and is never taken for one.
const MAX_UNINITIALISED_LEN: u64 = 1 << 20;
/// Rounds of "look, then act" before giving up on a path that keeps changing under us.
const ATTEMPTS: usize = 8;
const TEMP_SUFFIX: &str = ".creating";

/// Numbers this process's temporary files.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The canonical path of the database `path` names. With `create`, missing parent
/// directories are created (and fsynced into their parents); without, a missing directory
/// is `NotFound` naming the path, and nothing is created.
pub(crate) fn resolve(path: &Path, create: bool) -> Result<PathBuf> {
    let bad = |why: &str| Error::invalid_config("path", format!("`{}`: {why}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| bad("names no file (it ends in `..` or `/`)"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        if !create {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no redb database at `{}`: its directory does not exist, and creation \
                     is off (`create = false`), so nothing was created",
                    path.display()
                ),
            ));
        }
        create_dirs(parent)
            .map_err(|e| Error::io(format!("create the directory of `{}`", path.display()), e))?;
    }
    // An existing file is resolved through symlinks, so every spelling of one database
    // (and the process-wide map of open files) agrees on one path.
    let file = match fs::canonicalize(path) {
        Ok(file) => file,
        Err(_) => fs::canonicalize(parent)
            .map_err(|e| Error::io(format!("resolve `{}`", parent.display()), e))?
            .join(name),
    };
    if file.is_dir() {
        return Err(bad("is a directory; give the database file's path"));
    }
    Ok(file)
}

/// What one round of [`open_database`] achieved.
enum Step {
    Done(Database),
    /// The path changed under us (another process created or repaired it): look again.
    Again,
}

/// Open the database at the canonical `path`, creating it if missing and `create` allows,
/// and repairing a file an interrupted creation left. Blocking.
pub(crate) fn open_database(
    builder: &redb::Builder,
    path: &Path,
    create: bool,
) -> Result<Database> {
    for _ in 0..ATTEMPTS {
        let step = match fs::symlink_metadata(path) {
            Ok(_) => match probe(path) {
                Ok(Probe::Uninitialised) => repair(builder, path)?,
                Ok(Probe::Other) => open_existing(builder, path)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => Step::Again,
                Err(e) => return Err(Error::io(format!("read `{}`", path.display()), e)),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "no redb database at `{}`, and creation is off \
                             (`create = false`), so none was made",
                            path.display()
                        ),
                    ));
                }
                build_and_name(builder, path, Naming::NoReplace)?
            }
            Err(e) => return Err(Error::io(format!("look up `{}`", path.display()), e)),
        };
        if let Step::Done(db) = step {
            return Ok(db);
        }
    }
    Err(Error::unavailable(format!(
        "`{}` kept changing while it was being opened (other processes creating or \
         deleting it); try again",
        path.display()
    )))
}

fn open_existing(builder: &redb::Builder, path: &Path) -> Result<Step> {
    match builder.open(path) {
        Ok(db) => Ok(Step::Done(db)),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(Error::new(
            ErrorKind::Locked,
            format!(
                "`{}` is already open in another process (redb allows one writer process)",
                path.display()
            ),
        )),
        Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
            if e.kind() == io::ErrorKind::NotFound =>
        {
            Ok(Step::Again)
        }
        Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
            if e.kind() == io::ErrorKind::InvalidData =>
        {
            Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "`{}` is not a redb database ({e}); it is not an interrupted creation \
                     either (those are repaired), so it is left untouched",
                    path.display()
                ),
            ))
        }
        Err(other) => Err(redb_error(&format!("open `{}`", path.display()), other)),
    }
}

enum Probe {
    /// Nothing but what an interrupted creation leaves.
    Uninitialised,
    /// A database, or something redb will judge.
    Other,
}

fn probe(path: &Path) -> io::Result<Probe> {
    let mut file = File::open(path)?;
    Ok(if is_uninitialised(&mut file)? {
        Probe::Uninitialised
    } else {
        Probe::Other
    })
}

/// Whether `file` holds an interrupted redb creation and nothing else: it is empty, or its
/// magic number is all zeros and every byte after redb's header is zero. redb writes the
/// magic number last, after the header is on disk and before any page, so such a file
/// never held data. (A damaged real database has written pages and is never taken for it.)
fn is_uninitialised(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    if len > MAX_UNINITIALISED_LEN || len < REDB_MAGIC.len() as u64 {
        return Ok(false);
    }
    // The magic number first: a database (the usual case) is told by 9 bytes.
    let mut magic = [0u8; REDB_MAGIC.len()];
    file.read_exact(&mut magic)?;
    if magic.iter().any(|&b| b != 0) {
        return Ok(false);
    }
    let mut rest = Vec::with_capacity(len as usize);
    file.read_to_end(&mut rest)?;
    Ok(rest
        .iter()
        .skip(REDB_HEADER_LEN - REDB_MAGIC.len())
        .all(|&b| b == 0))
}

/// Replace an uninitialised file by a new database, holding an exclusive lock on it so a
/// second repairer waits its turn and then finds the new file.
fn repair(builder: &redb::Builder, path: &Path) -> Result<Step> {
    let io_err = |e| Error::io(format!("repair `{}`", path.display()), e);
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Step::Again),
        Err(e) => return Err(io_err(e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "`{}` is being initialised by another process; try again",
                    path.display()
                ),
            )
            .with_retryable(true));
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
    }
    // Under the lock: is the path still this file, and is it still uninitialised?
    if !same_file(&file, path).map_err(io_err)? || !is_uninitialised(&mut file).map_err(io_err)? {
        return Ok(Step::Again);
    }
    let step = build_and_name(builder, path, Naming::Replace)?;
    // Unlocks the old file, now unnamed; a waiting repairer then sees the new one.
    drop(file);
    Ok(step)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (file.metadata()?, fs::metadata(path)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// The path must still be free: never replace what another process created.
    NoReplace,
    /// Replace the uninitialised file at the path (under its lock).
    Replace,
}

/// Build a complete, empty database under a temporary name, then give it `path`'s name.
fn build_and_name(builder: &redb::Builder, path: &Path, naming: Naming) -> Result<Step> {
    let io_err = |e| Error::io(format!("create `{}`", path.display()), e);
    let (dir, name) = dir_and_name(path);
    let temp = dir.join(format!(
        ".{name}.{}-{}{TEMP_SUFFIX}",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(io_err)?;
    let built = build(builder, file);
    let db = match built {
        Ok(db) => db,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    let named = match naming {
        Naming::NoReplace => rename_no_replace(&temp, path),
        Naming::Replace => fs::rename(&temp, path),
    };
    match named {
        Ok(()) => {
            // The name must be durable before any write is acknowledged in the file.
            sync_dir(&dir).map_err(io_err)?;
            remove_debris(&dir, &name);
            Ok(Step::Done(db))
        }
        // Another process named its database first, or deleted our temporary file
        // because one exists: open that one.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
            ) =>
        {
            drop(db);
            let _ = fs::remove_file(&temp);
            Ok(Step::Again)
        }
        Err(e) => {
            drop(db);
            let _ = fs::remove_file(&temp);
            Err(io_err(e))
        }
    }
}

fn dir_and_name(path: &Path) -> (PathBuf, String) {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// A new database in the empty `file`, with its tables and format, durably committed.
fn build(builder: &redb::Builder, file: File) -> Result<Database> {
    let context = "initialise a new database";
    let backend = redb::backends::FileBackend::new(file).map_err(|e| redb_error(context, e))?;
    let db = builder
        .create_with_backend(backend)
        .map_err(|e| redb_error(context, e))?;
    let mut txn = db.begin_write().map_err(|e| redb_error(context, e))?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| redb_error(context, e))?;
    initialise(&txn)?;
    txn.commit().map_err(|e| redb_error(context, e))?;
    Ok(db)
}

/// Whether `file_name` is a temporary file of a creation of the database `name`:
/// `.NAME.PID-N.creating`, digits only in between.
fn is_debris(file_name: &str, name: &str) -> bool {
    let Some(middle) = file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_prefix(name))
        .and_then(|s| s.strip_prefix('.'))
        .and_then(|s| s.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    let mut parts = middle.split('-');
    let digits =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// Delete the temporary files that killed creators of `name` left in `dir`. Only once the
/// database exists: no creator needs them then (one whose file vanishes opens the
/// database instead). Best effort: a file that cannot be removed stays.
fn remove_debris(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|f| is_debris(f, name))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Rename `from` to `to` unless `to` exists (then `AlreadyExists`), atomically.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // File systems without RENAME_NOREPLACE: a hard link never replaces either.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    fs::hard_link(from, to)?;
    fs::remove_file(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_name_files() {
        // `a` must exist: `a/..` is resolved by the file system, not textually (on a fresh
        // machine `/tmp/a` does not exist, and this test once depended on it).
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir(dir.join("a")).unwrap();
        let p = resolve(&dir.join("a").join("..").join("x.redb"), false).unwrap();
        assert_eq!(p, fs::canonicalize(dir).unwrap().join("x.redb"));
        let err = resolve(dir, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn debris_is_recognised_exactly() {
        assert!(is_debris(".db.redb.123-0.creating", "db.redb"));
        for other in [
            "db.redb",
            ".db.redb.123.creating",
            ".db.redb.12a-0.creating",
            ".db.redb.1-2-3.creating",
            ".other.redb.1-2.creating",
            ".db.redb.1-2.creating~",
            "db.redb.1-2.creating",
        ] {
            assert!(!is_debris(other, "db.redb"), "{other}");
        }
    }

    #[test]
    fn uninitialised_files_are_told_from_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        let check = |bytes: &[u8]| {
            let path = dir.path().join("f");
            fs::write(&path, bytes).unwrap();
            is_uninitialised(&mut File::open(&path).unwrap()).unwrap()
        };
        let mut header = vec![0u8; 73_728];
        header[9] = 5;
        header[12..16].copy_from_slice(&4096u32.to_le_bytes());
        assert!(check(&[]));
        assert!(check(&header));
        assert!(check(&[0u8; 4096]));
        // A page was written: it held data.
        let mut written = header.clone();
        written[8192] = 1;
        assert!(!check(&written));
        // A magic number, or a foreign file.
        let mut db = header.clone();
        db[..9].copy_from_slice(&REDB_MAGIC);
        assert!(!check(&db));
        assert!(!check(b"hello, world: not a database at all"));
        assert!(!check(&vec![0u8; 2 << 20]));
    }
}
