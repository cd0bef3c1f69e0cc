//! Point reads that miss the value cache, coalesced onto tokio's blocking pool.
//!
//! A miss joins a queue; if no drainer is running, it starts one with `spawn_blocking`.
//! A drainer serves everything queued in one read transaction, looks again, and stops
//! only when the queue is empty. Concurrent misses thus share one thread hop and one read
//! transaction instead of paying one `spawn_blocking` and one `begin_read` each, while the
//! runtime's workers never touch the disk. When misses pile up faster than one drainer
//! serves them, more start (up to [`MAX_DRAINERS`]), so cold reads can use several cores.
//!
//! Freshness: a batch is taken from the queue before its read transaction begins, so every
//! read sees every write acknowledged before that read was queued. Each miss takes its
//! cache ticket before queueing, so a batch may fill the value cache only where no write
//! intervened (see `cache.rs`).

use std::sync::{Arc, Mutex, MutexGuard};

use store_core::{Entry, Error, Key, Result};
use tokio::sync::oneshot;

use crate::cache::Ticket;
use crate::core::Core;
use crate::errors::no_panic;
use crate::lookup::Reader;

/// At most this many blocking tasks serve misses at once.
const MAX_DRAINERS: usize = 4;

/// Misses waiting for a drainer, and how many drainers run.
#[derive(Default)]
pub(crate) struct MissQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: Vec<Miss>,
    drainers: usize,
}

struct Miss {
    key: Key,
    ticket: Ticket,
    reply: oneshot::Sender<Result<Option<Entry>>>,
}

impl MissQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section below leaves the state consistent before it could panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Read `key`, which missed the value cache, on the blocking pool.
pub(crate) async fn get_missed(core: &Arc<Core>, key: Key) -> Result<Option<Entry>> {
    let ticket = core.cache.ticket(&key);
    let (reply, answer) = oneshot::channel();
    let start = {
        let mut state = core.misses.lock();
        state.pending.push(Miss { key, ticket, reply });
        // Another drainer only when the queue outgrows the ones running.
        let start = state.drainers == 0
            || (state.drainers < MAX_DRAINERS && state.pending.len() > 2 * state.drainers);
        if start {
            state.drainers += 1;
        }
        start
    };
    if start {
        let drainer = Drainer {
            core: core.clone(),
            finished: false,
        };
        // Detached: the drainer serves other tasks' misses too. If the runtime is shutting
        // down, the closure is dropped unrun and the drainer's `Drop` fails the queue.
        drop(tokio::task::spawn_blocking(move || drainer.run()));
    }
    // Dropping this future only abandons the answer; the drainer's reply then goes nowhere.
    answer.await.map_err(|_| core.closed())?
}

struct Drainer {
    core: Arc<Core>,
    finished: bool,
}

impl Drainer {
    fn run(mut self) {
        loop {
            let batch = {
                let mut state = self.core.misses.lock();
                if state.pending.is_empty() {
                    state.drainers -= 1;
                    self.finished = true;
                    return;
                }
                // Leave some for the other drainers when the queue is long.
                let share = state.pending.len().div_ceil(state.drainers);
                let rest = state.pending.split_off(share);
                std::mem::replace(&mut state.pending, rest)
            };
            serve(&self.core, batch);
        }
    }
}

impl Drop for Drainer {
    /// A drainer that never ran, or panicked, must not stay counted: with none left, the
    /// queue would never be served again. The last one fails what waits, so the callers
    /// see an error, not a hang.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let pending = {
            let mut state = self.core.misses.lock();
            state.drainers -= 1;
            if state.drainers > 0 {
                return;
            }
            std::mem::take(&mut state.pending)
        };
        for miss in pending {
            let _ = miss.reply.send(Err(Error::unavailable(
                "the read task stopped (is the runtime shutting down?)",
            )));
        }
    }
}

/// Serve one batch in one read transaction. A transaction failure fails what is left of
/// the batch; a bad row fails only its own read.
fn serve(core: &Core, mut batch: Vec<Miss>) {
    let served = no_panic(
        || {
            core.read(|rows| {
                let reader = Reader::new(core, rows);
                for miss in batch.drain(..) {
                    let entry = reader.entry(&miss.key);
                    if let Ok(Some(entry)) = &entry {
                        core.cache.fill(miss.ticket, entry);
                    }
                    let _ = miss.reply.send(entry);
                }
                Ok(())
            })
        },
        |panic| core.damaged("beginning a read", panic),
    );
    if let Err(e) = served {
        for miss in batch {
            let _ = miss.reply.send(Err(e.clone()));
        }
    }
}
