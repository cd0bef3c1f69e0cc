//! A redis-benchmark-style load generator for any store: throughput and latency
//! quantiles for put, get or mixed workloads at a chosen concurrency.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use hdrhistogram::Histogram;
use rand::Rng;
use strata::stats::fmt_duration;
use strata::{Error, Key, ListOptions, Prefix, PutMode, PutOp, Result, Store};

/// What the benchmark does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Overwrite random keys.
    Put,
    /// Read random keys (prefilled first).
    Get,
    /// 90 % reads, 10 % overwrites of random keys (prefilled first).
    Mixed,
}

impl BenchOptions {
    /// Check the parameters before anything runs (an `InvalidInput` error naming the one
    /// out of range).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::invalid_input(what));
        if self.keys == 0 {
            return bad("keys must be at least 1");
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return bad(&format!("concurrency must be from 1 to {MAX_CONCURRENCY}"));
        }
        if self.value_size > MAX_VALUE_SIZE {
            return bad(&format!(
                "value size must be at most {MAX_VALUE_SIZE} bytes"
            ));
        }
        if self.duration > MAX_DURATION {
            return bad("duration must be at most 365 days");
        }
        Ok(())
    }
}

/// A value of `size` bytes, or an error if memory for it cannot be had (instead of the
/// abort an infallible allocation would be).
fn value_of(size: usize, byte: u8) -> Result<Bytes> {
    let mut value = Vec::new();
    value
        .try_reserve_exact(size)
        .map_err(|_| Error::invalid_input(format!("cannot allocate a {size}-byte value")))?;
    value.resize(size, byte);
    Ok(value.into())
}

impl FromStr for Workload {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "put" => Ok(Workload::Put),
            "get" => Ok(Workload::Get),
            "mixed" => Ok(Workload::Mixed),
            other => Err(Error::invalid_config(
                "workload",
                format!("unknown workload `{other}` (use put, get or mixed)"),
            )),
        }
    }
}

/// The largest value a benchmark writes (1 GiB): every writer holds one, and the prefill
/// writes `keys` of them.
pub const MAX_VALUE_SIZE: usize = 1 << 30;
/// The most request loops a benchmark runs; each keeps a latency histogram (~180 KiB).
pub const MAX_CONCURRENCY: usize = 1024;
/// The longest a benchmark runs (a year: longer ones are mistakes, and a deadline far
/// enough away is not representable).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Benchmark parameters.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The workload.
    pub workload: Workload,
    /// Bytes per value.
    pub value_size: usize,
    /// Distinct keys touched.
    pub keys: u64,
    /// Concurrent tasks issuing requests.
    pub concurrency: usize,
    /// How long to run.
    pub duration: Duration,
}

/// What a benchmark measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// The parameters.
    pub options: BenchOptions,
    /// Requests completed.
    pub ops: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Measured wall time.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// 99.9th percentile latency.
    pub p999: Duration,
}

impl BenchReport {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        write!(
            f,
            "{:?} value={}B keys={} concurrency={}: {} ops in {:.2}s = {:.0} ops/s ({:.1} MiB/s), \
             p50 {} p99 {} p99.9 {}, errors {}",
            o.workload,
            o.value_size,
            o.keys,
            o.concurrency,
            self.ops,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            self.throughput() * o.value_size as f64 / (1 << 20) as f64,
            fmt_duration(self.p50),
            fmt_duration(self.p99),
            fmt_duration(self.p999),
            self.errors
        )
    }
}

/// Where a benchmark's keys live: `bench/0000000000`, `bench/0000000001`, ...
pub const PREFIX: &str = "bench/";

fn bench_key(i: u64) -> Key {
    Key::new(format!("{PREFIX}{i:010}")).expect("bench keys are valid")
}

/// Whether `key` is one of the keys a benchmark over `keys` distinct keys writes (and not
/// some other key that happens to be under `bench/`).
fn is_bench_key(key: &Key, keys: u64) -> bool {
    key.as_str()
        .strip_prefix(PREFIX)
        .filter(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n < keys)
}

