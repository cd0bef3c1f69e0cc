//! Key rotation: re-seal every value under the keyring's current key, streaming the store.

use futures::stream::TryStreamExt;
use store_core::{ErrorKind, Key, ListOptions, Prefix, PutMode, Result, Store};

use super::{Encrypted, envelope};

/// How many values a rotation re-seals at once.
const IN_FLIGHT: usize = 8;

/// What [`reencrypt`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Values looked at.
    pub scanned: u64,
    /// Values re-sealed under the current key.
    pub rewritten: u64,
    /// Values already under the current key, left alone.
    pub current: u64,
    /// Values rewritten by someone else between our read and our write (compare-and-swap
    /// refused ours). Run again to re-seal them if other writers still use an old key.
    pub raced: u64,
}

enum Outcome {
    Rewritten,
    Current,
    Raced,
    Gone,
}

/// Re-seal every value under `prefix` that is not under `store`'s current key, so the
/// older keys can then be dropped from the keyring. Streams the inner store's listing;
/// readers keep working throughout (every value is readable under the old or the new
/// key at every moment). Each write is a compare-and-swap on the version read, so a
/// concurrent writer's newer value is never overwritten with an older one (on a store
/// without conditional puts the rewrite is a plain overwrite: stop other writers first).
///
/// `strata migrate` from a store opened with the old keyring to one opened with the new
/// keyring achieves the same into another location.
pub async fn reencrypt(store: &Encrypted, prefix: Prefix) -> Result<RotationReport> {
    let inner = store.inner_store().clone();
    let cas = inner.capabilities().supports_conditional_puts();
    let current = store.keyring().current_id();
    let mut report = RotationReport::default();
    let mut outcomes = inner
        .list(ListOptions::prefix(prefix))
        .map_ok(|meta| {
            let inner = inner.clone();
            async move { rotate_one(store, &*inner, &meta.key, current, cas).await }
        })
        .try_buffer_unordered(IN_FLIGHT);
    while let Some(outcome) = outcomes.try_next().await? {
        report.scanned += 1;
        match outcome {
            Outcome::Rewritten => report.rewritten += 1,
            Outcome::Current => report.current += 1,
            Outcome::Raced => report.raced += 1,
            Outcome::Gone => report.scanned -= 1,
        }
    }
    Ok(report)
}

async fn rotate_one(
    store: &Encrypted,
    inner: &dyn Store,
    key: &Key,
    current: super::KeyId,
    cas: bool,
) -> Result<Outcome> {
    let Some(entry) = inner.get(key).await? else {
        return Ok(Outcome::Gone);
    };
    if envelope::key_id(key, &entry.value)? == current {
        return Ok(Outcome::Current);
    }
    let version = entry.meta.version.clone();
    let plain = store.open_entry(key, entry).await?.value;
    let sealed = store.seal(key, plain).await?;
    let mode = if cas {
        PutMode::Update(version)
    } else {
        PutMode::Overwrite
    };
    match inner.put(key, sealed, mode).await {
        Ok(_) => Ok(Outcome::Rewritten),
        Err(e) if e.kind() == ErrorKind::VersionMismatch => Ok(Outcome::Raced),
        Err(e) => Err(e),
    }
}
