//! The GC lease: one record in the store, taken and renewed with compare-and-swap.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store_core::{Error, ErrorKind, Key, PutMode, Result, Store, Version};

use super::{LEASE_KEY, unix_ms};

/// What the lease record holds (JSON, so an operator can read it with `strata get`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct LeaseRecord {
    /// A random id of the collector holding it.
    pub owner: String,
    /// When the lease ends, in milliseconds since the Unix epoch (the holder's clock).
    pub expires_unix_ms: u64,
    /// The safe point of the holder's sweep (ms since the epoch, the store's clock):
    /// nothing modified at or after it is deleted. Zero until it is fixed.
    pub safe_point_unix_ms: u64,
}

/// A lease held by this collector: the record's version proves it is still ours.
#[derive(Debug)]
pub(crate) struct Lease {
    key: Key,
    version: Version,
    record: LeaseRecord,
    ttl: Duration,
    renewed: Instant,
}

fn lease_key() -> Key {
    Key::new(LEASE_KEY).expect("the lease key is a valid key")
}

fn encode(key: &Key, record: &LeaseRecord) -> Result<Bytes> {
    serde_json::to_vec(record)
        .map(Bytes::from)
        .map_err(|e| Error::backend("encoding the GC lease", e).with_key(key))
}

fn decode(key: &Key, bytes: &[u8]) -> Result<LeaseRecord> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::corrupted(key, format!("not a GC lease record: {e}")))
}

fn held_elsewhere(key: &Key, record: &LeaseRecord) -> Error {
    let left = record
        .expires_unix_ms
        .saturating_sub(unix_ms(SystemTime::now()));
    Error::new(
        ErrorKind::Locked,
        format!(
            "another collector ({}) holds the GC lease for {left} ms more",
            record.owner
        ),
    )
    .with_key(key)
}

impl Lease {
    /// Take the lease: create it, or take over one that has expired. Another live
    /// holder is `Locked`; losing a takeover race to another collector is `Locked` too.
    pub async fn acquire(store: &dyn Store, owner: String, ttl: Duration) -> Result<Lease> {
        let key = lease_key();
        let record = LeaseRecord {
            owner,
            expires_unix_ms: unix_ms(SystemTime::now() + ttl),
            safe_point_unix_ms: 0,
        };
        let value = encode(&key, &record)?;
        let renewed = Instant::now();
        let lost_race = |e: Error| match e.kind() {
            ErrorKind::AlreadyExists | ErrorKind::VersionMismatch => Error::new(
                ErrorKind::Locked,
                "another collector took the GC lease at the same moment",
            )
            .with_key(&key),
            _ => e,
        };
        let meta = match store.put(&key, value.clone(), PutMode::Create).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let Some(current) = store.get(&key).await? else {
                    // Released between our create and our read: try once more.
                    return store
                        .put(&key, value, PutMode::Create)
                        .await
                        .map_err(lost_race)
                        .map(|meta| Lease::held(key.clone(), meta.version, record, ttl, renewed));
                };
                let held = decode(&key, &current.value)?;
                if held.expires_unix_ms > unix_ms(SystemTime::now()) {
                    return Err(held_elsewhere(&key, &held));
                }
                // Expired: a dead (or stalled) collector's. Take it over, but only from
                // that exact version, so two collectors taking over cannot both win.
                store
                    .put(&key, value, PutMode::Update(current.meta.version))
                    .await
                    .map_err(lost_race)?
            }
            Err(e) => return Err(e),
        };
        Ok(Lease::held(key, meta.version, record, ttl, renewed))
    }

    fn held(key: Key, version: Version, record: LeaseRecord, ttl: Duration, at: Instant) -> Self {
        Lease {
            key,
            version,
            record,
            ttl,
            renewed: at,
        }
    }

    /// The record's key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Extend the lease (and record `safe_point`) if it is still ours; `Locked` if
    /// another collector took it over.
    pub async fn renew(&mut self, store: &dyn Store, safe_point: Option<SystemTime>) -> Result<()> {
        let mut record = self.record.clone();
        let started = Instant::now();
        record.expires_unix_ms = unix_ms(SystemTime::now() + self.ttl);
        if let Some(point) = safe_point {
            record.safe_point_unix_ms = unix_ms(point);
        }
        let value = encode(&self.key, &record)?;
        match store
            .put(&self.key, value, PutMode::Update(self.version.clone()))
            .await
        {
            Ok(meta) => {
                self.version = meta.version;
                self.record = record;
                self.renewed = started;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::VersionMismatch => Err(Error::new(
                ErrorKind::Locked,
                "the GC lease expired and another collector took it over; this sweep stopped",
            )
            .with_key(&self.key)),
            Err(e) => Err(e),
        }
    }

    /// Renew unless renewed within the last third of the lease, so a sweep pays one CAS
    /// per third of a lease, not one per batch.
    pub async fn keep(&mut self, store: &dyn Store) -> Result<()> {
        if self.renewed.elapsed() < self.ttl / 3 {
            return Ok(());
        }
        self.renew(store, None).await
    }

    /// Give the lease up: mark it expired, from our version only (if it was taken over,
    /// the new holder's record is left alone).
    pub async fn release(mut self, store: &dyn Store) -> Result<()> {
        self.record.expires_unix_ms = 0;
        let value = encode(&self.key, &self.record)?;
        match store
            .put(&self.key, value, PutMode::Update(self.version.clone()))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::VersionMismatch => Ok(()),
            Err(e) => Err(e),
        }
    }
}
