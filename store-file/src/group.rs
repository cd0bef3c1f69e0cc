//! Group commit for `sync = "batch"`: concurrent writers share fsyncs.
//!
//! Each writer writes its temp file and queues the rename. One of them is the leader: it
//! takes the whole queue and, where the file system offers `syncfs(2)` (Linux),
//! 1. syncs the file system once, making every temp file of the group durable;
//! 2. renames each temp file over its target;
//! 3. syncs the file system again, making the renames durable;
//!
//! and wakes the writers with their results. Two syncs serve the whole group, however
//! large. Elsewhere each writer fsyncs its own temp file before queueing and the leader
//! fsyncs each distinct directory once after the renames. Writers that queued meanwhile
//! form the next group, led by the first of them. A writer is acknowledged only after the
//! sync covering its rename, so `batch` loses nothing on power loss.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::fs::Fs;

/// One write waiting for the group's syncs and rename.
pub(crate) struct Job {
    /// The written temp file.
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
    /// With `whole_fs`, the group is made durable by syncing the file system holding
    /// `root`; otherwise temp files must already be fsynced and directories are fsynced.
    pub fn commit<F: Fs>(&self, fs: &F, root: &Path, job: Job, whole_fs: bool) -> io::Result<()> {
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
        run(fs, root, batch, whole_fs);
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

/// Make the batch durable: see the module docs.
fn run<F: Fs>(fs: &F, root: &Path, batch: Vec<(Job, Arc<Slot>)>, whole_fs: bool) {
    if whole_fs && let Err(e) = fs.sync_fs(root) {
        for (job, slot) in batch {
            let _ = fs.remove_file(&job.tmp);
            slot.set(SlotState::Done(Err(copy(&e))));
        }
        return;
    }
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
    if whole_fs {
        let synced = fs.sync_fs(root);
        for (_, slot) in renamed {
            slot.set(SlotState::Done(synced.as_ref().map(|_| ()).map_err(copy)));
        }
        return;
    }
    let dirs: BTreeSet<&PathBuf> = renamed.iter().map(|(dir, _)| dir).collect();
    let mut failed = Vec::new();
    for dir in dirs {
        if let Err(e) = fs.sync_dir(dir) {
            failed.push((dir.clone(), e));
        }
    }
    for (dir, slot) in renamed {
        let result = match failed.iter().find(|(d, _)| *d == dir) {
            Some((_, e)) => Err(copy(e)),
            None => Ok(()),
        };
        slot.set(SlotState::Done(result));
    }
}
