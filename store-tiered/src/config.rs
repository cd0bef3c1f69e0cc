//! Policies and options, and the config map they are read from.

use std::time::Duration;

use serde::Deserialize;
use store_core::ConfigMap;

/// Where writes go, and when they are acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WritePolicy {
    /// Backend first (the source of truth), then the frontend; acknowledged when both
    /// are done. A failed frontend write invalidates the key there and still succeeds.
    #[default]
    WriteThrough,
    /// Acknowledged after the frontend write; the backend write is queued and drained in
    /// the background (ordered per key, coalesced, bounded, retried). `flush` waits for it.
    WriteBehind,
    /// Backend only, then the key is invalidated in the frontend (reads fill it later).
    WriteAround,
    /// The frontend only: the backend is never written nor read (scratch tiers, seeded
    /// from the backend by warm-up).
    FrontendOnly,
}

/// Where reads are served from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPolicy {
    /// A frontend hit is returned; a miss reads the backend (one read per key however
    /// many callers miss at once) and fills the frontend with the whole value. A range
    /// read (`get_range`) that misses reads only the range from the backend and fills
    /// nothing, under every policy.
    #[default]
    FrontendFirst,
    /// A frontend hit is returned only if the backend's current version (a `head`)
    /// matches; otherwise the value is fetched again. For processes sharing a backend.
    Revalidate,
    /// Only the frontend (and pending write-behind writes) is read.
    FrontendOnly,
}

/// What warm-up copies from the backend into the frontend when the store opens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Warm {
    /// Nothing.
    #[default]
    None,
    /// Keys the frontend does not hold.
    Missing,
    /// Every key (refreshing what the frontend holds).
    All,
}

/// The default bound on keys waiting for the backend under write-behind.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// The default number of backend writes the drainer runs at once.
pub const DEFAULT_DRAIN_CONCURRENCY: usize = 16;

/// How a [`TieredStore`](crate::TieredStore) behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TieredOptions {
    /// Where writes go.
    pub write_policy: WritePolicy,
    /// Where reads come from.
    pub read_policy: ReadPolicy,
    /// What to copy into the frontend on open.
    pub warm: Warm,
    /// At most this many keys wait for the backend (write-behind); more writes wait.
    /// Room for the first 65,536 of them is reserved and written when the store opens
    /// (about 375 bytes each: 3.8 MB at the default 10,000, 25 MB at 65,536 or more), so
    /// a burst of writes does not pay for fresh memory; past that the queue grows as
    /// needed.
    pub queue_capacity: usize,
    /// At most this many backend writes run at once (write-behind).
    pub drain_concurrency: usize,
    /// The first retry delay after a failed backend write; it doubles on each failure.
    pub retry_initial: Duration,
    /// The longest retry delay.
    pub retry_max: Duration,
    /// Warm-up stops after copying this many value bytes (the frontend's capacity).
    pub warm_max_bytes: Option<u64>,
}

impl Default for TieredOptions {
    fn default() -> Self {
        TieredOptions {
            write_policy: WritePolicy::default(),
            read_policy: ReadPolicy::default(),
            warm: Warm::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            drain_concurrency: DEFAULT_DRAIN_CONCURRENCY,
            retry_initial: Duration::from_millis(10),
            retry_max: Duration::from_secs(1),
            warm_max_bytes: None,
        }
    }
}

/// The config map of a `tiered` store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TieredConfig {
    #[serde(default)]
    pub write_policy: WritePolicy,
    #[serde(default)]
    pub read_policy: ReadPolicy,
    #[serde(default)]
    pub warm: Warm,
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    #[serde(default = "default_drain_concurrency")]
    pub drain_concurrency: usize,
    #[serde(default = "default_retry_initial_ms")]
    pub retry_initial_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    #[serde(default)]
    pub warm_max_bytes: Option<u64>,
    pub frontend: StoreSpec,
    pub backend: StoreSpec,
}

/// A nested store: a config map, or a URI string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StoreSpec {
    Uri(String),
    Map(ConfigMap),
}

impl TieredConfig {
    /// The options part of the config.
    pub fn options(&self) -> TieredOptions {
        TieredOptions {
            write_policy: self.write_policy,
            read_policy: self.read_policy,
            warm: self.warm,
            queue_capacity: self.queue_capacity,
            drain_concurrency: self.drain_concurrency,
            retry_initial: Duration::from_millis(self.retry_initial_ms),
            retry_max: Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms)),
            warm_max_bytes: self.warm_max_bytes,
        }
    }
}

fn default_queue_capacity() -> usize {
    DEFAULT_QUEUE_CAPACITY
}
fn default_drain_concurrency() -> usize {
    DEFAULT_DRAIN_CONCURRENCY
}
fn default_retry_initial_ms() -> u64 {
    10
}
fn default_retry_max_ms() -> u64 {
    1000
}
