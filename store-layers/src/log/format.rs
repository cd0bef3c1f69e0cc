//! The log's records: the head and the segments, CBOR-encoded, and their keys.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store_core::{Error, Key, Prefix, Result, decode_cbor, encode_cbor};

/// The record format written (and the only one read).
const FORMAT: u8 = 1;

/// `<log>/head`: what is committed. Updated only with compare-and-swap.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Head {
    /// Record format.
    pub format: u8,
    /// Entries committed: the next append gets this sequence number.
    pub seq: u64,
    /// Sequence number of the open segment's first entry; every earlier entry is in a
    /// sealed segment.
    pub seg_start: u64,
    /// The open segment's object (`<log>/open/<seg_start>/<token>`), once it has entries.
    pub open: Option<String>,
    /// The log's segment bounds, fixed when the log is created so every appender seals
    /// segments at the same point.
    pub max_entries: u64,
    /// See `max_entries`.
    pub max_bytes: u64,
}

impl Head {
    /// The head of a log with no entries yet.
    pub fn empty(max_entries: u64, max_bytes: u64) -> Self {
        Head {
            format: FORMAT,
            seq: 0,
            seg_start: 0,
            open: None,
            max_entries,
            max_bytes,
        }
    }
}

/// A segment: consecutive entries from `first_seq` on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Record format.
    pub format: u8,
    /// Sequence number of `entries[0]`.
    pub first_seq: u64,
    /// The entries' values.
    pub entries: Vec<Bytes>,
}

impl Segment {
    pub fn new(first_seq: u64, entries: Vec<Bytes>) -> Self {
        Segment {
            format: FORMAT,
            first_seq,
            entries,
        }
    }

    /// Whether a segment this full takes no more entries (a segment reaches at most
    /// `max_entries` entries, and `max_bytes` plus one entry).
    pub fn is_full(&self, head: &Head) -> bool {
        let bytes: u64 = self.entries.iter().map(|e| e.len() as u64).sum();
        self.entries.len() as u64 >= head.max_entries || bytes >= head.max_bytes
    }
}

/// The keys of one log.
#[derive(Clone, Debug)]
pub(crate) struct LogKeys {
    name: String,
}

impl LogKeys {
    pub fn new(name: &str) -> Result<Self> {
        // Checked up front, so a bad name fails before any I/O.
        Key::new(format!("{name}/open/{:020}/{:032x}", 0, 0))?;
        Ok(LogKeys {
            name: name.to_owned(),
        })
    }

    pub fn head(&self) -> Result<Key> {
        Key::new(format!("{}/head", self.name))
    }

    pub fn open(&self, seg_start: u64, token: &str) -> Result<Key> {
        Key::new(format!("{}/open/{seg_start:020}/{token}", self.name))
    }

    pub fn sealed(&self, first_seq: u64) -> Result<Key> {
        Key::new(format!("{}/sealed/{first_seq:020}", self.name))
    }

    pub fn sealed_prefix(&self) -> Result<Prefix> {
        Prefix::new(format!("{}/sealed/", self.name))
    }

    /// The first sequence number a sealed segment's key names.
    pub fn sealed_start(&self, key: &Key) -> Result<u64> {
        let start = key
            .as_str()
            .rsplit('/')
            .next()
            .and_then(|digits| digits.parse().ok());
        start.ok_or_else(|| Error::corrupted(key, "not a sealed log segment's key"))
    }
}

pub(crate) fn encode_head(key: &Key, head: &Head) -> Result<Bytes> {
    encode_cbor(key, head)
}

pub(crate) fn decode_head(key: &Key, bytes: &[u8]) -> Result<Head> {
    let head: Head = decode_cbor(key, bytes)?;
    if head.format != FORMAT || head.seg_start > head.seq || head.max_entries == 0 {
        return Err(Error::corrupted(key, "not a valid log head"));
    }
    Ok(head)
}

pub(crate) fn encode_segment(key: &Key, segment: &Segment) -> Result<Bytes> {
    encode_cbor(key, segment)
}

/// Decode a segment and check it starts at `first_seq`.
pub(crate) fn decode_segment(key: &Key, bytes: &[u8], first_seq: u64) -> Result<Segment> {
    let segment: Segment = decode_cbor(key, bytes)?;
    if segment.format != FORMAT || segment.first_seq != first_seq {
        return Err(Error::corrupted(key, "not the log segment its key names"));
    }
    Ok(segment)
}
