//! # store-dynamodb: a Strata store in a DynamoDB table, with conditions decided by the service
//!
//! [`DynamoStore`] keeps a Strata store in one partition (the namespace) of a DynamoDB
//! table: the serverless, AWS-native shared store with native conditional writes.
//! `Create` and `Update(v)` are condition expressions the service checks atomically with
//! the write, so they hold across every process and machine using the table
//! (`ConditionalPuts::Native`); `put_many` and `delete_many` are one `TransactWriteItems`
//! each, all or nothing.
//!
//! ```no_run
//! use store_core::{Key, PutMode, Store, StoreExt};
//! use store_dynamodb::{DynamoConfig, DynamoStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let config = DynamoConfig::new("strata")
//!     .region("eu-west-1")
//!     .namespace("app")
//!     .create_table(true);
//! let store = DynamoStore::open(config).await?;
//! let key = Key::new("users/42/name")?;
//! let meta = store.put_typed(&key, "Ada", PutMode::Create).await?;
//! store.put_typed(&key, "Ada L.", PutMode::Update(meta.version)).await?;
//! assert_eq!(store.get_typed::<String>(&key).await?.as_deref(), Some("Ada L."));
//! # Ok(()) }
//! ```
//!
//! ## Client
//!
//! A small signed JSON client (`client.rs`): DynamoDB's API is one JSON POST per
//! operation, signed with SigV4 by the `aws-sigv4` crate and sent with reqwest, which
//! object_store already brings into the tree. The official `aws-sdk-dynamodb` was not
//! taken for its build cost: its type check alone took about 6 minutes here, against
//! seconds for `aws-sigv4`. Credentials are explicit in the config or come from
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`); the
//! instance-metadata endpoint is never asked, and the secrets never appear in Debug
//! output or errors.
//!
//! ## Configuration
//!
//! `{"type": "dynamodb", "table": "t", "region": "eu-west-1", "endpoint": "http://...",
//! "namespace": "app", "access_key_id": "...", "secret_access_key": "...",
//! "create_table": true, "timeout_ms": 5000, "max_retries": 6}` or the URI
//! `dynamodb://t?region=eu-west-1&namespace=app` (secrets never in a URI: pass them as
//! options or through the environment). See [`DynamoConfig`].
//!
//! ## Layout
//!
//! Partition key `pk` = the namespace, sort key `sk` = the Strata key (both strings), and
//! attributes `v` (the value, binary), `ver` (the version: 128 random bits, new on every
//! write, so a version is never handed out twice, not even after a delete), `len`, `mt`
//! (modification time, milliseconds) and `crc` (the value's CRC32C). `list` is a
//! strongly consistent `Query` on the partition with `begins_with(sk, prefix)`, in byte
//! order (DynamoDB orders string sort keys by their UTF-8 bytes), paged by
//! `ExclusiveStartKey` from `start_after` and from each page's `LastEvaluatedKey` (pages
//! end at [`LIST_PAGE`] entries or 1 MB). `head` and `list` read no values. Every read
//! is strongly consistent.
//!
//! ## Limits
//!
//! An item holds at most 400 KB, names and values together: `max_value_size` is that less
//! the largest key and the metadata (about 398 KB), and larger values fail with
//! `InvalidInput`. They are refused rather than spilled to S3: a spill would make a put
//! two writes in two services, neither atomic nor conditional together; put a tiered or
//! routing store in front for large values instead. A batch holds at most
//! [`MAX_TRANSACTION_ITEMS`] (100) writes and [`MAX_TRANSACTION_BYTES`] (4 MB) of items;
//! larger ones fail with `InvalidInput` before anything is sent, instead of being split,
//! which would quietly make them non-atomic. The store declares both, as
//! `Capabilities::max_batch_writes` and `max_batch_bytes` (the 4 MB less each item's
//! overhead, counted as key and value bytes), so `copy_all`, `migrate` and vector-index
//! flushes send no more. `get_many` is
//! `BatchGetItem` in requests of 100 keys (four in flight), re-asking for the keys the
//! service left unprocessed.
//!
//! ## Corruption
//!
//! `get` and `get_many` (and so `get_range`) check each value against its stored size and
//! CRC32C, and every read checks that the metadata parses: damage is `Corrupted` naming
//! the key; a listing yields a damaged entry as such an error and goes on.
//!
//! ## Durability
//!
//! DynamoDB acknowledges a write once it is stored in several availability zones: the
//! store declares `PowerLoss`, and `flush` adds nothing. A local emulator (moto, used by
//! the tests) keeps everything in its process's memory and loses it when it stops.
//!
//! ## Failures
//!
//! Throttling (`ThrottlingException`, `ProvisionedThroughputExceededException`, ...), 5xx
//! answers and an endpoint that does not answer are retried with jittered exponential
//! backoff (25 ms to 1 s, `max_retries` times), then fail with a retryable `Unavailable`.
//! A conditional put whose earlier attempt may have applied (its answer was lost) and whose
//! retry then fails its condition reads the item back: if it carries this write's own
//! version, the write succeeded. Transactions carry a `ClientRequestToken`, so a retried
//! one applies at most once. Refused credentials are `PermissionDenied`, a missing table
//! `NotFound`, each naming the endpoint and table.
#![deny(missing_docs)]

mod client;
mod config;
mod errors;
mod factory;
mod item;
mod list;
mod reads;
mod store;
mod table;
mod writes;

pub use config::{
    DEFAULT_MAX_RETRIES, DEFAULT_NAMESPACE, DEFAULT_REGION, DEFAULT_TIMEOUT_MS, DynamoConfig,
};
pub use factory::DynamoFactory;
pub use item::ITEM_LIMIT;
pub use list::LIST_PAGE;
pub use store::DynamoStore;
pub use writes::{MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS};
