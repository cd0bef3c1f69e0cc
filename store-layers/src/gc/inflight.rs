//! In-flight write registrations: how a writer protects values it has written but not yet
//! made reachable.

use std::time::{Duration, Instant};

use store_core::{Error, ErrorKind, Key, PutMode, Result, Store};

use super::INFLIGHT_PREFIX;

/// How long an in-flight registration protects a writer's values by default. A writer
/// must make its values reachable (write its pointer) within this time; a registration
/// older than this is taken for a dead writer's and no longer bounds the safe point.
pub const DEFAULT_INFLIGHT_TTL: Duration = Duration::from_secs(3600);

/// A registered in-flight write (see the [module docs](super)): while it exists, no
/// sweep deletes a value written after [`begin_write`] returned.
///
/// ```
/// # use std::sync::Arc;
/// use store_core::{Bytes, Key, PutMode, Store};
/// use store_layers::gc;
/// # async fn demo(store: Arc<dyn Store>) -> store_core::Result<()> {
/// let write = gc::begin_write(&*store).await?;
/// store.put(&Key::new("blobs/7f3a")?, Bytes::from("data"), PutMode::Create).await?;
/// write.check()?; // still within its time: the values are protected
/// store.put(&Key::new("roots/main")?, Bytes::from("blobs/7f3a"), PutMode::Overwrite).await?;
/// write.finish(&*store).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an in-flight write protects values until it is finished"]
pub struct InFlight {
    key: Key,
    started: Instant,
    ttl: Duration,
}

/// Register an in-flight write with the default time limit ([`DEFAULT_INFLIGHT_TTL`]).
pub async fn begin_write(store: &dyn Store) -> Result<InFlight> {
    begin_write_within(store, DEFAULT_INFLIGHT_TTL).await
}

/// Register an in-flight write that must be finished within `ttl`; collectors must be
/// given the same `ttl` ([`SweepOptions::inflight_ttl`](super::SweepOptions)).
pub async fn begin_write_within(store: &dyn Store, ttl: Duration) -> Result<InFlight> {
    // Started before the record is written: `check` may only err on the safe side.
    let started = Instant::now();
    let key = Key::new(format!("{INFLIGHT_PREFIX}{:032x}", rand::random::<u128>()))?;
    store.put(&key, Default::default(), PutMode::Create).await?;
    Ok(InFlight { key, started, ttl })
}

impl InFlight {
    /// The registration's key (under the reserved prefix).
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// `Ok` while the registration still protects the values: call it after writing the
    /// values and before writing the pointer that makes them reachable. After the time
    /// limit it is `Unavailable`: a sweep may have removed the values, so write them again
    /// under a new registration.
    pub fn check(&self) -> Result<()> {
        // A margin of a tenth of the limit, for the distance between the clocks of this
        // process and of the store that stamps the registration.
        if self.started.elapsed() < self.ttl - self.ttl / 10 {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            "the in-flight write outlived its time limit: a sweep may have removed its values",
        )
        .with_key(&self.key))
    }

    /// End the registration (after the pointer is written).
    pub async fn finish(self, store: &dyn Store) -> Result<()> {
        store.delete(&self.key).await
    }
}
