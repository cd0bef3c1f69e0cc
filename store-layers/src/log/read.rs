//! Reading: a snapshot of the log as of the head read when the stream starts.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Error, ListOptions, Result, Store};

use super::append::{read_head, read_open};
use super::format::{Head, LogKeys, decode_segment};
use super::{LogEntry, LogOptions};

/// Where a reader is.
struct Reader<'a> {
    store: &'a dyn Store,
    keys: LogKeys,
    /// The next sequence number to yield.
    pos: u64,
    /// One past the last entry of the snapshot.
    end: u64,
    /// The open segment as the reader last knew it.
    head: Head,
    /// First sequence numbers of the sealed segments before `head.seg_start`, ascending.
    sealed: Vec<u64>,
    ready: VecDeque<LogEntry>,
}

pub(crate) fn read_log<'a>(
    store: &'a dyn Store,
    log: &str,
    from: u64,
) -> BoxStream<'a, Result<LogEntry>> {
    let keys = match LogKeys::new(log) {
        Ok(keys) => keys,
        Err(e) => return stream::once(async { Err(e) }).boxed(),
    };
    stream::once(start(store, keys, from))
        .map_ok(|reader| {
            stream::try_unfold(reader, |mut reader| async move {
                if reader.ready.is_empty() && reader.pos < reader.end {
                    reader.load().await?;
                }
                Ok(reader.ready.pop_front().map(|entry| (entry, reader)))
            })
        })
        .try_flatten()
        .boxed()
}

async fn start(store: &dyn Store, keys: LogKeys, from: u64) -> Result<Reader<'_>> {
    let (head, _) = read_head(store, &keys, &LogOptions::default()).await?;
    let mut sealed = Vec::new();
    if from < head.seg_start {
        let mut listing = store.list(ListOptions::prefix(keys.sealed_prefix()?));
        while let Some(meta) = listing.try_next().await? {
            let start = keys.sealed_start(&meta.key)?;
            // Only segments the snapshot commits (a later seal may already be there).
            if start < head.seg_start {
                sealed.push(start);
            }
        }
    }
    Ok(Reader {
        store,
        keys,
        pos: from,
        end: head.seq,
        head,
        sealed,
        ready: VecDeque::new(),
    })
}

impl Reader<'_> {
    /// Queue the entries of the segment holding `pos`, from `pos` to the snapshot's end.
    async fn load(&mut self) -> Result<()> {
        let (first, entries) = loop {
            if self.pos < self.head.seg_start {
                break self.load_sealed().await?;
            }
            if let Some(open) = read_open(self.store, &self.keys, &self.head).await? {
                break (open.first_seq, open.entries);
            }
            // Superseded by a later append: same segment under a new object, or sealed.
            let (head, _) = read_head(self.store, &self.keys, &LogOptions::default()).await?;
            if head.seg_start != self.head.seg_start {
                self.sealed.push(self.head.seg_start);
            }
            self.head = head;
        };
        let skip = usize::try_from(self.pos - first).unwrap_or(usize::MAX);
        for value in entries.into_iter().skip(skip) {
            if self.pos >= self.end {
                break;
            }
            self.ready.push_back(LogEntry {
                seq: self.pos,
                value,
            });
            self.pos += 1;
        }
        if self.ready.is_empty() {
            let key = self.keys.head()?;
            return Err(Error::corrupted(
                key,
                format!("log entry {} is missing", self.pos),
            ));
        }
        Ok(())
    }

    async fn load_sealed(&mut self) -> Result<(u64, Vec<Bytes>)> {
        let index = self.sealed.partition_point(|&start| start <= self.pos);
        let head_key = self.keys.head()?;
        let Some(&start) = index.checked_sub(1).and_then(|i| self.sealed.get(i)) else {
            return Err(Error::corrupted(
                head_key,
                format!("no segment holds log entry {}", self.pos),
            ));
        };
        let key = self.keys.sealed(start)?;
        let Some(entry) = self.store.get(&key).await? else {
            return Err(Error::corrupted(key, "a sealed log segment is missing"));
        };
        Ok((start, decode_segment(&key, &entry.value, start)?.entries))
    }
}
