//! The write-behind queue: acknowledged writes waiting for the backend.
//!
//! One entry per key holds that key's latest write, so repeated writes coalesce and a
//! key never has two backend writes in flight (per-key order). Keys are handed to the
//! drainer in the order they first became pending. The number of pending keys is bounded:
//! a write that would exceed it waits (backpressure) instead of being dropped.
//!
//! Entries live in [`Slots`], reserved when the queue is made and reused as entries
//! drain: a write-behind put allocates nothing of its own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use store_core::{Error, ErrorKind, Key, ListOptions, Meta, Version};
use tokio::sync::Notify;

use crate::slots::{SlotEntry, Slots};

/// A write the backend has not seen yet.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Put this value; `version` and `modified` are what the caller was told. (Not a whole
    /// `Meta`: the key and size are known already, and a smaller entry is a cheaper push.)
    Put {
        value: Bytes,
        version: Version,
        modified: SystemTime,
    },
    /// Delete the key.
    Delete,
}

impl Op {
    /// The metadata the caller was told for a put; `None` for a delete.
    pub fn meta(&self, key: &Key) -> Option<Meta> {
        match self {
            Op::Put {
                value,
                version,
                modified,
            } => Some(Meta {
                key: key.clone(),
                size: value.len() as u64,
                version: version.clone(),
                last_modified: *modified,
            }),
            Op::Delete => None,
        }
    }
}

/// One unit of drain work: a key's latest write and the sequence number it had.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub key: Key,
    pub op: Op,
    /// The frontend's version of the journal record for this write, so the drainer can
    /// mark exactly that record clean (a newer write makes the mark fail harmlessly).
    pub frontend_version: Option<Version>,
    pub seq: u64,
}

#[derive(Debug)]
struct Pending {
    op: Op,
    frontend_version: Option<Version>,
    /// Sequence number of the latest write.
    seq: u64,
    /// No write older than this is still waiting in this entry (for `flush`).
    oldest: u64,
    /// The stamp of this entry's latest place in the drainer's line (see [`Place`]).
    queued: u64,
    in_flight: bool,
}

/// What a key's pending state is, for a writer that must wait for it.
pub(crate) enum Claim {
    /// Nothing pending for the key.
    Clear,
    /// The drainer is writing it now; wait for [`Queue::changed`].
    Busy,
    /// The caller now owns this job and must [`Queue::complete`] or [`Queue::release`] it.
    Claimed(Job),
}

/// One `flush` in progress: it waits for every write up to `seq`.
#[derive(Debug)]
struct Mark {
    id: u64,
    seq: u64,
    /// Entries still holding a write up to `seq`. Every entry pending when the flush
    /// began holds one, and later entries never do, so the flush starts from the map's
    /// size and counts down as entries move past `seq`: pushes pay nothing for flushes.
    waiting: usize,
}

/// A spot in the drainer's line: an entry's slab slot, and a stamp that entry recorded
/// when it was lined up. Slots are reused and entries line up again (after a retry, or a
/// write that arrived while in flight), so a place whose stamp is no longer its slot's
/// is stale and skipped.
#[derive(Clone, Copy, Debug, Default)]
struct Place {
    slot: usize,
    stamp: u64,
}

/// Entries reserved (and touched) up front, at most: beyond this the slab grows on demand.
const RESERVE_MAX: usize = 1 << 16;

#[derive(Debug)]
struct State {
    entries: Slots<Pending>,
    /// The drainer's line, oldest first.
    order: VecDeque<Place>,
    marks: Vec<Mark>,
    next_mark: u64,
    next_seq: u64,
    error_epoch: u64,
    last_error: Option<(ErrorKind, String, bool)>,
}

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    capacity: usize,
    /// Wakes the drainer: there is new work.
    pub work: Arc<Notify>,
    /// Wakes writers and flushers: an entry drained, a slot freed or an attempt failed.
    pub changed: Notify,
}

