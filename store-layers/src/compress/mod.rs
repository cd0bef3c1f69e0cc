//! `Compressed`: per-value zstd or LZ4 compression over any store.
//!
//! Each stored value carries a one-byte codec tag (see [`codec`] for the byte layout), so
//! a store may hold raw, zstd and LZ4 values at once and the codec can change at any time
//! without rewriting. Values that would not shrink are stored raw (one byte longer).
//!
//! Sizes: `Meta::size` from `get`, `head`, `list` and `put` is the **logical** size (the
//! value's own length), as the `Store` contract requires. The stored size is reported by
//! [`Compressed::sizes`] and [`Compressed::list_sizes`]. Since the logical size of a
//! compressed value lives in its header, `head` and `list` read the first
//! [`HEADER_LEN`] bytes of each value with a ranged read (never the value itself), `list`
//! up to [`HEADER_READS`] keys at a time.

pub mod codec;
mod factory;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use store_core::{
    Capabilities, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Result, Store,
    async_trait, clamp_range, slice_entry,
};

pub use codec::{Codec, HEADER_LEN, Header, Stored};
pub use factory::CompressFactory;

use crate::cpu::cpu;

/// zstd's own default level, used unless another is configured.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// How many header reads a `list` keeps in flight.
pub const HEADER_READS: usize = 16;

/// A value's sizes: the metadata `head` reports (logical size) and what the inner store holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// The value's metadata, with its logical (decoded) size.
    pub meta: Meta,
    /// The size of the encoded value in the inner store.
    pub stored_size: u64,
    /// The codec the value is stored with.
    pub codec: Stored,
}

/// A store that compresses values on their way into `inner` and decodes them on the way out.
#[derive(Debug, Clone)]
pub struct Compressed {
    inner: Arc<dyn Store>,
    codec: Codec,
    level: i32,
}

impl Compressed {
    /// Write with `codec` (zstd at [`DEFAULT_ZSTD_LEVEL`]) into `inner`.
    pub fn new(inner: Arc<dyn Store>, codec: Codec) -> Self {
        Compressed {
            inner,
            codec,
            level: DEFAULT_ZSTD_LEVEL,
        }
    }

    /// Use zstd level `level` (zstd's range; negative levels are its fast modes).
    pub fn with_level(mut self, level: i32) -> Result<Self> {
        check_level(level)?;
        self.level = level;
        Ok(self)
    }

    /// The codec new values are written with.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The sizes of `key`'s value (`None`: absent), from one ranged read of its header.
    pub async fn sizes(&self, key: &Key) -> Result<Option<Sizes>> {
        sizes_of(&*self.inner, key).await
    }

    /// `list` with each value's stored size and codec as well.
    pub fn list_sizes(&self, options: ListOptions) -> BoxStream<'static, Result<Sizes>> {
        let inner = self.inner.clone();
        self.inner
            .list(options)
            .map(move |listed| {
                let inner = inner.clone();
                async move {
                    match listed {
                        Ok(meta) => sizes_of(&*inner, &meta.key).await,
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(HEADER_READS)
            // A key deleted between the listing and its header read is not listed.
            .filter_map(|sized| futures::future::ready(sized.transpose()))
            .boxed()
    }

    /// The largest logical value: one byte under the inner store's limit (a value that
    /// does not shrink is stored raw behind its tag).
    fn max_logical(&self) -> Option<u64> {
        self.inner
            .capabilities()
            .max_value_size
            .map(|m| m.saturating_sub(1))
    }

    async fn encode(&self, value: Bytes) -> Result<Bytes> {
        let (codec, level) = (self.codec, self.level);
        cpu(value.len(), move || codec::encode(&value, codec, level)).await
    }

    async fn decode_entry(&self, key: &Key, entry: Entry) -> Result<Entry> {
        let max = self.max_logical().unwrap_or(u64::MAX);
        let owned = key.clone();
        let stored = entry.value;
        let value = cpu(stored.len(), move || codec::decode(&owned, stored, max)).await?;
        let mut meta = entry.meta;
        meta.size = value.len() as u64;
        Ok(Entry { value, meta })
    }

    fn check_size(&self, key: &Key, len: usize) -> Result<()> {
        match self.max_logical() {
            Some(max) if len as u64 > max => Err(Error::invalid_input(format!(
                "a value of {len} bytes is over this store's limit of {max}"
            ))
            .with_key(key)),
            _ => Ok(()),
        }
    }
}

/// `InvalidConfig` unless `level` is a zstd level.
fn check_level(level: i32) -> Result<()> {
    let range = zstd::compression_level_range();
    if range.contains(&level) {
        return Ok(());
    }
    Err(Error::invalid_config(
        "level",
        format!(
            "zstd levels are {}..={}, not {level}",
            range.start(),
            range.end()
        ),
    ))
}

/// The sizes of `key`'s value in `inner`, from its first [`HEADER_LEN`] bytes.
async fn sizes_of(inner: &dyn Store, key: &Key) -> Result<Option<Sizes>> {
    let Some((first, stored)) = inner.get_range(key, 0..HEADER_LEN as u64).await? else {
        return Ok(None);
    };
    let header = codec::header(key, &first, stored.size)?;
    let stored_size = stored.size;
    let mut meta = stored;
    meta.size = header.logical_size;
    Ok(Some(Sizes {
        meta,
        stored_size,
        codec: header.codec,
    }))
}

#[async_trait]
impl Layer for Compressed {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_value_size: self.max_logical(),
            ..self.inner.capabilities()
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        match self.inner.get(key).await? {
            Some(entry) => Ok(Some(self.decode_entry(key, entry).await?)),
            None => Ok(None),
        }
    }

    /// A compressed value is decoded whole, then sliced.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, u64::MAX)?;
        match Layer::get(self, key).await? {
            Some(entry) => Ok(Some(slice_entry(entry, &range)?)),
            None => Ok(None),
        }
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        Ok(self.sizes(key).await?.map(|s| s.meta))
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.check_size(key, value.len())?;
        let size = value.len() as u64;
        let stored = self.encode(value).await?;
        let mut meta = self.inner.put(key, stored, mode).await?;
        meta.size = size;
        Ok(meta)
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.list_sizes(options)
            .map(|sized| sized.map(|s| s.meta))
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let entries = self.inner.get_many(keys).await?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, entry) in keys.iter().zip(entries) {
            out.push(match entry {
                Some(entry) => Some(self.decode_entry(key, entry).await?),
                None => None,
            });
        }
        Ok(out)
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let mut sizes = Vec::with_capacity(ops.len());
        let mut encoded = Vec::with_capacity(ops.len());
        for op in ops {
            self.check_size(&op.key, op.value.len())?;
            sizes.push(op.value.len() as u64);
            let value = self.encode(op.value).await?;
            encoded.push(PutOp::new(op.key, value, op.mode));
        }
        let mut metas = self.inner.put_many(encoded).await?;
        for (meta, size) in metas.iter_mut().zip(sizes) {
            meta.size = size;
        }
        Ok(metas)
    }
}
