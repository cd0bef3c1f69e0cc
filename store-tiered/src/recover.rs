//! Write-behind recovery: writes journaled in a durable frontend by an earlier process.
//!
//! Under write-behind a write is acknowledged once its envelope is in the frontend, marked
//! dirty until the backend has it. If the process dies first, the frontend (when durable)
//! still holds the dirty envelope; on open we queue those writes again.

use futures::TryStreamExt;
use store_core::{Durability, ListOptions, Result};

use crate::envelope::Envelope;
use crate::queue::Op;
use crate::shared::Shared;

/// Queue every dirty record the frontend holds; remove clean tombstones. Returns how many
/// writes were queued.
pub(crate) async fn requeue_journal(shared: &Shared) -> Result<u64> {
    let Some(queue) = &shared.queue else {
        return Ok(0);
    };
    if shared.front.store.capabilities().durability == Durability::None {
        return Ok(0); // nothing outlives the process there
    }
    let mut queued = 0;
    let mut keys = shared.front.store.list(ListOptions::default());
    while let Some(meta) = keys.try_next().await? {
        let Some(entry) = shared.front.store.get(&meta.key).await? else {
            continue;
        };
        let record = entry.meta.version.clone();
        let Some(envelope) = Envelope::decode(entry.value) else {
            continue;
        };
        if !envelope.dirty() {
            if envelope.tombstone {
                shared.front.store.delete(&meta.key).await?;
            }
            continue;
        }
        let op = if envelope.tombstone {
            Op::Delete
        } else {
            Op::Put {
                value: envelope.value,
                version: envelope.shown,
                modified: envelope.modified,
            }
        };
        queue.push(&meta.key, op, Some(record)).await;
        queued += 1;
    }
    if queued > 0 {
        tracing::info!(
            queued,
            "write-behind: requeued journaled writes from the frontend"
        );
    }
    Ok(queued)
}
