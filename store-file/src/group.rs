//! Group commit for `sync = "batch"`: writers to the same directory share its fsync.
//!
//! Each writer fsyncs its own temp file (the kernel merges concurrent file fsyncs into
//! one journal commit), renames it over its target and takes a ticket from the
//! directory's counter. If no fsync of the directory is running, the writer runs one for
//! every ticket handed out so far; otherwise it waits, and the next fsync (run by the
//! first writer to find none running) covers it and everyone who arrived meanwhile. A
//! writer returns only once an fsync that *started after its rename* has succeeded, so
//! `batch` loses nothing on power loss. Directories are independent: writers to
//! different directories never wait for each other (a single global group did, which
//! measured slower than `always` for writers in separate directories).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::fs::Fs;

/// One write ready to be published.
pub(crate) struct Job {
    /// The written and fsynced temp file.
    pub tmp: PathBuf,
    pub target: PathBuf,
    pub dir: PathBuf,
}

/// The fsync state of one directory.
#[derive(Default)]
struct DirState {
    /// Tickets handed out: one per rename into the directory.
    renamed: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// Whether a writer is running the directory's fsync.
    syncing: bool,
    /// The last failed fsync: tickets in `(from, through]` failed with this error.
    failed: Option<(u64, u64, io::ErrorKind, String)>,
    /// Writers using this entry; it leaves the map when none are.
    users: usize,
}

#[derive(Default)]
struct DirSync {
    state: Mutex<DirState>,
    done: Condvar,
}

/// The per-directory fsync coalescers of one store.
#[derive(Default)]
pub(crate) struct Group {
    dirs: Mutex<HashMap<PathBuf, Arc<DirSync>>>,
}

// A panic while a lock is held cannot leave these structures inconsistent (every update
// is a single assignment), so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Group {
    /// Rename the job's temp file over its target and return once the directory's entry
    /// is durable (or the fsync failed). Blocks the calling thread.
    pub fn commit<F: Fs>(&self, fs: &F, job: Job) -> io::Result<()> {
        // Lock order: the map, then a directory's state.
        let dir = {
            let mut dirs = lock(&self.dirs);
            let dir = dirs.entry(job.dir.clone()).or_default().clone();
            lock(&dir.state).users += 1;
            dir
        };
        let result = publish(fs, &dir, &job);
        let mut dirs = lock(&self.dirs);
        let mut state = lock(&dir.state);
        state.users -= 1;
        if state.users == 0 {
            dirs.remove(&job.dir);
        }
        result
    }
}

fn publish<F: Fs>(fs: &F, dir: &DirSync, job: &Job) -> io::Result<()> {
    if let Err(e) = fs.rename(&job.tmp, &job.target) {
        let _ = fs.remove_file(&job.tmp);
        return Err(e);
    }
    let mut state = lock(&dir.state);
    state.renamed += 1;
    let ticket = state.renamed;
    loop {
        // A successful fsync that started after the rename makes the entry durable.
        if state.synced >= ticket {
            return Ok(());
        }
        if let Some((from, through, kind, message)) = &state.failed
            && (*from < ticket && ticket <= *through)
        {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if state.syncing {
            state = dir.done.wait(state).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        state.syncing = true;
        let (from, through) = (state.synced, state.renamed);
        drop(state);
        let synced = fs.sync_dir(&job.dir);
        state = lock(&dir.state);
        state.syncing = false;
        match synced {
            Ok(()) => state.synced = state.synced.max(through),
            Err(e) => state.failed = Some((from, through, e.kind(), e.to_string())),
        }
        dir.done.notify_all();
    }
}
