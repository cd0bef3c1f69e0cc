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
//! Open a store from a URI (`memory:`, `file:///abs/dir`, `redb:///abs/file.redb`, `lmdb:///abs/dir`,
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
//!
//! ## Store URIs
//!
//! [`open_uri`] and [`open_uri_with`] take a URI; its query parameters are the fields of
//! the backend's config map, typed the same way (a config map may set every field too).
//! An unknown parameter, a mistyped value or a parameter given twice is an
//! [`ErrorKind::InvalidConfig`] error naming it; values are never repeated in errors.
//! Secrets may not be query parameters (a URI gets logged): pass them in
//! [`open_uri_with`]'s options or a config map.
//!
//! | URI | Parameter | Type | Default | Meaning |
//! |---|---|---|---|---|
//! | `memory:` | — | | | In-process map; no parameters. |
//! | `cache:?max_bytes=N` | `max_bytes` | bytes (≥ 1) | 67108864 (64 MiB) | Capacity in bytes; values are evicted (TinyLFU admission, LRU eviction) to stay under it. |
//! | `file:///abs/dir` | `sync` | `always` \| `batch` \| `never` | `always` | `always`: fsync each put; `batch`: concurrent puts share fsyncs; `never`: survives a process crash only. |
//! | | `create` | bool | registry's setting (true; read-only CLI commands: false) | Create a missing root directory. |
//! | `redb:///abs/file.redb` (type `redb`) | `durability` | `immediate` \| `none` | `immediate` | `none`: commits not fsynced until `flush`. |
//! | | `cache_size` | bytes | redb's (1 GiB, filled lazily) | redb's page cache. |
//! | | `value_cache_size` | bytes | 67108864 (64 MiB) | Cache of hot values; 0 disables it. |
//! | | `create` | bool | registry's setting | Create a missing database file and its directories. |
//! | `lmdb:///abs/dir` (type `lmdb`) | `durability` | `immediate` \| `none` | `immediate` | `none`: LMDB's `MDB_NOSYNC`, commits not fsynced until `flush`. |
//! | | `map_size` | bytes | 1099511627776 (1 TiB) | LMDB's memory map, the most the environment holds; a write past it is `Unsupported` naming `map_size`. |
//! | | `value_cache_size` | bytes | 67108864 (64 MiB) | Cache of hot values; 0 disables it. |
//! | | `create` | bool | registry's setting | Create a missing environment directory. |
//! | `s3://bucket/prefix` | `region` | string | `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1` | The bucket's region. |
//! | | `endpoint` | URL (percent-encoded) | `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT`, else AWS | S3-compatible server. |
//! | | `access_key_id` | string | the AWS credential chain | Access key; needs `secret_access_key` (an option, not in the query). |
//! | | `secret_access_key`, `session_token` | secret | — | Options or config map only, never the query. |
//! | | `allow_http` | bool | true exactly when the endpoint is `http://` | Allow plain HTTP. |
//! | | `virtual_hosted_style` | bool | false | Address `bucket.endpoint` instead of `endpoint/bucket`. |
//! | | `max_retries` | integer | 3 | Retries of one failed request. |
//! | | `retry_timeout` | seconds or `500ms` / `30s` / `2m` | 30 s | How long one request's retries may go on. |
//! | | `request_timeout` | seconds or `500ms` / `30s` / `2m` | 30 s | Bound on one HTTP request (and connecting). |
//! | | `concurrency` | integer (≥ 1) | 32 | Requests in flight in `get_many` / `put_many`. |
//! | | `multipart_threshold` | bytes (≥ 5 MiB) | 33554432 (32 MiB) | Larger unconditional puts are uploaded in parts. |
//! | `az://container/prefix` (type `azure`; scheme `azure` too) | `account` | string | `AZURE_STORAGE_ACCOUNT_NAME` | The storage account. |
//! | | `endpoint` | URL (percent-encoded) | `https://<account>.blob.core.windows.net` | Emulator or private endpoint; Azurite: `http://127.0.0.1:10000/devstoreaccount1`. |
//! | | `access_key`, `sas_token` | secret | the Azure credential chain | At most one; options or config map only, never the query. |
//! | | `allow_http`, `max_retries`, `retry_timeout`, `request_timeout`, `concurrency`, `multipart_threshold` | as for `s3://` | as for `s3://` | As for `s3://`. |
//! | `gs://bucket/prefix` (type `gcs`) | `endpoint` | URL (percent-encoded) | `https://storage.googleapis.com` | Emulator or private endpoint. |
//! | | `service_account_path` | path | the GCS credential chain | A service-account key file. |
//! | | `service_account_key` | secret | — | The key's JSON itself; options or config map only, never the query. |
//! | | `allow_http`, `max_retries`, `retry_timeout`, `request_timeout`, `concurrency`, `multipart_threshold` | as for `s3://` | as for `s3://` | As for `s3://`. |
//! | `postgres://user@host:port/db` (type `postgres`; scheme `postgresql` too) | `table` | identifier (`name` or `schema.name`) | `strata` | The table holding the store. |
//! | | `pool_size` | integer (≥ 1) | 16 | Pooled connections. |
//! | | `create_table` | bool | true | Create a missing table; an existing one is validated, never altered. |
//! | | `connect_timeout` | seconds | 10 | Bound on getting a connection. |
//! | | `op_timeout` | seconds | 30 | Bound on one operation. |
//! | | `password` | secret | the URL's | Options or config map only, never the query. |
//! | | `tls` | `disable` \| `require` | `disable` | `require`: TLS (rustls), the server's certificate verified. |
//! | | `tls_ca_file` | path | the system's roots | PEM certificates that may sign the server's. |
//! | `redis://[user:password@]host:port[/db]` (type `redis`) | `namespace` | string (no `{`, `}`) | `strata` | Keys live under `{namespace}:` (a Redis Cluster hash tag). |
//! | | `timeout_ms` | integer | 5000 | Connect and per-reply timeout; past it, a retryable `Unavailable`. |
//! | `dynamodb://table` (type `dynamodb`) | `namespace` | string (1–1024 bytes) | `strata` | The partition key value the store's items share. |
//! | | `region` | string | `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1` | Region to sign for. |
//! | | `endpoint` | URL (percent-encoded) | `https://dynamodb.<region>.amazonaws.com` | A local server or VPC endpoint. |
//! | | `access_key_id` | string | `AWS_ACCESS_KEY_ID` | Needs `secret_access_key` (an option, not in the query). |
//! | | `secret_access_key`, `session_token` | secret | `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | Options or config map only, never the query; never instance metadata. |
//! | | `create_table` | bool | the registry's `creates_missing` (true) | Create a missing table (on demand billing, `pk`/`sk` strings). |
//! | | `timeout_ms` | integer | 5000 | Bound on one request. |
//! | | `max_retries` | integer | 6 | Retries of a throttled, 5xx or unanswered request (backoff 25 ms to 1 s); then a retryable `Unavailable`. |
//!
//! A tiered store has no URI: it is a config map (`{"type": "tiered", ...}`) whose
//! `frontend` and `backend` are config maps or URIs. In a config file
//! ([`open_file`]), relative paths are relative to the file's directory.
#![deny(missing_docs)]