impl Queue {
    pub fn new(capacity: usize) -> Self {
        // Sized up front (to a point): growing mid-burst costs the writers that trigger it.
        let reserve = capacity.clamp(1, RESERVE_MAX);
        Queue {
            state: Mutex::new(State {
                entries: Slots::touched(reserve, || Pending {
                    op: Op::Delete,
                    frontend_version: None,
                    seq: 0,
                    oldest: 0,
                    queued: 0,
                    in_flight: false,
                }),
                order: touched_line(reserve),
                marks: Vec::new(),
                next_mark: 0,
                next_seq: 1,
                error_epoch: 0,
                last_error: None,
            }),
            capacity: capacity.max(1),
            work: Arc::new(Notify::new()),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a write, waiting while the queue is full.
    pub async fn push(&self, key: &Key, op: Op, frontend_version: Option<Version>) {
        let mut write = (op, frontend_version);
        loop {
            // Register for wake-ups only when the queue is full: registering costs more
            // than the rest of a push.
            write = match self.try_push(key, write.0, write.1) {
                Ok(()) => return,
                Err(write) => write,
            };
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            // Registered: look again so a slot freed meanwhile is not missed.
            write = match self.try_push(key, write.0, write.1) {
                Ok(()) => return,
                Err(write) => write,
            };
            changed.await;
        }
    }

    /// Queue a write if that needs no waiting; hands the write back when the queue is
    /// full and `key` is not already in it.
    pub fn try_push(
        &self,
        key: &Key,
        op: Op,
        frontend_version: Option<Version>,
    ) -> Result<(), (Op, Option<Version>)> {
        let mut guard = self.state();
        let state = &mut *guard;
        let seq = state.next_seq;
        let room = state.entries.len() < self.capacity;
        // One hash and one probe whether the key is new or coalesces.
        match state.entries.entry(key) {
            SlotEntry::Occupied(entry) => {
                entry.op = op;
                entry.frontend_version = frontend_version;
                entry.seq = seq;
            }
            SlotEntry::Vacant(room_for_key) if room => {
                let slot = room_for_key.insert(Pending {
                    op,
                    frontend_version,
                    seq,
                    oldest: seq,
                    queued: seq,
                    in_flight: false,
                });
                state.order.push_back(Place { slot, stamp: seq });
            }
            SlotEntry::Vacant(_) => return Err((op, frontend_version)),
        }
        state.next_seq += 1;
        drop(guard);
        self.work.notify_one();
        Ok(())
    }

    /// The next key for the drainer, marked in flight.
    #[cfg(test)]
    pub fn take_next(&self) -> Option<Job> {
        self.take_up_to(1).pop()
    }

    /// Up to `n` keys for the drainer, oldest first, marked in flight. One lock for the
    /// lot: the drainer refills many slots at once, and every lock it takes is one the
    /// writers pushing on another core may have to wait for.
    pub fn take_up_to(&self, n: usize) -> Vec<Job> {
        let mut jobs = Vec::new();
        let mut state = self.state();
        while jobs.len() < n
            && let Some(place) = state.order.pop_front()
        {
            if let Some((key, entry)) = state.entries.get_mut(place.slot)
                && entry.queued == place.stamp
                && !entry.in_flight
            {
                entry.in_flight = true;
                jobs.push(job(key, entry));
            }
        }
        jobs
    }

    /// Claim `key`'s pending write for the caller (a conditional put must drain it first).
    pub fn claim(&self, key: &Key) -> Claim {
        let mut state = self.state();
        match state.entries.find_mut(key) {
            None => Claim::Clear,
            Some((_, entry)) if entry.in_flight => Claim::Busy,
            Some((_, entry)) => {
                entry.in_flight = true;
                Claim::Claimed(job(key, entry))
            }
        }
    }

    /// The latest write for a job's key (writes that arrived while it was being retried).
    pub fn refresh(&self, job: &Job) -> Job {
        let mut state = self.state();
        match state.entries.find_mut(&job.key) {
            Some((_, entry)) => self::job(&job.key, entry),
            None => job.clone(),
        }
    }

    /// The job's write reached the backend.
    pub fn complete(&self, job: &Job) {
        let mut state = self.state();
        if let Some((slot, entry)) = state.entries.find_mut(&job.key) {
            let was = entry.oldest;
            if entry.seq == job.seq {
                state.entries.remove(slot);
                state.moved_past(was, u64::MAX);
            } else {
                // A newer write arrived meanwhile: it goes to the back of the line.
                entry.in_flight = false;
                entry.oldest = job.seq + 1;
                state.line_up(slot);
                state.moved_past(was, job.seq + 1);
                drop(state);
                self.work.notify_one();
            }
        }
        self.changed.notify_waiters();
    }

    /// The caller gives a claimed job back without writing it (its attempt failed).
    pub fn release(&self, job: &Job) {
        let mut state = self.state();
        if let Some((slot, entry)) = state.entries.find_mut(&job.key) {
            entry.in_flight = false;
            state.line_up(slot);
        }
        drop(state);
        self.work.notify_one();
    }

    /// Remember a failed backend attempt, for `flush` to report.
    pub fn record_error(&self, error: &Error) {
        let mut state = self.state();
        state.error_epoch += 1;
        state.last_error = Some((error.kind(), error.to_string(), error.retryable()));
        drop(state);
        self.changed.notify_waiters();
    }

    /// The key's pending write, if any: reads must see it before the backend does.
    pub fn lookup(&self, key: &Key) -> Option<Op> {
        self.state()
            .entries
            .find_mut(key)
            .map(|(_, e)| e.op.clone())
    }

    /// Pending writes that `options` admits, in key order (`None` is a delete).
    pub fn snapshot(&self, options: &ListOptions) -> Vec<(Key, Option<Meta>)> {
        let state = self.state();
        let mut out: Vec<(Key, Option<Meta>)> = state
            .entries
            .iter()
            .filter(|(key, _)| options.admits(key))
            .map(|(key, entry)| (key.clone(), entry.op.meta(key)))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// How many keys wait for the backend.
    pub fn depth(&self) -> usize {
        self.state().entries.len()
    }

    /// Start a flush: it waits for every write acknowledged until now. Poll it with
    /// [`Queue::flushed`]; dropping it (done or abandoned) unregisters it.
    pub fn mark(&self) -> FlushMark<'_> {
        let mut state = self.state();
        let id = state.next_mark;
        state.next_mark += 1;
        let mark = Mark {
            id,
            seq: state.next_seq - 1,
            waiting: state.entries.len(),
        };
        state.marks.push(mark);
        FlushMark {
            queue: self,
            id,
            epoch: state.error_epoch,
        }
    }

    /// `Ok(true)` once every write up to the mark is in the backend; an error if an
    /// attempt failed after the mark was taken.
    pub fn flushed(&self, mark: &FlushMark<'_>) -> Result<bool, Error> {
        let state = self.state();
        if state.error_epoch > mark.epoch
            && let Some((kind, message, retryable)) = &state.last_error
        {
            return Err(Error::new(
                *kind,
                format!("write-behind could not reach the backend: {message}"),
            )
            .with_retryable(*retryable));
        }
        Ok(state
            .marks
            .iter()
            .find(|m| m.id == mark.id)
            .is_none_or(|m| m.waiting == 0))
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.state().entries.is_empty()
    }
}

impl State {
    /// Put the entry in `slot` at the back of the drainer's line.
    fn line_up(&mut self, slot: usize) {
        if let Some((_, entry)) = self.entries.get_mut(slot) {
            entry.queued = entry.seq;
            self.order.push_back(Place {
                slot,
                stamp: entry.seq,
            });
        }
    }

    /// An entry's oldest pending write moved from `was` to `now` (`u64::MAX`: removed):
    /// flushes waiting for a write in between no longer wait for this entry.
    fn moved_past(&mut self, was: u64, now: u64) {
        for mark in &mut self.marks {
            if was <= mark.seq && mark.seq < now {
                mark.waiting = mark.waiting.saturating_sub(1);
            }
        }
    }
}

/// A flush in progress (see [`Queue::mark`]).
pub(crate) struct FlushMark<'a> {
    queue: &'a Queue,
    id: u64,
    /// The error epoch when the flush began: later failures are reported to it.
    epoch: u64,
}

impl Drop for FlushMark<'_> {
    fn drop(&mut self) {
        self.queue.state().marks.retain(|m| m.id != self.id);
    }
}

