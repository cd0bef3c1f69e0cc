//! `StatsStore`: a wrapper that counts requests, errors and bytes per operation, keeps
//! latency histograms, and opens a `tracing` span around every call.

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use hdrhistogram::Histogram;
use store_core::{
    Entry, Key, Layer, ListOptions, Meta, PutMode, PutOp, Result, Store, async_trait,
};
use tracing::Instrument;

/// The operations a [`StatsStore`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `get`
    Get,
    /// `get_range`
    GetRange,
    /// `head`
    Head,
    /// `put`
    Put,
    /// `delete`
    Delete,
    /// `list` (one per stream; latency until the stream ends)
    List,
    /// `get_many`
    GetMany,
    /// `put_many`
    PutMany,
    /// `delete_many`
    DeleteMany,
    /// `flush`
    Flush,
}

impl Op {
    /// Every operation, in display order.
    pub const ALL: [Op; 10] = [
        Op::Get,
        Op::GetRange,
        Op::Head,
        Op::Put,
        Op::Delete,
        Op::List,
        Op::GetMany,
        Op::PutMany,
        Op::DeleteMany,
        Op::Flush,
    ];

    /// The operation's name, as used in span names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::GetRange => "get_range",
            Op::Head => "head",
            Op::Put => "put",
            Op::Delete => "delete",
            Op::List => "list",
            Op::GetMany => "get_many",
            Op::PutMany => "put_many",
            Op::DeleteMany => "delete_many",
            Op::Flush => "flush",
        }
    }
}

struct OpStats {
    requests: AtomicU64,
    errors: AtomicU64,
    /// Latency in microseconds, 1 µs .. 1 h, 3 significant digits.
    latency: Mutex<Histogram<u64>>,
}

impl OpStats {
    fn new() -> Self {
        OpStats {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latency: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
        }
    }

    fn record(&self, elapsed: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = (elapsed.as_micros() as u64).clamp(1, 3_600_000_000);
        // A poisoned histogram only means another recorder panicked mid-update; the
        // counts are still usable.
        let mut h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let _ = h.record(micros);
    }
}

/// Shared counters of a [`StatsStore`]; cheap to read while the store is in use.
pub struct Stats {
    ops: [OpStats; 10],
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            ops: std::array::from_fn(|_| OpStats::new()),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        }
    }
}

impl Stats {
    fn op(&self, op: Op) -> &OpStats {
        &self.ops[Op::ALL.iter().position(|o| *o == op).unwrap_or(0)]
    }

    /// A consistent-enough copy of the counters right now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let ops = Op::ALL
            .iter()
            .map(|&op| {
                let s = self.op(op);
                let h = s.latency.lock().unwrap_or_else(|p| p.into_inner());
                let q = |q: f64| Duration::from_micros(h.value_at_quantile(q));
                OpSnapshot {
                    op,
                    requests: s.requests.load(Ordering::Relaxed),
                    errors: s.errors.load(Ordering::Relaxed),
                    p50: q(0.50),
                    p99: q(0.99),
                    p999: q(0.999),
                    max: Duration::from_micros(h.max()),
                }
            })
            .collect();
        StatsSnapshot {
            ops,
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }
}

/// Counters and latency quantiles of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSnapshot {
    /// Which operation.
    pub op: Op,
    /// Calls made.
    pub requests: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// 99.9th percentile latency.
    pub p999: Duration,
    /// Largest latency seen.
    pub max: Duration,
}

/// A copy of a [`StatsStore`]'s counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// One entry per [`Op`], in [`Op::ALL`] order.
    pub ops: Vec<OpSnapshot>,
    /// Value bytes returned by `get`, `get_range` and `get_many`.
    pub bytes_read: u64,
    /// Value bytes passed to `put` and `put_many`.
    pub bytes_written: u64,
}

impl StatsSnapshot {
    /// The counters of one operation.
    pub fn op(&self, op: Op) -> &OpSnapshot {
        self.ops.iter().find(|s| s.op == op).unwrap_or(&self.ops[0])
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>10} {:>7} {:>10} {:>10} {:>10} {:>10}",
            "op", "requests", "errors", "p50", "p99", "p99.9", "max"
        )?;
        for s in self.ops.iter().filter(|s| s.requests > 0) {
            writeln!(
                f,
                "{:<12} {:>10} {:>7} {:>10} {:>10} {:>10} {:>10}",
                s.op.name(),
                s.requests,
                s.errors,
                fmt_duration(s.p50),
                fmt_duration(s.p99),
                fmt_duration(s.p999),
                fmt_duration(s.max)
            )?;
        }
        write!(
            f,
            "bytes read {}, bytes written {}",
            self.bytes_read, self.bytes_written
        )
    }
}