/// The keys of a benchmark with these options that the store holds, and their total size.
pub async fn written(store: &dyn Store, options: &BenchOptions) -> Result<(Vec<Key>, u64)> {
    let mut listing = store.list(ListOptions::prefix(Prefix::new(PREFIX)?));
    let (mut keys, mut bytes) = (Vec::new(), 0u64);
    while let Some(meta) = listing.try_next().await? {
        if is_bench_key(&meta.key, options.keys) {
            bytes = bytes.saturating_add(meta.size);
            keys.push(meta.key);
        }
    }
    Ok((keys, bytes))
}

/// Keys per prefill or clean-up batch, capped at the store's `max_batch_writes`
/// (DynamoDB: 100); prefill batches are also cut to its `max_batch_bytes`.
const BATCH: usize = 512;

/// Delete `keys` (what [`written`] found), in batches, and flush the deletes.
pub async fn delete(store: &dyn Store, keys: &[Key]) -> Result<()> {
    for batch in keys.chunks(store.capabilities().write_batch(BATCH)) {
        store.delete_many(batch).await?;
    }
    store.flush().await
}

/// Write every benchmark key once, in batches, so reads hit.
pub async fn prefill(store: &dyn Store, options: &BenchOptions) -> Result<()> {
    options.validate()?;
    let value = value_of(options.value_size, 0x5a)?;
    let batch = store.capabilities().write_batch(BATCH) as u64;
    let mut i = 0;
    while i < options.keys {
        let end = (i + batch).min(options.keys);
        let ops = (i..end)
            .map(|n| PutOp::overwrite(bench_key(n), value.clone()))
            .collect();
        for ops in store.capabilities().put_batches(ops, batch as usize) {
            store.put_many(ops).await?;
        }
        i = end;
    }
    store.flush().await
}

/// Run the benchmark (prefilling first for get and mixed workloads).
pub async fn run(store: Arc<dyn Store>, options: BenchOptions) -> Result<BenchReport> {
    options.validate()?;
    if options.workload != Workload::Put {
        prefill(store.as_ref(), &options).await?;
    }
    let value = value_of(options.value_size, 0xa5)?;
    let start = Instant::now();
    let deadline = start
        .checked_add(options.duration)
        .ok_or_else(|| Error::invalid_input("the duration is too long"))?;
    let tasks: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (store, value, options) = (store.clone(), value.clone(), options.clone());
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("valid histogram bounds");
                let (mut ops, mut errors) = (0u64, 0u64);
                while Instant::now() < deadline {
                    let (n, write) = {
                        let mut rng = rand::rng();
                        let write = match options.workload {
                            Workload::Put => true,
                            Workload::Get => false,
                            Workload::Mixed => rng.random_range(0..10) == 0,
                        };
                        (rng.random_range(0..options.keys), write)
                    };
                    let key = bench_key(n);
                    let t = Instant::now();
                    let ok = if write {
                        store
                            .put(&key, value.clone(), PutMode::Overwrite)
                            .await
                            .is_ok()
                    } else {
                        matches!(store.get(&key).await, Ok(Some(_)))
                    };
                    let _ = hist.record((t.elapsed().as_micros() as u64).max(1));
                    ops += 1;
                    errors += u64::from(!ok);
                }
                (hist, ops, errors)
            })
        })
        .collect();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
    let (mut ops, mut errors) = (0, 0);
    for task in tasks {
        let (h, o, e) = task
            .await
            .map_err(|e| Error::backend("benchmark task failed", e))?;
        let _ = hist.add(h);
        ops += o;
        errors += e;
    }
    let elapsed = start.elapsed();
    let q = |q: f64| Duration::from_micros(hist.value_at_quantile(q));
    Ok(BenchReport {
        ops,
        errors,
        elapsed,
        p50: q(0.5),
        p99: q(0.99),
        p999: q(0.999),
        options,
    })
}
