//! # strata: one async key-value contract, many storage backends
//!
//! The facade: it re-exports the contract from `store-core` and registers every backend
//! compiled in (one cargo feature each, all on by default), so an application opens the
//! store its configuration describes with one call and never names a backend type. The
//! `strata` command-line tool is a separate crate, `strata-cli`: this library pulls in no
//! CLI dependency.
//!
//! Every call is async, so an application also needs an async runtime: **tokio** (the
//! backends run on it). To build a config map for [`open`] in code, as below, it also
//! needs **serde_json**; [`open_uri`], [`open_file`] and [`open_default`] need neither
//! map nor serde_json. In `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! strata = { path = "strata" }   # default features: every backend
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! serde_json = "1"                # only for `strata::open` with a JSON config
//! ```
//!
//! Open a store from a URI (`memory:`, `file:///abs/dir`, `redb:///abs/file.redb`,
//! `s3://bucket/prefix?region=...`), write and read a value, list keys a page at a time,
//! and `flush` before relying on the writes being durable:
//!
//! ```
//! use strata::futures::TryStreamExt;
//! use strata::{Key, ListOptions, Prefix, PutMode};
//!
//! #[tokio::main]
//! async fn main() -> strata::Result<()> {
//!     let store = strata::open_uri("memory:").await?;
//!
//!     let key = Key::new("greetings/en")?;
//!     store.put(&key, "hello".into(), PutMode::Overwrite).await?;
//!     let entry = store.get(&key).await?.expect("just written");
//!     assert_eq!(entry.value, "hello");
//!
//!     // Only write if absent: a second create of the same key fails, nothing is written.
//!     let err = store.put(&key, "again".into(), PutMode::Create).await.unwrap_err();
//!     assert_eq!(err.kind(), strata::ErrorKind::AlreadyExists);
//!
//!     for lang in ["de", "fr", "it", "nl"] {
//!         let key = Key::new(format!("greetings/{lang}"))?;
//!         store.put(&key, lang.into(), PutMode::Overwrite).await?;
//!     }
//!     // Keys come in order; a page ends where the next one starts after its last key.
//!     let prefix = Prefix::new("greetings/")?;
//!     let mut pages = Vec::new();
//!     let mut after: Option<Key> = None;
//!     loop {
//!         let mut options = ListOptions::prefix(prefix.clone()).limit(2);
//!         options.start_after = after.clone();
//!         let page: Vec<_> = store.list(options).try_collect().await?;
//!         let Some(last) = page.last() else { break };
//!         after = Some(last.key.clone());
//!         pages.push(page.iter().map(|m| m.key.to_string()).collect::<Vec<_>>());
//!     }
//!     assert_eq!(
//!         pages,
//!         [
//!             vec!["greetings/de", "greetings/en"],
//!             vec!["greetings/fr", "greetings/it"],
//!             vec!["greetings/nl"],
//!         ]
//!     );
//!
//!     // A durability barrier: every write acknowledged so far is now as durable as the
//!     // store promises (`store.capabilities().durability`).
//!     store.flush().await?;
//!     Ok(())
//! }
//! ```
//!
//! Typed values (CBOR) and a compare-and-swap update, on a store opened from a config map:
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

pub mod config_file;
pub mod migrate;
pub mod stats;

pub use config_file::{STORE_ENV, default_config, load_config_file};

#[cfg(feature = "redb")]
pub use store_lmdb::{RedbConfig, RedbDurability, RedbFactory, RedbStore};
#[cfg(feature = "memory")]
pub use store_memory::{CacheFactory, CacheStore, MemoryFactory, MemoryStore};

#[cfg(feature = "s3")]
pub use store_s3::{S3Config, S3Factory, S3Store};
#[cfg(feature = "tiered")]
pub use store_tiered::{
    ReadPolicy, TieredFactory, TieredOptions, TieredStats, TieredStore, Warm, WritePolicy,
};

/// The HNSW vector index, persisted through any store.
#[cfg(feature = "vector")]
pub use vector_index;

#[cfg(feature = "file")]
pub use store_file::{FileFactory, FileStore, SyncMode};

/// A registry with every backend this build includes.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut registry = Registry::new();
    #[cfg(feature = "memory")]
    registry.register(MemoryFactory);
    #[cfg(feature = "memory")]
    registry.register(CacheFactory);
    #[cfg(feature = "tiered")]
    registry.register(TieredFactory);
    #[cfg(feature = "redb")]
    registry.register(RedbFactory);
    #[cfg(feature = "s3")]
    registry.register(S3Factory);
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

/// Open the store a config file (`.toml` or `.json`, with `${VAR}` expansion) describes.
pub async fn open_file(path: impl AsRef<std::path::Path>) -> Result<Arc<dyn Store>> {
    open_file_with(&registry(), path).await
}

/// Open the store named by the `STRATA_STORE` URI, or else the embedded default (a redb
/// database at `./strata-data/strata.redb`).
pub async fn open_default() -> Result<Arc<dyn Store>> {
    open_default_with(&registry()).await
}

/// [`open_file`] through `registry`: for instance one that opens only stores that exist
/// already, as tools that only read should, so that a mistyped path fails with
/// [`ErrorKind::NotFound`] instead of creating an empty store there:
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> strata::Result<()> {
/// let existing = strata::registry().with_creates_missing(false);
/// match strata::open_file_with(&existing, "store.toml").await {
///     Ok(store) => println!("{:?}", store.capabilities()),
///     Err(e) if e.kind() == strata::ErrorKind::NotFound => eprintln!("no such store: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
pub async fn open_file_with(
    registry: &Registry,
    path: impl AsRef<std::path::Path>,
) -> Result<Arc<dyn Store>> {
    registry.open(&load_config_file(path.as_ref())?).await
}

/// [`open_default`] through `registry` (see [`open_file_with`]).
pub async fn open_default_with(registry: &Registry) -> Result<Arc<dyn Store>> {
    match std::env::var(STORE_ENV) {
        Ok(uri) if !uri.is_empty() => registry.open_uri(&uri).await,
        _ => registry.open(&default_config()).await,
    }
}
