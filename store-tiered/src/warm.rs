//! Warm-up: copy backend entries into the frontend when the store opens.

use std::sync::Arc;

use futures::TryStreamExt;
use store_core::{ListOptions, Result};

use crate::config::Warm;
use crate::envelope::Envelope;
use crate::shared::{Lookup, Shared};
use crate::stats::Counters;

/// Copy entries in key order until `warm_max_bytes` of values are copied. Each copy takes
/// the key's lock and skips keys with pending writes, so warm-up never overwrites a newer
/// write, nor a damaged record that may be the only copy of a write. Returns how many
/// entries were copied.
pub(crate) async fn run(shared: Arc<Shared>) -> Result<u64> {
    let budget = shared.options.warm_max_bytes.unwrap_or(u64::MAX);
    let mut spent = 0u64;
    let mut copied = 0u64;
    let mut keys = shared.backend.list(ListOptions::default());
    while let Some(meta) = keys.try_next().await? {
        if spent.saturating_add(meta.size) > budget {
            break;
        }
        if shared.options.warm == Warm::Missing || !shared.frontend_holds_copies() {
            match shared.lookup(&meta.key).await {
                // A damaged record that may hold a write the backend lacks stays, so that
                // reads keep reporting it rather than serve the backend's older value.
                Err(_) => continue,
                Ok(Lookup::Hit(_)) if shared.options.warm == Warm::Missing => continue,
                Ok(_) => {}
            }
        }
        let (_guard, _) = shared.locks.lock(&meta.key).await;
        if shared.pending(&meta.key).is_some() {
            continue;
        }
        let Some(entry) = shared.backend.get(&meta.key).await? else {
            continue;
        };
        spent += entry.meta.size;
        if shared
            .store_frontend(&meta.key, &Envelope::from_backend(entry))
            .await
        {
            Counters::bump(&shared.counters.fills);
            copied += 1;
        }
    }
    Ok(copied)
}
