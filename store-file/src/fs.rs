//! The file operations the store performs, behind a small trait.
//!
//! Every write, fsync, rename and directory read of the store goes through [`Fs`], so the
//! write protocol can be run against a model of power loss in tests as well as against the
//! real file system ([`RealFs`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// One directory entry: its name (entries whose names are not UTF-8 are never ours and
/// are left out) and whether it is a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirItem {
    pub name: String,
    pub is_dir: bool,
}

/// The file operations the store needs. Paths are absolute (under the store root).
pub(crate) trait Fs: Send + Sync + 'static {
    /// An open, writable file.
    type File: Send;

    /// Create a new file; fails with `AlreadyExists` if the path exists.
    fn create_new(&self, path: &Path) -> io::Result<Self::File>;
    /// Append `data` to a file opened by `create_new`.
    fn write_all(&self, file: &mut Self::File, data: &[u8]) -> io::Result<()>;
    /// Make the file's contents durable (fsync).
    fn sync(&self, file: &Self::File) -> io::Result<()>;
    /// Atomically replace `to` with `from` (same directory).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Make a directory's entries (creations, renames, unlinks) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Create one directory; `AlreadyExists` if it exists.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Unlink a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Remove an empty directory.
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// The whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Up to `max` leading bytes of the file, and its length.
    fn read_head(&self, path: &Path, max: usize) -> io::Result<(Vec<u8>, u64)>;
    /// Up to `max` leading bytes (all if `None`) and the length, only if reading them
    /// needs no disk I/O (see `nowait.rs`); `None` means "use the blocking calls".
    fn read_nowait(&self, path: &Path, max: Option<usize>) -> Option<io::Result<(Vec<u8>, u64)>> {
        let _ = (path, max);
        None
    }
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// The entries of a directory, unsorted.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>>;
}

/// The real file system through `std::fs`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealFs;

impl Fs for RealFs {
    type File = File;

    fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    fn write_all(&self, file: &mut File, data: &[u8]) -> io::Result<()> {
        file.write_all(data)
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        // fdatasync: the data and the file's length, which is all a read needs; the
        // directory fsync after the rename makes the name durable.
        file.sync_data()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Linux and the BSDs an fsync on a directory opened read-only makes its
        // entries durable.
        File::open(dir)?.sync_all()
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir(dir)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn read_head(&self, path: &Path, max: usize) -> io::Result<(Vec<u8>, u64)> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let want = max.min(usize::try_from(len).unwrap_or(usize::MAX));
        let mut buf = vec![0; want];
        let mut filled = 0;
        while filled < want {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok((buf, len))
    }

    #[cfg(target_os = "linux")]
    fn read_nowait(&self, path: &Path, max: Option<usize>) -> Option<io::Result<(Vec<u8>, u64)>> {
        crate::nowait::read(path, max)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirItem>> {
        let mut items = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            items.push(DirItem {
                name,
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        Ok(items)
    }
}
