//! `StoreExt`: conveniences built on the `Store` contract, for every store.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::key::{Key, Prefix};
use crate::meta::{ListOptions, Meta, PutMode, PutOp};
use crate::store::Store;

/// How many times [`StoreExt::update`] retries after losing a compare-and-swap race.
pub const UPDATE_MAX_ATTEMPTS: u32 = 200;

/// How many keys [`StoreExt::copy_all`] moves per batch, unless the destination declares
/// a smaller [`Capabilities::max_batch_writes`](crate::Capabilities::max_batch_writes).
pub const COPY_BATCH: usize = 256;

/// What [`StoreExt::copy_all`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Keys written to the destination.
    pub keys: u64,
    /// Value bytes written to the destination.
    pub bytes: u64,
}

/// Encode `value` as CBOR.
pub fn encode_cbor<T: Serialize + ?Sized>(key: &Key, value: &T) -> Result<Bytes> {
    let mut buf = Vec::new();
    ciborium::into_writer(value, &mut buf).map_err(|e| {
        Error::new(
            ErrorKind::Backend,
            format!("could not encode value as CBOR: {e}"),
        )
        .with_key(key)
    })?;
    Ok(Bytes::from(buf))
}

/// Decode CBOR bytes stored at `key`; a decoding failure is `Corrupted`.
pub fn decode_cbor<T: DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<T> {
    ciborium::from_reader(bytes)
        .map_err(|e| Error::corrupted(key, format!("value is not valid CBOR for this type: {e}")))
}

/// Conveniences for every [`Store`], including `dyn Store`.
///
/// ```
/// # use std::sync::Arc;
/// # use store_core::{Key, PutMode, Store, StoreExt};
/// # async fn demo(store: Arc<dyn Store>) -> store_core::Result<()> {
/// let key = Key::new("counters/visits")?;
/// store.put_typed(&key, &0u64, PutMode::Create).await?;
/// let (n, _meta) = store.update(&key, |n: Option<u64>| n.unwrap_or(0) + 1).await?;
/// assert_eq!(n, 1);
/// assert_eq!(store.get_typed::<u64>(&key).await?, Some(1));
/// # Ok(()) }
/// ```
#[async_trait]
pub trait StoreExt: Store {
    /// Read and CBOR-decode the value at `key`.
    async fn get_typed<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>> {
        match self.get(key).await? {
            Some(entry) => decode_cbor(key, &entry.value).map(Some),
            None => Ok(None),
        }
    }

    /// CBOR-encode `value` and write it at `key` under `mode`.
    async fn put_typed<T: Serialize + Sync + ?Sized>(
        &self,
        key: &Key,
        value: &T,
        mode: PutMode,
    ) -> Result<Meta> {
        let bytes = encode_cbor(key, value)?;
        self.put(key, bytes, mode).await
    }

    /// Atomic read-modify-write of a typed value.
    ///
    /// Reads the value (`None` if absent), computes `f(value)`, and writes it back with
    /// `PutMode::Update(version)` (or `Create` if it was absent). If another writer got
    /// there first, it re-reads and tries again, with jittered backoff, up to
    /// [`UPDATE_MAX_ATTEMPTS`] times; after that it returns the last `VersionMismatch`
    /// (marked retryable). `f` may therefore run more than once.
    ///
    /// Needs a tokio runtime with the time driver enabled (for the backoff).
    async fn update<T, F>(&self, key: &Key, mut f: F) -> Result<(T, Meta)>
    where
        T: Serialize + DeserializeOwned + Send + Sync,
        F: FnMut(Option<T>) -> T + Send,
    {
        let mut attempt = 0;
        loop {
            let (current, mode) = match self.get(key).await? {
                Some(entry) => (
                    Some(decode_cbor::<T>(key, &entry.value)?),
                    PutMode::Update(entry.meta.version),
                ),
                None => (None, PutMode::Create),
            };
            let next = f(current);
            let bytes = encode_cbor(key, &next)?;
            match self.put(key, bytes, mode).await {
                Ok(meta) => return Ok((next, meta)),
                Err(e) if is_lost_race(&e) => {
                    attempt += 1;
                    if attempt >= UPDATE_MAX_ATTEMPTS {
                        return Err(e.with_retryable(true));
                    }
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether a value exists at `key` (a `head`, never a read of the value).
    async fn exists(&self, key: &Key) -> Result<bool> {
        Ok(self.head(key).await?.is_some())
    }

    /// Copy every key under `prefix` from this store into `to`, overwriting, in batches
    /// of [`COPY_BATCH`], or of `to`'s `max_batch_writes` if that is smaller, each cut
    /// further to `to`'s `max_batch_bytes`
    /// ([`Capabilities::put_batches`](crate::Capabilities::put_batches)). Keys deleted
    /// during the copy are skipped. Versions in `to` are `to`'s own.
    async fn copy_all(&self, to: &dyn Store, prefix: &Prefix) -> Result<CopyReport> {
        let mut report = CopyReport::default();
        let mut listing = self
            .list(ListOptions::prefix(prefix.clone()))
            .try_chunks(to.capabilities().write_batch(COPY_BATCH));
        while let Some(chunk) = listing.try_next().await.map_err(|e| e.1)? {
            let keys: Vec<Key> = chunk.into_iter().map(|m| m.key).collect();
            let entries = self.get_many(&keys).await?;
            let ops: Vec<PutOp> = entries
                .into_iter()
                .flatten()
                .map(|entry| PutOp::overwrite(entry.meta.key, entry.value))
                .collect();
            report.keys += ops.len() as u64;
            report.bytes += ops.iter().map(|op| op.value.len() as u64).sum::<u64>();
            let count = ops.len();
            for batch in to.capabilities().put_batches(ops, count) {
                to.put_many(batch).await?;
            }
        }
        Ok(report)
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

fn is_lost_race(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::VersionMismatch | ErrorKind::AlreadyExists
    )
}

async fn backoff(attempt: u32) {
    // Yield first: in-memory races resolve in microseconds. Then back off with jitter
    // so that many contending writers on a slow backend spread out instead of colliding
    // in lockstep.
    if attempt <= 2 {
        tokio::task::yield_now().await;
        return;
    }
    let cap_ms = 1u64 << attempt.min(7);
    let ms = rand::rng().random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
