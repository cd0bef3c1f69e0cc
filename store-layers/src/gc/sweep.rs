//! The sweep itself: lease, safe point, reachable set, then one streamed listing.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use store_core::{Error, Key, ListOptions, Meta, Prefix, Result, Store};

use super::lease::Lease;
use super::reachable::Roots;
use super::{DEFAULT_INFLIGHT_TTL, INFLIGHT_PREFIX, LEASE_KEY, RESERVED_PREFIX, unix_ms};

/// A progress callback: called with the running totals after every batch.
pub type Progress = Arc<dyn Fn(&Report) + Send + Sync>;

/// How a sweep runs. `Default` is a real (not dry) run with 1,000-key batches.
#[derive(Clone)]
pub struct SweepOptions {
    /// Report what would be deleted, delete nothing and write nothing (no lease either).
    pub dry_run: bool,
    /// Keys per `delete_many` (fewer if the store's `max_batch_writes` is smaller).
    pub batch: usize,
    /// How long the lease lasts without renewal; a collector that dies holding it blocks
    /// others for at most this long.
    pub lease_ttl: Duration,
    /// The time limit writers were given ([`begin_write_within`](super::begin_write_within)).
    pub inflight_ttl: Duration,
    /// How far the store's clock may run backwards; subtracted from the safe point.
    pub clock_margin: Duration,
    /// Called after every batch.
    pub progress: Option<Progress>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            dry_run: false,
            batch: 1000,
            lease_ttl: Duration::from_secs(30),
            inflight_ttl: DEFAULT_INFLIGHT_TTL,
            clock_margin: Duration::from_secs(1),
            progress: None,
        }
    }
}

