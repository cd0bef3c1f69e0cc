//! The write-behind queue: acknowledged writes waiting for the backend.
//!
//! One entry per key holds that key's latest write, so repeated writes coalesce and a
//! key never has two backend writes in flight (per-key order). Keys are handed to the
//! drainer in the order they first became pending. The number of pending keys is bounded:
//! a write that would exceed it waits (backpressure) instead of being dropped.
//!
//! A put appends its write to the [`Inbox`]; writes are filed under their keys later, in
//! arrival order, by the next operation that needs the index. Entries live in [`Slots`],
//! reserved when the queue is made and reused as entries drain: a write-behind put
//! allocates nothing of its own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use store_core::{Error, Key, ListOptions, Meta, Version};
use tokio::sync::Notify;

use crate::inbox::{Inbox, touched_vec, touched_writes};
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

/// A write and its sequence number: as appended to the inbox, and as handed to the
/// drainer (then the latest write of its key).
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
    error_epoch: u64,
    /// The drainer's latest failure, given (with context) to the flushes it concerns.
    last_error: Option<Error>,
    /// An empty batch with room, swapped with the inbox's writes when they are filed.
    spare: Vec<Job>,
}

/// Locks are taken in this order: `state`, then `inbox`. A put takes only `inbox`.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    inbox: Mutex<Inbox>,
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
                order: VecDeque::from(touched_vec(reserve, Place::default)),
                marks: Vec::new(),
                next_mark: 0,
                error_epoch: 0,
                last_error: None,
                spare: touched_writes(reserve),
            }),
            inbox: Mutex::new(Inbox::new(reserve)),
            capacity: capacity.max(1),
            work: Arc::new(Notify::new()),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state with every write appended so far filed in it. The inbox is locked only
    /// to swap its writes out, so puts are not held up while they are filed.
    fn filed(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state();
        let mut batch = std::mem::take(&mut state.spare);
        std::mem::swap(&mut self.inbox().writes, &mut batch);
        if !batch.is_empty() {
            let coalesced = state.file_all(&mut batch);
            if coalesced > 0 {
                self.inbox().pending -= coalesced;
            }
        }
        state.spare = batch;
        state
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
        let mut inbox = self.inbox();
        if inbox.pending < self.capacity {
            inbox.append(key, op, frontend_version);
            drop(inbox);
            self.work.notify_one();
            return Ok(());
        }
        drop(inbox);
        // Full by the count, which counts writes to keys already pending until they are
        // filed: file everything (holding the inbox, so the count is exact) and see
        // whether `key` is pending, when this write only replaces its latest one.
        let mut state = self.state();
        let mut inbox = self.inbox();
        state.file_inbox(&mut inbox);
        if inbox.pending >= self.capacity && state.entries.find_mut(key).is_none() {
            return Err((op, frontend_version));
        }
        inbox.append(key, op, frontend_version);
        drop(state);
        drop(inbox);
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
        let mut state = self.filed();
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
        let mut state = self.filed();
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
        let mut state = self.filed();
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
                self.inbox().pending -= 1;
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
        state.last_error = Some(error.clone());
        drop(state);
        self.changed.notify_waiters();
    }

    /// The key's pending write, if any: reads must see it before the backend does.
    pub fn lookup(&self, key: &Key) -> Option<Op> {
        self.filed()
            .entries
            .find_mut(key)
            .map(|(_, e)| e.op.clone())
    }

    /// Pending writes that `options` admits, in key order (`None` is a delete).
    pub fn snapshot(&self, options: &ListOptions) -> Vec<(Key, Option<Meta>)> {
        let state = self.filed();
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
        self.filed().entries.len()
    }

    /// Start a flush: it waits for every write acknowledged until now. Poll it with
    /// [`Queue::flushed`]; dropping it (done or abandoned) unregisters it.
    pub fn mark(&self) -> FlushMark<'_> {
        let mut state = self.state();
        // Everything acknowledged so far filed, and nothing appended meanwhile.
        let mut inbox = self.inbox();
        state.file_inbox(&mut inbox);
        let id = state.next_mark;
        state.next_mark += 1;
        let mark = Mark {
            id,
            seq: inbox.next_seq - 1,
            waiting: state.entries.len(),
        };
        drop(inbox);
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
            && let Some(error) = &state.last_error
        {
            return Err(error
                .clone()
                .context("write-behind could not reach the backend"));
        }
        Ok(state
            .marks
            .iter()
            .find(|m| m.id == mark.id)
            .is_none_or(|m| m.waiting == 0))
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.inbox().pending == 0
    }
}

impl State {
    /// File every write in the inbox, keeping its count of pending keys exact.
    fn file_inbox(&mut self, inbox: &mut Inbox) {
        inbox.pending -= self.file_all(&mut inbox.writes);
    }

