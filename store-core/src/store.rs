//! The `Store` trait: the one contract every backend and wrapper implements.

use std::fmt::Debug;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::meta::{Entry, ListOptions, Meta, PutMode, PutOp};

/// How many operations the default batch implementations run at once.
pub const DEFAULT_BATCH_CONCURRENCY: usize = 16;

/// An async key-value store.
///
/// Object-safe: use it as `Arc<dyn Store>`. Conveniences (typed values, read-modify-write,
/// copying) live in [`StoreExt`](crate::StoreExt), implemented for every store.
///
/// The contract, which the conformance suite in `strata-tests` enforces:
/// - every successful write of a key gives it a new [`Version`](crate::Version);
/// - `put` returns the new [`Meta`]; `PutMode::Create` and `PutMode::Update` are atomic
///   (as declared by [`Capabilities::conditional_puts`]);
/// - `delete` of a missing key succeeds;
/// - `list` yields keys in ascending byte order. An error ends the stream, with one
///   exception: a single damaged entry (stored bytes that fail their checksum or format
///   check) is yielded as an `Err` of kind [`Corrupted`](crate::ErrorKind::Corrupted) that
///   names its key ([`Error::key`](crate::Error::key)), and the stream goes on with the
///   next entry, so a caller may report and skip it. Callers that stop at the first error
///   (`try_collect`, [`StoreExt::copy_all`](crate::StoreExt::copy_all)) still stop there;
/// - `flush` is a durability barrier: when it returns, every write acknowledged before it
///   is as durable as [`Capabilities::durability`] says.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// What this store promises.
    fn capabilities(&self) -> Capabilities;

    /// The value and metadata stored at `key`, or `None`.
    async fn get(&self, key: &Key) -> Result<Option<Entry>>;

    /// Part of the value at `key`: the bytes of `range` (byte offsets, end exclusive) that
    /// lie inside the value, with the metadata of the whole value (`size` is the value's,
    /// as [`head`](Store::head) gives it); `None` if the key is absent.
    ///
    /// Clamping, as [`clamp_range`] defines it: a range reaching past the end is cut at
    /// the end, and a range starting at or past the end gives no bytes (not an error). A
    /// range whose start is after its end is `InvalidInput`, checked before the store is
    /// read, so also for a missing key.
    ///
    /// Checksums: a range read returns only bytes that passed every check the store can
    /// make without reading the rest of the value, and damage it finds is `Corrupted`
    /// naming the key, as for `get`. What that covers is the store's to say: stores that
    /// read the whole value anyway (memory, redb) verify the whole value's checksum;
    /// stores that read only the range (files, object storage) verify what covers the
    /// range and the entry's header, and cannot see damage elsewhere in the value. A
    /// caller that needs the whole value verified reads it with `get`.
    ///
    /// The default reads the whole value with [`get`](Store::get) (and so verifies it as
    /// `get` does) and slices it; stores that can read part of a value read only the range.
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        // A backwards range is refused before any I/O, so also for a missing key.
        clamp_range(&range, 0)?;
        let Some(entry) = self.get(key).await? else {
            return Ok(None);
        };
        slice_entry(entry, &range).map(Some)
    }

    /// The metadata stored at `key`, or `None`. Never reads the value.
    async fn head(&self, key: &Key) -> Result<Option<Meta>>;

    /// Write `value` at `key` under the condition `mode`; returns the new metadata.
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta>;

    /// Remove `key`. Removing a missing key is not an error.
    async fn delete(&self, key: &Key) -> Result<()>;

    /// Stream the metadata of the keys `options` selects, in ascending key order.
    ///
    /// The stream is `'static` so it can outlive the borrow of the store (backends keep
    /// shared handles). Errors end the stream, except a `Corrupted` error naming the key of
    /// one damaged entry, after which the stream continues (see the trait docs).
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>>;

    /// Get several keys; the result has one slot per key, in the same order.
    ///
    /// The default runs [`DEFAULT_BATCH_CONCURRENCY`] gets at a time.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        // Collecting the boxed futures first sidesteps a higher-ranked lifetime limitation
        // of `Send` checking for closures over borrowed keys.
        let gets: Vec<_> = keys.iter().map(|key| self.get(key)).collect();
        stream::iter(gets)
            .buffered(DEFAULT_BATCH_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Apply several writes; returns the new metadata of each, in order.
    ///
    /// If [`Capabilities::atomic_batches`] is set, either all writes apply or none does
    /// (a failed condition on one fails the whole batch). Otherwise writes apply
    /// independently and the first error is returned; others may have applied.
    /// The default runs [`DEFAULT_BATCH_CONCURRENCY`] puts at a time (not atomic).
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        stream::iter(ops)
            .map(|op| async move { self.put(&op.key, op.value, op.mode).await })
            .buffered(DEFAULT_BATCH_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Delete several keys (missing ones are ignored). Atomic if
    /// [`Capabilities::atomic_batches`] is set.
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let deletes: Vec<_> = keys.iter().map(|key| self.delete(key)).collect();
        stream::iter(deletes)
            .buffer_unordered(DEFAULT_BATCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    /// A durability barrier: returns once every write acknowledged before the call is as
    /// durable as the store promises. The default does nothing (for stores whose writes
    /// are durable on acknowledgement).
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// The physical places this store keeps its data in, as URIs: a canonical file path
    /// (`file:///srv/data/`, `redb:///srv/db.redb`), a bucket and prefix
    /// (`s3://bucket/prefix/`). Two stores share data when a location of one equals or
    /// contains a location of the other ([`locations_overlap`](crate::locations_overlap));
    /// stacks (a tiered store's tiers) refuse such pairs, because each tier would overwrite
    /// the other's entries.
    ///
    /// Wrappers return the locations of the stores they wrap. The default, empty, is for
    /// stores that own their memory and share it with no other store.
    fn locations(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The part of `range` inside a value of `size` bytes, as [`Store::get_range`] defines it:
/// cut at the end; empty (at `size`) when it starts at or past the end; `InvalidInput` when
/// `range.start > range.end`.
///
/// ```
/// use store_core::clamp_range;
/// assert_eq!(clamp_range(&(2..5), 10).unwrap(), 2..5);
/// assert_eq!(clamp_range(&(8..50), 10).unwrap(), 8..10);
/// assert_eq!(clamp_range(&(12..20), 10).unwrap(), 10..10);
/// assert!(clamp_range(&(5..2), 10).is_err());
/// ```
pub fn clamp_range(range: &Range<u64>, size: u64) -> Result<Range<u64>> {
    if range.start > range.end {
        return Err(Error::invalid_input(format!(
            "range {}..{} starts after it ends",
            range.start, range.end
        )));
    }
    let start = range.start.min(size);
    Ok(start..range.end.clamp(start, size))
}

/// The part of a whole entry that [`Store::get_range`] returns for `range`: the clamped
/// slice of its value (no copy), with its metadata. For stores that read a whole value and
/// answer a range read from it.
///
/// ```
/// use store_core::{Entry, Key, Meta, Version, slice_entry};
/// let meta = Meta {
///     key: Key::new("k").unwrap(),
///     size: 5,
///     version: Version::from_u64(1),
///     last_modified: std::time::SystemTime::UNIX_EPOCH,
/// };
/// let entry = Entry { value: "hello".into(), meta: meta.clone() };
/// assert_eq!(slice_entry(entry.clone(), &(1..3)).unwrap(), ("el".into(), meta.clone()));
/// assert_eq!(slice_entry(entry, &(3..99)).unwrap().0, "lo");
/// ```
pub fn slice_entry(entry: Entry, range: &Range<u64>) -> Result<(Bytes, Meta)> {
    let within = clamp_range(range, entry.value.len() as u64)?;
    // Both ends are at most the value's length, which is a `usize`.
    let bytes = entry
        .value
        .slice(within.start as usize..within.end as usize);
    Ok((bytes, entry.meta))
}

/// Whether two locations (as returned by [`Store::locations`]) share data: they are equal,
/// or one contains the other at a `/` boundary (`s3://b/p/` contains `s3://b/p/q/`).
///
/// ```
/// use store_core::locations_overlap;
/// assert!(locations_overlap("s3://b/p/", "s3://b/p/q/"));
/// assert!(locations_overlap("redb:///d/x.redb", "redb:///d/x.redb"));
/// assert!(!locations_overlap("s3://b/p/", "s3://b/pq/"));
/// assert!(!locations_overlap("file:///d/a/", "file:///d/ab/"));
/// ```
pub fn locations_overlap(a: &str, b: &str) -> bool {
    let contains = |outer: &str, inner: &str| {
        inner.starts_with(outer)
            && (outer.ends_with('/')
                || inner[outer.len()..].starts_with('/')
                || inner.len() == outer.len())
    };
    contains(a, b) || contains(b, a)
}
