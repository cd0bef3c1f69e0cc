//! # vector-index: an HNSW index that persists through any Strata store
//!
//! A hierarchical navigable small-world graph (HNSW) for approximate nearest-neighbour
//! search, kept in memory in a flat layout and persisted only through the
//! [`Store`](store_core::Store) contract, so the same index lives in memory, in files, in
//! redb or in S3 behind a cache, and reopens without rebuilding its graph.
//!
//! - **Ids** are caller-chosen `u64`s (hash strings to `u64` if you need string ids).
//! - **Metrics**: [`Metric::Cosine`], [`Metric::L2`], [`Metric::Dot`].
//! - **Metadata**: a small map of scalar fields per vector ([`Metadata`], [`Value`]);
//!   [`Filter`]s (equality, ranges, `in`, and/or/not) are applied *during* the graph walk,
//!   and very selective filters switch to an exact scan of the matches.
//! - **Building**: [`VectorIndex::insert`] / [`VectorIndex::upsert`] one at a time, or
//!   [`VectorIndex::upsert_many`], which finds the new nodes' neighbours on as many
//!   threads as you give it (`0`: every core).
//! - **Copying**: [`VectorIndex::export_to`] writes the index as it is in memory into
//!   another store (or under another name), repaged for that store's value size limit,
//!   manifest last, and returns the copy's handle.
//! - **Searching** takes a read lock only: any number of threads search at once, each with
//!   its own reusable scratch space; distances use AVX2/FMA when the CPU has them.
//! - **Deletes and updates** tombstone the old node (never returned again) and relink its
//!   neighbours around it, so recall does not decay; [`VectorIndex::compact`] reclaims the
//!   slots.
//! - **Errors**, never panics, for wrong dimensions, NaN/infinite components
//!   (`InvalidInput`), unknown names (`NotFound`), damaged or missing pages (`Corrupted`).
//!
//! ## Storage layout and durability
//! Under `vector-index/<name>/`: a `manifest` (CBOR behind a CRC32C: config, slot count,
//! entry point and the key and CRC of every page) and `pages/<n>-<nonce>` keys, each packing
//! `nodes_per_page` consecutive nodes (id, vector, links on every layer, metadata,
//! tombstone flag) with a CRC-32. Opening reads the manifest and then every page with one
//! `get_many`. [`VectorIndex::flush`] writes only the pages changed since the last flush,
//! under fresh keys, and commits the manifest *last* with `PutMode::Update(version)`:
//! a reader never sees a half-written index, and a second writer that opened the same
//! version gets a `VersionMismatch` instead of silently overwriting the first.
//!
//! Mutations live in memory until `flush` returns; after that they are exactly as durable
//! as the store's own writes (see the store's `Capabilities::durability`).
//!
//! ```
//! use std::sync::Arc;
//! use vector_index::{Filter, IndexConfig, Metadata, Metric, Value, VectorIndex};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = Arc::new(store_memory::MemoryStore::new());
//! let index = VectorIndex::create(store.clone(), "docs", IndexConfig::new(3, Metric::L2)).await?;
//! for i in 0..100u64 {
//!     let mut meta = Metadata::new();
//!     meta.insert("even".into(), Value::Bool(i % 2 == 0));
//!     index.upsert(i, &[i as f32, 0.0, 1.0], meta)?;
//! }
//! index.flush().await?;
//!
//! // Reopening loads the stored graph; nothing is rebuilt.
//! let index = VectorIndex::open(store, "docs").await?;
//! let hits = index.search(&[10.2, 0.0, 1.0], 2, None, None)?;
//! assert_eq!(hits[0].id, 10);
//! let odd = Filter::eq("even", false);
//! let hits = index.search(&[10.2, 0.0, 1.0], 1, None, Some(&odd))?;
//! assert_eq!(hits[0].id, 11);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod batch;
#[cfg(any(test, feature = "fuzzing"))]
mod checks;
mod config;
mod filter;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod graph;
mod index;
mod kernels;
mod manifest;
mod page;

pub use config::{IndexConfig, Metric};
pub use filter::{Filter, Metadata, Value};
pub use index::{FlushReport, Hit, Record, VectorIndex};
