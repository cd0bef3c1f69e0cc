//! `Timeout`: a deadline on every operation (OpenDAL's `TimeoutLayer`).
//!
//! An operation still running at its deadline is abandoned (its future dropped) and fails
//! with a retryable `Unavailable` error naming the operation and key. The layer itself
//! holds nothing across the abandoned call (no lock, no permit, no buffered state), so
//! dropping it leaves the layer as it was; what the inner store did with a write that was
//! cut off is unknown to the caller, as with any failed write (see
//! [`retry`](crate::retry) for how conditional puts treat that). `list` streams get the
//! deadline per item: the wait for each next entry.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use store_core::{
    ConfigMap, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Registry, Result,
    Store, StoreFactory, async_trait, parse_config,
};

use crate::nested::InnerSpec;

/// A store whose operations each get `deadline` to finish.
#[derive(Debug, Clone)]
pub struct Timeout {
    inner: Arc<dyn Store>,
    deadline: Duration,
}

impl Timeout {
    /// Give each of `inner`'s operations `deadline`.
    pub fn new(inner: Arc<dyn Store>, deadline: Duration) -> Self {
        Timeout { inner, deadline }
    }

    async fn within<T>(
        &self,
        what: &str,
        key: Option<&Key>,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.deadline, work).await {
            Ok(done) => done,
            Err(_) => Err(timed_out(what, key, self.deadline)),
        }
    }
}

/// The error of an operation cut off at its deadline: `Unavailable`, so retryable.
fn timed_out(what: &str, key: Option<&Key>, deadline: Duration) -> Error {
    let error = Error::unavailable(format!(
        "{what} timed out after {} ms",
        deadline.as_millis()
    ));
    match key {
        Some(key) => error.with_key(key),
        None => error,
    }
}

#[async_trait]
impl Layer for Timeout {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.within("get", Some(key), self.inner.get(key)).await
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        self.within("get_range", Some(key), self.inner.get_range(key, range))
            .await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.within("head", Some(key), self.inner.head(key)).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.within("put", Some(key), self.inner.put(key, value, mode))
            .await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.within("delete", Some(key), self.inner.delete(key))
            .await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let deadline = self.deadline;
        let stream = self.inner.list(options);
        futures::stream::unfold(Some(stream), move |state| async move {
            let mut stream = state?;
            match tokio::time::timeout(deadline, stream.next()).await {
                Ok(Some(item)) => Some((item, Some(stream))),
                Ok(None) => None,
                // The stream is dropped: after a timeout the listing ends with the error.
                Err(_) => Some((Err(timed_out("list", None, deadline)), None)),
            }
        })
        .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        self.within("get_many", None, self.inner.get_many(keys))
            .await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.within("put_many", None, self.inner.put_many(ops))
            .await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.within("delete_many", None, self.inner.delete_many(keys))
            .await
    }

    async fn flush(&self) -> Result<()> {
        self.within("flush", None, self.inner.flush()).await
    }
}

/// Opens [`Timeout`]: `{"type": "timeout", "ms": 5000, "inner": {…}}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutFactory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeoutConfig {
    ms: u64,
    inner: InnerSpec,
}

#[async_trait]
impl StoreFactory for TimeoutFactory {
    fn type_name(&self) -> &'static str {
        "timeout"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let TimeoutConfig { ms, inner } = parse_config(config)?;
        if ms == 0 {
            return Err(Error::invalid_config("ms", "must be at least 1"));
        }
        let inner = inner.open(registry).await?;
        Ok(Arc::new(Timeout::new(inner, Duration::from_millis(ms))))
    }
}
