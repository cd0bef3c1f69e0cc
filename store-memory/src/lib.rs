//! # store-memory: in-memory Strata stores
//!
//! [`MemoryStore`] is the reference implementation of the [`Store`](store_core::Store)
//! contract: concurrent, ordered, with atomic conditional puts and atomic batches. Use it
//! for tests, scratch data, and as the model every other backend is checked against.
//! Nothing it holds survives the process.
//!
//! [`CacheStore`] is a bounded cache on `moka` (entries weighed by bytes, `max_bytes` in its
//! config, TinyLFU admission): it may evict at any time and says so in its capabilities. It
//! is the usual fast frontend of a tiered store. Nothing it holds survives the process.
//!
//! | store | config | an acknowledged write survives |
//! |---|---|---|
//! | `MemoryStore` | `{"type": "memory"}` | nothing: it lives until the process ends |
//! | `CacheStore` | `{"type": "cache", "max_bytes": N}` | nothing: it may even be evicted at once |
//!
//! ```
//! use store_core::{Key, ListOptions, PutMode, Store, StoreExt, futures::TryStreamExt};
//! use store_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = MemoryStore::new();
//! let key = Key::new("greetings/en")?;
//! store.put_typed(&key, "hello", PutMode::Create).await?;
//! assert_eq!(store.get_typed::<String>(&key).await?.as_deref(), Some("hello"));
//! let keys: Vec<_> = store.list(ListOptions::default()).try_collect().await?;
//! assert_eq!(keys.len(), 1);
//! # Ok(()) }
//! ```
//!
//! ```
//! use store_core::{Key, PutMode, Store};
//! use store_memory::CacheStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let cache = CacheStore::new(1 << 20); // about 1 MiB of keys and values
//! assert!(cache.capabilities().may_evict);
//! let key = Key::new("pages/home")?;
//! cache.put(&key, "<html>".into(), PutMode::Overwrite).await?;
//! assert!(cache.get(&key).await?.is_some()); // until it is evicted
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod cache;
mod factory;
mod memory;

pub use cache::{CacheStore, ENTRY_OVERHEAD, Tag};
pub use factory::{CacheFactory, DEFAULT_CACHE_BYTES, MemoryFactory};
pub use memory::MemoryStore;
