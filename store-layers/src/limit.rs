//! `Limit`: at most `max` operations in flight on the inner store, and at most `max`
//! open `list` streams (OpenDAL's `ConcurrentLimitLayer`), with tokio semaphores.
//!
//! An operation waits for a permit, holds it while the inner store works, and gives it
//! back when it finishes or is dropped (a cancelled call never leaks a permit). A batch
//! call is one operation. A `list` stream holds a permit of its own from its first poll
//! until it ends or is dropped; lists have their own semaphore so that a caller reading
//! values while it iterates never waits on a permit its own stream holds.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use store_core::{
    ConfigMap, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Registry, Result,
    Store, StoreFactory, async_trait, parse_config,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::nested::InnerSpec;

/// A store that admits at most `max` concurrent operations and `max` open listings.
#[derive(Debug, Clone)]
pub struct Limit {
    inner: Arc<dyn Store>,
    max: usize,
    ops: Arc<Semaphore>,
    lists: Arc<Semaphore>,
}

impl Limit {
    /// Admit at most `max` (at least 1) concurrent operations on `inner`.
    pub fn new(inner: Arc<dyn Store>, max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Limit {
            inner,
            max,
            ops: Arc::new(Semaphore::new(max)),
            lists: Arc::new(Semaphore::new(max)),
        }
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Operations that could start now without waiting.
    pub fn available(&self) -> usize {
        self.ops.available_permits()
    }

    /// Listings that could open now without waiting.
    pub fn available_lists(&self) -> usize {
        self.lists.available_permits()
    }

    async fn permit(&self) -> Result<SemaphorePermit<'_>> {
        // The semaphore is never closed; the error is mapped rather than unwrapped.
        self.ops
            .acquire()
            .await
            .map_err(|_| Error::closed("the concurrency limit was closed"))
    }
}

#[async_trait]
impl Layer for Limit {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let _permit = self.permit().await?;
        self.inner.get(key).await
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let _permit = self.permit().await?;
        self.inner.get_range(key, range).await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let _permit = self.permit().await?;
        self.inner.head(key).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let _permit = self.permit().await?;
        self.inner.put(key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let _permit = self.permit().await?;
        self.inner.delete(key).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let (inner, lists) = (self.inner.clone(), self.lists.clone());
        // The inner listing opens only once the permit is held.
        let open = async move {
            match lists.acquire_owned().await {
                Ok(permit) => Listing::Open(inner.list(options), permit),
                Err(_) => Listing::Failed,
            }
        };
        futures::stream::once(open)
            .flat_map(|listing| match listing {
                Listing::Open(stream, permit) => stream
                    // The permit lives as long as the stream: moved into its last step.
                    .map(move |item| {
                        let _held = &permit;
                        item
                    })
                    .boxed(),
                Listing::Failed => futures::stream::once(async {
                    Err(Error::closed("the concurrency limit was closed"))
                })
                .boxed(),
            })
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let _permit = self.permit().await?;
        self.inner.get_many(keys).await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let _permit = self.permit().await?;
        self.inner.put_many(ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let _permit = self.permit().await?;
        self.inner.delete_many(keys).await
    }

    async fn flush(&self) -> Result<()> {
        let _permit = self.permit().await?;
        self.inner.flush().await
    }
}

enum Listing {
    Open(BoxStream<'static, Result<Meta>>, OwnedSemaphorePermit),
    Failed,
}

/// Opens [`Limit`]: `{"type": "limit", "max": 16, "inner": {…}}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitFactory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitConfig {
    max: usize,
    inner: InnerSpec,
}

#[async_trait]
impl StoreFactory for LimitFactory {
    fn type_name(&self) -> &'static str {
        "limit"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let LimitConfig { max, inner } = parse_config(config)?;
        if max == 0 || max > Semaphore::MAX_PERMITS {
            return Err(Error::invalid_config(
                "max",
                format!("must be 1..={}", Semaphore::MAX_PERMITS),
            ));
        }
        let inner = inner.open(registry).await?;
        Ok(Arc::new(Limit::new(inner, max)))
    }
}
