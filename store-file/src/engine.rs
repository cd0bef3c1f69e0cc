//! The blocking side of the store: every file operation of get, head, put and delete.
//!
//! Methods here block the calling thread; [`FileStore`](crate::FileStore) runs them on
//! tokio's blocking pool. They are generic over [`Fs`] so the write protocol can be run
//! against a model of power loss as well as the real file system.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use bytes::Bytes;
use store_core::{Entry, Error, Key, Meta, PutMode, Result};

use crate::SyncMode;
use crate::dirs::DirState;
use crate::format::{self, Header};
use crate::fs::{self, Fs};
use crate::group::{Group, Job};
use crate::layout::{self, Location, SEGMENT_FILE};
use crate::root::RootLock;
use crate::temp;

/// How many temp names a put tries before giving up (names are unique within a session;
/// a clash needs a leftover of an earlier session with the same random 64-bit id).
const TEMP_ATTEMPTS: usize = 8;

/// One store root and its write machinery.
pub(crate) struct Engine<F: Fs> {
    pub fs: F,
    pub root: PathBuf,
    pub sync: SyncMode,
    /// This store's random id, in the name of every temp file it writes: a temp file with
    /// another id is a crashed session's (see `temp.rs`).
    pub session: u64,
    temp_seq: AtomicU64,
    group: Group,
    /// Puts hold it shared while they create directories and their temp file; pruning
    /// holds it exclusively, so it never removes a directory a put is about to write in.
    /// (Once a temp file exists in a directory, the directory is not empty and cannot be
    /// pruned, so the lock is not needed for the rest of the put.)
    tree: RwLock<()>,
    /// Which directories may hold entries that are not durable yet (see `dirs.rs`).
    dirs: DirState,
    /// The root's lock, held as long as the engine: blocking work of a dropped store (a
    /// put whose future was dropped) finishes before another store can open the root.
    lock: Option<RootLock>,
}

/// Whether an I/O error means "nothing there" (a missing file, or a foreign file where a
/// directory of ours would be).
pub(crate) fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// A `Corrupted` error naming the key and the file.
pub(crate) fn corrupted(key: impl std::fmt::Display, path: &Path, why: &str) -> Error {
    Error::corrupted(key, format!("{}: {why}", path.display()))
}

fn io_error(key: &Key, what: &str, path: &Path, e: io::Error) -> Error {
    Error::io(format!("{what} `{}`", path.display()), e).with_key(key)
}

/// The error for a failed read of `key`'s file at `path`: a special file standing there
/// is a damaged entry, named like any other.
pub(crate) fn read_error(key: impl std::fmt::Display, path: &Path, e: io::Error) -> Error {
    match fs::not_regular(&e) {
        Some(what) => corrupted(key, path, &what.to_string()),
        None => Error::io(format!("reading `{}`", path.display()), e).with_key(key),
    }
}

impl<F: Fs> Engine<F> {
    /// An engine over `root` (which must exist). Opening reads nothing: see `dirs.rs`
    /// for how it makes what a crashed process left durable, and `temp.rs` for how its
    /// temp files are cleaned up.
    pub fn new(fs: F, root: PathBuf, sync: SyncMode) -> Self {
        Engine {
            fs,
            root,
            sync,
            session: rand::random(),
            temp_seq: AtomicU64::new(0),
            group: Group::default(),
            tree: RwLock::new(()),
            dirs: DirState::default(),
            lock: None,
        }
    }

    /// Keep the root's lock for the engine's lifetime.
    pub fn holding(mut self, lock: RootLock) -> Self {
        self.lock = Some(lock);
        self
    }

    /// Unless `never`, fsync the root (making an earlier process's entries in it, and
    /// the lock file's, durable) and count it confirmed. Opening does this once.
    pub fn sync_root(&self) -> io::Result<()> {
        if self.syncs() {
            self.fs.sync_dir(&self.root)?;
            self.dirs.confirm(&self.root);
        }
        Ok(())
    }

