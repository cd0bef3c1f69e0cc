//! How the frontend holds a value: the value prefixed with the metadata callers see.
//!
//! The frontend's own versions mean nothing to callers (the backend is the source of
//! truth), so every value the tiered store puts in its frontend carries a small header:
//! the version shown to callers, the backend's version once known, and the write time.
//! Reading a hit then needs no second lookup, and the header survives in a durable
//! frontend across restarts, where the dirty ones are the write-behind journal.
//!
//! Layout (integers big-endian), format 2, written by this build:
//!
//! ```text
//! "STv2" | CRC32C u32 of (key bytes ‖ everything after this field) | flags u8
//! | shown length u16 | shown | backend length u16 | backend | modified (ns since the epoch) u64
//! | value
//! ```
//!
//! Flags: bit 0 the backend version is known, bit 1 tombstone, bit 2 the backend version
//! is the shown one (then the backend field is empty). The checksum covers the key the
//! record is stored under, so a record moved to another key is damaged too. Format 1
//! (`"STv1"`, the same without the checksum) is still read, so journals written by earlier
//! builds replay; nothing can tell a damaged format-1 record from a good one, and each
//! is rewritten in format 2 the next time its key is written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use store_core::{Entry, Error, Key, Meta, Version};

const MAGIC: &[u8; 4] = b"STv2";
const MAGIC_V1: &[u8; 4] = b"STv1";
const FLAG_BACKEND: u8 = 1;
const FLAG_TOMBSTONE: u8 = 2;
const FLAG_SAME: u8 = 4;

/// The most header bytes an envelope adds (two versions of at most `u16::MAX` bytes).
pub const MAX_HEADER: u64 = 4 + 4 + 1 + 2 + 2 + 8 + 2 * u16::MAX as u64;

/// Why frontend bytes are not a usable envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undecodable {
    /// No envelope magic: not written by a tiered store (or its magic is what got damaged).
    Foreign,
    /// An envelope that fails its checksum or a format check.
    Damaged(&'static str),
}

impl Undecodable {
    /// The `Corrupted` error for a frontend record at `key` that does not decode.
    pub fn error(self, key: &Key) -> Error {
        match self {
            Undecodable::Foreign => Error::corrupted(
                key,
                "the frontend holds a value that is not a tiered-store record",
            ),
            Undecodable::Damaged(why) => {
                Error::corrupted(key, format!("the frontend's record is damaged: {why}"))
            }
        }
    }
}

/// A decoded frontend value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The version callers were given for this value.
    pub shown: Version,
    /// The backend's version of this value, once it is known to be in the backend.
    pub backend: Option<Version>,
    /// When the value was written.
    pub modified: SystemTime,
    /// A write-behind delete not yet known to be in the backend (or a cleaned one not yet
    /// removed): reads answer "absent" without asking the backend.
    pub tombstone: bool,
    /// The value itself.
    pub value: Bytes,
}

/// CRC32C (Castagnoli), as the file store uses, of the key and the bytes after the field.
pub(crate) fn checksum(key: &Key, rest: &[u8]) -> u32 {
    let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
    digest.update(key.as_str().as_bytes());
    digest.update(rest);
    // The algorithm's width is 32 bits: the u64 never holds more.
    digest.finalize() as u32
}

impl Envelope {
    /// The entry callers see.
    pub fn entry(self, key: &Key) -> Entry {
        Entry {
            meta: self.meta(key),
            value: self.value,
        }
    }

    /// The metadata callers see.
    pub fn meta(&self, key: &Key) -> Meta {
        Meta {
            key: key.clone(),
            size: self.value.len() as u64,
            version: self.shown.clone(),
            last_modified: self.modified,
        }
    }

    /// An envelope for a value whose backend metadata is `meta`.
    pub fn from_backend(entry: Entry) -> Self {
        Envelope {
            shown: entry.meta.version.clone(),
            backend: Some(entry.meta.version),
            modified: entry.meta.last_modified,
            tombstone: false,
            value: entry.value,
        }
    }

    /// A write-behind delete that has not reached the backend yet.
    pub fn tombstone(shown: Version) -> Self {
        Envelope {
            shown,
            backend: None,
            modified: SystemTime::now(),
            tombstone: true,
            value: Bytes::new(),
        }
    }

    /// A write-behind delete the backend has applied.
    pub fn clean_tombstone() -> Self {
        Envelope {
            backend: Some(Version::new("")),
            ..Envelope::tombstone(Version::new(""))
        }
    }

    /// Whether the backend may not hold this write yet (the write-behind journal).
    pub fn dirty(&self) -> bool {
        self.backend.is_none()
    }

