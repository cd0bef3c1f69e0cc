//! [`BatchLimit`]: a layer that accepts at most `max` ops (and, if set, `bytes` bytes of
//! keys and values) per batch write, as DynamoDB's transactions do, so tests can check
//! that callers respect `max_batch_writes` and `max_batch_bytes` without a DynamoDB
//! server.

use std::sync::Arc;

use store_core::{Capabilities, Error, Key, Layer, Meta, PutOp, Result, Store, async_trait};

/// Wraps a store, declares `max_batch_writes: Some(max)` (and `max_batch_bytes`) and
/// refuses larger `put_many`/`delete_many` calls with `InvalidInput` before touching the
/// inner store.
#[derive(Debug)]
pub struct BatchLimit {
    inner: Arc<dyn Store>,
    max: usize,
    bytes: Option<u64>,
}

impl BatchLimit {
    /// `inner`, limited to `max` ops per batch write.
    pub fn new(inner: Arc<dyn Store>, max: usize) -> Self {
        BatchLimit {
            inner,
            max,
            bytes: None,
        }
    }

    /// Also limit a `put_many` to `bytes` bytes of keys and values.
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
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
            max_batch_bytes: self.bytes,
            ..self.inner.capabilities()
        }
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.check("put_many", ops.len())?;
        let bytes: u64 = ops.iter().map(PutOp::batch_bytes).sum();
        if let Some(max) = self.bytes
            && bytes > max
        {
            return Err(Error::invalid_input(format!(
                "put_many of {bytes} bytes; this store takes at most {max}"
            )));
        }
        self.inner.put_many(ops).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.check("delete_many", keys.len())?;
        self.inner.delete_many(keys).await
    }
}
