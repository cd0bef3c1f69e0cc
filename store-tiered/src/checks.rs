//! The properties the decoders of stored bytes keep, as functions shared by the property
//! tests (on stable, in CI) and the cargo-fuzz targets (the `fuzzing` feature): any bytes
//! give an error, never a panic; bytes that decode are exactly the encoding of what they
//! decoded to (so no damage decodes into other data); a damaged encoding never decodes.
//! A failed property panics, which is how a fuzzer reports it.

use bytes::Bytes;
use store_core::{ErrorKind, Key};

use crate::envelope::{Envelope, checksum};
use crate::queue::Op;
use crate::recover::Record;

/// Decode `bytes` as the frontend's record at `key`; `None` if they do not decode.
/// Panics if a property fails.
pub(crate) fn envelope(key: &Key, bytes: &[u8]) -> Option<Envelope> {
    let envelope = Envelope::decode(key, Bytes::copy_from_slice(bytes)).ok()?;
    let again = if bytes.starts_with(b"STv1") {
        encode_v1(&envelope)
    } else {
        envelope.encode(key).to_vec()
    };
    assert_eq!(
        again, bytes,
        "a record that decodes is the encoding of what it decoded to"
    );
    Some(envelope)
}

/// Read `bytes` as write-behind recovery does (a journal record at `key`); `None` if they
/// are damaged. Panics if a property fails: a damaged record is `Corrupted` naming the
/// key, and a record recovery takes says what the envelope says.
pub(crate) fn journal(key: &Key, bytes: &[u8]) -> Option<Record> {
    let envelope = self::envelope(key, bytes);
    let record = match Record::decode(key, Bytes::copy_from_slice(bytes)) {
        Err(error) => {
            assert!(envelope.is_none(), "recovery refused a record reads take");
            assert_eq!(error.kind(), ErrorKind::Corrupted, "{error}");
            assert_eq!(error.key(), Some(key.as_str()), "{error}");
            return None;
        }
        Ok(record) => record,
    };
    let envelope = envelope.expect("recovery took a record reads refuse");
    match &record {
        Record::Dirty(Op::Put {
            value,
            version,
            modified,
        }) => {
            assert!(envelope.dirty() && !envelope.tombstone);
            assert_eq!(
                (value, version, modified),
                (&envelope.value, &envelope.shown, &envelope.modified)
            );
        }
        Record::Dirty(Op::Delete) => assert!(envelope.dirty() && envelope.tombstone),
        Record::CleanTombstone => assert!(!envelope.dirty() && envelope.tombstone),
        Record::Clean => assert!(!envelope.dirty() && !envelope.tombstone),
    }
    Some(record)
}

/// `body` behind the format-2 magic and a correct checksum for `key`: what reaches the
/// parser behind the checksum, which damage alone almost never does.
pub(crate) fn seal(key: &Key, body: &[u8]) -> Vec<u8> {
    let mut out = b"STv2".to_vec();
    out.extend_from_slice(&checksum(key, body).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The format-1 encoding (before checksums) that earlier builds wrote, to prove it is
/// still read.
pub(crate) fn encode_v1(envelope: &Envelope) -> Vec<u8> {
    let same = envelope.backend.as_ref() == Some(&envelope.shown);
    let backend = match &envelope.backend {
        Some(_) if same => Some(""),
        Some(v) => Some(v.as_str()),
        None => None,
    };
    let flags =
        u8::from(backend.is_some()) | (u8::from(envelope.tombstone) << 1) | (u8::from(same) << 2);
    let nanos = envelope
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut out = b"STv1".to_vec();
    out.push(flags);
    out.extend_from_slice(&(envelope.shown.as_str().len() as u16).to_be_bytes());
    out.extend_from_slice(envelope.shown.as_str().as_bytes());
    let backend = backend.unwrap_or("");
    out.extend_from_slice(&(backend.len() as u16).to_be_bytes());
    out.extend_from_slice(backend.as_bytes());
    out.extend_from_slice(&nanos.to_be_bytes());
    out.extend_from_slice(&envelope.value);
    out
}

/// A change to stored bytes, as damage makes them: indices wrap around the input.
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    /// Flip one bit.
    Flip { at: usize, bit: u8 },
    /// Overwrite one byte.
    Set { at: usize, byte: u8 },
    /// Swap two bytes.
    Swap { a: usize, b: usize },
    /// Keep only this many bytes (modulo the length).
    Truncate(usize),
    /// Append these bytes.
    Extend(Vec<u8>),
}

#[cfg(test)]
impl Mutation {
    /// A few mutations of any kind.
    pub fn some() -> impl proptest::strategy::Strategy<Value = Vec<Mutation>> {
        use proptest::prelude::*;
        let one = prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap { a, b }),
            any::<usize>().prop_map(Mutation::Truncate),
            proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        ];
        proptest::collection::vec(one, 1..4)
    }

    /// `bytes` with every mutation applied.
    pub fn apply_all(mutations: &[Mutation], bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for mutation in mutations {
            let len = out.len();
            match mutation {
                Mutation::Extend(more) => out.extend_from_slice(more),
                _ if len == 0 => {}
                Mutation::Flip { at, bit } => out[at % len] ^= 1 << (bit % 8),
                Mutation::Set { at, byte } => out[at % len] = *byte,
                Mutation::Swap { a, b } => out.swap(a % len, b % len),
                Mutation::Truncate(n) => out.truncate(n % len),
            }
        }
        out
    }
}

/// The encoding of `envelope` at `key`, damaged by `mutations`, never decodes (unless the
/// mutations cancel out), nor under another key. Panics otherwise.
#[cfg(test)]
pub(crate) fn damaged_envelope(key: &Key, envelope: &Envelope, mutations: &[Mutation]) {
    let good = envelope.encode(key).to_vec();
    let bad = Mutation::apply_all(mutations, &good);
    if bad != good {
        assert!(
            journal(key, &bad).is_none(),
            "damaged by {mutations:?}, still decoded"
        );
    }
    let elsewhere = Key::new(format!("{key}~moved")).expect("a valid key");
    assert!(
        journal(&elsewhere, &good).is_none(),
        "a record moved to another key decoded"
    );
}
