//! A tiered store: a fast frontend [`Store`](store_core::Store) in front of a durable
//! backend, itself a `Store` (so tiers nest: cache → redb → S3 is two tiers).
//!
//! The backend is the source of truth; the frontend holds copies wrapped in a small
//! envelope (the version callers were shown, the backend's version, the write time).
//!
//! **Write policies** ([`WritePolicy`]):
//! - `write-through` (default): backend first, then frontend. A failed frontend write
//!   invalidates the key there (and if even that fails, reads of the key bypass the
//!   frontend) — the operation still succeeds and no stale value is served.
//! - `write-behind`: acknowledged once the frontend holds the write, marked dirty; a
//!   bounded queue (one entry per key: writes coalesce, per-key order kept, a delete is a
//!   tombstone; a full queue makes writers wait) is drained to the backend in the
//!   background with bounded concurrency and retries with backoff. `flush()` returns once
//!   every write acknowledged before it is in the backend, or the error keeping one out.
//! - `write-around`: backend only, then the frontend copy is invalidated.
//! - `frontend-only`: the backend is never written (scratch tiers).
//!
//! **Read policies** ([`ReadPolicy`]): `frontend-first` (default; a miss reads the backend
//! once however many callers miss the same key at once, and fills the frontend with the
//! whole value), `revalidate` (a hit is served only if the backend's `head` shows the same
//! version: for several processes sharing one backend), `frontend-only`.
//!
//! Conditional puts are decided by the backend; under write-behind the key's pending
//! writes are drained first. `list` comes from the backend merged with pending writes.
//!
//! **Durability.** Write-through and write-around: an acknowledged write survives what the
//! backend survives. Write-behind: what the frontend survives until drained (nothing for
//! a `cache` or `memory` frontend — call `flush()`; with a durable frontend such as
//! `file` or `redb` the dirty records are a journal, re-queued when the store reopens), then
//! what the backend survives. Frontend-only: what the frontend survives.
//!
//! **Damage.** Every envelope carries a CRC32C of itself and its key, verified whenever it
//! is read from the frontend store (a cache frontend in typed mode holds values, not
//! bytes, and verifies nothing). A damaged record is never served: under write-through and
//! write-around the backend holds every write, so the read goes there and the copy is
//! replaced; otherwise the record may be the only copy of an acknowledged write, and reads
//! of the key fail `Corrupted` naming it until the key is written again. Reopening under
//! write-behind skips damaged journal records (and requeues every healthy one); listings
//! report their keys as `Corrupted` entries and go on. [`TieredStats::corrupted`] counts
//! what was found.
//!
//! ```
//! use std::sync::Arc;
//! use store_core::{Key, PutMode, Store};
//! use store_memory::{CacheStore, MemoryStore};
//! use store_tiered::{TieredOptions, TieredStore, WritePolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let backend = Arc::new(MemoryStore::new());
//! let options = TieredOptions { write_policy: WritePolicy::WriteBehind, ..Default::default() };
//! let tiered = TieredStore::open(Arc::new(CacheStore::new(1 << 20)), backend.clone(), options).await?;
//! let key = Key::new("users/42")?;
//! tiered.put(&key, "ada".into(), PutMode::Overwrite).await?;
//! tiered.flush().await?; // now the backend has it
//! assert_eq!(backend.get(&key).await?.unwrap().value, "ada");
//! assert_eq!(tiered.get(&key).await?.unwrap().value, "ada"); // a frontend hit
//! assert_eq!(tiered.stats().hits, 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

#[cfg(any(test, feature = "fuzzing"))]
mod checks;
mod config;
mod drain;
mod envelope;
mod factory;
mod front;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod inbox;
mod keyset;
mod list;
mod locks;
mod queue;
mod recover;
mod shared;
mod slots;
mod stats;
mod store;
mod warm;

pub use config::{
    DEFAULT_DRAIN_CONCURRENCY, DEFAULT_QUEUE_CAPACITY, ReadPolicy, TieredOptions, Warm, WritePolicy,
};
pub use factory::TieredFactory;
pub use stats::TieredStats;
pub use store::TieredStore;
