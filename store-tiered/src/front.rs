//! The frontend as the tiered store uses it: envelopes in, envelopes out.
//!
//! Any `Store` can be a frontend: envelopes are then encoded into its values. A
//! [`CacheStore`] frontend is used in typed mode instead: the value is cached as is, with
//! the shown version and a small inline tag (flags, and the backend version when it is not
//! the shown one) beside it, so a hit decodes nothing, allocates nothing and touches no
//! shared reference count, and marking a drained write clean swaps the tag rather
//! than re-encoding the value.

use std::sync::Arc;

use store_core::{Entry, ErrorKind, Key, PutMode, Result, Store, Version};
use store_memory::{CacheStore, Tag};

use crate::envelope::Envelope;

#[derive(Debug)]
pub(crate) struct Front {
    /// The frontend through the `Store` trait (also in typed mode: flush, capabilities).
    pub store: Arc<dyn Store>,
    cache: Option<CacheStore>,
}

// The typed mode's tag flags. The common cases carry no version of their own, so reading
// or writing them touches no reference count: a write not yet in the backend (`DIRTY`),
// and a copy whose backend version is the shown one (`SAME`: every write-through write
// and fill).
const TOMBSTONE: u32 = 1;
const DIRTY: u32 = 2;
const SAME: u32 = 4;

fn tag(envelope: &Envelope) -> Tag {
    let tombstone = if envelope.tombstone { TOMBSTONE } else { 0 };
    match &envelope.backend {
        None => Tag {
            flags: DIRTY | tombstone,
            version: None,
        },
        Some(backend) if *backend == envelope.shown => Tag {
            flags: SAME | tombstone,
            version: None,
        },
        Some(backend) => Tag {
            flags: tombstone,
            version: Some(backend.clone()),
        },
    }
}

/// The backend version a tag records for a copy shown as `shown`.
fn backend(tag: Tag, shown: &Version) -> Option<Version> {
    if tag.flags & DIRTY != 0 {
        None
    } else if tag.flags & SAME != 0 {
        Some(shown.clone())
    } else {
        tag.version
    }
}

impl Front {
    pub fn new(store: Arc<dyn Store>, cache: Option<CacheStore>) -> Self {
        Front { store, cache }
    }

    /// In typed mode, answer a read now: `Some(Some(entry))` a hit, `Some(None)` a
    /// tombstone hit. `None` if not in typed mode or the cache has nothing usable.
    #[inline]
    pub fn hit_now(&self, key: &Key) -> Option<Option<Entry>> {
        let (entry, flags) = self.cache.as_ref()?.get_flagged(key)?;
        if flags? & TOMBSTONE == 0 {
            Some(Some(entry))
        } else {
            Some(None)
        }
    }

    /// The frontend's copy of `key`. A record that does not decode (damaged, or not
    /// written by a tiered store) is a `Corrupted` error naming the key, as is the
    /// frontend's own report of a damaged entry: `Shared::lookup` decides what the policy
    /// makes of it.
    pub async fn read(&self, key: &Key) -> Result<Option<Envelope>> {
        if let Some(cache) = &self.cache {
            let Some((entry, tag)) = cache.get_tagged(key) else {
                return Ok(None);
            };
            let Some(tag) = tag else {
                return Ok(None); // written through the trait by someone else
            };
            let tombstone = tag.flags & TOMBSTONE != 0;
            return Ok(Some(Envelope {
                backend: backend(tag, &entry.meta.version),
                shown: entry.meta.version,
                modified: entry.meta.last_modified,
                tombstone,
                value: entry.value,
            }));
        }
        match self.store.get(key).await? {
            None => Ok(None),
            // Verified here, once per read from the store: typed-mode hits above hold
            // values this process put there and decode nothing.
            Some(entry) => Envelope::decode(key, entry.value)
                .map(Some)
                .map_err(|why| why.error(key)),
        }
    }

    /// Whether the frontend is a `CacheStore` used in typed mode.
    pub fn is_typed(&self) -> bool {
        self.cache.is_some()
    }

    /// In typed mode, store a copy now (see [`Front::write`]); `None` otherwise.
    pub fn write_now(&self, key: &Key, envelope: &Envelope) -> Option<Version> {
        let cache = self.cache.as_ref()?;
        cache.insert_tagged(
            key,
            envelope.value.clone(),
            envelope.shown.clone(),
            envelope.modified,
            tag(envelope),
        );
        Some(envelope.shown.clone())
    }

    /// Store a copy; returns the frontend's version of the record (to mark it clean later).
    pub async fn write(&self, key: &Key, envelope: &Envelope) -> Result<Version> {
        if let Some(version) = self.write_now(key, envelope) {
            return Ok(version);
        }
        let meta = self
            .store
            .put(key, envelope.encode(key), PutMode::Overwrite)
            .await?;
        Ok(meta.version)
    }

    /// Record that the write journaled as `record` is in the backend as `backend`. Does
    /// nothing if a newer write replaced that record.
    pub async fn mark_clean(&self, key: &Key, record: &Version, clean: &Envelope) -> Result<()> {
        if let Some(cache) = &self.cache {
            // A newer write replaced the record: it stays as it is.
            cache.retag_if(key, record, tag(clean));
            return Ok(());
        }
        match self
            .store
            .put(key, clean.encode(key), PutMode::Update(record.clone()))
            .await
        {
            Err(error) if error.kind() == ErrorKind::VersionMismatch => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Remove the copy.
    pub async fn delete(&self, key: &Key) -> Result<()> {
        self.store.delete(key).await
    }
}
