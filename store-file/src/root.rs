//! A store's root directory: resolving it, refusing one that overlaps another store's,
//! creating it (or not), and locking it.
//!
//! A root inside another store's root would write files the outer store lists as its own
//! (damaged) entries, and the outer store could overwrite them; a root around another
//! open one the same. So opening refuses, before creating anything:
//! - a root **inside** another: some ancestor directory holds a `~lock` file. That costs
//!   one `stat` per ancestor, and catches every store, open or not, in any process;
//! - a root **around** a root open in this process (a registry of open roots). A closed
//!   store, or one open in another process, further down would take a walk of the whole
//!   tree to find; instead the outer store's listing skips (with a warning) any directory
//!   holding a `~lock`, and writes to keys under it fail or corrupt only that store.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use store_core::{Error, ErrorKind, Result};

use crate::layout::LOCK_FILE;

/// How long opening waits for a held root lock before reporting `Locked`. A lock is also
/// held, briefly, by a process forked (to run a command) from one that had the store
/// open, until it execs; waiting a little rides that out.
const LOCK_WAIT: Duration = Duration::from_millis(500);

/// The roots of the stores open in this process (one entry per open, or opening, store).
static OPEN_ROOTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn open_roots() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // Entries are pushed and removed whole: a poisoned lock is still consistent.
    OPEN_ROOTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A root's place in the registry of open roots, released on drop.
struct Registration(PathBuf);

impl Drop for Registration {
    fn drop(&mut self) {
        let mut roots = open_roots();
        if let Some(at) = roots.iter().position(|r| *r == self.0) {
            roots.swap_remove(at);
        }
    }
}

/// The held lock of a root: its locked `~lock` file and its registration as open.
pub(crate) struct RootLock {
    _file: File,
    _registration: Registration,
}

/// Resolve, check, create (if `create`) and lock the root at `path`; returns the
/// canonical root and its lock. `sync` says whether to fsync what opening creates.
pub(crate) fn open(path: &Path, create: bool, sync: bool) -> Result<(PathBuf, RootLock)> {
    let (root, existing) = resolve(path)?;
    let exists = existing == root;
    if exists && !root.is_dir() {
        return Err(Error::invalid_config(
            "path",
            format!("`{}` is not a directory", path.display()),
        ));
    }
    if !create {
        if !exists {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no file store at `{}`: the directory does not exist (open with `create` to make one)",
                    path.display()
                ),
            ));
        }
        if !is_lock_file(&root.join(LOCK_FILE)) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no file store at `{}`: the directory holds no `{LOCK_FILE}` (open with `create` to make one)",
                    path.display()
                ),
            ));
        }
    }
    let registration = register(&root)?;
    if !exists {
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating the root `{}`", root.display()), e))?;
    }
    let file = lock(&root)?;
    if sync {
        // Make the root's entry durable (and, if opening created directories, each one's
        // in its parent), or power loss could take the whole store with it. A root an
        // earlier process created may be as new, so its parent is synced either way.
        let parents: Vec<&Path> = if exists {
            root.parent().into_iter().collect()
        } else {
            let up = root.ancestors().skip(1);
            up.take_while(|dir| dir.starts_with(&existing)).collect()
        };
        for dir in parents {
            sync_dir(dir)?;
        }
    }
    Ok((
        root,
        RootLock {
            _file: file,
            _registration: registration,
        },
    ))
}

/// The canonical form of `path` and its nearest existing ancestor (`path` itself if it
/// exists). The missing part is normalized by its components alone: not existing, it
/// holds no symbolic links.
fn resolve(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let failed = |e| Error::io(format!("resolving the root `{}`", path.display()), e);
    let absolute = std::path::absolute(path).map_err(failed)?;
    let mut existing = absolute.as_path();
    let canonical = loop {
        match existing.canonicalize() {
            Ok(canonical) => break canonical,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                existing = existing.parent().ok_or_else(|| failed(e))?;
            }
            Err(e) => return Err(failed(e)),
        }
    };
    let mut root = canonical.clone();
    // `existing` is `absolute` with its last components taken off.
    for component in absolute.components().skip(existing.components().count()) {
        match component {
            Component::ParentDir => {
                root.pop();
            }
            Component::Normal(name) => root.push(name),
            _ => {}
        }
    }
    if !root.starts_with(&canonical) {
        // `..` climbed above the part that exists: resolve what it names (now free of `..`).
        return resolve(&root);
    }
    Ok((root, canonical))
}

/// Whether `path` is a store's lock file.
fn is_lock_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Refuse a root inside or around another store's, then record `root` as open.
fn register(root: &Path) -> Result<Registration> {
    let overlap = |other: &Path, how: &str| {
        Error::invalid_config(
            "path",
            format!(
                "the file store root `{}` is {how} the file store at `{}`: each would list the other's files as damaged entries and could overwrite them; use a directory outside it",
                root.display(),
                other.display()
            ),
        )
    };
    let mut roots = open_roots();
    for open in roots.iter() {
        if open != root && open.starts_with(root) {
            return Err(overlap(open, "around"));
        }
        if open != root && root.starts_with(open) {
            return Err(overlap(open, "inside"));
        }
    }
    if let Some(outer) = root
        .ancestors()
        .skip(1)
        .find(|dir| is_lock_file(&dir.join(LOCK_FILE)))
    {
        return Err(overlap(outer, "inside"));
    }
    roots.push(root.to_path_buf());
    Ok(Registration(root.to_path_buf()))
}

/// Open and lock `<root>/~lock`: `Locked` if another store holds it.
fn lock(root: &Path) -> Result<File> {
    let lock_path = root.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| {
            Error::io(
                format!("opening the lock file `{}`", lock_path.display()),
                e,
            )
        })?;
    if !lock.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::new(
            ErrorKind::Io,
            format!("`{}` is not a regular file", lock_path.display()),
        ));
    }
    match try_lock_for(&lock, LOCK_WAIT) {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Locked,
            format!(
                "the file store at `{}` is locked: another store (in this or another process) has it open",
                root.display()
            ),
        )),
        Err(TryLockError::Error(e)) => {
            Err(Error::io(format!("locking `{}`", lock_path.display()), e))
        }
    }
}

/// Try to take `file`'s exclusive lock, retrying for up to `wait`.
fn try_lock_for(file: &File, wait: Duration) -> Result<(), TryLockError> {
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing `{}`", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parts_are_resolved_by_their_components() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (root, existing) = resolve(&dir.path().join("a/../b/./c")).unwrap();
        assert_eq!((root, existing), (base.join("b/c"), base.clone()));
        let (root, existing) = resolve(dir.path()).unwrap();
        assert_eq!((root, existing), (base.clone(), base.clone()));
    }
}
