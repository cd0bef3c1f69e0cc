//! The state a tiered store shares with its background tasks, and the per-key steps
//! (frontend lookup, miss handling, frontend updates) its operations are built from.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::time::SystemTime;

use bytes::Bytes;
use store_core::{Entry, Error, ErrorKind, Key, Meta, Result, Store, Version};

use crate::config::{ReadPolicy, TieredOptions, WritePolicy};
use crate::envelope::Envelope;
use crate::front::Front;
use crate::keyset::KeySet;
use crate::locks::KeyLocks;
use crate::queue::{Op, Queue};
use crate::stats::Counters;

#[derive(Debug)]
pub(crate) struct Shared {
    pub front: Front,
    pub backend: Arc<dyn Store>,
    pub options: TieredOptions,
    pub locks: KeyLocks,
    pub counters: Counters,
    /// Present under write-behind.
    pub queue: Option<Queue>,
    /// Set when the store is dropped: the drainer stops once the queue is empty.
    pub closed: AtomicBool,
    /// Keys whose frontend copy may be stale because the frontend failed both a write and
    /// the invalidation after it; reads of them bypass the frontend until it recovers.
    suspects: KeySet,
    /// Keys whose journal record recovery found damaged (so the write it held may be in
    /// neither the queue nor the backend), until the key is written again: listings report
    /// them, as reads of them do.
    pub damaged_journal: KeySet,
    /// Versions for write-behind acknowledgements: a random per-process prefix and a counter,
    /// so they never repeat across restarts.
    version_prefix: u64,
    version_clock: AtomicU64,
}

fn hex(out: &mut [u8], mut n: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
    }
}

/// The queued operation for a put `envelope`, and the metadata its caller is shown.
pub(crate) fn put_op(key: &Key, envelope: Envelope) -> (Op, Meta) {
    let meta = envelope.meta(key);
    let op = Op::Put {
        value: envelope.value,
        version: envelope.shown,
        modified: envelope.modified,
    };
    (op, meta)
}

/// How far [`Shared::write_behind_now`] got.
pub(crate) enum Fast {
    /// Journaled and queued: acknowledge with this.
    Done(Meta),
    /// Journaled; queue this (waiting for room), then acknowledge with the meta.
    Queue(Op, Option<Version>, Meta),
    /// Not a cache frontend: take the general path with the write back.
    No(Envelope),
}

/// What the frontend says about a key.
pub(crate) enum Lookup {
    /// A usable copy (a tombstone answers "absent").
    Hit(Envelope),
    /// Nothing usable: ask the pending queue and the backend.
    Miss,
}

impl Shared {
    pub fn new(
        front: Front,
        backend: Arc<dyn Store>,
        options: TieredOptions,
        counters: Counters,
        queue: Option<Queue>,
    ) -> Self {
        Shared {
            front,
            backend,
            options,
            locks: KeyLocks::default(),
            counters,
            queue,
            closed: AtomicBool::new(false),
            suspects: KeySet::default(),
            damaged_journal: KeySet::default(),
            version_prefix: rand::random(),
            version_clock: AtomicU64::new(0),
        }
    }

    /// A fresh version for a write acknowledged before the backend has it.
    pub fn next_version(&self) -> Version {
        // A random per-process start plus a counter: unique within the process, and
        // colliding with another process's range is as likely as guessing 64 random bits.
        let n = self
            .version_prefix
            .wrapping_add(self.version_clock.fetch_add(1, Ordering::Relaxed));
        // Hand-rolled hex: `format!` costs more than the rest of a write-behind put's
        // bookkeeping together.
        let mut buf = *b"wb-0000000000000000";
        hex(&mut buf[3..], n);
        Version::new(std::str::from_utf8(&buf).unwrap_or("wb"))
    }

    #[inline]
    fn is_suspect(&self, key: &Key) -> bool {
        self.suspects.contains(key)
    }

    /// The frontend holds the latest write to `key` again (or nothing for it): its copy can
    /// be trusted, and a damaged journal record there is gone.
    fn wrote_frontend(&self, key: &Key) {
        self.suspects.set(key, false);
        self.damaged_journal.set(key, false);
    }

