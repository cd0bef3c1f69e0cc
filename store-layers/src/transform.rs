//! The base the value layers (compression, encryption) share: a [`ValueTransform`] says how
//! one value is encoded for the inner store and decoded from it, and [`Transformed`] is the
//! one `Layer` that applies it, so the get / range / batch / put plumbing exists once.
//!
//! What the layers have in common, and so what lives here: `Meta::size` is always the
//! logical (decoded) size, a range is decoded whole and then sliced (neither encoding can
//! be read from the middle), puts are checked against the inner store's value limit less
//! the encoding's overhead, and the encoding work runs through [`cpu`] so a large value
//! does not stall the runtime. What differs (the bytes, and how `head` / `list` learn the
//! logical size) is the transform's.

use std::fmt::Debug;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use store_core::{
    Capabilities, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Result, Store,
    async_trait, clamp_range, slice_entry,
};

use crate::cpu::cpu;

/// How a value layer turns a value into stored bytes and back. Cloned into the closure
/// that does the work (which may run on the blocking pool), so it should be cheap to clone.
pub(crate) trait ValueTransform: Clone + Debug + Send + Sync + 'static {
    /// The most bytes encoding adds to a value; the layer's value limit is the inner
    /// store's less this.
    fn overhead(&self) -> u64;

    /// The stored form of `value` under `key`.
    fn encode(&self, key: &Key, value: &[u8]) -> Result<Bytes>;

    /// The value `stored` (read under `key`) encodes; `max` is the largest logical value
    /// the layer accepts, so a decoder can refuse to expand beyond it.
    fn decode(&self, key: &Key, stored: Bytes, max: u64) -> Result<Bytes>;

    /// `head`: `key`'s metadata with its logical size.
    fn head<'a>(
        &'a self,
        inner: &'a Arc<dyn Store>,
        key: &'a Key,
    ) -> impl Future<Output = Result<Option<Meta>>> + Send + 'a;

    /// `list`: the inner store's listing with logical sizes.
    fn list(
        &self,
        inner: &Arc<dyn Store>,
        options: ListOptions,
    ) -> BoxStream<'static, Result<Meta>>;
}

/// `inner` with every value passed through `transform`.
#[derive(Debug, Clone)]
pub(crate) struct Transformed<T> {
    pub(crate) inner: Arc<dyn Store>,
    pub(crate) transform: T,
}

impl<T: ValueTransform> Transformed<T> {
    pub(crate) fn new(inner: Arc<dyn Store>, transform: T) -> Self {
        Transformed { inner, transform }
    }

    /// The largest logical value: the inner store's limit less the encoding's overhead.
    fn max_logical(&self) -> Option<u64> {
        let overhead = self.transform.overhead();
        self.inner
            .capabilities()
            .max_value_size
            .map(|m| m.saturating_sub(overhead))
    }

    /// `value` encoded for `key`, size-checked first.
    pub(crate) async fn encode(&self, key: &Key, value: Bytes) -> Result<Bytes> {
        if let Some(max) = self.max_logical()
            && value.len() as u64 > max
        {
            let len = value.len();
            return Err(Error::invalid_input(format!(
                "a value of {len} bytes is over this store's limit of {max}"
            ))
            .with_key(key));
        }
        let (transform, owned) = (self.transform.clone(), key.clone());
        cpu(value.len(), move || transform.encode(&owned, &value)).await
    }

    /// `entry` as read from the inner store, decoded, with its logical size.
    pub(crate) async fn decode(&self, key: &Key, entry: Entry) -> Result<Entry> {
        let max = self.max_logical().unwrap_or(u64::MAX);
        let (transform, owned, stored) = (self.transform.clone(), key.clone(), entry.value);
        let value = cpu(stored.len(), move || transform.decode(&owned, stored, max)).await?;
        let mut meta = entry.meta;
        meta.size = value.len() as u64;
        Ok(Entry { value, meta })
    }
}

#[async_trait]
impl<T: ValueTransform> Layer for Transformed<T> {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    fn capabilities(&self) -> Capabilities {
        let inner = self.inner.capabilities();
        // Every op of a batch grows by the encoding's overhead; with no declared op limit
        // that growth has no bound, so a byte limit leaves room for none (each op is then
        // its own batch).
        let overhead = self.transform.overhead();
        let max_batch_bytes = inner.max_batch_bytes.map(|bytes| {
            let ops = inner.max_batch_writes.map_or(u64::MAX, |n| n as u64);
            bytes.saturating_sub(ops.saturating_mul(overhead))
        });
        Capabilities {
            max_value_size: self.max_logical(),
            max_batch_bytes,
            ..inner
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        match self.inner.get(key).await? {
            Some(entry) => Ok(Some(self.decode(key, entry).await?)),
            None => Ok(None),
        }
    }

    /// Neither encoding can be decoded from the middle: decode whole, then slice.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, u64::MAX)?;
        match Layer::get(self, key).await? {
            Some(entry) => Ok(Some(slice_entry(entry, &range)?)),
            None => Ok(None),
        }
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.transform.head(&self.inner, key).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let size = value.len() as u64;
        let stored = self.encode(key, value).await?;
        let mut meta = self.inner.put(key, stored, mode).await?;
        meta.size = size;
        Ok(meta)
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.transform.list(&self.inner, options)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let entries = self.inner.get_many(keys).await?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, entry) in keys.iter().zip(entries) {
            out.push(match entry {
                Some(entry) => Some(self.decode(key, entry).await?),
                None => None,
            });
        }
        Ok(out)
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        // The declared byte limit is what this layer promises, whatever the inner store
        // would take once the values are encoded.
        if let Some(max) = Layer::capabilities(self).max_batch_bytes {
            let bytes: u64 = ops.iter().map(PutOp::batch_bytes).sum();
            if bytes > max {
                return Err(Error::invalid_input(format!(
                    "put_many of {bytes} bytes of keys and values: this store takes at most \
                     {max} (the inner store's limit less the encoding's overhead per op)"
                )));
            }
        }
        let mut sizes = Vec::with_capacity(ops.len());
        let mut encoded = Vec::with_capacity(ops.len());
        for op in ops {
            sizes.push(op.value.len() as u64);
            let value = self.encode(&op.key, op.value).await?;
            encoded.push(PutOp::new(op.key, value, op.mode));
        }
        let mut metas = self.inner.put_many(encoded).await?;
        for (meta, size) in metas.iter_mut().zip(sizes) {
            meta.size = size;
        }
        Ok(metas)
    }
}
