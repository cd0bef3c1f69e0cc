//! `Retry`: retries what failed with a retryable error, with exponential backoff and
//! full jitter, a bounded number of times (OpenDAL's `RetryLayer`).
//!
//! What is retried, and why it is safe:
//! - reads (`get`, `get_range`, `head`, `get_many`), `delete`, `delete_many`, `flush` and
//!   `Overwrite` puts: repeating them leaves the same state as doing them once;
//! - `list` streams: a stream that fails part-way is reopened after the last key it
//!   yielded, so no key is repeated or skipped;
//! - a **conditional** put (`Create`, `Update`) only when its outcome is known. After a
//!   retryable failure the layer reads the key: if the condition still holds (`Create`:
//!   still absent; `Update(v)`: still at `v`), the failed attempt wrote nothing and the put
//!   is sent again. Otherwise it may have landed, and the original error is returned
//!   rather than a retry's `AlreadyExists`/`VersionMismatch` against our own write. If a
//!   retry conflicts after an earlier attempt failed, that earlier error (outcome unknown)
//!   is returned for the same reason, never a false conflict. This reasoning needs the
//!   failed call to have finished when it returned its error, which every Strata backend
//!   does; a [`Timeout`](crate::timeout::Timeout) *below* a `Retry` abandons calls that
//!   may still land, so put timeouts above retries (`retry` inside `timeout`);
//! - a `put_many` with any conditional op is not retried (its outcome is not known).
//!
//! Errors that are not retryable (`VersionMismatch`, `Corrupted`, `InvalidInput`, …) are
//! returned at once.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use rand::Rng;
use serde::Deserialize;
use store_core::{
    ConfigMap, Entry, Error, ErrorKind, Key, Layer, ListOptions, Meta, PutMode, PutOp, Registry,
    Result, Store, StoreFactory, async_trait, parse_config,
};

use crate::nested::InnerSpec;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1; 1 means never retry).
    pub max_attempts: u32,
    /// The backoff cap before the first retry; it doubles per retry.
    pub initial_backoff: Duration,
    /// The largest backoff cap.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff caps 50 ms, 100 ms, … up to 2 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1-based): uniformly random up to the
    /// exponential cap ("full jitter"), so clients that failed together spread out.
    pub fn backoff(&self, retry: u32) -> Duration {
        let doubling = 1u32 << retry.saturating_sub(1).min(20);
        let cap = self
            .initial_backoff
            .saturating_mul(doubling)
            .min(self.max_backoff);
        cap.mul_f64(rand::rng().random::<f64>())
    }
}

/// A store that retries `inner`'s retryable failures (see the module docs for what is safe).
#[derive(Debug, Clone)]
pub struct Retry {
    inner: Arc<dyn Store>,
    policy: RetryPolicy,
}

impl Retry {
    /// Retry `inner`'s failures by `policy`.
    pub fn new(inner: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }

