//! # store-core: Strata's storage contract
//!
//! One async key-value contract that every Strata backend (memory, files, redb, S3) and
//! every wrapper (tiered, stats) implements, so applications program against it once and
//! choose storage by configuration. This crate holds only the contract and shared types;
//! backends live in their own crates and the `strata` facade registers them all.
//!
//! - [`Key`] / [`Prefix`]: validated keys, ordered by bytes;
//! - [`Store`]: `get`, `head`, `put` with [`PutMode`] (overwrite, create, compare-and-swap),
//!   `delete`, ordered `list`, batches and a `flush` barrier;
//! - [`StoreExt`]: typed CBOR values, atomic read-modify-write (`update`), `copy_all`;
//! - [`Capabilities`]: what a store promises (durability, atomic batches, ...);
//! - [`Error`] / [`ErrorKind`]: one error type with a kind, the key and a retryable flag;
//! - [`Registry`] / [`ConfigMap`]: open a store from `{"type": "...", ...}` or a URI.
//!
//! ```
//! use store_core::{ErrorKind, Key, PutMode, Store, StoreExt};
//!
//! // Keys are validated before any I/O.
//! let key = Key::new("accounts/alice/balance").unwrap();
//! assert_eq!(Key::new("accounts/../etc").unwrap_err().kind(), ErrorKind::InvalidKey);
//!
//! // Code written against `dyn Store` runs on every backend.
//! async fn deposit(store: &dyn Store, key: &Key, amount: u64) -> store_core::Result<u64> {
//!     let (balance, _meta) = store.update(key, |b: Option<u64>| b.unwrap_or(0) + amount).await?;
//!     Ok(balance)
//! }
//! # let _ = (key, deposit);
//! ```
#![deny(missing_docs)]

mod capabilities;
mod checksum;
mod config;
mod error;
mod ext;
mod key;
mod layer;
mod meta;
mod registry;
mod store;
mod uri;

pub use bytes::Bytes;

pub use capabilities::{Capabilities, ConditionalPuts, Durability};
pub use checksum::{crc32c, crc32c_of, verify_crc32c};
pub use config::{ConfigMap, Secret, TYPE_FIELD, config_type, parse_config, redact_uri};
pub use error::{Cause, Error, ErrorKind, Result};
pub use ext::{COPY_BATCH, CopyReport, StoreExt, UPDATE_MAX_ATTEMPTS, decode_cbor, encode_cbor};
pub use key::{Key, MAX_KEY_LEN, Prefix};
pub use layer::Layer;
pub use meta::{Entry, ListOptions, Meta, PutMode, PutOp, Version};
pub use registry::{Registry, StoreFactory};
pub use store::{DEFAULT_BATCH_CONCURRENCY, Store, clamp_range, locations_overlap, slice_entry};
pub use uri::StoreUri;

/// Re-exported so implementers use the same versions as the trait.
pub use async_trait::async_trait;
pub use futures;
