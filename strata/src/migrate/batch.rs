//! One batch of a migration: read the keys from the source, write them to the destination,
//! and compare what the destination then holds (copy); or only read and compare (verify).

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use store_core::{DEFAULT_BATCH_CONCURRENCY, Entry, Error, Key, PutOp, Result, Store};

/// What one batch did.
#[derive(Default)]
pub(super) struct BatchDone {
    /// The batch's last listed key: everything up to it has been handled.
    pub last_key: Option<Key>,
    /// Keys listed, so progress can count them.
    pub listed: u64,
    pub copied: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub verified: u64,
    pub failures: Vec<(Key, String)>,
    /// Damaged source entries skipped: key, reason.
    pub damaged: Vec<(String, String)>,
}

/// The source entries of `keys` (`None` for keys gone since the listing). A damaged
/// entry fails the batch, unless `skip_corrupt`: then it is left out and reported.
async fn read_source(
    from: &dyn Store,
    keys: &[Key],
    skip_corrupt: bool,
    done: &mut BatchDone,
) -> Result<Vec<Entry>> {
    let entries = match from.get_many(keys).await {
        Ok(entries) => entries,
        // One damaged value fails the whole `get_many`: find it by reading one at a time.
        Err(e) if skippable(&e, skip_corrupt) => {
            let gets: Vec<_> = keys.iter().map(|key| from.get(key)).collect();
            let results: Vec<Result<Option<Entry>>> = futures::stream::iter(gets)
                .buffered(DEFAULT_BATCH_CONCURRENCY)
                .collect()
                .await;
            let mut entries = Vec::with_capacity(keys.len());
            for (key, result) in keys.iter().zip(results) {
                match result {
                    Ok(entry) => entries.push(entry),
                    Err(e) if skippable(&e, true) => {
                        done.damaged.push((key.to_string(), e.message().to_owned()));
                    }
                    Err(e) => return Err(e),
                }
            }
            entries
        }
        Err(e) => return Err(e),
    };
    done.skipped += entries.iter().filter(|e| e.is_none()).count() as u64;
    Ok(entries.into_iter().flatten().collect())
}

/// Size and content hash of a value the destination must hold.
type Expected = (Key, u64, blake3::Hash);

fn expected(key: &Key, value: &[u8]) -> Expected {
    (key.clone(), value.len() as u64, blake3::hash(value))
}

/// Read the `expected` keys back from the destination and compare.
async fn compare(to: &dyn Store, expected: Vec<Expected>, done: &mut BatchDone) -> Result<()> {
    let keys: Vec<Key> = expected.iter().map(|(k, _, _)| k.clone()).collect();
    let copies = to.get_many(&keys).await?;
    for ((key, size, hash), copy) in expected.into_iter().zip(copies) {
        match copy {
            None => done
                .failures
                .push((key, "missing in the destination".to_owned())),
            Some(e) if e.meta.size != size || e.value.len() as u64 != size => done.failures.push((
                key,
                format!(
                    "size {} in the destination, {size} in the source",
                    e.meta.size
                ),
            )),
            Some(e) if blake3::hash(&e.value) != hash => {
                done.failures.push((key, "content hash differs".to_owned()))
            }
            Some(_) => done.verified += 1,
        }
    }
    Ok(())
}

fn started(keys: &[Key]) -> BatchDone {
    BatchDone {
        last_key: keys.last().cloned(),
        listed: keys.len() as u64,
        ..BatchDone::default()
    }
}

/// Copy `keys` from `from` to `to` (one `get_many`, then one `put_many`, or several where
/// their bytes exceed `to`'s `max_batch_bytes`), then compare if `verify`.
pub(super) async fn copy(
    from: Arc<dyn Store>,
    to: Arc<dyn Store>,
    keys: Vec<Key>,
    verify: bool,
    skip_corrupt: bool,
) -> Result<BatchDone> {
    let mut done = started(&keys);
    let entries = read_source(from.as_ref(), &keys, skip_corrupt, &mut done).await?;
    let ops: Vec<PutOp> = entries
        .into_iter()
        .map(|e| PutOp::overwrite(e.meta.key, e.value))
        .collect();
    done.bytes = ops.iter().map(|op| op.value.len() as u64).sum();
    done.copied = ops.len() as u64;
    let expected: Vec<Expected> = if verify {
        ops.iter().map(|op| expected(&op.key, &op.value)).collect()
    } else {
        Vec::new()
    };
    let count = ops.len();
    for batch in to.capabilities().put_batches(ops, count) {
        to.put_many(batch).await?;
    }
    if verify {
        compare(to.as_ref(), expected, &mut done).await?;
    }
    Ok(done)
}

/// Compare `keys` in `to` with the source, copying nothing (the range an earlier run
/// copied, when a resumed run verifies).
pub(super) async fn verify(
    from: Arc<dyn Store>,
    to: Arc<dyn Store>,
    keys: Vec<Key>,
    skip_corrupt: bool,
) -> Result<BatchDone> {
    let mut done = started(&keys);
    let entries = read_source(from.as_ref(), &keys, skip_corrupt, &mut done).await?;
    let expected = entries
        .iter()
        .map(|e| expected(&e.meta.key, &e.value))
        .collect();
    compare(to.as_ref(), expected, &mut done).await?;
    Ok(done)
}

/// Whether `error` is a damaged entry to skip.
pub(super) fn skippable(error: &Error, skip_corrupt: bool) -> bool {
    skip_corrupt && error.damaged_key().is_some()
}

/// Drop the damaged entries of a listing (when skipping), handing each to `damaged`.
pub(super) fn listing_without_damaged<'a>(
    listing: futures::stream::BoxStream<'static, Result<store_core::Meta>>,
    skip_corrupt: bool,
    damaged: &'a std::sync::Mutex<Vec<(String, String)>>,
) -> impl futures::Stream<Item = Result<Key>> + Send + 'a {
    listing.map_ok(|meta| meta.key).filter_map(move |item| {
        let keep = match item {
            Err(e) if skippable(&e, skip_corrupt) => {
                let key = e.damaged_key().unwrap_or_default().to_owned();
                damaged
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((key, e.message().to_owned()));
                None
            }
            other => Some(other),
        };
        futures::future::ready(keep)
    })
}
