//! Copy every key under a prefix from one store to another: streamed in key order,
//! pipelined with bounded concurrency, checkpointed so an interrupted run resumes, and
//! optionally verified by size and content hash. Nothing is deleted from the source.
//!
//! **Resuming loses nothing.** A destination may acknowledge writes before they are durable
//! (redb with `durability = "none"`, a write-behind tier over a memory cache), so the
//! checkpoint is advanced only right after a destination [`flush`](Store::flush) returns:
//! it never names a key that a crash could take back. Flushing after every batch would
//! make slow-to-flush stores crawl, so the flush and the checkpoint go together every
//! [`checkpoint_interval`](MigrateOptions::checkpoint_interval) (1 s by default): the
//! flushes cost a few percent of the run (an fsync or a drained queue per second), and a
//! kill costs at most about that long of copying again.
//!
//! **Damaged entries.** By default the run stops at the first damaged source entry (a
//! `Corrupted` error naming its key). With [`skip_corrupt`](MigrateOptions::skip_corrupt)
//! it reports each one in [`MigrateReport::damaged`] and copies every healthy key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use store_core::{Key, ListOptions, Prefix, Result, Store};

mod batch;
mod checkpoint;

use batch::BatchDone;
use checkpoint::Checkpoint;

/// How often a migration flushes the destination and advances its checkpoint, unless
/// [`MigrateOptions::checkpoint_interval`] says otherwise.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// How a migration runs.
#[derive(Clone, Debug)]
pub struct MigrateOptions {
    /// Only keys under this prefix.
    pub prefix: Prefix,
    /// Read every copied value back from the destination and compare size and hash. A
    /// resumed run also compares every key earlier runs copied.
    pub verify: bool,
    /// Where progress is recorded; `None` disables checkpoints.
    pub checkpoint: Option<PathBuf>,
    /// Continue after the key recorded in `checkpoint` instead of starting over.
    pub resume: bool,
    /// Keys per batch (one `get_many` + one `put_many`); 256 by default. Copies send at
    /// most the destination's `Capabilities::max_batch_writes` per batch whatever this says.
    pub batch: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// How often the destination is flushed and the checkpoint advanced with it.
    pub checkpoint_interval: Duration,
    /// Report and skip damaged source entries instead of stopping at the first one.
    pub skip_corrupt: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            prefix: Prefix::empty(),
            verify: false,
            checkpoint: None,
            resume: false,
            batch: 256,
            concurrency: 4,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            skip_corrupt: false,
        }
    }
}

/// What a migration did.
#[derive(Clone, Debug, Default)]
pub struct MigrateReport {
    /// Keys written to the destination in this run.
    pub copied: u64,
    /// Keys listed but gone from the source before they could be read.
    pub skipped: u64,
    /// Value bytes written in this run.
    pub bytes: u64,
    /// Keys verified equal in the destination.
    pub verified: u64,
    /// Keys whose destination copy did not match, with the reason.
    pub failures: Vec<(Key, String)>,
    /// Damaged source entries skipped (with `skip_corrupt`), by key, with the reason;
    /// a resumed run includes those that earlier runs skipped.
    pub damaged: BTreeMap<String, String>,
    /// The key a resumed run started after.
    pub resumed_after: Option<Key>,
    /// Wall time of this run.
    pub elapsed: Duration,
}

impl MigrateReport {
    fn add(&mut self, done: BatchDone) {
        self.copied += done.copied;
        self.skipped += done.skipped;
        self.bytes += done.bytes;
        self.verified += done.verified;
        self.failures.extend(done.failures);
        self.damaged.extend(done.damaged);
    }
}

/// The progress a migration has made durable, and where it records it.
struct Progress<'a> {
    options: &'a MigrateOptions,
    /// What earlier runs recorded.
    earlier: Checkpoint,
    /// The last key copied in this run, not yet flushed.
    pending: Option<Key>,
    last_sync: Instant,
}

impl Progress<'_> {
    /// Flush the destination, then record that everything up to `pending` is durable.
    async fn sync(&mut self, to: &dyn Store, report: &MigrateReport) -> Result<()> {
        self.last_sync = Instant::now();
        let Some(last) = self.pending.take() else {
            return Ok(());
        };
        to.flush().await?;
        let Some(path) = &self.options.checkpoint else {
            return Ok(());
        };
        let cp = Checkpoint {
            prefix: self.options.prefix.to_string(),
            last_key: last.to_string(),
            copied: self.earlier.copied + report.copied,
            bytes: self.earlier.bytes + report.bytes,
            // The report starts with the earlier runs' damaged entries.
            damaged: report.damaged.clone(),
        };
        checkpoint::write(path, &cp).await
    }

    fn due(&self) -> bool {
        self.last_sync.elapsed() >= self.options.checkpoint_interval
    }
}

