//! [`RedisStore`]: opening a connection and the `Store` contract over it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use store_core::{
    Capabilities, Entry, Error, Key, ListOptions, Meta, PutMode, PutOp, Result, Store, async_trait,
};

use crate::config::RedisConfig;
use crate::errors::Server;
use crate::layout::{Names, outcome_ttl_secs};
use crate::reads::{ENTRY_FIELDS, EntryFields, MetaFields, entry, meta};
use crate::settings::ServerSettings;

/// A Strata store in a Redis namespace. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Reconnects by itself after the server went away; requests meanwhile fail fast.
    pub(crate) conn: ConnectionManager,
    pub(crate) names: Names,
    pub(crate) server: Server,
    pub(crate) timeout: Duration,
    /// How long a write's outcome record lives (see `layout::outcome_ttl_secs`).
    pub(crate) record_ttl: u64,
    capabilities: Capabilities,
    location: String,
    namespace: String,
}

impl RedisStore {
    /// Connect to the server, check that it answers, and read the settings the
    /// capabilities are declared from.
    ///
    /// # Errors
    /// `InvalidConfig` for a bad URL or namespace; `PermissionDenied` for credentials the
    /// server refuses; `NotFound` for a database the server lacks; `Backend` for a port
    /// where no Redis answers; retryable `Unavailable` when the server cannot be reached.
    pub async fn open(config: RedisConfig) -> Result<Self> {
        config.validate()?;
        let shown = config.shown_url();
        let server = Server::new(config.url.expose(), shown.clone());
        let client = redis::Client::open(config.url.expose()).map_err(|_| {
            Error::invalid_config("url", format!("`{shown}` is not a valid Redis URL"))
        })?;
        let info = client.get_connection_info();
        let location = format!(
            "redis://{}/{}/{}/",
            info.addr(),
            info.redis_settings().db(),
            config.namespace
        );
        let timeout = config.timeout_duration();
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_millis(500));
        let what = "connecting";
        let mut conn = ConnectionManager::new_with_config(client, manager)
            .await
            .map_err(|e| server.error(what, e))?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| server.error(what, e))?;
        let settings = ServerSettings::read(&mut conn)
            .await
            .map_err(|e| server.error("reading the server's settings", e))?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                names: Names::new(&config.namespace),
                server,
                timeout,
                record_ttl: outcome_ttl_secs(timeout),
                capabilities: settings.capabilities(),
                location,
                namespace: config.namespace,
            }),
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.inner.server.shown())
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for RedisStore {
    /// Conditions and batches are decided by the server's scripts (`Native`, atomic);
    /// durability and eviction are what the server's settings said at open.
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let fields: EntryFields = redis::cmd("HMGET")
            .arg(self.inner.names.entry(key))
            .arg(&ENTRY_FIELDS)
            .query_async(&mut self.inner.conn.clone())
            .await
            .map_err(|e| self.inner.server.error(&format!("get `{key}`"), e))?;
        entry(key, fields)
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let fields: MetaFields = redis::cmd("HMGET")
            .arg(self.inner.names.entry(key))
            .arg(&["ver", "size", "mod"])
            .query_async(&mut self.inner.conn.clone())
            .await
            .map_err(|e| self.inner.server.error(&format!("head `{key}`"), e))?;
        meta(key, fields)
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.inner.put(key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner.delete_many(std::slice::from_ref(key)).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        crate::list::list(self.inner.clone(), options)
    }

    /// One pipelined round trip for all the keys.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HMGET")
                .arg(self.inner.names.entry(key))
                .arg(&ENTRY_FIELDS);
        }
        let rows: Vec<EntryFields> = pipe
            .query_async(&mut self.inner.conn.clone())
            .await
            .map_err(|e| {
                let what = format!("get_many of {} keys", keys.len());
                self.inner.server.error(&what, e)
            })?;
        keys.iter()
            .zip(rows)
            .map(|(key, row)| entry(key, row))
            .collect()
    }

    /// One script: all the writes apply or none does.
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.inner.put_many(ops).await
    }

    /// One script: all the keys go or none does.
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.inner.delete_many(keys).await
    }

    /// The server, database and namespace: `redis://host:port/db/namespace/`.
    fn locations(&self) -> Vec<String> {
        vec![self.inner.location.clone()]
    }
}
