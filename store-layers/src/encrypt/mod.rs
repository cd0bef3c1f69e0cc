//! `Encrypted`: authenticated encryption of every value, over any store.
//!
//! Values are sealed with AES-256-GCM-SIV under the keyring's current key, with a
//! fresh random nonce per write and the Strata key bound as associated data (the byte
//! layout is in [`envelope`]). Opening checks all of it: a value altered, truncated,
//! moved or copied under another key fails with `Corrupted` naming the key. Each value
//! names its key by [`KeyId`], so a keyring with the new key current and the old ones
//! kept for reading serves both while [`reencrypt`] moves the store to the new key.
//!
//! Versions, conditions and batches are the inner store's: a put returns the inner
//! store's version and `Create` / `Update` puts are forwarded as they are, so
//! compare-and-swap means what it means on the inner store. Sizes in `Meta` are logical
//! (the envelope's fixed [`OVERHEAD`] subtracted), so `head` and `list` read no values.

pub mod envelope;
mod factory;
mod keyring;
mod rotate;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use store_core::{
    Capabilities, Entry, Error, Key, Layer, ListOptions, Meta, PutMode, PutOp, Result, Store,
    async_trait, clamp_range, slice_entry,
};

pub use envelope::OVERHEAD;
pub use factory::EncryptFactory;
pub use keyring::{KEY_LEN, KeyId, KeySource, Keyring};
pub use rotate::{RotationReport, reencrypt};

use crate::cpu::cpu;

/// A store that seals values on their way into `inner` and opens them on the way out.
#[derive(Debug, Clone)]
pub struct Encrypted {
    inner: Arc<dyn Store>,
    keyring: Arc<Keyring>,
}

impl Encrypted {
    /// Seal values for `inner` with `keyring`.
    pub fn new(inner: Arc<dyn Store>, keyring: Keyring) -> Self {
        Encrypted {
            inner,
            keyring: Arc::new(keyring),
        }
    }

    /// The keyring in use.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The store the sealed values live in.
    pub fn inner_store(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    async fn seal(&self, key: &Key, value: Bytes) -> Result<Bytes> {
        let (keyring, owned) = (self.keyring.clone(), key.clone());
        cpu(value.len(), move || {
            envelope::seal(&keyring, &owned, &value)
        })
        .await
    }

    async fn open_entry(&self, key: &Key, entry: Entry) -> Result<Entry> {
        let (keyring, owned, stored) = (self.keyring.clone(), key.clone(), entry.value);
        let value = cpu(stored.len(), move || {
            envelope::open(&keyring, &owned, &stored)
        })
        .await?;
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

    fn max_logical(&self) -> Option<u64> {
        self.inner
            .capabilities()
            .max_value_size
            .map(|m| m.saturating_sub(OVERHEAD as u64))
    }
}

/// `meta` with the logical size of the sealed value it describes.
fn logical(mut meta: Meta) -> Result<Meta> {
    meta.size = envelope::logical_size(&meta.key, meta.size)?;
    Ok(meta)
}

#[async_trait]
impl Layer for Encrypted {
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
            Some(entry) => Ok(Some(self.open_entry(key, entry).await?)),
            None => Ok(None),
        }
    }

    /// A sealed value is authenticated whole, so a range is opened whole, then sliced.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, u64::MAX)?;
        match Layer::get(self, key).await? {
            Some(entry) => Ok(Some(slice_entry(entry, &range)?)),
            None => Ok(None),
        }
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.inner.head(key).await?.map(logical).transpose()
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.check_size(key, value.len())?;
        let size = value.len() as u64;
        let sealed = self.seal(key, value).await?;
        let mut meta = self.inner.put(key, sealed, mode).await?;
        meta.size = size;
        Ok(meta)
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.inner
            .list(options)
            .map(|listed| listed.and_then(logical))
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let entries = self.inner.get_many(keys).await?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, entry) in keys.iter().zip(entries) {
            out.push(match entry {
                Some(entry) => Some(self.open_entry(key, entry).await?),
                None => None,
            });
        }
        Ok(out)
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let mut sizes = Vec::with_capacity(ops.len());
        let mut sealed = Vec::with_capacity(ops.len());
        for op in ops {
            self.check_size(&op.key, op.value.len())?;
            sizes.push(op.value.len() as u64);
            let value = self.seal(&op.key, op.value).await?;
            sealed.push(PutOp::new(op.key, value, op.mode));
        }
        let mut metas = self.inner.put_many(sealed).await?;
        for (meta, size) in metas.iter_mut().zip(sizes) {
            meta.size = size;
        }
        Ok(metas)
    }
}
