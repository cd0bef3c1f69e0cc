//! Copy every key under a prefix from one store to another: streamed in key order,
//! pipelined with bounded concurrency, checkpointed so an interrupted run resumes, and
//! optionally verified by size and content hash. Nothing is deleted from the source.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use store_core::{Error, Key, ListOptions, Prefix, PutOp, Result, Store};

/// How a migration runs.
#[derive(Clone, Debug)]
pub struct MigrateOptions {
    /// Only keys under this prefix.
    pub prefix: Prefix,
    /// Read every copied value back from the destination and compare size and hash.
    pub verify: bool,
    /// Where progress is recorded after each batch; `None` disables checkpoints.
    pub checkpoint: Option<PathBuf>,
    /// Continue after the key recorded in `checkpoint` instead of starting over.
    pub resume: bool,
    /// Keys per batch (one `get_many` + one `put_many`).
    pub batch: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            prefix: Prefix::empty(),
            verify: false,
            checkpoint: None,
            resume: false,
            batch: 256,
            concurrency: 4,
        }
    }
}

/// What a migration did.
#[derive(Clone, Debug, Default)]
pub struct MigrateReport {
    /// Keys written to the destination in this run.
    pub copied: u64,
    /// Keys listed but gone from the source before they could be read.
    pub skipped: u64,
    /// Value bytes written in this run.
    pub bytes: u64,
    /// Keys verified equal in the destination.
    pub verified: u64,
    /// Keys whose destination copy did not match, with the reason.
    pub failures: Vec<(Key, String)>,
    /// The key a resumed run started after.
    pub resumed_after: Option<Key>,
    /// Wall time of this run.
    pub elapsed: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    prefix: String,
    last_key: String,
    copied: u64,
    bytes: u64,
}

fn read_checkpoint(path: &Path, prefix: &Prefix) -> Result<Option<Key>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::io(
                format!("reading checkpoint {}", path.display()),
                e,
            ));
        }
    };
    let cp: Checkpoint = serde_json::from_str(&text)
        .map_err(|e| Error::corrupted(path.display(), format!("checkpoint is not valid: {e}")))?;
    if cp.prefix != prefix.as_str() {
        return Err(Error::invalid_config(
            "resume",
            format!(
                "checkpoint {} is for prefix `{}`, not `{prefix}`; remove it or use the same prefix",
                path.display(),
                cp.prefix
            ),
        ));
    }
    Key::new(&cp.last_key).map(Some)
}

fn write_checkpoint(path: &Path, cp: &Checkpoint) -> Result<()> {
    // Write then rename, so a kill mid-write leaves the previous checkpoint intact.
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string(cp).map_err(|e| Error::backend("encoding checkpoint", e))?;
    std::fs::write(&tmp, text).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("renaming to {}", path.display()), e))
}

struct BatchDone {
    last_key: Option<Key>,
    copied: u64,
    skipped: u64,
    bytes: u64,
    verified: u64,
    failures: Vec<(Key, String)>,
}

async fn copy_batch(
    from: Arc<dyn Store>,
    to: Arc<dyn Store>,
    keys: Vec<Key>,
    verify: bool,
) -> Result<BatchDone> {
    let last_key = keys.last().cloned();
    let entries = from.get_many(&keys).await?;
    let skipped = entries.iter().filter(|e| e.is_none()).count() as u64;
    let ops: Vec<PutOp> = entries
        .into_iter()
        .flatten()
        .map(|e| PutOp::overwrite(e.meta.key, e.value))
        .collect();
    let bytes = ops.iter().map(|op| op.value.len() as u64).sum();
    let copied = ops.len() as u64;
    let expected: Vec<(Key, u64, blake3::Hash)> = if verify {
        ops.iter()
            .map(|op| {
                (
                    op.key.clone(),
                    op.value.len() as u64,
                    blake3::hash(&op.value),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    to.put_many(ops).await?;
    let mut verified = 0;
    let mut failures = Vec::new();
    if verify {
        let keys: Vec<Key> = expected.iter().map(|(k, _, _)| k.clone()).collect();
        let copies = to.get_many(&keys).await?;
        for ((key, size, hash), copy) in expected.into_iter().zip(copies) {
            match copy {
                None => failures.push((key, "missing in the destination".to_owned())),
                Some(e) if e.meta.size != size || e.value.len() as u64 != size => failures.push((
                    key,
                    format!(
                        "size {} in the destination, {size} in the source",
                        e.meta.size
                    ),
                )),
                Some(e) if blake3::hash(&e.value) != hash => {
                    failures.push((key, "content hash differs".to_owned()))
                }
                Some(_) => verified += 1,
            }
        }
    }
    Ok(BatchDone {
        last_key,
        copied,
        skipped,
        bytes,
        verified,
        failures,
    })
}

/// Copy keys from `from` to `to` as `options` say. `progress(keys, bytes)` is called
/// after each batch with that batch's counts.
///
/// Store errors stop the run; the checkpoint then holds the last batch that completed,
/// so a run with `resume` continues from there. Verification mismatches do not stop the
/// run; they are listed in the report.
pub async fn migrate(
    from: Arc<dyn Store>,
    to: Arc<dyn Store>,
    options: &MigrateOptions,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<MigrateReport> {
    let started = Instant::now();
    let mut report = MigrateReport::default();
    let start_after = match (&options.checkpoint, options.resume) {
        (Some(path), true) => read_checkpoint(path, &options.prefix)?,
        _ => None,
    };
    report.resumed_after = start_after.clone();
    let listing = ListOptions {
        prefix: options.prefix.clone(),
        start_after,
        limit: None,
    };
    let batch = options.batch.max(1);
    let mut batches = from
        .list(listing)
        .map_ok(|meta| meta.key)
        .try_chunks(batch)
        .map_err(|e| e.1)
        .map_ok(|keys| copy_batch(from.clone(), to.clone(), keys, options.verify))
        .try_buffered(options.concurrency.max(1));
    // `try_buffered` yields batches in listing order, so the checkpoint only ever names
    // a key below which everything has been copied.
    while let Some(done) = batches.try_next().await? {
        report.copied += done.copied;
        report.skipped += done.skipped;
        report.bytes += done.bytes;
        report.verified += done.verified;
        report.failures.extend(done.failures);
        progress(done.copied + done.skipped, done.bytes);
        if let (Some(path), Some(last)) = (&options.checkpoint, done.last_key) {
            write_checkpoint(
                path,
                &Checkpoint {
                    prefix: options.prefix.to_string(),
                    last_key: last.to_string(),
                    copied: report.copied,
                    bytes: report.bytes,
                },
            )?;
        }
    }
    to.flush().await?;
    if let Some(path) = &options.checkpoint {
        // Finished: a later run starts from the beginning.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("removing checkpoint {}", path.display()),
                    e,
                ));
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Count the keys and value bytes under `prefix` (a listing; values are not read).
pub async fn count(store: &dyn Store, prefix: &Prefix) -> Result<(u64, u64)> {
    store
        .list(ListOptions::prefix(prefix.clone()))
        .try_fold((0u64, 0u64), |(n, b), meta| async move {
            Ok((n + 1, b + meta.size))
        })
        .await
}