use std::sync::Arc;

pub use store_core::*;

pub mod config_file;
pub mod migrate;
pub mod stats;

pub use config_file::{STORE_ENV, config_dir, default_config, load_config_file};

#[cfg(feature = "lmdb")]
pub use store_lmdb::{LmdbConfig, LmdbDurability, LmdbFactory, LmdbStore};
#[cfg(feature = "redb")]
pub use store_lmdb::{RedbConfig, RedbDurability, RedbFactory, RedbStore};
#[cfg(feature = "memory")]
pub use store_memory::{CacheFactory, CacheStore, MemoryFactory, MemoryStore};

#[cfg(feature = "azure")]
pub use store_s3::{AzureConfig, AzureFactory, AzureStore};
#[cfg(feature = "gcs")]
pub use store_s3::{GcsConfig, GcsFactory, GcsStore};
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

#[cfg(feature = "dynamodb")]
pub use store_dynamodb::{DynamoConfig, DynamoFactory, DynamoStore};
#[cfg(feature = "postgres")]
pub use store_postgres::{PostgresConfig, PostgresFactory, PostgresStore};
#[cfg(feature = "redis")]
pub use store_redis::{RedisConfig, RedisFactory, RedisStore};

/// Value layers over any store (compression, encryption, retry, timeout, limit).
#[cfg(feature = "layers")]
pub use store_layers;

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
    #[cfg(feature = "lmdb")]
    registry.register(LmdbFactory);
    #[cfg(feature = "s3")]
    registry.register(S3Factory);
    #[cfg(feature = "azure")]
    registry.register(AzureFactory);
    #[cfg(feature = "gcs")]
    registry.register(GcsFactory);
    #[cfg(feature = "file")]
    registry.register(FileFactory);
    #[cfg(feature = "postgres")]
    registry.register(PostgresFactory);
    #[cfg(feature = "redis")]
    registry.register(RedisFactory);
    #[cfg(feature = "layers")]
    {
        use store_layers::{compress, encrypt, limit, retry, timeout};
        registry.register(compress::CompressFactory);
        registry.register(encrypt::EncryptFactory);
        registry.register(retry::RetryFactory);
        registry.register(timeout::TimeoutFactory);
        registry.register(limit::LimitFactory);
    }
    #[cfg(feature = "dynamodb")]
    registry.register(DynamoFactory);
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

