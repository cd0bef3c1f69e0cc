//! Reads that never wait on the disk (Linux), so a `get` or `head` whose file is in the
//! page cache can be answered on the calling task instead of paying a hop to the blocking
//! pool (which costs far more than reading a cached 1 KiB file).
//!
//! The file is opened with `openat2(RESOLVE_CACHED)`, which fails with `EAGAIN` instead
//! of reading a directory from disk, and read with `preadv2(RWF_NOWAIT)`, which fails
//! with `EAGAIN` instead of waiting for a page to come in. `O_NOATIME` keeps the read
//! from updating the access time (an inode write that could wait on the file system's
//! journal), and `O_NONBLOCK` keeps the open from waiting on a FIFO standing where a
//! value file should be (anything but a regular file is left to the blocking path, which
//! reports it). Any answer other than the data or a definite "no such file" — `EAGAIN`, a
//! kernel without these calls, a file we may not open with `O_NOATIME`, a file larger
//! than [`INLINE_MAX`] — is `None`: the caller does the ordinary read on the blocking
//! pool, which also produces the canonical error.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{CWD, FileType, Mode, OFlags, ResolveFlags, fstat, openat2};
use rustix::io::Errno;

/// Larger files are read on the blocking pool even when cached: copying and checksumming
/// them would hold the runtime's thread too long (256 KiB is tens of microseconds).
pub(crate) const INLINE_MAX: u64 = 256 * 1024;

/// Set once the kernel turns out not to support these calls, so they are not retried.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Up to `max` leading bytes of the file at `path` (all of it if `None`) and its length,
/// if that needs no disk I/O; `Some(Err(NotFound))` if the path is known absent.
pub(crate) fn read(path: &Path, max: Option<usize>) -> Option<io::Result<(Vec<u8>, u64)>> {
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return None;
    }
    let flags =
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOATIME | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = match openat2(CWD, path, flags, Mode::empty(), ResolveFlags::CACHED) {
        Ok(fd) => fd,
        // A cached negative entry: definitely absent.
        Err(Errno::NOENT) => return Some(Err(io::ErrorKind::NotFound.into())),
        // Before Linux 5.6 (openat2) or 5.12 (RESOLVE_CACHED), or filtered by seccomp.
        Err(Errno::NOSYS | Errno::INVAL | Errno::PERM) if unusable() => {
            UNSUPPORTED.store(true, Ordering::Relaxed);
            return None;
        }
        Err(_) => return None,
    };
    let stat = fstat(&fd).ok()?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return None;
    }
    let len = u64::try_from(stat.st_size).ok()?;
    let want = max.map_or(len, |max| len.min(max as u64));
    if want > INLINE_MAX {
        return None;
    }
    let want = usize::try_from(want).ok()?;
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    while buf.len() < want {
        match read_nowait_into(fd.as_fd(), &mut buf, want) {
            // Shorter than its length said: the decoder reports the mismatch.
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::INTR) => {}
            Err(Errno::OPNOTSUPP) => {
                UNSUPPORTED.store(true, Ordering::Relaxed);
                return None;
            }
            // EAGAIN: part of the file is not in the page cache.
            Err(_) => return None,
        }
    }
    Some(Ok((buf, len)))
}

/// `preadv2(RWF_NOWAIT)` into `buf`'s spare capacity, up to `want` bytes in all, at the
/// offset `buf.len()`; the bytes read are appended to `buf`.
///
/// Not rustix's `preadv2`: it takes initialized slices, and zeroing a 64 KiB buffer
/// first costs a quarter of the cached read it is for.
#[allow(unsafe_code)]
fn read_nowait_into(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, want: usize) -> Result<usize, Errno> {
    let start = buf.len();
    let room = want.saturating_sub(start).min(buf.capacity() - start);
    let iov = libc::iovec {
        iov_base: buf.spare_capacity_mut().as_mut_ptr().cast(),
        iov_len: room,
    };
    let offset = libc::off_t::try_from(start).map_err(|_| Errno::INVAL)?;
    // SAFETY: `iov` describes `room` bytes of `buf`'s spare capacity, which stays
    // allocated and unaliased for the call; the kernel writes at most that many bytes.
    let n = unsafe { libc::preadv2(fd.as_raw_fd(), &iov, 1, offset, libc::RWF_NOWAIT) };
    if n < 0 {
        let code = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return Err(Errno::from_raw_os_error(code));
    }
    let n = n as usize; // non-negative, and at most `room`
    // SAFETY: the kernel initialized the `n <= room` bytes after `start`.
    unsafe { buf.set_len(start + n) };
    Ok(n)
}

/// Whether `openat2` itself is unusable here (rather than refused for this one file):
/// probed with the root directory, which any kernel that has it resolves from cache.
fn unusable() -> bool {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY;
    matches!(
        openat2(CWD, "/", flags, Mode::empty(), ResolveFlags::CACHED),
        Err(Errno::NOSYS | Errno::INVAL | Errno::PERM)
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use rustix::fs::{Advice, fadvise, statfs};

    use super::*;

    fn write_synced(path: &Path, data: &[u8]) {
        let mut file = std::fs::File::create(path).unwrap();
        file.write_all(data).unwrap();
        file.sync_all().unwrap();
    }

    #[test]
    fn cached_files_are_read_and_uncached_ones_are_left_to_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value~");
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        write_synced(&path, &data);

        let (bytes, len) = read(&path, None)
            .expect("a just-written file is cached")
            .unwrap();
        assert_eq!((bytes.as_slice(), len), (data.as_slice(), 10_000));
        let (head, len) = read(&path, Some(100)).unwrap().unwrap();
        assert_eq!((head.as_slice(), len), (&data[..100], 10_000));

        // Drop the file's pages from the page cache: reading it now needs the disk.
        let file = std::fs::File::open(&path).unwrap();
        fadvise(&file, 0, None, Advice::DontNeed).unwrap();
        // tmpfs keeps files in memory (it never evicts them, and reading never waits).
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        let in_memory = statfs(dir.path()).unwrap().f_type as i64 == TMPFS_MAGIC;
        if in_memory {
            assert!(read(&path, None).is_some());
        } else {
            assert!(
                read(&path, None).is_none(),
                "an uncached read must not happen inline"
            );
        }
    }

    #[test]
    fn absent_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("nothing~");
        // Known absent, or not known without a lookup: never a wrong answer.
        match read(&absent, None) {
            None => {}
            Some(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            Some(Ok(_)) => panic!("an absent file read as present"),
        }
        let big = dir.path().join("big~");
        write_synced(&big, &vec![7u8; INLINE_MAX as usize + 1]);
        assert!(
            read(&big, None).is_none(),
            "large files go to the blocking pool"
        );
        assert!(read(&big, Some(64)).is_some(), "their headers do not");
    }
}
