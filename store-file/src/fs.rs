//! The file operations the store performs, behind a small trait.
//!
//! Every write, fsync, rename and directory read of the store goes through [`Fs`], so the
//! write protocol can be run against a model of power loss in tests as well as against the
//! real file system ([`RealFs`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Something other than a regular file (a FIFO, a device, a socket, a directory) where
/// the store reads one of its files. It is never read: a FIFO would block the read
/// forever. The engine reports it as a damaged entry.
#[derive(Debug)]
pub(crate) struct NotRegular(pub &'static str);

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a regular file ({})", self.0)
    }
}

impl std::error::Error for NotRegular {}

/// The `NotRegular` an I/O error carries, if it is one.
pub(crate) fn not_regular(e: &io::Error) -> Option<&NotRegular> {
    e.get_ref()?.downcast_ref::<NotRegular>()
}

fn not_regular_error(what: &'static str) -> io::Error {
    io::Error::other(NotRegular(what))
}

/// What kind of non-regular file `file_type` is.
pub(crate) fn describe(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Open `path` for reading only if it is a regular file, and return it with its length.
/// The open itself never blocks: `O_NONBLOCK` makes opening a FIFO return at once (on a
/// regular file it changes nothing), and `O_NOCTTY` keeps a terminal from becoming ours.
pub(crate) fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        // A socket (or a device without a driver) cannot be opened at all.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            let what =
                fs::symlink_metadata(path).map_or("a special file", |m| describe(m.file_type()));
            return Err(not_regular_error(what));
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular_error(describe(meta.file_type())));
    }
    Ok((file, meta.len()))
}

/// Fill `buf` from `file`'s position, or as much of it as the file holds; returns how
/// many bytes were read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One directory entry: its name and whether it is a directory. A name that is not UTF-8
/// is never the store's; it comes lossily converted (with U+FFFD, which no name the store
/// writes contains), so it is counted as foreign and never mistaken for one of ours.
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
    /// The whole file. Reads of the store's files never block on a special file: one
    /// fails with a [`NotRegular`] error instead.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Up to `max` leading bytes of the file, and its length (a [`NotRegular`] error for
    /// a special file, as `read`).
    fn read_head(&self, path: &Path, max: usize) -> io::Result<(Vec<u8>, u64)>;
    /// The first `head` bytes of the file, up to `len` bytes from offset `at`, and the
    /// file's length, all through one open of the file, so from one version of it (the
    /// store replaces a file by rename, never in place). Either part stops early at the
    /// end of the file. The default reads the whole file and cuts the parts out of it.
    fn read_parts(
        &self,
        path: &Path,
        head: usize,
        at: u64,
        len: u64,
    ) -> io::Result<(Vec<u8>, Vec<u8>, u64)> {
        let data = self.read(path)?;
        let size = data.len() as u64;
        let part = |from: u64, n: u64| {
            let from = from.min(size);
            // Both ends are at most the length of `data`, a `usize`.
            data[from as usize..from.saturating_add(n).min(size) as usize].to_vec()
        };
        Ok((part(0, head as u64), part(at, len), size))
    }
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
        let (mut file, len) = open_regular(path)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn read_head(&self, path: &Path, max: usize) -> io::Result<(Vec<u8>, u64)> {
        let (mut file, len) = open_regular(path)?;
        let mut buf = vec![0; max.min(usize::try_from(len).unwrap_or(usize::MAX))];
        let filled = read_full(&mut file, &mut buf)?;
        buf.truncate(filled);
        Ok((buf, len))
    }

    fn read_parts(
        &self,
        path: &Path,
        head: usize,
        at: u64,
        len: u64,
    ) -> io::Result<(Vec<u8>, Vec<u8>, u64)> {
        let (mut file, size) = open_regular(path)?;
        let mut first = vec![0; head.min(usize::try_from(size).unwrap_or(usize::MAX))];
        let filled = read_full(&mut file, &mut first)?;
        first.truncate(filled);
        let want = len.min(size.saturating_sub(at));
        let mut part = vec![0; usize::try_from(want).unwrap_or(usize::MAX)];
        if want > 0 {
            file.seek(SeekFrom::Start(at))?;
            let filled = read_full(&mut file, &mut part)?;
            part.truncate(filled);
        }
        Ok((first, part, size))
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
            items.push(DirItem {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        Ok(items)
    }
}
