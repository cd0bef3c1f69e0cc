//! # store-lmdb: Strata's embedded B-tree backends, redb and LMDB, with group commit
//!
//! Two engines behind one store implementation:
//!
//! - [`RedbStore`] keeps a Strata store in one [redb](https://docs.rs/redb) database file
//!   (pure Rust, ACID, copy-on-write B-tree): the embedded default (`type = "redb"`).
//! - [`LmdbStore`] keeps it in one [LMDB](http://www.lmdb.tech/doc/) environment directory,
//!   through [heed](https://docs.rs/heed) (LMDB is compiled from its vendored C source; no
//!   system library): memory-mapped, zero-copy reads (`type = "lmdb"`).
//!
//! Both are the fast single-machine backends: writes from many tasks share fsyncs through
//! group commit, and hot reads finish without leaving the calling task. Everything but the
//! engine's transactions is shared (`engine.rs` is the seam; `redb/` and `lmdb/` hold each
//! engine's part): the checksummed row format, group commit, conditions, the value cache,
//! coalesced misses, lookups and chunked listing.
//!
//! ```
//! use store_core::{Key, PutMode, Store, StoreExt};
//! use store_lmdb::{RedbConfig, RedbStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = RedbStore::open(RedbConfig::new(dir.path().join("app.redb"))).await?;
//! let key = Key::new("users/42/name")?;
//! let meta = store.put_typed(&key, "Ada", PutMode::Create).await?;
//! store.put_typed(&key, "Ada L.", PutMode::Update(meta.version)).await?;
//! assert_eq!(store.get_typed::<String>(&key).await?.as_deref(), Some("Ada L."));
//! # Ok(()) }
//! ```
//!
//! The same with LMDB (the path is a directory):
//!
//! ```
//! use store_core::{Key, PutMode, Store, StoreExt};
//! use store_lmdb::{LmdbConfig, LmdbStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = LmdbStore::open(LmdbConfig::new(dir.path().join("app-env"))).await?;
//! let key = Key::new("users/42/name")?;
//! let meta = store.put_typed(&key, "Ada", PutMode::Create).await?;
//! store.put_typed(&key, "Ada L.", PutMode::Update(meta.version)).await?;
//! assert_eq!(store.get_typed::<String>(&key).await?.as_deref(), Some("Ada L."));
//! # Ok(()) }
//! ```
//!
//! ## Configuration
//!
//! `{"type": "redb", "path": "/var/lib/app/data.redb", "durability": "immediate",
//! "cache_size": 1073741824, "value_cache_size": 67108864, "create": true}` or the URI
//! `redb:///var/lib/app/data.redb?durability=none`; see [`RedbConfig`].
//! `{"type": "lmdb", "path": "/var/lib/app/env", "durability": "immediate", "map_size":
//! 1099511627776, "value_cache_size": 67108864, "create": true}` or the URI
//! `lmdb:///var/lib/app/env?durability=none`; see [`LmdbConfig`] (`map_size` is the most
//! the environment can hold, 1 TiB of address space by default; a write past it fails with
//! `Unsupported` naming `map_size`). Unknown fields are rejected by name.
//!
//! A missing file (and its directories) is created unless `create` is `false`; unset, the
//! registry's [`creates_missing`](store_core::Registry::creates_missing) decides, so tools
//! that only read fail with `NotFound` naming the path instead of creating an empty
//! database at a mistyped one.
//!
//! ## Durability
//!
//! | `durability` | an acknowledged write survives | [`Capabilities::durability`](store_core::Capabilities) |
//! |---|---|---|
//! | `"immediate"` (default) | power loss and OS crashes: its group's commit was fsynced before the acknowledgement | `PowerLoss` |
//! | `"none"` | nothing, until a later `flush()` returns or the last handle closes the store: both force a durable commit, after which every write acknowledged before it survives power loss | `None` |
//!
//! With `"none"`, a crash (of the process, the OS or the machine) loses the writes since the
//! last durable commit, never part of one: redb falls back to its last durable commit, which
//! is always consistent. LMDB's `"none"` is `MDB_NOSYNC`: a killed process loses nothing
//! acknowledged (commits are in the OS's page cache), but an OS crash or power loss before
//! the next `flush` can lose recent commits, and LMDB does not promise the file stays
//! consistent then; use `"immediate"` where that matters.
//!
//! ## One process, one database
//!
//! A second open of the same file (redb) or directory (LMDB) in this process shares the
//! first one's database (different settings fail with `Locked`); another process gets a
//! `Locked` error saying the database is already open (redb's file lock; for LMDB, which
//! would let processes share an environment, an exclusive lock on `strata.lock` in the
//! directory, because the writer keeps the version counter in memory).
//!
//! ## Creation
//!
//! redb initialises a new file in place and writes its magic number last, so a kill in
//! those milliseconds used to leave a file that never opened again. A new database is now
//! built under a temporary name beside it (`.NAME.PID-N.creating`), with its tables and
//! format version, fsynced, then renamed into place without replacing anything, and the
//! directory fsynced: the path holds nothing or a complete database, whenever the process
//! dies. A file such an interruption left (by older versions, or by redb itself) is
//! recognised — empty, or redb's header without its magic number and nothing else — and
//! replaced by a new database; a file that is neither a database nor that is refused
//! untouched. Temporary files of killed creators are deleted by the next creation. A kill
//! loop (`crash_redb_creation` in `strata-tests`, 200 cycles) proves it.
//!
//! An LMDB environment is created by LMDB in its directory (`data.mdb`, `lock.mdb`), its
//! databases and format rows in one transaction, synced before first use; a kill -9 loop
//! of writers (`crash_lmdb` in `strata-tests`, 50 cycles) checks that every acknowledged
//! write survives.
//!
//! ## Corruption
//!
//! Every row carries a CRC32C over its key and bytes (format 1; the layout is in
//! `codec.rs`, the same for both engines), computed once by the writer and checked on
//! every read from the file:
//! `get`, `get_many`, `head`, `list`, the version checks of conditional puts, and the
//! store's own format and counter rows. So:
//!
//! | damage | what the caller sees |
//! |---|---|
//! | a row's bytes (value, metadata, key) | `Corrupted` naming the key; never a wrong value or wrong metadata |
//! | one of a key's two rows lost (a damaged page) | `Corrupted` naming the key, not "no value" |
//! | a damaged entry in a listing | yielded as `Err(Corrupted)` naming its key; the listing goes on |
//! | a page that makes redb fail or panic | `Corrupted` naming the key (or the file, for a listing or an open); a listing ends there |
//! | a write that trips on such a page | `Corrupted`; the handle then refuses writes (reads go on), since redb's state is not trusted to commit |
//! | the format or counter row | the open fails with `Corrupted` naming the file |
//!
//! **LMDB is less robust to damaged pages than redb.** Its rows are checked the same way
//! (damaged row bytes are `Corrupted` naming the key), and its own damage errors map to
//! `Corrupted`; but LMDB follows page numbers through its memory map unchecked, so a page
//! whose *structure* is damaged can crash the process (`SIGBUS` reading past the file's
//! end) instead of returning an error, which no Rust code can catch. In a trial of random
//! bit flips (4 per round in a 300-key environment), 56 rounds returned no wrong value and
//! reported 124 damaged keys, and the 57th crashed. Prefer redb where files may be damaged
//! outside the store (or verify copies, e.g. `strata migrate --verify`).
//!
//! An overwrite replaces a damaged key (it needs no current version); a delete removes it.
//! What the value cache serves was verified when it was read, or written by this process.
//!
//! **Format versions.** The database records its format. A file written before checksums
//! (format 0) is upgraded in place when opened, in one durable transaction (a crash during
//! it leaves the file as it was); a build that knows only format 0 then refuses the file
//! (a table type mismatch) instead of misreading it. A format newer than this build's is
//! refused with `Unsupported`.
//!
//! ## Design
//!
//! - **Layout.** Three tables (redb: `redb/schema.rs`; LMDB: three named databases,
//!   `lmdb/mod.rs`): metadata (key → checksummed version, mtime,
//!   size), values (key → checksummed version, mtime + the value) and the format table
//!   (format version and version counter). `head` and `list` read only the metadata table;
//!   `get` reads only the value table (one lookup). Versions come from the counter, so they
//!   strictly increase, also across reopens. The row codec (`codec.rs`) knows nothing of
//!   either engine: both store the same rows.
//! - **Group commit.** All writes go through a channel to one writer thread. It drains what
//!   is queued (at most [`MAX_GROUP_OPS`] writes and [`MAX_GROUP_BYTES`] of values) into one
//!   write transaction, checks each request's condition inside it in arrival order (a failed
//!   condition fails only its request), commits once, then acknowledges them all. A single
//!   put, a whole `put_many` and a whole `delete_many` are each one all-or-nothing unit.
//!   Writes that arrive while a commit is fsyncing form the next group, so the fsync cost is
//!   shared by every concurrent writer. The writer owns queued work: dropping a caller's
//!   future only stops the wait, it never leaves half a unit applied.
//! - **Reads.** redb reads go through its page cache and `pread`, and LMDB's through its
//!   memory map (a page fault on a cold page), so an uncached read may block on the disk. Reads therefore take one of two paths:
//!   1. *inline*: a value cache ([`RedbConfig::value_cache_size`], 64 MiB by default) holds
//!      recent values; a hit returns at once on the calling task, with no thread hop and no
//!      I/O. This is what makes point gets as fast as raw redb: a `spawn_blocking` per get
//!      costs several microseconds, more than the B-tree lookup itself. The writer updates
//!      the cache after each commit and before acknowledging, and a reader that missed may
//!      fill it only if no write touched that part of the cache meanwhile, so a read never
//!      returns a value older than the last acknowledged write.
//!   2. *blocking pool*: misses run on tokio's blocking pool in a fresh read transaction.
//!      Concurrent point-get misses are coalesced: they queue, and a blocking task
//!      serves everything queued in one read transaction, looping until the queue is
//!      empty (up to 4 such tasks when the queue grows), so concurrent readers share
//!      hops and transactions. `get_many` sends all
//!      its misses to one blocking task with one read transaction.
//!
//!   A reader pool of our own would add a second hop (a channel to it and back) for the
//!   same isolation; an in-memory index would not help value reads at all.
//!
//!   The price is paid by cold reads: a miss costs a hop to the blocking pool and back,
//!   which on a busy machine is tens of microseconds against a ~1 µs B-tree lookup. Hot
//!   point gets and `get_many` run several times faster than raw redb with a read
//!   transaction per get; reads spread over far more data than the value cache holds run
//!   at a fraction of raw redb's speed (figures in `BENCHMARKS.md`, section `store-lmdb`;
//!   LMDB's are not measured yet). Size [`RedbConfig::value_cache_size`] to the hot set.
//! - **Listing.** `list` streams [`LIST_CHUNK`] entries at a time, each chunk in its own
//!   read transaction on the blocking pool, so a long, slowly consumed listing never pins
//!   an old snapshot (which would stop redb, or LMDB, from reusing pages).
//! - **One database per path** (see above). The last handle to go closes it.
//! - **Maintenance.** [`RedbStore::compact`] reclaims free space (LMDB reuses freed pages
//!   and has no in-place compaction); `stats` on either store counts commits and writes
//!   (writes ÷ commits is the mean group size).
#![deny(missing_docs)]

