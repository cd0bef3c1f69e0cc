//! How the frontend holds a value: the value prefixed with the metadata callers see.
//!
//! The frontend's own versions mean nothing to callers (the backend is the source of
//! truth), so every value the tiered store puts in its frontend carries a small header:
//! the version shown to callers, the backend's version once known, and the write time.
//! Reading a hit then needs no second lookup, and the header survives in a durable
//! frontend across restarts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use store_core::{Entry, Key, Meta, Version};

const MAGIC: &[u8; 4] = b"STv1";

/// The most header bytes an envelope adds (two versions of at most `u16::MAX` bytes).
pub const MAX_HEADER: u64 = 4 + 1 + 2 + 2 + 8 + 2 * u16::MAX as u64;

/// A decoded frontend value.
#[derive(Clone, Debug)]
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

    /// The bytes to store in the frontend.
    pub fn encode(&self) -> Bytes {
        let shown = clip(self.shown.as_str());
        // Usually the backend's version is the one shown: store it once (and decoding then
        // allocates one version, which matters on the hit path).
        let same = self.backend.as_ref() == Some(&self.shown);
        let backend = match &self.backend {
            Some(_) if same => Some(""),
            Some(v) => Some(clip(v.as_str())),
            None => None,
        };
        let mut buf = BytesMut::with_capacity(
            4 + 1 + 4 + 8 + shown.len() + backend.map_or(0, str::len) + self.value.len(),
        );
        buf.put_slice(MAGIC);
        buf.put_u8(
            u8::from(backend.is_some()) | (u8::from(self.tombstone) << 1) | (u8::from(same) << 2),
        );
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
        buf.freeze()
    }

    /// Decode frontend bytes; `None` if they are not an envelope (someone else wrote the
    /// frontend directly), which the tiered store treats as a miss.
    pub fn decode(bytes: Bytes) -> Option<Self> {
        // Parse the header from a plain slice: slicing `Bytes` per field would cost an
        // atomic reference-count round trip each, on the hit path.
        let raw: &[u8] = &bytes;
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let end = at.checked_add(n).filter(|end| *end <= raw.len())?;
            let out = &raw[at..end];
            at = end;
            Some(out)
        };
        if take(4)? != MAGIC {
            return None;
        }
        let flags = take(1)?[0];
        if flags > 0b111 {
            return None;
        }
        let len = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        let shown = Version::new(std::str::from_utf8(take(len)?).ok()?);
        let len = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        let backend_raw = take(len)?;
        let backend = if flags & 0b100 != 0 {
            Some(shown.clone())
        } else if flags & 1 == 1 {
            Some(Version::new(std::str::from_utf8(backend_raw).ok()?))
        } else {
            None
        };
        let nanos = u64::from_be_bytes(take(8)?.try_into().ok()?);
        Some(Envelope {
            shown,
            backend,
            modified: UNIX_EPOCH + Duration::from_nanos(nanos),
            tombstone: flags & 0b10 != 0,
            value: bytes.slice(at..),
        })
    }
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
mod tests {
    use super::*;

    #[test]
    fn roundtrip_keeps_everything() {
        let env = Envelope {
            shown: Version::new("wb.1.2"),
            backend: Some(Version::new("\"etag\"")),
            modified: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            tombstone: false,
            value: Bytes::from_static(b"\0value\xff"),
        };
        let back = Envelope::decode(env.encode()).expect("decodes");
        let same = Envelope {
            backend: Some(env.shown.clone()),
            ..env.clone()
        };
        let same_back = Envelope::decode(same.encode()).expect("decodes");
        assert_eq!(same_back.backend, Some(env.shown.clone()));
        assert!(same.encode().len() < env.encode().len());
        assert_eq!(back.shown, env.shown);
        assert_eq!(back.backend, env.backend);
        assert_eq!(back.modified, env.modified);
        assert_eq!(back.value, env.value);
        let none = Envelope {
            backend: None,
            ..env
        };
        let back = Envelope::decode(none.encode()).unwrap();
        assert_eq!(back.backend, None);
        assert!(back.dirty() && !back.tombstone);
        let gone = Envelope {
            tombstone: true,
            ..back
        };
        assert!(Envelope::decode(gone.encode()).unwrap().tombstone);
    }

    #[test]
    fn foreign_or_truncated_bytes_are_not_envelopes() {
        assert!(Envelope::decode(Bytes::from_static(b"plain value")).is_none());
        let env = Envelope {
            shown: Version::new("1"),
            backend: None,
            modified: UNIX_EPOCH,
            tombstone: false,
            value: Bytes::new(),
        };
        let bytes = env.encode();
        for cut in 0..bytes.len() {
            assert!(
                Envelope::decode(bytes.slice(..cut)).is_none(),
                "cut at {cut}"
            );
        }
    }
}
