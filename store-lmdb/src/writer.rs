//! The writer thread: group commit.
//!
//! Every write is a request on one channel. The thread takes the first request, drains
//! whatever else is already queued (up to [`MAX_GROUP_OPS`] writes and [`MAX_GROUP_BYTES`]
//! of values) into the same write transaction, evaluates each request's conditions inside
//! it in arrival order, commits once, updates the value cache, and only then acknowledges
//! every request. A request is a *unit*: a single put, a whole `put_many` or a whole
//! `delete_many`. A unit whose condition fails writes nothing and fails alone; its
//! neighbours in the group still commit.
//!
//! The thread owns the work: a caller whose future is dropped only stops waiting for the
//! acknowledgement, so cancellation can never leave a half-applied unit.
//!
//! The writer computes each row's checksum once, as it copies the value into the engine's
//! reserved space. If the engine panics inside a group (a damaged page) or reports the file
//! corrupted, the group fails with `Corrupted` and the thread lives on, but it refuses
//! every later write, flush and compaction of this handle with the same error: the
//! engine's in-memory state after such a failure is not trusted to commit. Reads go on.
//! None of this knows the engine: it writes through `engine::WriteRows`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::Bytes;
use store_core::{Entry, Error, ErrorKind, Key, Meta, PutMode, PutOp, Result};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{
    RowMeta, VALUE_HEADER_LEN, decode_meta, encode_counter, encode_meta, encode_value_into,
    to_meta, to_nanos,
};
use crate::config::RedbDurability;
use crate::core::Core;
use crate::engine::{Table, VERSION_COUNTER, WriteRows, get_with};
use crate::errors::no_panic;

/// At most this many writes (puts and deletes) go into one transaction.
pub const MAX_GROUP_OPS: usize = 4096;
/// A group stops taking requests once it holds this many value bytes (a single larger
/// request still runs, alone).
pub const MAX_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// Requests that may wait in the channel before senders wait for room.
pub(crate) const CHANNEL_CAPACITY: usize = 4096;

/// One request to the writer.
pub(crate) enum Request {
    /// A put or a `put_many`: all of its ops apply, or none.
    Put {
        ops: Vec<PutOp>,
        reply: oneshot::Sender<Result<Vec<Meta>>>,
    },
    /// A delete or a `delete_many`, applied together.
    Delete {
        keys: Vec<Key>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Commit durably (a no-op barrier when every commit already is).
    Flush { reply: oneshot::Sender<Result<()>> },
    /// Reclaim free space.
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    Compact {
        reply: oneshot::Sender<Result<bool>>,
    },
    /// Stop taking requests until `release` disconnects; `held` says the writer stopped.
    Hold {
        held: oneshot::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
    },
}

impl Request {
    fn is_write(&self) -> bool {
        matches!(self, Request::Put { .. } | Request::Delete { .. })
    }

    fn weight(&self) -> (usize, usize) {
        match self {
            Request::Put { ops, .. } => (ops.len(), ops.iter().map(|o| o.value.len()).sum()),
            Request::Delete { keys, .. } => (keys.len(), 0),
            _ => (0, 0),
        }
    }
}

/// The state only the writer thread touches.
pub(crate) struct Writer {
    core: Arc<Core>,
    /// The last version handed out; persisted in every commit.
    counter: u64,
    /// Set when the engine panicked or found the file corrupted in a write: every later write
    /// fails with it.
    damaged: Option<Error>,
}

/// What one unit did inside the group's transaction, kept until the commit succeeds.
enum Applied {
    Put(Vec<(Entry, Meta)>),
    Delete(Vec<Key>),
}

impl Writer {
    /// The writer of a database whose version counter is `counter` (see `schema::prepare`).
    pub(crate) fn new(core: Arc<Core>, counter: u64) -> Writer {
        Writer {
            core,
            counter,
            damaged: None,
        }
    }

    /// The error every write gets once the database proved damaged. It is a new error,
    /// not a copy: the damage's key (if any) is not the key of this write, so it is left
    /// out of the refusal and kept, with everything else, in the damage error, its cause.
    fn refused(&self) -> Option<Error> {
        self.damaged.as_ref().map(|e| {
            Error::new(
                ErrorKind::Corrupted,
                format!(
                    "{}; this handle refuses writes since (reads go on): copy the readable \
                     keys out, or restore the file from a backup",
                    e.message()
                ),
            )
            .with_cause(e.clone())
        })
    }

