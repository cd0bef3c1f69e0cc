//! # store-file: a durable, crash-safe, checksummed file store
//!
//! [`FileStore`] keeps one file per key under a root directory, in a layout a person can
//! browse, back up with rsync or diff: key `users/42/profile` lives in
//! `<root>/users/42/profile~`.
//!
//! **Layout.** Each `/`-separated segment is percent-encoded (everything but
//! `A-Z a-z 0-9 - _ .` becomes `%XX`), so any valid key is a safe file name and nothing
//! is ever written outside the root (`.`/`..` segments are invalid keys). Leading segments
//! are directories; the last is a file whose name ends in `~`, a character no encoded
//! directory name has, so `a` and `a/b` coexist. A segment whose encoding exceeds 240
//! bytes is named by its hash (`~h…`); the file keeps the whole key in its header and a
//! hashed directory keeps its segment in a `~seg` file. The store's own files start with
//! `~`: the lock file `~lock` and temp files `~t….tmp`.
//!
//! **File format.** A header (magic `STRF`, format version, flags, key length, value
//! length, CRC32C of the value, the write's version, modification time, the key, and a
//! CRC32C of the header), then the value. Any checksum, length or key mismatch is
//! reported as [`ErrorKind::Corrupted`](store_core::ErrorKind::Corrupted) naming the key
//! and the file — never as wrong bytes.
//!
//! **Writes.** A put writes a uniquely named temp file in the key's directory, fsyncs it,
//! renames it over the target and fsyncs the directory (and the parent of every directory
//! it created, or that another put created and has not yet made durable). The final path is
//! never created before the rename, so a reader sees the old value or the new one, never a
//! partial one, even if the put's future is dropped or the process is killed. Temp files
//! are invisible to `get` and `list` and are removed when the store is opened. Deletes
//! unlink, fsync the directory and prune directories left empty.
//!
//! **Durability** (`sync` setting; what an acknowledged put or delete survives):
//!
//! | `sync` | survives | how |
//! |---|---|---|
//! | `always` (default) | power loss, OS crash | fsync of file and directory per write |
//! | `batch` | power loss, OS crash | each file is fsynced; concurrent writes to a directory share its fsync (group commit) and are acknowledged after it |
//! | `never` | process crash (kill -9) only | no fsync; the page cache holds the data |
//!
//! [`Store::flush`](store_core::Store::flush) is the barrier; since every setting
//! acknowledges only what it promises, it has nothing left to do.
//!
//! **Single writer.** Opening takes an exclusive lock on `<root>/~lock`; a second store
//! on the same root (in this or another process) fails with
//! [`ErrorKind::Locked`](store_core::ErrorKind::Locked) naming the root, after waiting up
//! to half a second (a process forked from the holder keeps the lock until it execs).
//! The lock is released when the store and any work it still has in flight are dropped.
//! Opening also recovers from a crash: it removes temp files and (unless `never`) fsyncs
//! every directory, so it reads the whole tree once. Conditional puts
//! (`Create`, `Update`) are atomic *within the process* holding the lock (per-key locks),
//! reported as [`ConditionalPuts::InProcess`](store_core::ConditionalPuts::InProcess).
//! Batches are not atomic.
//!
//! **Limits.** The layout assumes a case-sensitive file system (Linux): on a
//! case-insensitive one, keys differing only in case share a file, which reads report as
//! corruption rather than returning the other key's bytes. A key's path (root included)
//! must fit the platform's path limit (4096 bytes on Linux); a 1024-byte key of
//! characters that all need encoding takes up to about 3 KiB.
//!
//! **Listing** walks the tree lazily in key order, one directory at a time, skipping
//! subtrees that `prefix` and `start_after` exclude; memory is bounded by directory size.
//!
//! **Async.** Writes, deletes, listing and any read that may wait on the disk run on
//! tokio's blocking pool. On Linux a `get` or `head` whose file is entirely in the page
//! cache (and at most 256 KiB) is answered on the calling task instead: it opens with
//! `openat2(RESOLVE_CACHED)` and reads with `preadv2(RWF_NOWAIT)`, which fail rather than
//! wait for the disk, so the runtime never stalls on I/O, while a hot read skips a hop to
//! the blocking pool that costs several times the read itself. Every read, either way,
//! verifies the header and the value's CRC32C.
//!
//! ```
//! use store_core::{Key, PutMode, Store};
//! use store_file::{FileStore, SyncMode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStore::open(dir.path(), SyncMode::Always).await?;
//! let key = Key::new("docs/readme")?;
//! store.put(&key, "hello".into(), PutMode::Create).await?;
//! assert_eq!(store.get(&key).await?.unwrap().value, "hello");
//! assert!(dir.path().join("docs/readme~").is_file());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod engine;
mod factory;
mod format;
mod fs;
mod group;
mod layout;
mod list;
#[cfg(target_os = "linux")]
mod nowait;
mod store;

#[cfg(test)]
mod power_loss;
#[cfg(test)]
mod sim;

pub use factory::FileFactory;
pub use store::{FileStore, SyncMode};