/// Copy keys from `from` to `to` as `options` say. `progress(keys, bytes)` is called
/// after each batch with that batch's counts (a resumed run that verifies reports the
/// keys earlier runs copied first, with 0 bytes, as it checks them).
///
/// Store errors stop the run; the destination is then flushed and the checkpoint
/// advanced past the batches that completed, so a run with `resume` continues from
/// there. Verification mismatches do not stop the run; they are listed in the report.
pub async fn migrate(
    from: Arc<dyn Store>,
    to: Arc<dyn Store>,
    options: &MigrateOptions,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<MigrateReport> {
    let started = Instant::now();
    let mut report = MigrateReport::default();
    let earlier = match (&options.checkpoint, options.resume) {
        (Some(path), true) => checkpoint::read(path, &options.prefix)?,
        _ => None,
    };
    let start_after = earlier.as_ref().map(Checkpoint::resume_after).transpose()?;
    report.resumed_after = start_after.clone();
    let mut state = Progress {
        options,
        earlier: earlier.unwrap_or_default(),
        pending: None,
        last_sync: Instant::now(),
    };
    report.damaged = state.earlier.damaged.clone();
    if let (true, Some(up_to)) = (options.verify, &start_after) {
        verify_earlier(&from, &to, options, up_to, progress, &mut report).await?;
    }

    let damaged = Mutex::new(Vec::new());
    let listing = from.list(ListOptions {
        prefix: options.prefix.clone(),
        start_after,
        limit: None,
    });
    // Each batch is one `put_many` into `to`: no more than it accepts in one call.
    let per_batch = to.capabilities().write_batch(options.batch);
    let mut batches = batch::listing_without_damaged(listing, options.skip_corrupt, &damaged)
        .try_chunks(per_batch)
        .map_err(|e| e.1)
        .map_ok(|keys| {
            batch::copy(
                from.clone(),
                to.clone(),
                keys,
                options.verify,
                options.skip_corrupt,
            )
        })
        .try_buffered(options.concurrency.max(1));
    // `try_buffered` yields batches in listing order, so `pending` only ever names a key
    // below which everything has been copied.
    loop {
        let next = batches.try_next().await;
        report
            .damaged
            .extend(damaged.lock().unwrap_or_else(|p| p.into_inner()).drain(..));
        match next {
            Ok(Some(done)) => {
                progress(done.listed, done.bytes);
                state.pending = done.last_key.clone().or(state.pending.take());
                report.add(done);
                if state.due() {
                    state.sync(to.as_ref(), &report).await?;
                }
            }
            Ok(None) => break,
            Err(e) => {
                // Keep what completed: a resumed run then starts after it. If even the
                // flush fails, the old checkpoint stands, which is safe.
                let _ = state.sync(to.as_ref(), &report).await;
                return Err(e);
            }
        }
    }
    drop(batches);
    to.flush().await?;
    if let Some(path) = &options.checkpoint {
        checkpoint::remove(path)?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Compare every source key up to `up_to` (what earlier runs copied) with the destination.
async fn verify_earlier(
    from: &Arc<dyn Store>,
    to: &Arc<dyn Store>,
    options: &MigrateOptions,
    up_to: &Key,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
    report: &mut MigrateReport,
) -> Result<()> {
    let damaged = Mutex::new(Vec::new());
    let listing = from.list(ListOptions::prefix(options.prefix.clone()));
    let mut batches = batch::listing_without_damaged(listing, options.skip_corrupt, &damaged)
        .try_take_while(|key| futures::future::ready(Ok(key <= up_to)))
        .try_chunks(options.batch.max(1))
        .map_err(|e| e.1)
        .map_ok(|keys| batch::verify(from.clone(), to.clone(), keys, options.skip_corrupt))
        .try_buffered(options.concurrency.max(1));
    while let Some(done) = batches.try_next().await? {
        progress(done.listed, 0);
        report.add(done);
    }
    drop(batches);
    report
        .damaged
        .extend(damaged.into_inner().unwrap_or_else(|p| p.into_inner()));
    Ok(())
}

/// Count the keys and value bytes under `prefix` (a listing; values are not read).
/// Damaged entries are not counted; a migration reports them, or skips them if asked.
pub async fn count(store: &dyn Store, prefix: &Prefix) -> Result<(u64, u64)> {
    store
        .list(ListOptions::prefix(prefix.clone()))
        .filter(|item| futures::future::ready(!matches!(item, Err(e) if e.damaged_key().is_some())))
        .try_fold((0u64, 0u64), |(n, b), meta| async move {
            Ok((n + 1, b + meta.size))
        })
        .await
}
