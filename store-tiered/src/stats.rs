//! Counters a tiered store keeps, read through [`TieredStore::stats`](crate::TieredStore::stats).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a tiered store's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TieredStats {
    /// Reads answered by the frontend (or by a pending write-behind write).
    pub hits: u64,
    /// Reads the frontend could not answer.
    pub misses: u64,
    /// Values copied from the backend into the frontend (misses, revalidations, warm-up).
    pub fills: u64,
    /// Misses that joined another caller's backend read instead of making their own.
    pub joins: u64,
    /// Revalidated hits whose backend version had changed.
    pub stale: u64,
    /// Entries the frontend evicted (known when the frontend is a `CacheStore`).
    pub evictions: u64,
    /// Keys waiting for the backend now (write-behind).
    pub queue_depth: u64,
    /// Writes the drainer completed in the backend (write-behind).
    pub drained: u64,
    /// Failed backend calls (each retry counts).
    pub backend_errors: u64,
    /// Failed frontend calls (they never fail an operation the backend completed).
    pub frontend_errors: u64,
    /// Damaged frontend records met: by reads (a `Corrupted` error, or a read of the
    /// backend when it holds every write) and by write-behind recovery, which skips them.
    pub corrupted: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub fills: AtomicU64,
    pub joins: AtomicU64,
    pub stale: AtomicU64,
    pub drained: AtomicU64,
    pub backend_errors: AtomicU64,
    pub frontend_errors: AtomicU64,
    pub corrupted: AtomicU64,
    pub evictions: Option<Arc<AtomicU64>>,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self, queue_depth: u64) -> TieredStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TieredStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            fills: get(&self.fills),
            joins: get(&self.joins),
            stale: get(&self.stale),
            evictions: self.evictions.as_deref().map_or(0, get),
            queue_depth,
            drained: get(&self.drained),
            backend_errors: get(&self.backend_errors),
            frontend_errors: get(&self.frontend_errors),
            corrupted: get(&self.corrupted),
        }
    }
}
