//! Range reads, served from the tier that holds the key.
//!
//! A frontend copy (in memory or in the frontend store) is one record, checked as a whole:
//! it is read as `get` reads it and sliced. A write not yet drained is answered from the
//! queue, as `get` answers it. Otherwise the backend reads the range itself (natively,
//! on object storage) and the frontend is *not* filled: a range read is for not fetching
//! the whole value, which a fill would have to. `get` still fills on a miss as its
//! [`ReadPolicy`](crate::ReadPolicy) says, so a range read never changes what `get` finds.

use std::ops::Range;

use bytes::Bytes;
use store_core::{Entry, Key, Meta, Result, clamp_range, slice_entry};

use super::TieredStore;
use crate::shared::Lookup;
use crate::stats::Counters;

/// The part of an answer that `range` selects.
fn part(entry: Option<Entry>, range: &Range<u64>) -> Result<Option<(Bytes, Meta)>> {
    entry.map(|entry| slice_entry(entry, range)).transpose()
}

impl TieredStore {
    pub(super) async fn read_range(
        &self,
        key: &Key,
        range: Range<u64>,
    ) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, 0)?;
        if let Some(hit) = self.hit_now(key) {
            return part(hit, &range);
        }
        let shared = &self.shared;
        if let Lookup::Hit(envelope) = shared.lookup(key).await?
            && (self.frontend_only_reads() || shared.still_current(&envelope, key).await?)
        {
            Counters::bump(&shared.counters.hits);
            return part((!envelope.tombstone).then(|| envelope.entry(key)), &range);
        }
        Counters::bump(&shared.counters.misses);
        if self.frontend_only_reads() {
            return part(shared.pending(key).flatten(), &range);
        }
        // Under the key's lock, as a `get` miss reads: no write of this key is between
        // the queue and the backend while the backend is asked.
        let (_guard, _) = shared.locks.lock(key).await;
        if let Some(answer) = shared.pending(key) {
            return part(answer, &range);
        }
        shared.backend.get_range(key, range).await
    }
}
