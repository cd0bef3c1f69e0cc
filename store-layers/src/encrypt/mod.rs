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

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use store_core::{Entry, Key, Layer, ListOptions, Meta, Result, Store};

pub use envelope::OVERHEAD;
pub use factory::EncryptFactory;
pub use keyring::{KEY_LEN, KeyId, KeySource, Keyring};
pub use rotate::{RotationReport, reencrypt};

use crate::transform::{Transformed, ValueTransform};

/// A store that seals values on their way into `inner` and opens them on the way out.
#[derive(Debug, Clone)]
pub struct Encrypted {
    base: Transformed<Sealing>,
}

/// The keyring values are sealed and opened with.
#[derive(Debug, Clone)]
struct Sealing {
    keyring: Arc<Keyring>,
}

impl Encrypted {
    /// Seal values for `inner` with `keyring`.
    pub fn new(inner: Arc<dyn Store>, keyring: Keyring) -> Self {
        let sealing = Sealing {
            keyring: Arc::new(keyring),
        };
        Encrypted {
            base: Transformed::new(inner, sealing),
        }
    }

    /// The keyring in use.
    pub fn keyring(&self) -> &Keyring {
        &self.base.transform.keyring
    }

    /// The store the sealed values live in.
    pub fn inner_store(&self) -> &Arc<dyn Store> {
        &self.base.inner
    }

    async fn seal(&self, key: &Key, value: Bytes) -> Result<Bytes> {
        self.base.encode(key, value).await
    }

    async fn open_entry(&self, key: &Key, entry: Entry) -> Result<Entry> {
        self.base.decode(key, entry).await
    }
}

/// `meta` with the logical size of the sealed value it describes.
fn logical(mut meta: Meta) -> Result<Meta> {
    meta.size = envelope::logical_size(&meta.key, meta.size)?;
    Ok(meta)
}

impl ValueTransform for Sealing {
    fn overhead(&self) -> u64 {
        OVERHEAD as u64
    }

    fn encode(&self, key: &Key, value: &[u8]) -> Result<Bytes> {
        envelope::seal(&self.keyring, key, value)
    }

    /// The envelope's size is fixed, so `max` needs no check: opening cannot expand.
    fn decode(&self, key: &Key, stored: Bytes, _max: u64) -> Result<Bytes> {
        envelope::open(&self.keyring, key, &stored)
    }

    /// The overhead is fixed, so the logical size is the inner size less it: no read.
    async fn head(&self, inner: &Arc<dyn Store>, key: &Key) -> Result<Option<Meta>> {
        inner.head(key).await?.map(logical).transpose()
    }

    fn list(
        &self,
        inner: &Arc<dyn Store>,
        options: ListOptions,
    ) -> BoxStream<'static, Result<Meta>> {
        inner
            .list(options)
            .map(|listed| listed.and_then(logical))
            .boxed()
    }
}

impl Layer for Encrypted {
    fn inner(&self) -> &dyn Store {
        &self.base
    }
}
