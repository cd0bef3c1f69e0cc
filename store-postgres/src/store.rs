//! [`PostgresStore`]: the `Store` contract on one PostgreSQL table.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use deadpool_postgres::{ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures::stream::BoxStream;
use store_core::{
    Capabilities, ConditionalPuts, Entry, Error, Key, ListOptions, Meta, PutMode, PutOp, Result,
    Store, Version, async_trait, clamp_range,
};
use tokio_postgres::Row;

use crate::checksum;
use crate::config::{PostgresConfig, TlsMode};
use crate::errors::{Target, from_pg, from_pool, timed_out};
use crate::schema;
use crate::sql::Statements;
use crate::write::{self, Written};

/// The largest value a store accepts: PostgreSQL's limit for one `bytea` field is 1 GB.
pub const MAX_VALUE_SIZE: u64 = 1_000_000_000;

/// How many keys one `list` page asks for.
pub(crate) const LIST_PAGE: usize = 1000;

/// A Strata store in one PostgreSQL table, shared by every process that opens it.
/// Cloning is cheap: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) target: Target,
    pub(crate) sql: Statements,
    pub(crate) capabilities: Capabilities,
    pub(crate) op_timeout: Duration,
    pub(crate) location: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("server", &self.inner.target.0)
            .field("location", &self.inner.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect, create the table if missing (when `create_table` allows), check its
    /// shape and read the server's durability settings.
    ///
    /// Errors name what failed and where, never the password: a refused login is
    /// `PermissionDenied`, a missing database `NotFound`, a server that does not answer
    /// `Unavailable` (within `connect_timeout`), a table of another shape `InvalidConfig`.
    pub async fn connect(config: PostgresConfig) -> Result<Self> {
        config.validate()?;
        let table = config.checked_table()?.to_owned();
        let client_config = config.client_config()?;
        let target = Target::of(&client_config);
        // A connection the server closed is noticed (`is_closed`) and replaced; no round
        // trip per checkout.
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.tls {
            TlsMode::Disable => deadpool_postgres::Manager::from_config(
                client_config,
                tokio_postgres::NoTls,
                manager_config,
            ),
            TlsMode::Require => deadpool_postgres::Manager::from_config(
                client_config,
                crate::tls::connector(config.tls_ca_file.as_deref())?,
                manager_config,
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.connect_timeout))
            .build()
            .map_err(|e| Error::invalid_config("pool_size", e))?;
        let client = pool
            .get()
            .await
            .map_err(|e| from_pool("connect", &target, e))?;
        schema::prepare(&client, &table, config.create_table, &target).await?;
        let durability = schema::durability(&client, &target).await?;
        let (host_port_db, _) = target.0.split_once(" as user").unwrap_or((&target.0, ""));
        let qualified = if table.contains('.') {
            table.clone()
        } else {
            format!("public.{table}")
        };
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                location: format!("postgres://{host_port_db}/{qualified}"),
                target,
                sql: Statements::new(&table),
                capabilities: Capabilities {
                    durability,
                    atomic_batches: true,
                    conditional_puts: ConditionalPuts::Native,
                    max_value_size: Some(MAX_VALUE_SIZE),
                    may_evict: false,
                    max_batch_writes: None,
                    max_batch_bytes: None,
                },
                op_timeout: config.op_timeout,
            }),
        })
    }

    /// The pool, for callers that want to run their own statements on the same
    /// connections (the benchmark's raw baseline does).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }
}

impl Inner {
    /// A pooled connection; failing here means nothing was sent.
    pub(crate) async fn client(&self, what: &str) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| from_pool(what, &self.target, e))
    }

    /// `work` bounded by the operation timeout.
    pub(crate) async fn bounded<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(self.op_timeout, work)
            .await
            .unwrap_or_else(|_| Err(timed_out(what, &self.target)))
    }

    pub(crate) fn pg(&self, what: &str, err: tokio_postgres::Error) -> Error {
        from_pg(what, &self.target, err)
    }
}

/// The metadata in columns `first..first + 3` (version, size, modified) of `row`.
pub(crate) fn meta_of(key: Key, row: &Row, first: usize) -> Result<Meta> {
    let version: i64 = row.get(first);
    let size: i64 = row.get(first + 1);
    let modified: SystemTime = row.get(first + 2);
    let size = u64::try_from(size)
        .map_err(|_| Error::corrupted(&key, format!("the stored size {size} is negative")))?;
    Ok(Meta {
        key,
        size,
        version: Version::new(version.to_string()),
        last_modified: modified,
    })
}

/// The metadata and value in a `version, size, modified, value, crc` row, the value
/// checked against its size and CRC32C.
async fn entry_of(key: &Key, row: &Row, first: usize) -> Result<Entry> {
    let meta = meta_of(key.clone(), row, first)?;
    let value: Vec<u8> = row.get(first + 3);
    let crc: Option<i64> = row.get(first + 4);
    if value.len() as u64 != meta.size {
        return Err(Error::corrupted(
            key,
            format!(
                "the value has {} bytes, its size column says {}",
                value.len(),
                meta.size
            ),
        ));
    }
    let value = Bytes::from(value);
    checksum::verify(key, &value, crc).await?;
    Ok(Entry { value, meta })
}