/// The drainer's line with room for `n` places, written once (see [`Slots::touched`]).
fn touched_line(n: usize) -> VecDeque<Place> {
    let mut line = VecDeque::with_capacity(n);
    line.resize(n, Place::default());
    line.clear();
    line
}

fn job(key: &Key, entry: &Pending) -> Job {
    Job {
        key: key.clone(),
        op: entry.op.clone(),
        frontend_version: entry.frontend_version.clone(),
        seq: entry.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &'static str) -> Op {
        Op::Put {
            value: Bytes::from_static(v.as_bytes()),
            version: Version::new(v),
            modified: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn flush_waits_for_writes_coalesced_while_in_flight() {
        let queue = Queue::new(4);
        let key = Key::new("k").unwrap();
        let other = Key::new("other").unwrap();
        assert!(queue.try_push(&key, put("a"), None).is_ok()); // seq 1
        let first = queue.take_next().unwrap();
        assert!(queue.try_push(&key, put("b"), None).is_ok()); // seq 2, coalesced
        assert!(queue.try_push(&other, put("c"), None).is_ok()); // seq 3
        let upto_3 = queue.mark();
        assert!(!queue.flushed(&upto_3).unwrap());
        queue.complete(&first);
        // seq 1 is in the backend; seq 2 (same key) and 3 are not.
        assert!(!queue.flushed(&upto_3).unwrap());
        let other_job = queue.take_next().unwrap();
        assert_eq!(other_job.key, other);
        queue.complete(&other_job);
        assert!(!queue.flushed(&upto_3).unwrap(), "seq 2 is still pending");
        // A write after the mark: the flush does not wait for it.
        assert!(queue.try_push(&other, put("d"), None).is_ok()); // seq 4
        let second = queue.take_next().unwrap();
        assert_eq!(second.seq, 2);
        queue.complete(&second);
        assert!(queue.flushed(&upto_3).unwrap());
        assert!(!queue.is_empty(), "seq 4 is still pending");
        drop(upto_3);
        assert!(
            queue.state().marks.is_empty(),
            "a dropped flush unregisters"
        );
    }

    #[test]
    fn a_reused_slot_is_not_taken_for_its_old_place_in_line() {
        let queue = Queue::new(2);
        let [a, b, c] = ["a", "b", "c"].map(|k| Key::new(k).unwrap());
        assert!(queue.try_push(&a, put("a1"), None).is_ok());
        // A conditional put claims `a` and writes it itself: its place stays in line.
        let Claim::Claimed(job) = queue.claim(&a) else {
            panic!("a is pending and not in flight");
        };
        assert!(queue.try_push(&c, put("c1"), None).is_ok());
        queue.complete(&job);
        // `b` gets the slot `a` had, and `a`'s old place, ahead of `c`, names it too.
        assert!(queue.try_push(&b, put("b1"), None).is_ok());
        let first = queue.take_up_to(1);
        assert_eq!(first[0].key, c, "c became pending before b");
        let rest = queue.take_up_to(8);
        assert_eq!(rest.len(), 1, "b once");
        assert_eq!(rest[0].key, b);
        // Released after a failed attempt, `b` lines up again and is taken again.
        queue.release(&rest[0]);
        let again = queue.take_up_to(8);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].key, b);
        queue.complete(&again[0]);
        queue.complete(&first[0]);
        assert!(queue.is_empty());
    }
}