mod cache;
mod codec;
mod config;
mod core;
mod dirs;
mod engine;
mod errors;
#[cfg(feature = "lmdb")]
mod lmdb;
mod lookup;
mod open;
mod reads;
#[cfg(feature = "redb")]
mod redb;
mod store;
mod writer;

pub use config::{DEFAULT_VALUE_CACHE_SIZE, RedbDurability};
#[cfg(feature = "lmdb")]
pub use lmdb::{DEFAULT_MAP_SIZE, LmdbConfig, LmdbDurability, LmdbFactory, LmdbStore};
#[cfg(feature = "redb")]
pub use redb::{RedbConfig, RedbFactory, RedbStore};

/// The row decoders and encoders, for the cargo-fuzz target `fuzz/fuzz_targets/redb_row.rs`
/// (feature `fuzzing`, off by default; not an API for applications).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use crate::codec;

    /// Decode the value row stored at `key`: `(version, mtime, value)`, or why it is damaged.
    pub fn decode_value_row(key: &str, row: &[u8]) -> Result<(u64, u64, Vec<u8>), String> {
        codec::decode_value(key, row).map(|(m, v)| (m.version, m.mtime, v.to_vec()))
    }

    /// The value row of `value` at `key`.
    pub fn encode_value_row(key: &str, version: u64, mtime: u64, value: &[u8]) -> Vec<u8> {
        let mut row = vec![0; codec::VALUE_HEADER_LEN + value.len()];
        codec::encode_value_into(&mut row, key, version, mtime, value);
        row
    }

    /// Decode the metadata row stored at `key`: `(version, mtime, size)`.
    pub fn decode_meta_row(key: &str, row: &[u8]) -> Result<(u64, u64, u64), String> {
        codec::decode_meta(key, row).map(|m| (m.version, m.mtime, m.size))
    }

    /// The metadata row at `key`.
    pub fn encode_meta_row(key: &str, version: u64, mtime: u64, size: u64) -> Vec<u8> {
        let meta = codec::RowMeta {
            version,
            mtime,
            size,
        };
        codec::encode_meta(key, meta).to_vec()
    }

    /// Decode the counter row named `name`.
    pub fn decode_counter_row(name: &str, row: &[u8]) -> Result<u64, String> {
        codec::decode_counter(name, row)
    }

    /// The counter row named `name`.
    pub fn encode_counter_row(name: &str, value: u64) -> Vec<u8> {
        codec::encode_counter(name, value).to_vec()
    }

    /// Decode a format-0 value row (read only by the upgrade).
    pub fn decode_value_row_v0(row: &[u8]) -> Result<(u64, u64, Vec<u8>), String> {
        codec::decode_value_v0(row).map(|(m, v)| (m.version, m.mtime, v.to_vec()))
    }
}
pub use store::{LIST_CHUNK, WriteHold, WriterStats};
pub use writer::{MAX_GROUP_BYTES, MAX_GROUP_OPS};