impl fmt::Debug for SweepOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SweepOptions")
            .field("dry_run", &self.dry_run)
            .field("batch", &self.batch)
            .field("lease_ttl", &self.lease_ttl)
            .field("inflight_ttl", &self.inflight_ttl)
            .field("clock_margin", &self.clock_margin)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What a sweep did (or, in a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Keys listed (reserved keys not counted).
    pub listed: u64,
    /// Deleted (dry run: would be deleted).
    pub deleted: u64,
    /// Bytes of the deleted values.
    pub deleted_bytes: u64,
    /// Kept because reachable.
    pub kept_reachable: u64,
    /// Kept because modified at or after the safe point.
    pub kept_recent: u64,
    /// Damaged entries the listing reported (kept: their metadata is unreadable).
    pub damaged: u64,
    /// Registrations of in-flight writes that bounded the safe point.
    pub in_flight: u64,
    /// Abandoned registrations (older than `inflight_ttl`) removed.
    pub abandoned: u64,
    /// The safe point: nothing modified at or after it was deleted.
    pub safe_point: SystemTime,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Sweep `store`: delete every key that `roots` does not reach and that was last modified
/// before both `cutoff` and the safe point. See the [module docs](super) for the records
/// it keeps in the store and why it never deletes a reachable or in-flight value.
///
/// Errors: `Unsupported` if the store has no conditional puts; `Locked` if another
/// collector holds the lease (or takes it over during the sweep); any store error.
pub async fn sweep(
    store: &dyn Store,
    roots: &dyn Roots,
    cutoff: SystemTime,
    options: SweepOptions,
) -> Result<Report> {
    if !store.capabilities().supports_conditional_puts() {
        return Err(Error::unsupported(
            "gc needs conditional puts (Create/Update) for its lease; this store has none",
        ));
    }
    if options.batch == 0 {
        return Err(Error::invalid_input("gc batch size must be at least 1"));
    }
    if options.dry_run {
        return run(store, roots, cutoff, &options, None).await;
    }
    let owner = format!("{:016x}", rand::random::<u64>());
    let mut lease = Lease::acquire(store, owner, options.lease_ttl).await?;
    let outcome = run(store, roots, cutoff, &options, Some(&mut lease)).await;
    // Released whatever happened; a failed release only delays the next collector by
    // at most `lease_ttl`, so the sweep's own outcome is what is reported.
    let released = lease.release(store).await;
    let report = outcome?;
    released.map(|()| report)
}

async fn run(
    store: &dyn Store,
    roots: &dyn Roots,
    cutoff: SystemTime,
    options: &SweepOptions,
    mut lease: Option<&mut Lease>,
) -> Result<Report> {
    // T0, on the store's clock: the lease record's stamp (a dry run writes nothing and
    // uses this process's clock).
    let now = match lease.as_deref() {
        Some(lease) => match store.head(lease.key()).await? {
            Some(meta) => meta.last_modified,
            None => {
                return Err(Error::new(
                    store_core::ErrorKind::Locked,
                    "the GC lease vanished right after it was taken",
                )
                .with_key(LEASE_KEY));
            }
        },
        None => SystemTime::now(),
    };
    let (earliest, in_flight, abandoned) = scan_in_flight(store, now, options.inflight_ttl).await?;
    let bound = [Some(cutoff), Some(now), earliest]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(cutoff);
    let safe_point = bound
        .checked_sub(options.clock_margin)
        .unwrap_or(UNIX_EPOCH);
    if let Some(lease) = lease.as_deref_mut() {
        lease.renew(store, Some(safe_point)).await?;
    }
    let reachable = roots.reachable(store).await?;
    let mut report = Report {
        listed: 0,
        deleted: 0,
        deleted_bytes: 0,
        kept_reachable: 0,
        kept_recent: 0,
        damaged: 0,
        in_flight,
        abandoned: 0,
        safe_point,
        dry_run: options.dry_run,
    };
    // Each batch is one `delete_many`: no more keys than the store takes in one call.
    let per_batch = store.capabilities().write_batch(options.batch);
    let mut batch: Vec<Meta> = Vec::with_capacity(per_batch);
    let mut listing = store.list(ListOptions::default());
    while let Some(item) = listing.next().await {
        let meta = match item {
            Ok(meta) => meta,
            Err(e) if e.damaged_key().is_some() => {
                report.damaged += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        if meta.key.as_str().starts_with(RESERVED_PREFIX) {
            continue;
        }
        report.listed += 1;
        if reachable.contains(&meta.key) {
            report.kept_reachable += 1;
        } else if meta.last_modified >= safe_point {
            report.kept_recent += 1;
        } else {
            batch.push(meta);
            if batch.len() >= per_batch {
                delete_batch(store, &mut batch, &mut report, lease.as_deref_mut()).await?;
                notify(options, &report);
            }
        }
    }
    delete_batch(store, &mut batch, &mut report, lease).await?;
    if !options.dry_run && !abandoned.is_empty() {
        for chunk in abandoned.chunks(per_batch) {
            store.delete_many(chunk).await?;
        }
    }
    report.abandoned = abandoned.len() as u64;
    notify(options, &report);
    Ok(report)
}

/// The earliest stamp of a live in-flight registration, how many are live, and the keys
/// of abandoned ones (older than `ttl` at `now`).
async fn scan_in_flight(
    store: &dyn Store,
    now: SystemTime,
    ttl: Duration,
) -> Result<(Option<SystemTime>, u64, Vec<Key>)> {
    let prefix = Prefix::new(INFLIGHT_PREFIX)?;
    let mut listing = store.list(ListOptions::prefix(prefix));
    let (mut earliest, mut live, mut abandoned) = (None::<SystemTime>, 0, Vec::new());
    while let Some(item) = listing.next().await {
        let meta = item?;
        let age = now.duration_since(meta.last_modified).unwrap_or_default();
        if age > ttl {
            abandoned.push(meta.key);
        } else {
            live += 1;
            earliest = Some(earliest.map_or(meta.last_modified, |e| e.min(meta.last_modified)));
        }
    }
    Ok((earliest, live, abandoned))
}

async fn delete_batch(
    store: &dyn Store,
    batch: &mut Vec<Meta>,
    report: &mut Report,
    lease: Option<&mut Lease>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    if !report.dry_run {
        if let Some(lease) = lease {
            lease.keep(store).await?;
        }
        let keys: Vec<Key> = batch.iter().map(|m| m.key.clone()).collect();
        store.delete_many(&keys).await?;
    }
    report.deleted += batch.len() as u64;
    report.deleted_bytes += batch.iter().map(|m| m.size).sum::<u64>();
    batch.clear();
    Ok(())
}

fn notify(options: &SweepOptions, report: &Report) {
    if let Some(progress) = &options.progress {
        progress(report);
    }
}

impl Report {
    /// The safe point in milliseconds since the Unix epoch.
    pub fn safe_point_unix_ms(&self) -> u64 {
        unix_ms(self.safe_point)
    }
}
