//! Appending: copy-on-write of the open segment, committed by a CAS on the head.

use std::time::Duration;

use bytes::Bytes;
use store_core::{Error, ErrorKind, Key, PutMode, Result, Store, Version};

use super::LogOptions;
use super::format::{
    Head, LogKeys, Segment, decode_head, decode_segment, encode_head, encode_segment,
};

/// How many times an append retries after losing the head CAS to another appender.
pub const APPEND_MAX_ATTEMPTS: u32 = 10_000;

/// The head and its version (`None`: no log yet, an empty head with `options`' bounds).
pub(crate) async fn read_head(
    store: &dyn Store,
    keys: &LogKeys,
    options: &LogOptions,
) -> Result<(Head, Option<Version>)> {
    let key = keys.head()?;
    match store.get(&key).await? {
        Some(entry) => Ok((decode_head(&key, &entry.value)?, Some(entry.meta.version))),
        None => Ok((
            Head::empty(options.max_entries.max(1), options.max_bytes.max(1)),
            None,
        )),
    }
}

/// The open segment `head` names, or `None` if a newer head superseded (and removed) it.
pub(crate) async fn read_open(
    store: &dyn Store,
    keys: &LogKeys,
    head: &Head,
) -> Result<Option<Segment>> {
    let Some(token) = &head.open else {
        return Ok(Some(Segment::new(head.seg_start, Vec::new())));
    };
    let key = keys.open(head.seg_start, token)?;
    let Some(entry) = store.get(&key).await? else {
        return Ok(None);
    };
    let segment = decode_segment(&key, &entry.value, head.seg_start)?;
    if segment.entries.len() as u64 != head.seq - head.seg_start {
        return Err(Error::corrupted(
            &key,
            "the open segment does not hold what the head committed",
        ));
    }
    Ok(Some(segment))
}

/// Append `value`; see [`AppendLog::append`](super::AppendLog::append).
pub(crate) async fn append(
    store: &dyn Store,
    log: &str,
    value: Bytes,
    options: &LogOptions,
) -> Result<u64> {
    if !store.capabilities().supports_conditional_puts() {
        return Err(Error::unsupported(
            "the append log needs conditional puts (Create/Update); this store has none",
        ));
    }
    let keys = LogKeys::new(log)?;
    let head_key = keys.head()?;
    for attempt in 0..APPEND_MAX_ATTEMPTS {
        let (head, version) = read_head(store, &keys, options).await?;
        let Some(open) = read_open(store, &keys, &head).await? else {
            continue; // superseded between the two reads: read the new head
        };
        let (seg_start, mut entries) = if open.is_full(&head) {
            seal(store, &keys, open).await?;
            (head.seq, Vec::new())
        } else {
            (head.seg_start, open.entries)
        };
        entries.push(value.clone());
        let token = format!("{:032x}", rand::random::<u128>());
        let ours = keys.open(seg_start, &token)?;
        let segment = Segment::new(seg_start, entries);
        store
            .put(&ours, encode_segment(&ours, &segment)?, PutMode::Create)
            .await?;
        let next = Head {
            seq: head.seq + 1,
            seg_start,
            open: Some(token),
            ..head.clone()
        };
        let mode = version.map_or(PutMode::Create, PutMode::Update);
        match store
            .put(&head_key, encode_head(&head_key, &next)?, mode)
            .await
        {
            Ok(_) => {
                // Superseded: the new segment object (or the sealed copy) holds all it held.
                if let Some(previous) = &head.open {
                    let _ = store.delete(&keys.open(head.seg_start, previous)?).await;
                }
                return Ok(head.seq);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::VersionMismatch
                ) =>
            {
                // Lost the race: our object is referenced by no head and never will be.
                let _ = store.delete(&ours).await;
                back_off(attempt).await;
            }
            // Unknown outcome (the head may have moved to our object): keep it, report.
            Err(e) => return Err(e),
        }
    }
    Err(Error::unavailable(format!(
        "append to log `{log}` lost the head compare-and-swap {APPEND_MAX_ATTEMPTS} times"
    ))
    .with_key(&head_key))
}

/// Write the sealed copy of a full open segment. Its content is fixed by the committed
/// head (a full segment takes no more entries), so every appender that seals it writes
/// the same bytes, and `AlreadyExists` means it is done.
async fn seal(store: &dyn Store, keys: &LogKeys, open: Segment) -> Result<()> {
    let key: Key = keys.sealed(open.first_seq)?;
    match store
        .put(&key, encode_segment(&key, &open)?, PutMode::Create)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A short random pause, growing with the attempts, so contending appenders spread out.
async fn back_off(attempt: u32) {
    let ceiling = 1u64 << attempt.min(6);
    let micros = rand::random_range(0..ceiling * 100);
    tokio::time::sleep(Duration::from_micros(micros)).await;
}
