//! [`BatchLimit`]: a layer that accepts at most `max` ops per batch write, as DynamoDB's
//! transactions do, so tests can check that callers respect `max_batch_writes` without a
//! DynamoDB server.

use std::sync::Arc;

use store_core::{Capabilities, Error, Key, Layer, Meta, PutOp, Result, Store, async_trait};

/// Wraps a store, declares `max_batch_writes: Some(max)` and refuses larger
/// `put_many`/`delete_many` calls with `InvalidInput` before touching the inner store.
#[derive(Debug)]
pub struct BatchLimit {
    inner: Arc<dyn Store>,
    max: usize,
}

impl BatchLimit {
    /// `inner`, limited to `max` ops per batch write.
    pub fn new(inner: Arc<dyn Store>, max: usize) -> Self {
        BatchLimit { inner, max }
    }

    fn check(&self, what: &str, len: usize) -> Result<()> {
        if len > self.max {
            return Err(Error::invalid_input(format!(
                "{what} of {len} ops; this store takes at most {}",
                self.max
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Layer for BatchLimit {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_batch_writes: Some(self.max),
            ..self.inner.capabilities()
        }
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.check("put_many", ops.len())?;
        self.inner.put_many(ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.check("delete_many", keys.len())?;
        self.inner.delete_many(keys).await
    }
}
