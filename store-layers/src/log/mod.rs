//! # An append log over any store with compare-and-swap
//!
//! [`AppendLog::append`] adds a value to a named log and returns its sequence number
//! (0, 1, 2, …); [`AppendLog::read_log`] streams the entries from a sequence number on.
//! Works on every store with conditional puts (`Native` across processes: S3, Redis,
//! PostgreSQL, memory; `InProcess`: the file store, within its one process).
//!
//! ## Records (CBOR), for a log named `L`
//! - `L/head`: `{format, seq, seg_start, open, max_entries, max_bytes}` — `seq` entries
//!   are committed; entries `seg_start..seq` are in the open segment object `open`; the
//!   segment bounds are fixed when the log is created (by its first append).
//! - `L/open/<seg_start:020>/<token>`: the open segment, `{format, first_seq, entries}`,
//!   written anew (copy-on-write, a fresh random `token`) by every append.
//! - `L/sealed/<first_seq:020>`: a full segment, immutable: at most `max_entries`
//!   entries, and at most `max_bytes` plus one entry's bytes.
//!
//! ## An append
//! 1. read the head (its version `v`) and the open segment it names;
//! 2. if that segment is full, write its sealed copy (`Create`; `AlreadyExists` is fine:
//!    a full segment takes no entries, so every sealer writes the same bytes) and start a
//!    new segment at `seq`;
//! 3. write the open segment plus the new value under a fresh token (`Create`);
//! 4. move the head to `seq + 1` and the new object with `Update(v)` (`Create` for the
//!    first): the commit point. Only then does `append` return `seq`.
//! 5. delete the superseded open object; on losing the CAS, delete ours and retry.
//!
//! **Guarantees.** Appends are totally ordered by the head's CAS: each commit moves `seq`
//! by one from the state it read, so no two appends get one number and none is lost (a
//! loser retries from the new head, up to [`APPEND_MAX_ATTEMPTS`] times). Every committed
//! entry lives in the object the head names, or in a sealed copy written before the head
//! moved past it; an object is deleted only after a head that no longer needs it is
//! committed. A crash (or an error) before step 4 leaves an object no head names —
//! nothing acknowledged is lost, only that unacknowledged append (its stray `open/`
//! object is garbage, which [`gc`](crate::gc) may sweep). A head CAS whose outcome is
//! unknown (a timeout) is reported as that error; the append may have happened.
//!
//! A reader sees a snapshot: the entries committed when its stream started, in order,
//! the same order for every reader.
//!
//! ```
//! use futures::TryStreamExt;
//! use store_core::Bytes;
//! use store_layers::log::{AppendLog, LogOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = store_memory::MemoryStore::new();
//! let small = LogOptions { max_entries: 2, ..LogOptions::default() };
//! for text in ["a", "b", "c"] {
//!     store.append_with("tx-log", Bytes::from(text), &small).await?;
//! }
//! assert_eq!(store.append("tx-log", Bytes::from("d")).await?, 3);
//! let from_one: Vec<_> = store.read_log("tx-log", 1).map_ok(|e| e.value).try_collect().await?;
//! assert_eq!(from_one, ["b", "c", "d"]);
//! # Ok(()) }
//! ```

mod append;
mod format;
mod read;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use store_core::{Result, Store};

pub use append::APPEND_MAX_ATTEMPTS;

/// Segment bounds for a new log (an existing log keeps those it was created with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// Entries per segment (at least 1).
    pub max_entries: u64,
    /// Bytes per segment before it is sealed (at least 1): a segment is sealed once its
    /// entries reach this many bytes.
    pub max_bytes: u64,
}

impl Default for LogOptions {
    /// 1,024 entries or 1 MiB per segment.
    fn default() -> Self {
        LogOptions {
            max_entries: 1024,
            max_bytes: 1 << 20,
        }
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position in the log, from 0.
    pub seq: u64,
    /// The appended value.
    pub value: Bytes,
}

/// The append log on every [`Store`] (see the [module docs](self)).
#[async_trait]
pub trait AppendLog: Store {
    /// Append `value` to `log`; returns its sequence number once committed.
    async fn append(&self, log: &str, value: Bytes) -> Result<u64> {
        append::append(self.as_dyn(), log, value, &LogOptions::default()).await
    }

    /// [`append`](AppendLog::append), creating the log with `options` if it is new.
    async fn append_with(&self, log: &str, value: Bytes, options: &LogOptions) -> Result<u64> {
        append::append(self.as_dyn(), log, value, options).await
    }

    /// The entries of `log` from sequence number `from` on, as committed when the
    /// stream starts (a missing log has none).
    fn read_log<'a>(&'a self, log: &str, from: u64) -> BoxStream<'a, Result<LogEntry>> {
        read::read_log(self.as_dyn(), log, from)
    }

    /// This store as `dyn Store`.
    #[doc(hidden)]
    fn as_dyn(&self) -> &dyn Store;
}

impl<S: Store> AppendLog for S {
    fn as_dyn(&self) -> &dyn Store {
        self
    }
}

impl AppendLog for dyn Store + '_ {
    fn as_dyn(&self) -> &dyn Store {
        self
    }
}
