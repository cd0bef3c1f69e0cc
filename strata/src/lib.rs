//! # strata: one async key-value contract, many storage backends
//!
//! The facade: it re-exports the contract from `store-core` and registers every backend
//! compiled in (one cargo feature each, all on by default), so an application opens the
//! store its configuration describes with one call and never names a backend type.
//!
//! ```
//! use strata::{Key, PutMode, StoreExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> strata::Result<()> {
//! let config = serde_json::json!({ "type": "memory" });
//! let store = strata::open(config.as_object().unwrap()).await?;
//! let key = Key::new("hits/home")?;
//! store.put_typed(&key, &1u32, PutMode::Create).await?;
//! let (hits, _) = store.update(&key, |n: Option<u32>| n.unwrap_or(0) + 1).await?;
//! assert_eq!(hits, 2);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::sync::Arc;

pub use store_core::*;

#[cfg(feature = "memory")]
pub use store_memory::{MemoryFactory, MemoryStore};

#[cfg(feature = "file")]
pub use store_file::{FileFactory, FileStore, SyncMode};

/// A registry with every backend this build includes.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut registry = Registry::new();
    #[cfg(feature = "memory")]
    registry.register(MemoryFactory);
    #[cfg(feature = "file")]
    registry.register(FileFactory);
    registry
}

/// Open the store a config map describes, e.g. `{"type": "memory"}`.
pub async fn open(config: &ConfigMap) -> Result<Arc<dyn Store>> {
    registry().open(config).await
}

/// Open the store a URI describes, e.g. `memory:`.
pub async fn open_uri(uri: &str) -> Result<Arc<dyn Store>> {
    registry().open_uri(uri).await
}