    /// Whether every frontend record is a copy of what the backend holds, and reads go to
    /// the backend when the frontend cannot answer (write-through and write-around, unless
    /// reads are frontend-only).
    pub fn frontend_holds_copies(&self) -> bool {
        matches!(
            self.options.write_policy,
            WritePolicy::WriteThrough | WritePolicy::WriteAround
        ) && self.options.read_policy != ReadPolicy::FrontendOnly
    }

    /// Read the frontend's copy. A failed read counts and reads as a miss: the backend
    /// still has the truth. A damaged record (see [`Shared::damaged`]) is a `Corrupted`
    /// error unless the backend or the queue is known to hold what it held.
    pub async fn lookup(&self, key: &Key) -> Result<Lookup> {
        if self.is_suspect(key) {
            return Ok(Lookup::Miss);
        }
        match self.front.read(key).await {
            Ok(Some(envelope)) => Ok(Lookup::Hit(envelope)),
            Ok(None) => Ok(Lookup::Miss),
            Err(error) if error.kind() == ErrorKind::Corrupted => self.damaged(key, error),
            Err(_) => {
                Counters::bump(&self.counters.frontend_errors);
                Ok(Lookup::Miss)
            }
        }
    }

    /// The frontend's record of `key` is damaged. Under write-through and write-around the
    /// frontend only ever holds copies of what the backend has, so the read goes there
    /// (and a `get` replaces the damaged copy). Otherwise the record may be the only copy
    /// of an acknowledged write (a write-behind journal record, a frontend-only value):
    /// guessing would serve an older value, so the error stands, naming the key, until the
    /// key is written again. A pending write-behind write is newer than any record and
    /// still answers.
    fn damaged(&self, key: &Key, error: Error) -> Result<Lookup> {
        Counters::bump(&self.counters.corrupted);
        if self.frontend_holds_copies() || self.pending(key).is_some() {
            tracing::warn!(%key, %error, "tiered: damaged frontend copy; reading the backend");
            return Ok(Lookup::Miss);
        }
        Err(error)
    }

    /// A typed-cache hit, answered without an await, when no revalidation is needed;
    /// `None` means "take the general path" (not necessarily a miss).
    #[inline]
    pub fn cached_hit(&self, key: &Key) -> Option<Option<Entry>> {
        if self.options.read_policy == ReadPolicy::Revalidate || self.is_suspect(key) {
            return None;
        }
        self.front.hit_now(key)
    }

    /// Under `revalidate`, whether a frontend copy still matches the backend.
    pub async fn still_current(&self, envelope: &Envelope, key: &Key) -> Result<bool> {
        if self.options.read_policy != ReadPolicy::Revalidate || envelope.dirty() {
            // A dirty copy is our own newer write that the backend has not seen yet.
            return Ok(true);
        }
        let head = self.backend.head(key).await?;
        let current = match (&head, envelope.tombstone) {
            (None, true) => true,
            (Some(meta), false) => envelope.backend.as_ref() == Some(&meta.version),
            _ => false,
        };
        if !current {
            Counters::bump(&self.counters.stale);
        }
        Ok(current)
    }

    /// The pending write-behind write for `key`, as an answer to a read.
    pub fn pending(&self, key: &Key) -> Option<Option<Entry>> {
        let op = self.queue.as_ref()?.lookup(key)?;
        let meta = op.meta(key);
        match op {
            Op::Put { value, .. } => Some(meta.map(|meta| Entry { value, meta })),
            Op::Delete => Some(None),
        }
    }

    /// The miss path, under the key's lock: pending write, else backend read and fill.
    /// `fill` is false for `head`, which must not read values.
    pub async fn read_through(&self, key: &Key, fill: bool) -> Result<Option<Entry>> {
        if let Some(answer) = self.pending(key) {
            return Ok(answer);
        }
        if !fill {
            return Ok(self.backend.head(key).await?.map(|meta| Entry {
                value: bytes::Bytes::new(),
                meta,
            }));
        }
        let Some(entry) = self.backend.get(key).await? else {
            return Ok(None);
        };
        let envelope = Envelope::from_backend(entry.clone());
        if self.store_frontend(key, &envelope).await {
            Counters::bump(&self.counters.fills);
        }
        Ok(Some(entry))
    }

