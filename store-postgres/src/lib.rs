//! # store-postgres: Strata in a PostgreSQL table
//!
//! [`PostgresStore`] keeps a store in one table of a PostgreSQL database, through
//! `tokio-postgres` and a `deadpool-postgres` pool. Use it to put Strata data in the
//! database you already run (its backups, replication, monitoring), shared by every
//! process and machine that connects.
//!
//! - Schema: `key text COLLATE "C" PRIMARY KEY, version bigint, size bigint, modified
//!   timestamptz, value bytea, crc bigint`. The table is created on open if missing and
//!   `create_table` allows (the default); an existing table of any other shape (a table
//!   from before values carried checksums, without `crc`, included) is refused with
//!   `InvalidConfig` naming its columns and any missing one, never used. `head` and
//!   `list` never read the `value` column.
//! - Versions are random 63-bit numbers chosen by the writer, so a key deleted and created
//!   again never gets back a version a stale writer holds.
//! - `PutMode::Create` is `INSERT … ON CONFLICT DO NOTHING`, `PutMode::Update(v)` is
//!   `UPDATE … WHERE key = $1 AND version = $v`: compare-and-swap is decided by the server,
//!   for every client ([`ConditionalPuts::Native`](store_core::ConditionalPuts)).
//! - `put_many` is one transaction (its statements pipelined on one connection) and
//!   `delete_many` one statement: both atomic. `get_many` is one statement
//!   (`key = ANY($1)`), one round trip.
//! - `list` is a primary-key range scan (`key > $after AND key >= $prefix AND key <
//!   successor(prefix) AND starts_with(key, $prefix) ORDER BY key LIMIT 1000`), one page per
//!   round trip as the stream is consumed; no `LIKE`, so `_` and `%` in keys are plain.
//! - `get_range` reads only the range (`substring(value FROM … FOR …)`); see
//!   *Corruption* for when it checks the value's checksum.
//! - Failures: a server that is down or goes away gives `Unavailable`, retryable, within
//!   `connect_timeout` (default 10 s) for a connection and `op_timeout` (default 30 s) for
//!   an operation; the pool replaces closed connections, so the same store works again once
//!   the server is back. A refused login is `PermissionDenied`, a missing database
//!   `NotFound`, both naming `host:port/database` and the user, never the password.
//! - **Ambiguous commits**: when the connection is lost after a write (or a batch's
//!   COMMIT) was sent, the store reconnects and reads the keys' versions: if the write's
//!   versions are there it reports success (finding out takes at most another `op_timeout`); otherwise it reports `Unavailable` saying the
//!   outcome is unknown (not applied, or replaced since), retryable only for unconditional
//!   overwrites. It never reports such a write as a plain success or a plain failure.
//!
//! **Durability** is read from the server at open: with `fsync = on` and
//! `synchronous_commit` `on` / `local` / `remote_write` / `remote_apply` (PostgreSQL's
//! defaults), a commit is in the WAL on disk before it is acknowledged:
//! [`Durability::PowerLoss`](store_core::Durability). With `fsync = off` or
//! `synchronous_commit = off` a server crash can lose the last acknowledged commits:
//! `ProcessCrash` (a crash of the client loses nothing). `flush` has nothing to do.
//!
//! **Corruption**: every put stores the value's CRC32C in the `crc` column (in the same
//! statement as the value); every `get` and `get_many` checks the value against it and
//! against the `size` column, so bytes damaged on the server's disk, or a value changed
//! behind the store's back (another client's `UPDATE`), is `Corrupted` naming the key,
//! never a wrong value. `get_range` checks the checksum only when the range covers the
//! whole value (the checksum covers the whole value; a part is returned as the server
//! sent it): use `get` when you need the value verified. `head` and `list` never read
//! values, so a listing goes on past a damaged value. PostgreSQL's own page checksums
//! (`initdb --data-checksums`) catch damage to the rest of a row as well.
//!
//! **TLS** is off by default (`tls = "disable"`: plain TCP, for a local server or a
//! trusted network). `tls = "require"` connects over TLS (rustls) and verifies the
//! server's certificate and host name against the system's root certificates, or
//! against the PEM file `tls_ca_file`; a server without TLS is then refused.
//!
//! [`Store::locations`](store_core::Store::locations) is
//! `postgres://host:port/database/schema.table`.
//!
//! ```no_run
//! use store_core::{Key, PutMode, Store};
//! use store_postgres::{PostgresConfig, PostgresStore};
//!
//! # async fn demo() -> store_core::Result<()> {
//! let config = PostgresConfig::new("postgres://app:secret@127.0.0.1:5432/app").table("kv");
//! assert!(!format!("{config:?}").contains("secret"));
//! let store = PostgresStore::connect(config).await?;
//! let key = Key::new("greeting")?;
//! let meta = store.put(&key, "hello".into(), PutMode::Create).await?;
//! store.put(&key, "hello again".into(), PutMode::Update(meta.version)).await?;
//! # Ok(()) }
//! ```
//!
//! Through the registry: `{"type": "postgres", "url": "postgres://app@host/app", "table":
//! "kv", "pool_size": 16, "create_table": true}` or
//! `postgres://app@host:5432/app?table=kv&pool_size=8`. Every [`PostgresConfig`] field but
//! `url` may be a query parameter, except the `password` (a URI gets logged): give it in
//! the config map, the options of `Registry::open_uri_with`, or the URL's user info.
#![deny(missing_docs)]

mod checksum;
mod config;
mod errors;
mod factory;
mod list;
mod schema;
mod sql;
mod store;
mod tls;
mod write;

pub use config::{DEFAULT_POOL_SIZE, DEFAULT_TABLE, PostgresConfig, TlsMode};
pub use factory::PostgresFactory;
pub use store::{MAX_VALUE_SIZE, PostgresStore};

/// Re-exported so callers (and the benchmark's raw baseline) use the same versions.
pub use deadpool_postgres;
/// Re-exported so callers use the same version.
pub use tokio_postgres;