#[async_trait]
impl Store for PostgresStore {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let inner = &self.inner;
        inner
            .bounded("get", async {
                let client = inner.client("get").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.get)
                    .await
                    .map_err(|e| inner.pg("get", e))?;
                let row = client
                    .query_opt(&stmt, &[&key.as_str()])
                    .await
                    .map_err(|e| inner.pg("get", e).with_key(key))?;
                match row {
                    Some(row) => entry_of(key, &row, 0).await.map(Some),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, 0)?;
        let inner = &self.inner;
        // `substring` counts from 1 and takes 32-bit offsets; values are below 1 GB.
        let start = i32::try_from(range.start.saturating_add(1)).unwrap_or(i32::MAX);
        let len = i32::try_from(range.end - range.start).unwrap_or(i32::MAX);
        inner
            .bounded("get_range", async {
                let client = inner.client("get_range").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.get_range)
                    .await
                    .map_err(|e| inner.pg("get_range", e))?;
                let row = client
                    .query_opt(&stmt, &[&key.as_str(), &start, &len])
                    .await
                    .map_err(|e| inner.pg("get_range", e).with_key(key))?;
                let Some(row) = row else { return Ok(None) };
                let meta = meta_of(key.clone(), &row, 0)?;
                let bytes: Vec<u8> = row.get(3);
                let within = clamp_range(&range, meta.size)?;
                if bytes.len() as u64 != within.end - within.start {
                    return Err(Error::corrupted(
                        key,
                        "the value is shorter than its size column says",
                    ));
                }
                let bytes = Bytes::from(bytes);
                // The checksum covers the whole value: a part is returned unchecked.
                if within.start == 0 && within.end == meta.size {
                    checksum::verify(key, &bytes, row.get(4)).await?;
                }
                Ok(Some((bytes, meta)))
            })
            .await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let inner = &self.inner;
        inner
            .bounded("head", async {
                let client = inner.client("head").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.head)
                    .await
                    .map_err(|e| inner.pg("head", e))?;
                let row = client
                    .query_opt(&stmt, &[&key.as_str()])
                    .await
                    .map_err(|e| inner.pg("head", e).with_key(key))?;
                row.map(|r| meta_of(key.clone(), &r, 0)).transpose()
            })
            .await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let op = PutOp::new(key.clone(), value, mode);
        let mut written = write::put_all(&self.inner, std::slice::from_ref(&op), false).await?;
        written.pop().map(Written::into_meta).ok_or_else(|| {
            Error::new(store_core::ErrorKind::Backend, "put: no result").with_key(key)
        })
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let inner = &self.inner;
        inner
            .bounded("delete", async {
                let client = inner.client("delete").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.delete)
                    .await
                    .map_err(|e| inner.pg("delete", e))?;
                client
                    .execute(&stmt, &[&key.as_str()])
                    .await
                    .map_err(|e| inner.pg("delete", e).with_key(key))?;
                Ok(())
            })
            .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        crate::list::list(self.inner.clone(), options)
    }

    /// One statement (`key = ANY($1)`): one round trip for the whole batch.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let inner = &self.inner;
        inner
            .bounded("get_many", async {
                let client = inner.client("get_many").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.get_many)
                    .await
                    .map_err(|e| inner.pg("get_many", e))?;
                let names: Vec<&str> = keys.iter().map(Key::as_str).collect();
                let rows = client
                    .query(&stmt, &[&names])
                    .await
                    .map_err(|e| inner.pg("get_many", e))?;
                // Each row goes to the first slot asking for its key; a key asked for
                // twice gets a copy in its later slots.
                let mut first: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
                for (i, k) in keys.iter().enumerate() {
                    first.entry(k.as_str()).or_insert(i);
                }
                let mut out: Vec<Option<Entry>> = vec![None; keys.len()];
                for row in rows {
                    let name: &str = row.get(0);
                    if let Some(&i) = first.get(name) {
                        out[i] = Some(entry_of(&keys[i], &row, 1).await?);
                    }
                }
                for (i, k) in keys.iter().enumerate() {
                    let at = first.get(k.as_str()).copied().unwrap_or(i);
                    if at != i {
                        out[i] = out[at].clone();
                    }
                }
                Ok(out)
            })
            .await
    }

    /// One transaction: every write applies or none does.
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let written = write::put_all(&self.inner, &ops, true).await?;
        Ok(written.into_iter().map(Written::into_meta).collect())
    }

    /// One statement, so atomic.
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        inner
            .bounded("delete_many", async {
                let client = inner.client("delete_many").await?;
                let stmt = client
                    .prepare_cached(&inner.sql.delete_many)
                    .await
                    .map_err(|e| inner.pg("delete_many", e))?;
                let names: Vec<&str> = keys.iter().map(Key::as_str).collect();
                client
                    .execute(&stmt, &[&names])
                    .await
                    .map_err(|e| inner.pg("delete_many", e))?;
                Ok(())
            })
            .await
    }

    fn locations(&self) -> Vec<String> {
        vec![self.inner.location.clone()]
    }
}