    /// Put a copy in the frontend. If that fails, invalidate the key there; if that fails
    /// too, stop trusting the frontend for this key. Returns whether the copy was stored.
    pub async fn store_frontend(&self, key: &Key, envelope: &Envelope) -> bool {
        match self.front.write(key, envelope).await {
            Ok(_) => {
                self.wrote_frontend(key);
                true
            }
            Err(_) => {
                Counters::bump(&self.counters.frontend_errors);
                self.invalidate_frontend(key).await;
                false
            }
        }
    }

    /// Drop the frontend's copy (the backend has a newer truth).
    pub async fn invalidate_frontend(&self, key: &Key) {
        match self.front.delete(key).await {
            Ok(()) => self.wrote_frontend(key),
            Err(_) => {
                Counters::bump(&self.counters.frontend_errors);
                self.suspects.set(key, true);
            }
        }
    }

    /// A write-behind overwrite completed without suspending, when the frontend is a
    /// cache and the queue has room: `Fast::Done`. `Fast::Queue` when the frontend took it
    /// but the queue is full (the caller must wait in [`Queue::push`]); `Fast::No` when
    /// the frontend is not a cache.
    pub fn write_behind_now(&self, key: &Key, envelope: Envelope) -> Fast {
        let Some(queue) = self.queue.as_ref().filter(|_| self.front.is_typed()) else {
            return Fast::No(envelope);
        };
        let Some(record) = self.front.write_now(key, &envelope) else {
            return Fast::No(envelope);
        };
        // A cache is never durable, so it has no journal to find damaged: only the one
        // set to clear on this hot path.
        self.suspects.set(key, false);
        let (op, meta) = put_op(key, envelope);
        match queue.try_push(key, op, Some(record)) {
            Ok(()) => Fast::Done(meta),
            Err((op, record)) => Fast::Queue(op, record, meta),
        }
    }

    /// A new write of `value` the backend has not seen: dirty, with a fresh version.
    pub fn new_write(&self, value: Bytes) -> Envelope {
        Envelope {
            shown: self.next_version(),
            backend: None,
            modified: SystemTime::now(),
            tombstone: false,
            value,
        }
    }

    /// A write-behind write: journal it in the frontend, then queue it.
    pub async fn write_behind(&self, key: &Key, op: Op, envelope: Envelope) -> Result<()> {
        let record = self.front.write(key, &envelope).await?;
        self.wrote_frontend(key);
        if let Some(queue) = &self.queue {
            queue.push(key, op, Some(record)).await;
        }
        Ok(())
    }

    /// Under write-behind, wait until `key` has nothing pending (writing it ourselves if the
    /// drainer has not started on it). Called with the key's lock held.
    pub async fn drain_key(&self, key: &Key) -> Result<()> {
        let Some(queue) = &self.queue else {
            return Ok(());
        };
        loop {
            let changed = queue.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match queue.claim(key) {
                crate::queue::Claim::Clear => return Ok(()),
                crate::queue::Claim::Busy => changed.await,
                crate::queue::Claim::Claimed(job) => match crate::drain::apply(self, &job).await {
                    Ok(()) => queue.complete(&job),
                    Err(error) => {
                        Counters::bump(&self.counters.backend_errors);
                        queue.release(&job);
                        return Err(error);
                    }
                },
            }
        }
    }

    /// The backend version a caller's `expected` version stands for. Callers hold versions
    /// we showed them; for write-behind writes those are not the backend's own.
    pub async fn backend_version(&self, key: &Key, expected: &Version) -> Result<Version> {
        if let Lookup::Hit(envelope) = self.lookup(key).await?
            && !envelope.tombstone
            && &envelope.shown == expected
        {
            if let Some(version) = envelope.backend {
                return Ok(version);
            }
            // Drained but not marked clean (the mark failed): the backend's copy is ours.
            if let Some(meta) = self.backend.head(key).await? {
                return Ok(meta.version);
            }
        }
        Ok(expected.clone())
    }

    /// The metadata a caller sees for a backend listing entry: the frontend's shown version
    /// when its copy is the backend's current one (write-behind), else the backend's.
    pub async fn shown_meta(&self, meta: Meta) -> Result<Meta> {
        if let Lookup::Hit(envelope) = self.lookup(&meta.key).await?
            && !envelope.tombstone
            && envelope.backend.as_ref().is_none_or(|v| v == &meta.version)
        {
            return Ok(envelope.meta(&meta.key));
        }
        Ok(meta)
    }
}