    /// The bytes to store in the frontend at `key` (format 2).
    pub fn encode(&self, key: &Key) -> Bytes {
        let shown = clip(self.shown.as_str());
        // Usually the backend's version is the one shown: store it once (and decoding then
        // allocates one version, which matters on the hit path).
        let same = self.backend.as_ref() == Some(&self.shown);
        let backend = match &self.backend {
            Some(_) if same => Some(""),
            Some(v) => Some(clip(v.as_str())),
            None => None,
        };
        let backend_len = backend.map_or(0, str::len);
        let mut buf = BytesMut::with_capacity(
            4 + 4 + 1 + 2 + 2 + 8 + shown.len() + backend_len + self.value.len(),
        );
        buf.put_slice(MAGIC);
        buf.put_u32(0); // the checksum, once the rest is known
        let flags = (if backend.is_some() { FLAG_BACKEND } else { 0 })
            | (if self.tombstone { FLAG_TOMBSTONE } else { 0 })
            | (if same { FLAG_SAME } else { 0 });
        buf.put_u8(flags);
        buf.put_u16(shown.len() as u16);
        buf.put_slice(shown.as_bytes());
        let backend = backend.unwrap_or("");
        buf.put_u16(backend.len() as u16);
        buf.put_slice(backend.as_bytes());
        let nanos = self
            .modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        buf.put_u64(nanos);
        buf.put_slice(&self.value);
        let crc = checksum(key, &buf[8..]);
        buf[4..8].copy_from_slice(&crc.to_be_bytes());
        buf.freeze()
    }

    /// Decode the frontend's bytes at `key`. Bytes without an envelope magic are
    /// [`Undecodable::Foreign`]; an envelope that fails its checksum or any format check
    /// is [`Undecodable::Damaged`]. Only the exact encoding of an envelope decodes.
    pub fn decode(key: &Key, bytes: Bytes) -> Result<Self, Undecodable> {
        use Undecodable::Damaged;
        let magic = bytes.get(..4).ok_or(Undecodable::Foreign)?;
        let at: usize = if magic == MAGIC {
            let stored = bytes
                .get(4..8)
                .ok_or(Damaged("truncated in its checksum"))?;
            let rest = &bytes[8..];
            if u32::from_be_bytes(stored.try_into().map_err(|_| Damaged("checksum"))?)
                != checksum(key, rest)
            {
                return Err(Damaged("checksum mismatch"));
            }
            8
        } else if magic == MAGIC_V1 {
            4
        } else {
            return Err(Undecodable::Foreign);
        };
        // Parse the header from a plain slice: slicing `Bytes` per field would cost an
        // atomic reference-count round trip each, on the hit path.
        let raw: &[u8] = &bytes;
        let mut at = at;
        let mut take = |n: usize| -> Result<&[u8], Undecodable> {
            let end = at
                .checked_add(n)
                .filter(|end| *end <= raw.len())
                .ok_or(Damaged("truncated header"))?;
            let out = &raw[at..end];
            at = end;
            Ok(out)
        };
        let flags = take(1)?[0];
        if flags > FLAG_BACKEND | FLAG_TOMBSTONE | FLAG_SAME
            || (flags & FLAG_SAME != 0 && flags & FLAG_BACKEND == 0)
        {
            return Err(Damaged("unknown flags"));
        }
        let len = u16::from_be_bytes(take(2)?.try_into().map_err(|_| Damaged("length"))?) as usize;
        let shown = Version::new(utf8(take(len)?)?);
        let len = u16::from_be_bytes(take(2)?.try_into().map_err(|_| Damaged("length"))?) as usize;
        let backend_raw = take(len)?;
        let backend = if flags & FLAG_SAME != 0 {
            Some(shown.clone())
        } else if flags & FLAG_BACKEND != 0 {
            Some(Version::new(utf8(backend_raw)?))
        } else {
            None
        };
        // Only the encoder's own output decodes: the field is empty unless it holds a
        // version of its own, and that is never the shown one (that is `FLAG_SAME`).
        let own = flags & (FLAG_SAME | FLAG_BACKEND) == FLAG_BACKEND;
        if (!own && !backend_raw.is_empty()) || (own && backend.as_ref() == Some(&shown)) {
            return Err(Damaged("the backend version disagrees with its flags"));
        }
        let nanos = take(8)?;
        let nanos = u64::from_be_bytes(nanos.try_into().map_err(|_| Damaged("time"))?);
        Ok(Envelope {
            shown,
            backend,
            modified: UNIX_EPOCH + Duration::from_nanos(nanos),
            tombstone: flags & FLAG_TOMBSTONE != 0,
            value: bytes.slice(at..),
        })
    }
}

fn utf8(raw: &[u8]) -> Result<&str, Undecodable> {
    std::str::from_utf8(raw).map_err(|_| Undecodable::Damaged("a version is not UTF-8"))
}

// Versions longer than a u16 length are not produced by any backend we know; clipping at
// a char boundary keeps the header well-formed rather than failing the write.
fn clip(s: &str) -> &str {
    if s.len() <= u16::MAX as usize {
        return s;
    }
    let mut end = u16::MAX as usize;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
