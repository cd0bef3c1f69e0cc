//! # store-redis: a Strata store in Redis, with conditions decided by the server
//!
//! [`RedisStore`] keeps a Strata store in one namespace of a Redis server (tested with
//! 7.0; the scripts and commands need nothing newer than 5.0). Every write, conditional or not, is one Lua script that checks the
//! version, writes the entry and updates the key index together, so `Create` and
//! `Update(v)` hold across every process using the namespace (`ConditionalPuts::Native`),
//! and `put_many` / `delete_many` are all or nothing. It is the natural shared warm tier
//! between many processes (memory → Redis → S3).
//!
//! ```no_run
//! use store_core::{Key, PutMode, Store, StoreExt};
//! use store_redis::{RedisConfig, RedisStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = RedisStore::open(RedisConfig::new("redis://127.0.0.1:6379/0").namespace("app")).await?;
//! let key = Key::new("users/42/name")?;
//! let meta = store.put_typed(&key, "Ada", PutMode::Create).await?;
//! store.put_typed(&key, "Ada L.", PutMode::Update(meta.version)).await?;
//! assert_eq!(store.get_typed::<String>(&key).await?.as_deref(), Some("Ada L."));
//! # Ok(()) }
//! ```
//!
//! ## Client
//!
//! redis-rs with its `ConnectionManager`: one multiplexed connection shared by every
//! clone of the store, which reconnects by itself after the server went away (requests
//! meanwhile fail fast with a retryable `Unavailable`). redis-rs rather than fred because
//! its script helper (`EVALSHA`, falling back to `EVAL` after a restart emptied the
//! script cache) and pipelines are what this store is built from, with few dependencies.
//!
//! ## Configuration
//!
//! `{"type": "redis", "url": "redis://[user:password@]host:port[/db]", "namespace":
//! "strata", "timeout_ms": 5000}` or the URI
//! `redis://[user:password@]host:port[/db]?namespace=app&timeout_ms=5000`. Unknown
//! fields are rejected by name; the password never appears in Debug output or errors.
//! See [`RedisConfig`].
//!
//! ## Layout
//!
//! Per key a hash `{namespace}:k:<key>` (value, version, size, modification time, the
//! value's CRC32C) and one
//! sorted set `{namespace}:idx` of every key with score 0, so `list` reads keys in byte
//! order with `ZRANGEBYLEX`, pages from `start_after`, and never `SCAN`s the keyspace.
//! `{namespace}` is a Redis Cluster hash tag: a namespace lives in one slot. `head` never
//! reads the value; `get_many` is one pipelined round trip.
//!
//! ## Corruption
//!
//! Every `get` (and `get_many`, and so `get_range`) checks the value against its stored
//! size and CRC32C, and every read checks that the metadata fields parse: damage is
//! `Corrupted` naming the key, never a wrong value; a listing yields a damaged entry as
//! such an error and goes on. `head` and `list` do not read values, so they check only
//! the metadata.
//!
//! ## Durability
//!
//! Declared from the server's configuration, read at open:
//!
//! | server settings | an acknowledged write survives | [`Capabilities::durability`](store_core::Capabilities) |
//! |---|---|---|
//! | `appendonly no` (Redis's default) | nothing: snapshots (`save`) persist only what existed at the last one, so a crash loses acknowledged writes | `None` |
//! | `appendonly yes`, `appendfsync everysec` (or `no`) | the Redis process dying; an OS crash or power loss loses up to about a second | `ProcessCrash` |
//! | `appendonly yes`, `appendfsync always` | power loss and OS crashes: each write is fsynced before its reply | `PowerLoss` |
//! | `CONFIG` refused (renamed on managed services) | assumed nothing | `None` |
//!
//! For `PowerLoss`, run the server with `--appendonly yes --appendfsync always` (or set
//! them with `CONFIG SET` and `CONFIG REWRITE`). `flush` adds nothing: a write is as
//! durable as it will be when its reply arrives. A server with a memory limit and an
//! evicting `maxmemory-policy` declares `may_evict`. Replication is asynchronous in Redis:
//! a failover may lose acknowledged writes whatever these settings say.
//!
//! Versions come from a per-namespace counter that starts at the server's clock (in
//! microseconds) whenever it is missing, so even a server that lost its data never
//! hands out a version again.
//!
//! ## Failures
//!
//! A server that went away (restart, network) gives retryable `Unavailable` errors
//! within the configured timeout, and the store recovers by itself when it is back. A
//! write whose reply was lost is settled, never guessed: each write carries a token
//! under which its script records its outcome, and the client then asks the server
//! (`settle`) which either finds the record (the write applied; its version is returned)
//! or fences the token so the script can never apply later (reported as not applied,
//! safe to retry). Only if the server stays away through the timeout is the outcome
//! reported as unknown. The records expire after a minute (four timeouts, if longer):
//! about 100 bytes per write of the last minute is memory the server needs besides the
//! data. A delete needs no record: repeating it is safe, and an unreachable server during
//! one is reported as "may or may not have applied".
#![deny(missing_docs)]

mod config;
mod errors;
mod factory;
mod layout;
mod list;
mod reads;
mod scripts;
mod settings;
mod store;
mod writes;

pub use config::{DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_MS, RedisConfig};
pub use factory::RedisFactory;
pub use list::LIST_PAGE;
pub use scripts::put_source;
pub use store::RedisStore;
