//! Which directories on a put's path may still have entries that are not durable.
//!
//! A put is acknowledged only when its value file's entry and the entry of every
//! directory on its path would survive power loss. Two kinds of directory need care:
//! - **created by this store**, whose entry in its parent is not durable until the parent
//!   is fsynced. They are *pending* from just before `mkdir` until a put fsyncs the parent;
//!   a put that finds one on its path (another put may have just created it) fsyncs that
//!   parent before it is acknowledged;
//! - **found in place**, left by an earlier process. If that process was killed, it may
//!   have created or renamed entries it never fsynced (a put it never acknowledged): the
//!   page cache shows them, so this store would build on them, and power loss would take
//!   them and the new value with them. So the first put through such a directory fsyncs
//!   it (making everything in it durable, its subdirectory on the path included), and it
//!   is then *confirmed*: no later put of this store fsyncs it for that reason again.
//!
//! This replaces fsyncing the whole tree on open: a store pays one fsync per directory it
//! writes through, once, and opening reads nothing. The confirmed set only saves work,
//! so when it grows past [`CONFIRMED_MAX`] it is emptied (a directory then costs one more
//! fsync) rather than growing with the store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The most directories remembered as confirmed (about 100 bytes each).
const CONFIRMED_MAX: usize = 65_536;

#[derive(Default)]
struct State {
    pending: HashSet<PathBuf>,
    confirmed: HashSet<PathBuf>,
}

/// The durability bookkeeping of one store's directories.
#[derive(Default)]
pub(crate) struct DirState {
    state: Mutex<State>,
}

impl DirState {
    // Every update is a single insert or remove, so a panic cannot leave the sets
    // inconsistent: a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `dir` is known to hold only durable entries (or entries of this store,
    /// which it makes durable before acknowledging them).
    pub fn is_confirmed(&self, dir: &Path) -> bool {
        self.lock().confirmed.contains(dir)
    }

    /// Record that `dir` was fsynced after this store opened, or is this store's own.
    pub fn confirm(&self, dir: &Path) {
        let mut state = self.lock();
        if state.confirmed.len() >= CONFIRMED_MAX {
            state.confirmed.clear();
        }
        state.confirmed.insert(dir.to_path_buf());
    }

    /// Record, before `mkdir`, that this store is creating `dir`: its entry in its parent
    /// is pending, and what it will hold is the store's own.
    pub fn creating(&self, dir: &Path) {
        self.lock().pending.insert(dir.to_path_buf());
        self.confirm(dir);
    }

    /// Whether `dir`'s entry in its parent may not be durable yet.
    pub fn is_pending(&self, dir: &Path) -> bool {
        self.lock().pending.contains(dir)
    }

    /// Record that `dir`'s parent was fsynced after `dir` was created.
    pub fn settled(&self, dir: &Path) {
        self.lock().pending.remove(dir);
    }
}