    /// Run `op` until it succeeds, fails for good, or the attempts run out.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if e.retryable() && attempt < self.policy.max_attempts => {
                    tracing::debug!(attempt, error = %e, "retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// Whether a conditional put's condition still holds, which proves the failed attempt
    /// wrote nothing. A failed read proves nothing.
    async fn condition_holds(&self, key: &Key, mode: &PutMode) -> bool {
        let Ok(current) = self.inner.head(key).await else {
            return false;
        };
        match mode {
            PutMode::Overwrite => true,
            PutMode::Create => current.is_none(),
            PutMode::Update(expected) => current.is_some_and(|m| &m.version == expected),
        }
    }

    async fn put_conditional(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let mut attempt = 1;
        let mut unknown: Option<Error> = None;
        loop {
            match self.inner.put(key, value.clone(), mode.clone()).await {
                Ok(meta) => return Ok(meta),
                Err(e) if is_conflict(&e) => return Err(unknown.unwrap_or(e)),
                Err(e) if e.retryable() && attempt < self.policy.max_attempts => {
                    if !self.condition_holds(key, &mode).await {
                        return Err(
                            e.context("conditional put not retried, its outcome is unknown")
                        );
                    }
                    tracing::debug!(attempt, error = %e, "retrying a conditional put");
                    unknown = Some(e.context(
                        "conditional put failed, then a retry conflicted: its outcome is unknown",
                    ));
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn is_conflict(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::AlreadyExists | ErrorKind::VersionMismatch
    )
}

#[async_trait]
impl Layer for Retry {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.retrying(|| self.inner.get(key)).await
    }

    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        self.retrying(|| self.inner.get_range(key, range.clone()))
            .await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.retrying(|| self.inner.head(key)).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        if mode == PutMode::Overwrite {
            return self
                .retrying(|| self.inner.put(key, value.clone(), PutMode::Overwrite))
                .await;
        }
        self.put_conditional(key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.retrying(|| self.inner.delete(key)).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        resuming_list(self.inner.clone(), options, self.policy)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        self.retrying(|| self.inner.get_many(keys)).await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        if ops.iter().any(|op| op.mode != PutMode::Overwrite) {
            return self.inner.put_many(ops).await;
        }
        self.retrying(|| self.inner.put_many(ops.clone())).await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.retrying(|| self.inner.delete_many(keys)).await
    }

    async fn flush(&self) -> Result<()> {
        self.retrying(|| self.inner.flush()).await
    }
}

/// A listing that, on a retryable error, reopens after the last key it yielded.
struct Resume {
    inner: Arc<dyn Store>,
    options: ListOptions,
    policy: RetryPolicy,
    stream: BoxStream<'static, Result<Meta>>,
    last: Option<Key>,
    yielded: usize,
    failures: u32,
    done: bool,
}

fn resuming_list(
    inner: Arc<dyn Store>,
    options: ListOptions,
    policy: RetryPolicy,
) -> BoxStream<'static, Result<Meta>> {
    let state = Resume {
        stream: inner.list(options.clone()),
        inner,
        options,
        policy,
        last: None,
        yielded: 0,
        failures: 0,
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        while !s.done {
            match s.stream.next().await? {
                Ok(meta) => {
                    s.failures = 0;
                    s.last = Some(meta.key.clone());
                    s.yielded += 1;
                    return Some((Ok(meta), s));
                }
                Err(e) if e.retryable() && s.failures + 1 < s.policy.max_attempts => {
                    s.failures += 1;
                    tracing::debug!(failures = s.failures, error = %e, "reopening a listing");
                    tokio::time::sleep(s.policy.backoff(s.failures)).await;
                    let mut reopened = s.options.clone();
                    // Keys come in order, so the last one yielded is past `start_after`.
                    if let Some(last) = &s.last {
                        reopened.start_after = Some(last.clone());
                    }
                    reopened.limit = s.options.limit.map(|l| l.saturating_sub(s.yielded));
                    s.stream = s.inner.list(reopened);
                }
                Err(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            }
        }
        None
    })
    .boxed()
}

/// Opens [`Retry`]: `{"type": "retry", "max_attempts": 3, "initial_backoff_ms": 50,
/// "max_backoff_ms": 2000, "inner": {…}}` (all but `inner` optional, defaults shown).
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryFactory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryConfig {
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    inner: InnerSpec,
}

#[async_trait]
impl StoreFactory for RetryFactory {
    fn type_name(&self) -> &'static str {
        "retry"
    }

    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>> {
        let parsed: RetryConfig = parse_config(config)?;
        let default = RetryPolicy::default();
        let policy = RetryPolicy {
            max_attempts: parsed.max_attempts.unwrap_or(default.max_attempts),
            initial_backoff: parsed
                .initial_backoff_ms
                .map_or(default.initial_backoff, Duration::from_millis),
            max_backoff: parsed
                .max_backoff_ms
                .map_or(default.max_backoff, Duration::from_millis),
        };
        if policy.max_attempts == 0 {
            return Err(Error::invalid_config(
                "max_attempts",
                "must be at least 1 (1: no retries)",
            ));
        }
        if policy.max_backoff < policy.initial_backoff {
            return Err(Error::invalid_config(
                "max_backoff_ms",
                "must be at least `initial_backoff_ms`",
            ));
        }
        let inner = parsed.inner.open(registry).await?;
        Ok(Arc::new(Retry::new(inner, policy)))
    }
}