/// A duration in the unit that reads best (µs, ms or s).
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

/// Wraps any store and records [`Stats`] for it. It declares the inner store's
/// capabilities and changes no behaviour: it is a [`Layer`] that overrides each counted
/// operation, and forwards the rest (`capabilities`, `locations`) untouched.
///
/// ```
/// # use std::sync::Arc;
/// # use strata::{Key, MemoryStore, PutMode, Store, stats::{Op, StatsStore}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> strata::Result<()> {
/// let store = StatsStore::new(Arc::new(MemoryStore::new()));
/// store.put(&Key::new("a")?, "hi".into(), PutMode::Overwrite).await?;
/// let snapshot = store.stats().snapshot();
/// assert_eq!(snapshot.op(Op::Put).requests, 1);
/// assert_eq!(snapshot.bytes_written, 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StatsStore {
    inner: Arc<dyn Store>,
    stats: Arc<Stats>,
}

impl StatsStore {
    /// Wrap `inner` with fresh counters.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        StatsStore {
            inner,
            stats: Arc::new(Stats::default()),
        }
    }

    /// The counters (shared; keep a clone to read them after handing the store away).
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    async fn timed<T>(
        &self,
        op: Op,
        span: tracing::Span,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let result = call.instrument(span).await;
        if let Err(e) = &result {
            tracing::debug!(op = op.name(), error = %e, "store operation failed");
        }
        self.stats.op(op).record(start.elapsed(), result.is_ok());
        result
    }

    fn read(&self, n: u64) {
        self.stats.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    fn wrote(&self, n: u64) {
        self.stats.bytes_written.fetch_add(n, Ordering::Relaxed);
    }
}

impl fmt::Debug for StatsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsStore")
            .field("inner", &self.inner)
            .finish()
    }
}

#[async_trait]
impl Layer for StatsStore {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let span = tracing::debug_span!("store.get", %key);
        let entry = self.timed(Op::Get, span, self.inner.get(key)).await?;
        self.read(entry.as_ref().map_or(0, |e| e.value.len() as u64));
        Ok(entry)
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let span =
            tracing::debug_span!("store.get_range", %key, start = range.start, end = range.end);
        let got = self
            .timed(Op::GetRange, span, self.inner.get_range(key, range))
            .await?;
        self.read(got.as_ref().map_or(0, |(bytes, _)| bytes.len() as u64));
        Ok(got)
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let span = tracing::debug_span!("store.head", %key);
        self.timed(Op::Head, span, self.inner.head(key)).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let size = value.len() as u64;
        let span = tracing::debug_span!("store.put", %key, size);
        let meta = self
            .timed(Op::Put, span, self.inner.put(key, value, mode))
            .await?;
        self.wrote(size);
        Ok(meta)
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let span = tracing::debug_span!("store.delete", %key);
        self.timed(Op::Delete, span, self.inner.delete(key)).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let span = tracing::debug_span!("store.list", prefix = %options.prefix);
        let _entered = span.enter();
        let stats = self.stats.clone();
        let start = Instant::now();
        let inner = self.inner.list(options);
        // Record once, when the stream ends (or is dropped early, via the guard).
        struct Done {
            stats: Arc<Stats>,
            start: Instant,
            ok: bool,
        }
        impl Drop for Done {
            fn drop(&mut self) {
                tracing::debug!(ok = self.ok, elapsed = ?self.start.elapsed(), "store.list done");
                self.stats
                    .op(Op::List)
                    .record(self.start.elapsed(), self.ok);
            }
        }
        let mut done = Done {
            stats,
            start,
            ok: true,
        };
        inner
            .map(move |item| {
                // Borrow the whole guard so the closure owns it (not just the `ok` field)
                // and it records when the stream is dropped.
                let guard = &mut done;
                guard.ok &= item.is_ok();
                item
            })
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let span = tracing::debug_span!("store.get_many", keys = keys.len());
        let entries = self
            .timed(Op::GetMany, span, self.inner.get_many(keys))
            .await?;
        self.read(entries.iter().flatten().map(|e| e.value.len() as u64).sum());
        Ok(entries)
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let size: u64 = ops.iter().map(|op| op.value.len() as u64).sum();
        let span = tracing::debug_span!("store.put_many", ops = ops.len(), size);
        let metas = self
            .timed(Op::PutMany, span, self.inner.put_many(ops))
            .await?;
        self.wrote(size);
        Ok(metas)
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let span = tracing::debug_span!("store.delete_many", keys = keys.len());
        self.timed(Op::DeleteMany, span, self.inner.delete_many(keys))
            .await
    }

    async fn flush(&self) -> Result<()> {
        let span = tracing::debug_span!("store.flush");
        self.timed(Op::Flush, span, self.inner.flush()).await
    }
}
