//! # store-memory: in-memory Strata stores
//!
//! [`MemoryStore`] is the reference implementation of the [`Store`](store_core::Store)
//! contract: concurrent, ordered, with atomic conditional puts and atomic batches. Use it
//! for tests, scratch data, and as the model every other backend is checked against.
//! Nothing it holds survives the process.
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
#![deny(missing_docs)]

mod factory;
mod memory;

pub use factory::MemoryFactory;
pub use memory::MemoryStore;
