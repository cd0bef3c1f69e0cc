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

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use store_core::{Error, Key, Layer, ListOptions, Meta, Result, Store};

pub use codec::{Codec, HEADER_LEN, Header, Stored};
pub use factory::CompressFactory;

use crate::transform::{Transformed, ValueTransform};

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
    base: Transformed<Compression>,
}

/// The codec and level new values are written with.
#[derive(Debug, Clone, Copy)]
struct Compression {
    codec: Codec,
    level: i32,
}

impl Compressed {
    /// Write with `codec` (zstd at [`DEFAULT_ZSTD_LEVEL`]) into `inner`.
    pub fn new(inner: Arc<dyn Store>, codec: Codec) -> Self {
        let compression = Compression {
            codec,
            level: DEFAULT_ZSTD_LEVEL,
        };
        Compressed {
            base: Transformed::new(inner, compression),
        }
    }

    /// Use zstd level `level` (zstd's range; negative levels are its fast modes).
    pub fn with_level(mut self, level: i32) -> Result<Self> {
        check_level(level)?;
        self.base.transform.level = level;
        Ok(self)
    }

    /// The codec new values are written with.
    pub fn codec(&self) -> Codec {
        self.base.transform.codec
    }

    /// The sizes of `key`'s value (`None`: absent), from one ranged read of its header.
    pub async fn sizes(&self, key: &Key) -> Result<Option<Sizes>> {
        sizes_of(&*self.base.inner, key).await
    }

    /// `list` with each value's stored size and codec as well.
    pub fn list_sizes(&self, options: ListOptions) -> BoxStream<'static, Result<Sizes>> {
        list_sizes(&self.base.inner, options)
    }
}

/// `list` over `inner` with each value's sizes, up to [`HEADER_READS`] header reads at once.
fn list_sizes(inner: &Arc<dyn Store>, options: ListOptions) -> BoxStream<'static, Result<Sizes>> {
    let reader = inner.clone();
    inner
        .list(options)
        .map(move |listed| {
            let inner = reader.clone();
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

impl ValueTransform for Compression {
    /// A value that does not shrink is stored raw behind its one-byte tag.
    fn overhead(&self) -> u64 {
        1
    }

    fn encode(&self, _key: &Key, value: &[u8]) -> Result<Bytes> {
        codec::encode(value, self.codec, self.level)
    }

    fn decode(&self, key: &Key, stored: Bytes, max: u64) -> Result<Bytes> {
        codec::decode(key, stored, max)
    }

    /// The logical size lives in the value's header: one ranged read.
    async fn head(&self, inner: &Arc<dyn Store>, key: &Key) -> Result<Option<Meta>> {
        Ok(sizes_of(&**inner, key).await?.map(|s| s.meta))
    }

    fn list(
        &self,
        inner: &Arc<dyn Store>,
        options: ListOptions,
    ) -> BoxStream<'static, Result<Meta>> {
        list_sizes(inner, options)
            .map(|sized| sized.map(|s| s.meta))
            .boxed()
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

impl Layer for Compressed {
    fn inner(&self) -> &dyn Store {
        &self.base
    }
}