    /// Whether the engine holds the root's lock.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    // A panic while holding the tree lock leaves nothing half-done that the lock protects
    // (it guards directory existence, which every operation re-checks), so poisoning is
    // ignored.
    fn tree_shared(&self) -> RwLockReadGuard<'_, ()> {
        self.tree.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tree_exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.tree.write().unwrap_or_else(|p| p.into_inner())
    }

    fn syncs(&self) -> bool {
        self.sync != SyncMode::Never
    }

    /// Check a decoded header's key against the key the file was read for.
    pub(crate) fn check_key(&self, key: &Key, path: &Path, header: &Header) -> Result<()> {
        if header.key != key.as_str() {
            return Err(corrupted(
                key,
                path,
                &format!("the file holds the key `{}`", header.key),
            ));
        }
        Ok(())
    }

    /// The value and metadata at `key`, verified against its checksums.
    pub fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let loc = layout::locate(&self.root, key);
        self.entry_from(key, &loc.file, self.fs.read(&loc.file))
    }

    /// [`Engine::get`] if it needs no disk I/O (the file is in the page cache); `None`
    /// if it would, to be retried with `get` on the blocking pool.
    pub fn get_nowait(&self, key: &Key) -> Option<Result<Option<Entry>>> {
        let loc = layout::locate(&self.root, key);
        let read = self.fs.read_nowait(&loc.file, None)?;
        Some(self.entry_from(key, &loc.file, read.map(|(bytes, _)| bytes)))
    }

    /// [`Engine::head`] if it needs no disk I/O; `None` if it would.
    pub fn head_nowait(&self, key: &Key) -> Option<Result<Option<Meta>>> {
        let loc = layout::locate(&self.root, key);
        let read = self.fs.read_nowait(&loc.file, Some(format::MAX_HEADER))?;
        let header = self.header_from(key, &loc.file, read);
        Some(header.map(|header| header.map(|header| meta(key.clone(), &header))))
    }

    /// Decode and verify a whole value file as read (or not) from `path`.
    fn entry_from(
        &self,
        key: &Key,
        path: &Path,
        read: io::Result<Vec<u8>>,
    ) -> Result<Option<Entry>> {
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(read_error(key, path, e)),
        };
        let header = format::verify_file(&bytes).map_err(|why| corrupted(key, path, &why))?;
        self.check_key(key, path, &header)?;
        let value = Bytes::from(bytes).slice(header.len..);
        Ok(Some(Entry {
            value,
            meta: meta(key.clone(), &header),
        }))
    }

    /// The metadata at `key`, from the header alone (its checksum and the file length are
    /// verified; the value is not read).
    pub fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let loc = layout::locate(&self.root, key);
        Ok(self
            .read_header(key, &loc.file)?
            .map(|header| meta(key.clone(), &header)))
    }

    /// The verified header of the value file at `path`, if there is one.
    pub fn read_header(&self, key: &Key, path: &Path) -> Result<Option<Header>> {
        self.header_from(key, path, self.fs.read_head(path, format::MAX_HEADER))
    }

    /// Decode and verify a header as read (or not) from `path`, with the file's length.
    fn header_from(
        &self,
        key: &Key,
        path: &Path,
        read: io::Result<(Vec<u8>, u64)>,
    ) -> Result<Option<Header>> {
        let (bytes, len) = match read {
            Ok(read) => read,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(read_error(key, path, e)),
        };
        let header = format::decode(&bytes).map_err(|why| corrupted(key, path, &why))?;
        self.check_key(key, path, &header)?;
        format::check_len(&header, len).map_err(|why| corrupted(key, path, &why))?;
        Ok(Some(header))
    }

    /// Write `value` at `key` if `mode` allows. The caller holds the key's lock.
    pub fn put(&self, key: &Key, value: &[u8], mode: &PutMode) -> Result<Meta> {
        let loc = layout::locate(&self.root, key);
        // First, so that a conditional put decides on what power loss would leave.
        self.confirm_path(key, &loc)?;
        if *mode != PutMode::Overwrite {
            let current = self.read_header(key, &loc.file)?.map(|h| h.version());
            mode.check(key, current.as_ref())?;
        }
        let version: u128 = rand::random();
        let modified = SystemTime::now();
        let header = format::encode(key, value, version, modified);
        let tmp = self.write_temp(key, &loc, &[&header, value])?;
        if let Err(e) = self.publish(&tmp, &loc) {
            let _ = self.fs.remove_file(&tmp);
            return Err(io_error(key, "publishing", &loc.file, e));
        }
        Ok(Meta {
            key: key.clone(),
            size: value.len() as u64,
            version: format::version_text(version),
            last_modified: modified,
        })
    }

    /// Create the key's directories, then write (and, unless `never`, fsync) a temp file
    /// next to the target. The final path is never created here.
    fn write_temp(&self, key: &Key, loc: &Location, parts: &[&[u8]]) -> Result<PathBuf> {
        let (tmp, mut file) = {
            let _tree = self.tree_shared();
            // Fast path: the directories exist, so try the temp file first (no mkdir
            // calls). Hashed directories always take the full path, which checks their
            // segment file.
            let hashed = loc.dirs.iter().any(|d| d.hashed_segment.is_some());
            let fast = if hashed {
                None
            } else {
                match self.try_create_temp(&loc.dir) {
                    Ok(created) => Some(created),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io_error(key, "creating a temp file in", &loc.dir, e)),
                }
            };
            let (tmp, file) = match fast {
                Some(created) => created,
                None => {
                    self.ensure_dirs(key, loc)?;
                    self.create_temp(key, &loc.dir)?
                }
            };
            if let Err(e) = self.sync_pending_dirs(key, loc) {
                drop(file);
                let _ = self.fs.remove_file(&tmp);
                return Err(e);
            }
            (tmp, file)
        };
        let written = parts
            .iter()
            .try_for_each(|part| self.fs.write_all(&mut file, part))
            .and_then(|()| {
                if self.syncs() {
                    self.fs.sync(&file)
                } else {
                    Ok(())
                }
            });
        drop(file);
        if let Err(e) = written {
            let _ = self.fs.remove_file(&tmp);
            return Err(io_error(key, "writing", &tmp, e));
        }
        Ok(tmp)
    }

    fn try_create_temp(&self, dir: &Path) -> io::Result<(PathBuf, F::File)> {
        let mut last = io::Error::other("no attempt");
        for _ in 0..TEMP_ATTEMPTS {
            let n = self.temp_seq.fetch_add(1, Ordering::Relaxed);
            let tmp = dir.join(temp::name(self.session, n));
            match self.fs.create_new(&tmp) {
                Ok(file) => return Ok((tmp, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn create_temp(&self, key: &Key, dir: &Path) -> Result<(PathBuf, F::File)> {
        self.try_create_temp(dir)
            .map_err(|e| io_error(key, "creating a temp file in", dir, e))
    }

    /// fsync, once per store, every directory on the key's path that an earlier process
    /// left (see `dirs.rs`).
    fn confirm_path(&self, key: &Key, loc: &Location) -> Result<()> {
        if !self.syncs() {
            return Ok(());
        }
        for dir in std::iter::once(&self.root).chain(loc.dirs.iter().map(|d| &d.path)) {
            if self.dirs.is_confirmed(dir) {
                continue;
            }
            match self.fs.sync_dir(dir) {
                Ok(()) => self.dirs.confirm(dir),
                // Not there: this put creates it and the rest of the path.
                Err(e) if is_absent(&e) => break,
                Err(e) => return Err(io_error(key, "syncing directory", dir, e)),
            }
        }
        Ok(())
    }

    /// fsync the parent of every directory on the key's path whose creation may not be
    /// durable yet (and a hashed directory itself, for its segment file). Runs under the
    /// shared tree lock, so no directory is pruned and re-created meanwhile.
    fn sync_pending_dirs(&self, key: &Key, loc: &Location) -> Result<()> {
        if !self.syncs() {
            return Ok(());
        }
        for (i, step) in loc.dirs.iter().enumerate() {
            if !self.dirs.is_pending(&step.path) {
                continue;
            }
            let parent = if i == 0 {
                &self.root
            } else {
                &loc.dirs[i - 1].path
            };
            let mut dirs = vec![parent];
            if step.hashed_segment.is_some() {
                dirs.push(&step.path);
            }
            for dir in dirs {
                self.fs
                    .sync_dir(dir)
                    .map_err(|e| io_error(key, "syncing directory", dir, e))?;
            }
            self.dirs.settled(&step.path);
        }
        Ok(())
    }

    /// Rename the temp file over the target and make the rename durable per the setting.
    fn publish(&self, tmp: &Path, loc: &Location) -> io::Result<()> {
        match self.sync {
            SyncMode::Always => {
                self.fs.rename(tmp, &loc.file)?;
                self.fs.sync_dir(&loc.dir)
            }
            SyncMode::Batch => self.group.commit(
                &self.fs,
                Job {
                    tmp: tmp.to_path_buf(),
                    target: loc.file.clone(),
                    dir: loc.dir.clone(),
                },
            ),
            SyncMode::Never => self.fs.rename(tmp, &loc.file),
        }
    }

    /// Create the missing directories on the key's path (and the `~seg` file of hashed
    /// ones). Unless `never`, each is marked pending *before* `mkdir`, so that whoever
    /// sees it exist also sees the mark; [`sync_pending_dirs`](Self::sync_pending_dirs)
    /// clears marks after the parent fsync. (A directory that already existed is marked
    /// too, which costs at most one needless parent fsync.)
    fn ensure_dirs(&self, key: &Key, loc: &Location) -> Result<()> {
        for step in &loc.dirs {
            if self.syncs() {
                self.dirs.creating(&step.path);
            }
            match self.fs.create_dir(&step.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(key, "creating directory", &step.path, e)),
            }
            if let Some(segment) = &step.hashed_segment {
                let seg = step.path.join(SEGMENT_FILE);
                let present = self
                    .fs
                    .exists(&seg)
                    .map_err(|e| io_error(key, "checking", &seg, e))?;
                if !present {
                    self.write_small(key, &step.path, &seg, segment.as_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Write a small file durably with the same temp-and-rename protocol.
    fn write_small(&self, key: &Key, dir: &Path, path: &Path, data: &[u8]) -> Result<()> {
        let (tmp, mut file) = self.create_temp(key, dir)?;
        let done = self
            .fs
            .write_all(&mut file, data)
            .and_then(|()| {
                if self.syncs() {
                    self.fs.sync(&file)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| {
                drop(file);
                self.fs.rename(&tmp, path)
            })
            .and_then(|()| {
                if self.syncs() {
                    self.fs.sync_dir(dir)
                } else {
                    Ok(())
                }
            });
        done.map_err(|e| {
            let _ = self.fs.remove_file(&tmp);
            io_error(key, "writing", path, e)
        })
    }

    /// Remove `key`, then prune directories left empty. The caller holds the key's lock.
    pub fn delete(&self, key: &Key) -> Result<()> {
        let loc = layout::locate(&self.root, key);
        {
            // Under the shared tree lock: otherwise a concurrent delete of the directory's
            // last other key could prune it between this removal and its fsync, which
            // would then fail with ENOENT (`delete_many` runs deletes concurrently).
            let _tree = self.tree_shared();
            match self.fs.remove_file(&loc.file) {
                Ok(()) => {}
                Err(e) if is_absent(&e) => return Ok(()),
                Err(e) => return Err(io_error(key, "removing", &loc.file, e)),
            }
            if self.syncs() {
                self.fs
                    .sync_dir(&loc.dir)
                    .map_err(|e| io_error(key, "syncing directory", &loc.dir, e))?;
            }
        }
        self.prune(key, &loc)
    }

    /// Remove the key's directories that hold nothing (but a `~seg` file), deepest first.
    fn prune(&self, key: &Key, loc: &Location) -> Result<()> {
        let _tree = self.tree_exclusive();
        for (i, step) in loc.dirs.iter().enumerate().rev() {
            let items = match self.fs.read_dir(&step.path) {
                Ok(items) => items,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(io_error(key, "reading directory", &step.path, e)),
            };
            if !items.iter().all(|item| item.name == SEGMENT_FILE) {
                break;
            }
            let removed = items
                .iter()
                .try_for_each(|item| self.fs.remove_file(&step.path.join(&item.name)))
                .and_then(|()| self.fs.remove_dir(&step.path));
            match removed {
                Ok(()) => {}
                // Not empty after all (a file we cannot see as ours): keep it.
                Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => break,
                Err(e) => return Err(io_error(key, "pruning directory", &step.path, e)),
            }
            let parent = if i == 0 {
                &self.root
            } else {
                &loc.dirs[i - 1].path
            };
            if self.syncs() {
                self.fs
                    .sync_dir(parent)
                    .map_err(|e| io_error(key, "syncing directory", parent, e))?;
            }
        }
        Ok(())
    }
}

/// The metadata a header describes.
pub(crate) fn meta(key: Key, header: &Header) -> Meta {
    Meta {
        key,
        size: header.value_len,
        version: header.version(),
        last_modified: header.modified,
    }
}
