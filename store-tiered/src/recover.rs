//! Write-behind recovery: writes journaled in a durable frontend by an earlier process.
//!
//! Under write-behind a write is acknowledged once its envelope is in the frontend, marked
//! dirty until the backend has it. If the process dies first, the frontend (when durable)
//! still holds the dirty envelope; on open we queue those writes again.
//!
//! A damaged record (one that fails its checksum, that the frontend itself reports as
//! damaged, or that is not a tiered-store record at all) is skipped: the healthy records
//! are all requeued, the damaged one stays where it is, and reads of its key fail
//! `Corrupted` until the key is written again (see `Shared::lookup`). Nothing can tell
//! what such a record held, so neither dropping it nor serving the backend's value for it
//! would be honest.

use bytes::Bytes;
use futures::StreamExt;
use store_core::{Durability, Error, Key, ListOptions, Result};

use crate::envelope::Envelope;
use crate::queue::Op;
use crate::shared::Shared;
use crate::stats::Counters;

/// What a frontend record asks of recovery.
#[derive(Debug)]
pub(crate) enum Record {
    /// A write the backend may not have: queue it again.
    Dirty(Op),
    /// A delete the backend has applied: the tombstone can go.
    CleanTombstone,
    /// A copy of what the backend has: nothing to do.
    Clean,
}

impl Record {
    /// Read the frontend's bytes at `key` as a journal record; a `Corrupted` error naming
    /// the key if they do not decode.
    pub fn decode(key: &Key, bytes: Bytes) -> Result<Record> {
        let envelope = Envelope::decode(key, bytes).map_err(|why| why.error(key))?;
        Ok(match (envelope.dirty(), envelope.tombstone) {
            (true, true) => Record::Dirty(Op::Delete),
            (true, false) => Record::Dirty(Op::Put {
                value: envelope.value,
                version: envelope.shown,
                modified: envelope.modified,
            }),
            (false, true) => Record::CleanTombstone,
            (false, false) => Record::Clean,
        })
    }
}

/// Damaged records found while replaying, for one summary line.
#[derive(Default)]
struct Skipped {
    count: u64,
    first: Option<Error>,
}

impl Skipped {
    fn note(&mut self, shared: &Shared, error: Error) {
        Counters::bump(&shared.counters.corrupted);
        if let Some(key) = error.key().and_then(|k| Key::new(k).ok()) {
            shared.damaged_journal.set(&key, true);
        }
        self.count += 1;
        self.first.get_or_insert(error);
    }
}

/// Queue every dirty record the frontend holds; remove clean tombstones; skip damaged
/// records (counted in `TieredStats::corrupted`, named in a warning). Returns how many
/// writes were queued. Any other failure to read the frontend fails the open: a journal
/// that cannot be read whole must not be taken as empty.
pub(crate) async fn requeue_journal(shared: &Shared) -> Result<u64> {
    let Some(queue) = &shared.queue else {
        return Ok(0);
    };
    let front = &shared.front.store;
    if front.capabilities().durability == Durability::None {
        return Ok(0); // nothing outlives the process there
    }
    let mut queued = 0;
    let mut skipped = Skipped::default();
    let mut keys = front.list(ListOptions::default());
    while let Some(item) = keys.next().await {
        let meta = match item {
            Ok(meta) => meta,
            Err(error) if error.damaged_key().is_some() => {
                skipped.note(shared, error);
                continue;
            }
            Err(error) => return Err(error),
        };
        let record = match front.get(&meta.key).await {
            Ok(None) => continue,
            Ok(Some(entry)) => Record::decode(&meta.key, entry.value).map(|r| (r, entry.meta)),
            Err(error) => Err(error),
        };
        match record {
            Err(error) if error.damaged_key().is_some() => skipped.note(shared, error),
            Err(error) => return Err(error),
            Ok((Record::Dirty(op), entry)) => {
                queue.push(&meta.key, op, Some(entry.version)).await;
                queued += 1;
            }
            Ok((Record::CleanTombstone, _)) => front.delete(&meta.key).await?,
            Ok((Record::Clean, _)) => {}
        }
    }
    if queued > 0 {
        tracing::info!(
            queued,
            "write-behind: requeued journaled writes from the frontend"
        );
    }
    if let Some(first) = skipped.first {
        tracing::warn!(
            skipped = skipped.count,
            %first,
            "write-behind: skipped damaged journal records; reads of their keys fail until \
             the keys are written again"
        );
    }
    Ok(queued)
}
