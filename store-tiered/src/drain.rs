//! The write-behind drainer: a background task that writes queued writes to the backend.
//!
//! It runs at most `drain_concurrency` backend writes at once, one per key, and retries a
//! failed write with exponential backoff for as long as it takes (an acknowledged write is
//! never dropped); each retry picks up the key's latest write, so an outage coalesces.
//! Once a write is in the backend the frontend's journal record is marked clean.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use store_core::{PutMode, Result};
use tokio::sync::Notify;

use crate::envelope::Envelope;
use crate::queue::{Job, Op};
use crate::shared::Shared;
use crate::stats::Counters;

/// Run until the store is dropped and nothing is left to write.
///
/// While idle the drainer holds only a weak reference, so dropping an idle store releases
/// its frontend and backend at once (a reopen in this or another process does not find
/// them still open). Dropped with writes pending, the store lives on here until they are
/// written.
pub(crate) async fn run(weak: Weak<Shared>, work: Arc<Notify>) {
    let mut running = FuturesUnordered::new();
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let Some(queue) = shared.queue.as_ref() else {
            return;
        };
        let limit = shared.options.drain_concurrency.max(1);
        for job in queue.take_up_to(limit.saturating_sub(running.len())) {
            running.push(drain_until_done(shared.clone(), job));
        }
        if running.is_empty() {
            if shared.closed.load(Ordering::Acquire) && queue.is_empty() {
                return;
            }
            drop(shared);
            work.notified().await;
        } else if running.len() >= limit {
            // At the limit new work cannot start anyway: not listening for it spares every
            // write-behind put a cross-thread wake-up.
            drop(shared);
            running.next().await;
        } else {
            drop(shared);
            tokio::select! {
                _ = running.next() => {}
                _ = work.notified() => {}
            }
        }
    }
}

async fn drain_until_done(shared: Arc<Shared>, mut job: Job) {
    let Some(queue) = shared.queue.as_ref() else {
        return;
    };
    let mut delay = shared.options.retry_initial;
    loop {
        match apply(&shared, &job).await {
            Ok(()) => {
                queue.complete(&job);
                after_delete(&shared, &job).await;
                return;
            }
            Err(error) => {
                Counters::bump(&shared.counters.backend_errors);
                tracing::warn!(key = %job.key, %error, "write-behind: backend write failed; will retry");
                queue.record_error(&error);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(shared.options.retry_max);
                job = queue.refresh(&job);
            }
        }
    }
}

/// Write one job to the backend, then mark its journal record in the frontend clean.
pub(crate) async fn apply(shared: &Shared, job: &Job) -> Result<()> {
    let envelope = match &job.op {
        Op::Put {
            value,
            version,
            modified,
        } => {
            let written = shared
                .backend
                .put(&job.key, value.clone(), PutMode::Overwrite)
                .await?;
            Envelope {
                shown: version.clone(),
                backend: Some(written.version),
                modified: *modified,
                tombstone: false,
                value: value.clone(),
            }
        }
        Op::Delete => {
            shared.backend.delete(&job.key).await?;
            Envelope::clean_tombstone()
        }
    };
    Counters::bump(&shared.counters.drained);
    if let Some(version) = &job.frontend_version {
        // Conditional on the record we journaled: if a newer write replaced it, that one
        // is still dirty and must stay so. Failure here only costs a redundant rewrite
        // after a restart, so it is not an error.
        if shared
            .front
            .mark_clean(&job.key, version, &envelope)
            .await
            .is_err()
        {
            Counters::bump(&shared.counters.frontend_errors);
        }
    }
    Ok(())
}

/// A drained delete leaves a clean tombstone in the frontend; remove it when no write to
/// the key is in progress (otherwise the next write replaces it anyway).
async fn after_delete(shared: &Shared, job: &Job) {
    if !matches!(job.op, Op::Delete) {
        return;
    }
    let Some(_guard) = shared.locks.try_lock(&job.key) else {
        return;
    };
    let still_pending = shared
        .queue
        .as_ref()
        .is_some_and(|q| q.lookup(&job.key).is_some());
    if !still_pending && shared.front.delete(&job.key).await.is_err() {
        Counters::bump(&shared.counters.frontend_errors);
    }
}