    /// File `writes` (emptying it); returns how many replaced a pending write.
    fn file_all(&mut self, writes: &mut Vec<Job>) -> usize {
        writes
            .drain(..)
            .fold(0, |n, write| n + usize::from(!self.file(write)))
    }

    /// File a write under its key, in arrival order; returns whether the key was new
    /// (`false`: the write replaced the key's pending one).
    fn file(&mut self, write: Job) -> bool {
        let Job {
            key,
            op,
            frontend_version,
            seq,
        } = write;
        match self.entries.entry(&key) {
            SlotEntry::Occupied(entry) => {
                entry.op = op;
                entry.frontend_version = frontend_version;
                entry.seq = seq;
                false
            }
            SlotEntry::Vacant(room) => {
                let slot = room.insert(Pending {
                    op,
                    frontend_version,
                    seq,
                    oldest: seq,
                    queued: seq,
                    in_flight: false,
                });
                self.order.push_back(Place { slot, stamp: seq });
                true
            }
        }
    }

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

    #[test]
    fn capacity_counts_keys_not_writes() {
        let queue = Queue::new(2);
        let [a, b, c] = ["a", "b", "c"].map(|k| Key::new(k).unwrap());
        for v in ["a1", "a2", "a3", "a4"] {
            assert!(queue.try_push(&a, put(v), None).is_ok(), "{v} coalesces");
        }
        assert!(queue.try_push(&b, put("b1"), None).is_ok());
        assert!(
            queue.try_push(&c, put("c1"), None).is_err(),
            "a third key waits"
        );
        assert!(
            queue.try_push(&a, put("a5"), None).is_ok(),
            "a pending key may change"
        );
        assert_eq!(queue.depth(), 2);
        let jobs = queue.take_up_to(8);
        let latest: Vec<_> = jobs.iter().map(|j| (j.key.as_str(), j.seq)).collect();
        assert_eq!(
            latest,
            [("a", 6), ("b", 5)],
            "each key's latest write, oldest key first"
        );
        for job in &jobs {
            queue.complete(job);
        }
        assert!(queue.is_empty());
        assert!(queue.try_push(&c, put("c2"), None).is_ok(), "room again");
    }

    /// Writers on several threads against a drainer on another, with a queue far smaller
    /// than the writes: the backend sees each key's writes in order and ends with its
    /// last one, and nothing is left behind.
    #[test]
    fn concurrent_writers_and_a_drainer_keep_per_key_order() {
        use std::collections::HashMap;
        use std::sync::atomic::{AtomicUsize, Ordering};

        const WRITERS: usize = 4;
        const WRITES: u64 = 5_000;
        let queue = Arc::new(Queue::new(8));
        let done = Arc::new(AtomicUsize::new(0));
        let drainer = {
            let (queue, done) = (queue.clone(), done.clone());
            std::thread::spawn(move || {
                let mut backend: HashMap<Key, u64> = HashMap::new();
                loop {
                    let finished = done.load(Ordering::Acquire) == WRITERS;
                    let jobs = queue.take_up_to(3);
                    if jobs.is_empty() && finished && queue.is_empty() {
                        return backend;
                    }
                    // The backend takes a while: writes arrive for keys in flight.
                    std::thread::sleep(std::time::Duration::from_micros(20));
                    for job in jobs {
                        let Op::Put { value, .. } = &job.op else {
                            panic!("only puts here");
                        };
                        let n: u64 = std::str::from_utf8(value).unwrap().parse().unwrap();
                        let old = backend.insert(job.key.clone(), n);
                        assert!(old < Some(n), "{}: {old:?} then {n}", job.key);
                        queue.complete(&job);
                    }
                    std::thread::yield_now();
                }
            })
        };
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (queue, done) = (queue.clone(), done.clone());
                std::thread::spawn(move || {
                    for n in 1..=WRITES {
                        let key = Key::new(format!("w{w}/k{}", n % 4)).unwrap();
                        let mut op = Op::Put {
                            value: Bytes::from(n.to_string()),
                            version: Version::new(n.to_string()),
                            modified: SystemTime::UNIX_EPOCH,
                        };
                        while let Err((back, _)) = queue.try_push(&key, op, None) {
                            op = back;
                            std::thread::yield_now();
                        }
                    }
                    done.fetch_add(1, Ordering::Release);
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let backend = drainer.join().unwrap();
        for w in 0..WRITERS {
            for k in 0..4u64 {
                let last = (1..=WRITES).rev().find(|n| n % 4 == k).unwrap();
                let key = Key::new(format!("w{w}/k{k}")).unwrap();
                assert_eq!(backend.get(&key), Some(&last), "{key}");
            }
        }
        assert_eq!(queue.inbox().pending, 0);
        assert_eq!(queue.depth(), 0);
    }
}
