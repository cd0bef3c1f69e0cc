//! The checkpoint file: how far a migration got, so an interrupted run resumes.
//!
//! The rule it keeps: the file never names a key the destination has not made durable.
//! The migration writes it only right after a destination `flush` has returned, and the
//! write itself is atomic (a temp file, fsynced, renamed over the old one, the directory
//! fsynced), so a kill or power loss leaves the old checkpoint or the new one, never a
//! torn one and never one ahead of the destination.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use store_core::{Error, Key, Prefix, Result};

/// What a checkpoint records.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Checkpoint {
    pub prefix: String,
    /// Every source key up to this one is durable in the destination.
    pub last_key: String,
    /// Keys and bytes copied by every run so far.
    pub copied: u64,
    pub bytes: u64,
    /// Damaged source entries skipped so far (key → reason), so a resumed run still
    /// reports the ones an earlier, killed run skipped.
    #[serde(default)]
    pub damaged: BTreeMap<String, String>,
}

impl Checkpoint {
    /// The key after which the copy continues.
    pub fn resume_after(&self) -> Result<Key> {
        Key::new(&self.last_key)
    }
}

/// Read the checkpoint at `path`, if there is one; it must be for `prefix`.
pub(super) fn read(path: &Path, prefix: &Prefix) -> Result<Option<Checkpoint>> {
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
    Ok(Some(cp))
}

/// Replace the checkpoint at `path` with `cp`, durably, off the async runtime (it fsyncs).
pub(super) async fn write(path: &Path, cp: &Checkpoint) -> Result<()> {
    let text = serde_json::to_vec(cp).map_err(|e| Error::backend("encoding checkpoint", e))?;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write_blocking(&path, &text))
        .await
        .map_err(|e| Error::backend("writing the checkpoint", e))?
}

fn write_blocking(path: &Path, text: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |what: &str, at: &Path, e| Error::io(format!("{what} {}", at.display()), e);
    let mut file = std::fs::File::create(&tmp).map_err(|e| io("creating", &tmp, e))?;
    file.write_all(text).map_err(|e| io("writing", &tmp, e))?;
    file.sync_all().map_err(|e| io("syncing", &tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| io("renaming to", path, e))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    // The rename is durable once the directory is.
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing directory", &dir, e))
}

/// Remove the checkpoint of a finished run, so a later run starts from the beginning.
pub(super) fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(
            format!("removing checkpoint {}", path.display()),
            e,
        )),
    }
}
