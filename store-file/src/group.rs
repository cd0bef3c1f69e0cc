//! Group commit for `sync = "batch"`: concurrent writers share fsyncs.
//!
//! Each writer writes and fsyncs its own temp file (concurrent file fsyncs are already
//! merged into one journal commit by the kernel) and queues the rename. One of them is the
//! leader: it takes the whole queue, renames each temp file over its target, fsyncs each
//! distinct directory once, and wakes the writers with their results. Writers that queued
//! meanwhile form the next group, led by the first of them. A writer is acknowledged only
//! after the directory fsync covering its rename, so `batch` loses nothing on power loss;
//! it lets one directory fsync serve many writes.

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::fs::Fs;

/// One write waiting for the group's rename and directory fsync.
pub(crate) struct Job {
    /// The written and fsynced temp file.
    pub tmp: PathBuf,
    pub target: PathBuf,
    pub dir: PathBuf,
}

enum SlotState {
    Waiting,
    /// The previous leader handed the next group to this writer.
    Lead,
    Done(io::Result<()>),
}

struct Slot {
    state: Mutex<SlotState>,
    wake: Condvar,
}

impl Slot {
    fn set(&self, state: SlotState) {
        *lock(&self.state) = state;
        self.wake.notify_one();
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<(Job, Arc<Slot>)>,
    leading: bool,
}

/// The group-commit queue of one store.
#[derive(Default)]
pub(crate) struct Group {
    queue: Mutex<Queue>,
}

// A panic while a lock is held cannot leave these structures inconsistent (every update
// is a single assignment or push), so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Group {
    /// Queue `job` and return once it is durable (or failed). Blocks the calling thread.
    pub fn commit<F: Fs>(&self, fs: &F, job: Job, sync_dirs: bool) -> io::Result<()> {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Waiting),
            wake: Condvar::new(),
        });
        let lead = {
            let mut queue = lock(&self.queue);
            queue.pending.push((job, slot.clone()));
            !std::mem::replace(&mut queue.leading, true)
        };
        if !lead {
            let mut state = lock(&slot.state);
            loop {
                match std::mem::replace(&mut *state, SlotState::Waiting) {
                    SlotState::Waiting => {
                        state = slot.wake.wait(state).unwrap_or_else(|p| p.into_inner())
                    }
                    SlotState::Lead => break,
                    SlotState::Done(result) => return result,
                }
            }
        }
        // This thread leads one group (which includes its own job), then hands over.
        let batch = std::mem::take(&mut lock(&self.queue).pending);
        run(fs, batch, sync_dirs);
        {
            let mut queue = lock(&self.queue);
            match queue.pending.first() {
                Some((_, next)) => next.set(SlotState::Lead),
                None => queue.leading = false,
            }
        }
        match std::mem::replace(&mut *lock(&slot.state), SlotState::Waiting) {
            SlotState::Done(result) => result,
            // `run` answers every slot of its batch, this one included.
            _ => Err(io::Error::other("group commit lost a write's result")),
        }
    }
}

fn copy(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// Rename each temp file over its target, then fsync each directory once.
fn run<F: Fs>(fs: &F, batch: Vec<(Job, Arc<Slot>)>, sync_dirs: bool) {
    let mut renamed = Vec::with_capacity(batch.len());
    for (job, slot) in batch {
        let Job { tmp, target, dir } = job;
        match fs.rename(&tmp, &target) {
            Ok(()) => renamed.push((dir, slot)),
            Err(e) => {
                let _ = fs.remove_file(&tmp);
                slot.set(SlotState::Done(Err(e)));
            }
        }
    }
    let dirs: BTreeSet<&PathBuf> = renamed.iter().map(|(dir, _)| dir).collect();
    // Concurrent directory fsyncs, so the kernel can merge them into one journal commit
    // (one after another, a group writing to 32 directories took 32 commits).
    let failed: Vec<(PathBuf, io::Error)> = if !sync_dirs {
        Vec::new()
    } else if dirs.len() == 1 {
        dirs.into_iter()
            .filter_map(|dir| fs.sync_dir(dir).err().map(|e| (dir.clone(), e)))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let syncs: Vec<_> = dirs
                .into_iter()
                .map(|dir| (dir, scope.spawn(move || fs.sync_dir(dir))))
                .collect();
            syncs
                .into_iter()
                .filter_map(|(dir, sync)| {
                    let result = sync
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("directory fsync panicked")));
                    result.err().map(|e| (dir.clone(), e))
                })
                .collect()
        })
    };
    for (dir, slot) in renamed {
        let result = match failed.iter().find(|(d, _)| *d == dir) {
            Some((_, e)) => Err(copy(e)),
            None => Ok(()),
        };
        slot.set(SlotState::Done(result));
    }
}
