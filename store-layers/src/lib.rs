//! # store-layers: konserve's layers over any Strata store
//!
//! Each layer is a [`store_core::Store`] wrapping another store, built on the forwarding
//! base [`store_core::Layer`], so it overrides only what it changes and keeps the inner
//! store's batches and `flush`. Whole-store operations (GC, the append log, write hooks)
//! work over any store through the contract alone.
//!
//! Value layers:
//! - [`compress`]: per-value zstd or LZ4 with a one-byte codec tag (mixed codecs readable);
//! - [`encrypt`]: AES-256-GCM-SIV with the key bound as associated data and a key id
//!   per value, so keys rotate ([`encrypt::reencrypt`]);
//! - [`retry`], [`timeout`], [`limit`]: OpenDAL-style policies over any store.
//!
//! Each has a registry factory (`{"type": "compress", "inner": {…}}`, …) that the `strata`
//! facade registers.
//!
//! ```
//! use std::sync::Arc;
//! use store_core::{Key, PutMode, Store};
//! use store_layers::compress::{Codec, Compressed};
//! use store_layers::encrypt::{Encrypted, Keyring};
//! use store_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> store_core::Result<()> {
//! // Compress, then encrypt what was compressed (ciphertext does not compress).
//! let keyring = Keyring::from_text(&"11".repeat(32))?;
//! let sealed = Arc::new(Encrypted::new(Arc::new(MemoryStore::new()), keyring));
//! let store = Compressed::new(sealed, Codec::Zstd);
//!
//! let key = Key::new("docs/readme").unwrap();
//! let value = "all work and no play ".repeat(100);
//! store.put(&key, value.clone().into(), PutMode::Overwrite).await?;
//! let entry = store.get(&key).await?.unwrap();
//! assert_eq!(entry.value, value.as_bytes());
//! let sizes = store.sizes(&key).await?.unwrap();
//! assert_eq!(sizes.meta.size, value.len() as u64);
//! assert!(sizes.stored_size < 200);
//! # Ok(()) }
//! ```
//!
//! Whole-store operations: [`gc`] sweeps what no root reaches, with its lease and safe
//! point in the store so collectors and writers in other processes cannot race;
//! [`watch`] streams the writes made through a store; [`log`] is an append log, totally
//! ordered across processes, on any store with compare-and-swap.
#![deny(missing_docs)]

mod cpu;
mod nested;
mod transform;

pub mod compress;
pub mod encrypt;
pub mod limit;
pub mod retry;
pub mod timeout;

// Whole-store operations
//
// `gc` sweeps unreachable values with a lease and a safe point kept in the store itself,
// so collectors and writers in different processes cannot race.
pub mod gc;
// `watch` streams the writes made through a store to watchers, never blocking a writer.
pub mod watch;
// `log` is an append log (totally ordered across processes) on any store with CAS.
pub mod log;