/// Open the store a URI describes, with `options` given beside it, as OpenDAL's
/// `Operator::from_uri` and object_store's `parse_url_opts` take them.
///
/// Options are the backend's config fields, written as text and typed exactly as query
/// parameters are (`("max_bytes", "1048576")`). Unlike the URI, which gets logged and shown
/// in errors, options may carry secrets: S3's `secret_access_key` and `session_token` are
/// accepted here and refused in the query. There is no precedence to remember: a field
/// given both in the URI (its query, or its path: `bucket`, `prefix`, `path`) and in
/// `options` is an [`ErrorKind::InvalidConfig`] error naming the field, as is an unknown
/// one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> strata::Result<()> {
/// let cache = strata::open_uri_with("cache:", [("max_bytes", "1048576")]).await?;
/// assert!(cache.capabilities().may_evict);
///
/// let twice = strata::open_uri_with("cache:?max_bytes=1", [("max_bytes", "2")]).await;
/// assert!(twice.unwrap_err().to_string().contains("field `max_bytes`: is given twice"));
/// # Ok(()) }
/// ```
pub fn open_uri_with<K: Into<String>, V: Into<String>>(
    uri: &str,
    options: impl IntoIterator<Item = (K, V)>,
) -> impl Future<Output = Result<Arc<dyn Store>>> + Send + '_ {
    // Collected before the future is made, so the future is `Send` whatever the iterator.
    let options: Vec<(String, String)> = options
        .into_iter()
        .map(|(name, value)| (name.into(), value.into()))
        .collect();
    async move { registry().open_uri_with(uri, &options).await }
}

/// Open the store a config file (`.toml` or `.json`, with `${VAR}` expansion) describes.
/// Relative paths in the file are relative to the file's directory, not to the current
/// one.
pub async fn open_file(path: impl AsRef<std::path::Path>) -> Result<Arc<dyn Store>> {
    open_file_with(&registry(), path).await
}

/// Open the store named by the `STRATA_STORE` URI, or else the embedded default (a redb
/// database at `./strata-data/strata.redb`).
pub async fn open_default() -> Result<Arc<dyn Store>> {
    open_default_with(&registry()).await
}

/// [`open_file`] through `registry` (based at the file's directory, so that relative
/// paths in the file are relative to it): for instance one that opens only stores that exist
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
    let path = path.as_ref();
    let config = load_config_file(path)?;
    registry
        .clone()
        .with_base_dir(config_file::config_dir(path))
        .open(&config)
        .await
}

/// [`open_default`] through `registry` (see [`open_file_with`]).
pub async fn open_default_with(registry: &Registry) -> Result<Arc<dyn Store>> {
    match std::env::var(STORE_ENV) {
        Ok(uri) if !uri.is_empty() => registry.open_uri(&uri).await,
        _ => registry.open(&default_config()).await,
    }
}
