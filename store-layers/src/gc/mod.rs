//! # GC: sweep what no root reaches, safely across processes
//!
//! [`sweep`] streams [`Store::list`](store_core::Store::list) (metadata only, never a value) and deletes, in
//! batches of [`SweepOptions::batch`] with `delete_many`, every key that is neither
//! [reachable](Reachable) nor modified at or after the sweep's *safe point*. Keys under
//! [`RESERVED_PREFIX`] (`_strata/`) are never swept: the collector's own records live there.
//!
//! ## Records in the store (under `_strata/gc/`)
//! - `_strata/gc/lease`: JSON `{"owner", "expires_unix_ms", "safe_point_unix_ms"}`. A
//!   collector takes it with `PutMode::Create`, or, once `expires_unix_ms` has passed,
//!   takes it over with `PutMode::Update(version of the expired record)`; it renews it with
//!   `Update(its own version)` at least every third of [`SweepOptions::lease_ttl`] and
//!   releases it by writing it expired (again from its own version). So of two collectors
//!   at most one holds the lease: the other gets `Locked`, and one whose lease was taken
//!   over while it stalled finds out at its next renewal (`Locked`) and stops.
//! - `_strata/gc/inflight/<random>`: one empty record per in-flight write, made by
//!   [`begin_write`] and removed by [`InFlight::finish`].
//!
//! ## The writer's protocol
//! A writer that writes values and then a pointer that makes them reachable:
//! 1. `let w = gc::begin_write(&store).await?` (registers the write);
//! 2. writes its values, each under a **fresh key** (never a key that may already hold
//!    garbage: a sweep that listed the old value could delete the new one);
//! 3. `w.check()?` — still within [`DEFAULT_INFLIGHT_TTL`] (else start over);
//! 4. writes the pointer (a root, or a value the roots reach);
//! 5. `w.finish(&store).await?`.
//!
//! ## The collector's sequence, and why no reachable or in-flight value is swept
//! 1. take the lease (Create / CAS), and read its `last_modified`: `T0`, the store's clock;
//! 2. list `_strata/gc/inflight/`: `I` = the earliest `last_modified` among records younger
//!    than `inflight_ttl` (older ones are a dead writer's and are removed at the end);
//! 3. safe point `S = min(cutoff, T0, I) − clock_margin`, recorded in the lease (CAS);
//! 4. only now ask the [`Roots`] for the reachable set `R`;
//! 5. list every key; delete those not in `R` with `last_modified < S`.
//!
//! Take a value `v` written by a writer `W`, reachable (or about to be) by a pointer `p`.
//! - `W` registered before step 2 read the in-flight records: `I ≤` its registration time
//!   `≤ lm(v)`, so `lm(v) ≥ S` and `v` is kept.
//! - `W` registered after step 2: its registration, and so `v`, is later than `T0 ≥ S`.
//! - `W` had finished before step 2: it wrote `p` before removing its registration, so `p`
//!   exists before step 4 computes `R`, and `v ∈ R`.
//!
//! So the lease is not what makes a sweep safe; it keeps two collectors from doing the
//! same work (and from racing on their own records). Times are compared only with times
//! from the same clock: the store's (`last_modified`), which must not run backwards by more
//! than `clock_margin` (memory, redb, files: this machine's clock; S3: the service's). The
//! lease's expiry uses the collectors' clocks, so `lease_ttl` must exceed their skew.
//!
//! Requires conditional puts ([`Capabilities::conditional_puts`](store_core::Capabilities::conditional_puts)); with
//! `InProcess` ones (the file store) the lease excludes collectors in the same process
//! only — which is all there can be, since such stores are single-process.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use store_core::{Bytes, Key, PutMode, Store};
//! use store_layers::gc::{self, Reachable, SweepOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = store_memory::MemoryStore::new();
//! store.put(&Key::new("blobs/old")?, Bytes::from("x"), PutMode::Overwrite).await?;
//! store.put(&Key::new("blobs/kept")?, Bytes::from("y"), PutMode::Overwrite).await?;
//! // Everything written so far is old enough; one clock, so no margin is needed.
//! let cutoff = SystemTime::now();
//! let options = SweepOptions { clock_margin: Duration::ZERO, ..SweepOptions::default() };
//! let reachable = Reachable::new().with_key(Key::new("blobs/kept")?);
//! let report = gc::sweep(&store, &reachable, cutoff, options).await?;
//! assert_eq!((report.deleted, report.kept_reachable), (1, 1));
//! assert!(store.head(&Key::new("blobs/old")?).await?.is_none());
//! # Ok(()) }
//! ```

mod inflight;
mod lease;
mod reachable;
mod sweep;

use std::time::{SystemTime, UNIX_EPOCH};

pub use inflight::{DEFAULT_INFLIGHT_TTL, InFlight, begin_write, begin_write_within};
pub use reachable::{Reachable, Roots};
pub use sweep::{Progress, Report, SweepOptions, sweep};

/// Keys Strata's whole-store operations keep for themselves; a sweep never deletes them.
pub const RESERVED_PREFIX: &str = "_strata/";

/// The GC lease record.
pub const LEASE_KEY: &str = "_strata/gc/lease";

/// Where in-flight write registrations live.
pub const INFLIGHT_PREFIX: &str = "_strata/gc/inflight/";

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
