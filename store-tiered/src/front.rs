//! The frontend as the tiered store uses it: envelopes in, envelopes out.
//!
//! Any `Store` can be a frontend: envelopes are then encoded into its values. A
//! [`CacheStore`] frontend is used in typed mode instead: the value is cached as is, with
//! the shown version and a small tag (backend version, tombstone) beside it, so a hit
//! decodes nothing and allocates nothing, and marking a drained write clean is a field
//! update rather than a second insert.

use std::sync::Arc;

use store_core::{Entry, ErrorKind, Key, PutMode, Result, Store, Version};
use store_memory::{CacheStore, Tag};

use crate::envelope::Envelope;

#[derive(Debug)]
pub(crate) struct Front {
    /// The frontend through the `Store` trait (also in typed mode: flush, capabilities).
    pub store: Arc<dyn Store>,
    cache: Option<CacheStore>,
    /// The tag of every write-behind put not yet drained, shared: the put path allocates
    /// nothing for it, and the drainer re-tags the entry once the backend has it.
    dirty: Tag,
}

/// What the typed mode keeps beside a cached value (immutable; replaced, not changed).
#[derive(Debug)]
struct Side {
    backend: Option<Version>,
    tombstone: bool,
}

fn side(tag: &Option<Tag>) -> Option<&Side> {
    tag.as_ref()?.downcast_ref::<Side>()
}

impl Front {
    pub fn new(store: Arc<dyn Store>, cache: Option<CacheStore>) -> Self {
        let dirty: Tag = Arc::new(Side {
            backend: None,
            tombstone: false,
        });
        Front {
            store,
            cache,
            dirty,
        }
    }

    fn tag(&self, envelope: &Envelope) -> Tag {
        if envelope.backend.is_none() && !envelope.tombstone {
            return self.dirty.clone();
        }
        Arc::new(Side {
            backend: envelope.backend.clone(),
            tombstone: envelope.tombstone,
        })
    }

    /// In typed mode, answer a read now: `Some(Some(entry))` a hit, `Some(None)` a
    /// tombstone hit. `None` if not in typed mode or the cache has nothing usable.
    pub fn hit_now(&self, key: &Key) -> Option<Option<Entry>> {
        let (entry, tag) = self.cache.as_ref()?.get_tagged(key)?;
        let side = side(&tag)?;
        Some((!side.tombstone).then_some(entry))
    }

    /// The frontend's copy of `key`, if usable.
    pub async fn read(&self, key: &Key) -> Result<Option<Envelope>> {
        if let Some(cache) = &self.cache {
            let Some((entry, tag)) = cache.get_tagged(key) else {
                return Ok(None);
            };
            let Some(side) = side(&tag) else {
                return Ok(None); // written through the trait by someone else
            };
            let backend = side.backend.clone();
            return Ok(Some(Envelope {
                shown: entry.meta.version,
                backend,
                modified: entry.meta.last_modified,
                tombstone: side.tombstone,
                value: entry.value,
            }));
        }
        Ok(self
            .store
            .get(key)
            .await?
            .and_then(|entry| Envelope::decode(entry.value)))
    }

    /// Whether the frontend is a `CacheStore` used in typed mode.
    pub fn is_typed(&self) -> bool {
        self.cache.is_some()
    }

    /// In typed mode, store a copy now (see [`Front::write`]); `None` otherwise.
    pub fn write_now(&self, key: &Key, envelope: &Envelope) -> Option<Version> {
        let cache = self.cache.as_ref()?;
        let meta = cache.insert_tagged(
            key,
            envelope.value.clone(),
            envelope.shown.clone(),
            envelope.modified,
            self.tag(envelope),
        );
        Some(meta.version)
    }

    /// Store a copy; returns the frontend's version of the record (to mark it clean later).
    pub async fn write(&self, key: &Key, envelope: &Envelope) -> Result<Version> {
        if let Some(version) = self.write_now(key, envelope) {
            return Ok(version);
        }
        let meta = self
            .store
            .put(key, envelope.encode(), PutMode::Overwrite)
            .await?;
        Ok(meta.version)
    }

    /// Record that the write journaled as `record` is in the backend as `backend`. Does
    /// nothing if a newer write replaced that record.
    pub async fn mark_clean(&self, key: &Key, record: &Version, clean: &Envelope) -> Result<()> {
        if let Some(cache) = &self.cache {
            // A newer write replaced the record: it stays as it is.
            cache.retag_if(key, record, self.tag(clean));
            return Ok(());
        }
        match self
            .store
            .put(key, clean.encode(), PutMode::Update(record.clone()))
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
