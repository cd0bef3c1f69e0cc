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
//! `~`: the lock file `~lock` and temp files `~t<session><n>.tmp`. Anything else under the
//! root is foreign: the store never reads it as a key and never removes it.
//!
//! **File format.** A header (magic `STRF`, format version, flags, key length, value
//! length, CRC32C of the value, the write's version, modification time, the key, and a
//! CRC32C of the header), then the value. Any checksum, length or key mismatch is
//! reported as [`ErrorKind::Corrupted`](store_core::ErrorKind::Corrupted) naming the key
//! and the file — never as wrong bytes. So is anything but a regular file where a value
//! file belongs (a FIFO, a directory): it is never opened in a way that could block.
//!
//! **Writes.** A put writes a uniquely named temp file in the key's directory, fsyncs it,
//! renames it over the target and fsyncs the directory (and the parent of every directory
//! it created, or that another put created and has not yet made durable). The final path is
//! never created before the rename, so a reader sees the old value or the new one, never a
//! partial one, even if the put's future is dropped or the process is killed. Temp files
//! are invisible to `get` and `list`; one left by a killed process is removed by the next
//! listing that passes it, and only if it is provably the store's: its exact name shape
//! (carrying the id of a session other than the current one), the store's bytes in it,
//! in a directory whose name is the store's encoding. Deletes unlink, fsync the directory
//! and prune directories left empty.
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
//! **Opening** reads no directory, however large the tree. [`FileStore::open`] creates a
//! missing root; [`FileStore::open_existing`] (and the registry with `create = false`, or
//! with [`creates_missing`](store_core::Registry::creates_missing) off) creates nothing and
//! fails with [`ErrorKind::NotFound`](store_core::ErrorKind::NotFound) naming the path if
//! there is no store there. A root inside another file store's root (an ancestor holds a
//! `~lock`), or around the root of a store open in this process, is refused with
//! [`ErrorKind::InvalidConfig`](store_core::ErrorKind::InvalidConfig) naming both: the two
//! would write into each other's trees. (A closed store deeper down is not looked for,
//! which would take a walk; the outer listing skips its tree instead.)
//!
//! **Crash recovery** needs no pass over the tree. A killed process may have left
//! directory entries it never fsynced (of puts it never acknowledged); so, unless `never`,
//! the first put through each directory an earlier process left fsyncs it, once per open,
//! before deciding anything, which makes all that was visible there durable before a new
//! write builds on it. Temp files are cleaned up by listings, as above.
//!
//! **Single writer.** Opening takes an exclusive lock on `<root>/~lock`; a second store
//! on the same root (in this or another process) fails with
//! [`ErrorKind::Locked`](store_core::ErrorKind::Locked) naming the root, after waiting up
//! to half a second (a process forked from the holder keeps the lock until it execs).
//! The lock is released when the store and any work it still has in flight are dropped.
//! Conditional puts (`Create`, `Update`) are atomic *within the process* holding the lock
//! (per-key locks), reported as
//! [`ConditionalPuts::InProcess`](store_core::ConditionalPuts::InProcess). Batches are
//! not atomic. [`Store::locations`](store_core::Store::locations) is the root as a
//! `file:///…/` URL.
//!
//! **Limits.** The layout assumes a case-sensitive file system (Linux): on a
//! case-insensitive one, keys differing only in case share a file, which reads report as
//! corruption rather than returning the other key's bytes. A key's path (root included)
//! must fit the platform's path limit (4096 bytes on Linux); a 1024-byte key of
//! characters that all need encoding takes up to about 3 KiB.
//!
//! **Listing** walks the tree lazily in key order, one directory at a time, skipping
//! subtrees that `prefix` and `start_after` exclude; memory is bounded by directory size.
//! A damaged entry is yielded in its place as a `Corrupted` error naming its key and file,
//! and the listing goes on; foreign entries (names outside the store's alphabet, another
//! store's tree) are skipped, and one `tracing` warning per listing counts them and names
//! the first. Other errors (an unreadable directory: `PermissionDenied` naming it) end it.
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

mod dirs;
mod engine;
mod factory;
mod format;
mod fs;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod group;
mod layout;
mod list;
#[cfg(target_os = "linux")]
mod nowait;
mod range;
mod root;
mod store;
mod temp;

#[cfg(test)]
mod power_loss;
#[cfg(test)]
mod sim;

pub use factory::FileFactory;
pub use store::{FileStore, SyncMode};