    /// Run `f` (a write transaction) so that a panic inside the engine becomes `Corrupted`, and
    /// remember that the database is damaged if it was.
    fn guarded<T>(&mut self, what: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if let Some(e) = self.refused() {
            return Err(e);
        }
        let core = self.core.clone();
        let result = no_panic(|| f(self), |panic| core.damaged(what, panic));
        // Only storage failures reach here (a unit's own failures are inner results), so a
        // `Corrupted` one is the engine's: the file is damaged.
        if let Err(e) = &result
            && e.kind() == ErrorKind::Corrupted
        {
            self.damaged = Some(e.clone());
        }
        result
    }

    /// The thread's body: serve requests until every sender is gone.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let mut next: Option<Request> = None;
        loop {
            let Some(first) = next.take().or_else(|| rx.blocking_recv()) else {
                // Closing: with `none`, make what was acknowledged durable, as `flush` would.
                // Nobody is left to tell if it fails; the engine keeps its last durable commit.
                let _ = self.guarded("committing durably", |w| w.durable_commit());
                return;
            };
            match first {
                Request::Flush { reply } => {
                    let done = self.guarded("committing durably", |w| w.durable_commit());
                    let _ = reply.send(done);
                }
                Request::Compact { reply } => {
                    let _ = reply.send(self.guarded("compacting", |w| w.compact()));
                }
                Request::Hold { held, release } => {
                    let _ = held.send(());
                    // Err means the hold guard was dropped: carry on.
                    let _ = release.recv();
                }
                write => {
                    let (mut ops, mut bytes) = write.weight();
                    let mut group = vec![write];
                    while ops < MAX_GROUP_OPS && bytes < MAX_GROUP_BYTES {
                        match rx.try_recv() {
                            Ok(req) if req.is_write() => {
                                let (o, b) = req.weight();
                                ops += o;
                                bytes += b;
                                group.push(req);
                            }
                            // A barrier waits for the writes queued before it.
                            Ok(req) => {
                                next = Some(req);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(group);
                }
            }
        }
    }

    fn commit_group(&mut self, group: Vec<Request>) {
        match self.guarded("writing", |w| w.apply_group(&group)) {
            Ok(outcomes) => {
                self.core.commits.fetch_add(1, Ordering::Relaxed);
                for (request, outcome) in group.into_iter().zip(outcomes) {
                    self.acknowledge(request, outcome);
                }
            }
            Err(e) => {
                // Nothing of the group was committed: every unit fails with the cause. The
                // versions it drew are skipped, which keeps them strictly increasing.
                for request in group {
                    self.acknowledge(request, Err(e.clone()));
                }
            }
        }
    }

    /// Run every unit in one transaction and commit. The outer error fails the whole group
    /// (storage or commit failure); the inner ones are per-unit condition failures.
    fn apply_group(&mut self, group: &[Request]) -> Result<Vec<Result<Applied>>> {
        let now = to_nanos(SystemTime::now());
        let mut outcomes = Vec::with_capacity(group.len());
        let counter = &mut self.counter;
        self.core.with_engine(|engine| {
            engine.write(&mut |rows| {
                outcomes.clear();
                for request in group {
                    let outcome = match request {
                        Request::Put { ops, .. } => put_unit(rows, ops, counter, now)?,
                        Request::Delete { keys, .. } => delete_unit(rows, keys)?,
                        _ => unreachable!("only writes are grouped"),
                    };
                    outcomes.push(outcome);
                }
                let row = encode_counter(VERSION_COUNTER, *counter);
                rows.put_counter(VERSION_COUNTER, &row)
            })
        })?;
        Ok(outcomes)
    }

    fn acknowledge(&self, request: Request, outcome: Result<Applied>) {
        let cache = &self.core.cache;
        match (request, outcome) {
            (Request::Put { reply, .. }, Ok(Applied::Put(written))) => {
                self.core
                    .writes
                    .fetch_add(written.len() as u64, Ordering::Relaxed);
                let metas = written
                    .into_iter()
                    .map(|(entry, meta)| {
                        cache.written(&meta.key, Some(entry));
                        meta
                    })
                    .collect();
                let _ = reply.send(Ok(metas));
            }
            (Request::Delete { reply, .. }, Ok(Applied::Delete(keys))) => {
                self.core
                    .writes
                    .fetch_add(keys.len() as u64, Ordering::Relaxed);
                for key in &keys {
                    cache.written(key, None);
                }
                let _ = reply.send(Ok(()));
            }
            (Request::Put { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            (Request::Delete { reply, .. }, Err(e)) => {
                let _ = reply.send(Err(e));
            }
            // A unit's outcome always matches its kind; other requests are not grouped.
            _ => {}
        }
    }

    fn durable_commit(&self) -> Result<()> {
        if self.core.durability == RedbDurability::Immediate {
            return Ok(());
        }
        self.core.with_engine(|engine| engine.sync())
    }

    fn compact(&self) -> Result<bool> {
        // Leave nothing non-durable behind: compaction rewrites the file.
        self.durable_commit()?;
        // The write lock waits out every read transaction (each holds the read lock).
        let mut engine = self.core.engine.write().unwrap_or_else(|p| p.into_inner());
        engine.as_mut().ok_or_else(|| self.core.closed())?.compact()
    }
}

/// The key's current version. The outer error fails the group (storage); the inner one,
/// a metadata row failing its checksum, fails only the unit that asked.
fn current_version(rows: &dyn WriteRows, key: &Key) -> Result<Result<Option<u64>>> {
    let row = get_with(rows, Table::Meta, key.as_str(), |row| {
        decode_meta(key.as_str(), row)
    })
    .map_err(|e| e.with_key(key))?;
    Ok(match row {
        None => Ok(None),
        Some(decoded) => decoded
            .map(|m| Some(m.version))
            .map_err(|why| Error::corrupted(key, why)),
    })
}

/// Check every condition (seeing earlier ops of the same unit), then write them all.
fn put_unit(
    rows: &mut dyn WriteRows,
    ops: &[PutOp],
    counter: &mut u64,
    now: u64,
) -> Result<Result<Applied>> {
    let mut pending: HashMap<&Key, u64> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        // An overwrite needs no current version, so it also replaces a damaged row.
        if op.mode != PutMode::Overwrite {
            let current = match pending.get(&op.key) {
                Some(v) => Some(*v),
                None => match current_version(rows, &op.key)? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                },
            };
            if let Err(e) = op.mode.check_counter(&op.key, current) {
                return Ok(Err(e));
            }
        }
        pending.insert(&op.key, *counter + 1 + i as u64);
    }
    let mut written = Vec::with_capacity(ops.len());
    for op in ops {
        *counter += 1;
        let version = *counter;
        let size = op.value.len();
        let row_meta = RowMeta {
            version,
            mtime: now,
            size: size as u64,
        };
        let key = op.key.as_str();
        let meta_row = encode_meta(key, row_meta);
        rows.put(Table::Meta, key, meta_row.len(), &mut |out| {
            out.copy_from_slice(&meta_row)
        })
        .map_err(|e| e.with_key(&op.key))?;
        rows.put(Table::Values, key, VALUE_HEADER_LEN + size, &mut |out| {
            encode_value_into(out, key, version, now, &op.value)
        })
        .map_err(|e| e.with_key(&op.key))?;
        let meta = to_meta(op.key.clone(), row_meta);
        let entry = Entry {
            value: Bytes::clone(&op.value),
            meta: meta.clone(),
        };
        written.push((entry, meta));
    }
    Ok(Ok(Applied::Put(written)))
}

fn delete_unit(rows: &mut dyn WriteRows, keys: &[Key]) -> Result<Result<Applied>> {
    for key in keys {
        rows.delete(Table::Meta, key.as_str())
            .map_err(|e| e.with_key(key))?;
        rows.delete(Table::Values, key.as_str())
            .map_err(|e| e.with_key(key))?;
    }
    Ok(Ok(Applied::Delete(keys.to_vec())))
}

/// Turn a failure of the request channel into the error a caller sees.
pub(crate) fn writer_gone(core: &Core) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!(
            "the writer of the {} store `{}` has stopped",
            core.name,
            core.path.display()
        ),
    )
}
