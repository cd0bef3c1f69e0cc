use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use proptest::prelude::*;
use store_core::{Key, Version};

use super::{Envelope, Undecodable};
use crate::checks::{self, Mutation};

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

fn sample() -> Envelope {
    Envelope {
        shown: Version::new("wb.1.2"),
        backend: Some(Version::new("\"etag\"")),
        modified: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
        tombstone: false,
        value: Bytes::from_static(b"\0value\xff"),
    }
}

#[test]
fn roundtrip_keeps_everything() {
    let k = key("users/42");
    let env = sample();
    assert_eq!(Envelope::decode(&k, env.encode(&k)), Ok(env.clone()));
    let same = Envelope {
        backend: Some(env.shown.clone()),
        ..env.clone()
    };
    assert_eq!(Envelope::decode(&k, same.encode(&k)), Ok(same.clone()));
    assert!(same.encode(&k).len() < env.encode(&k).len(), "stored once");
    let dirty = Envelope {
        backend: None,
        ..env.clone()
    };
    let back = Envelope::decode(&k, dirty.encode(&k)).unwrap();
    assert!(back.dirty() && !back.tombstone);
    let gone = Envelope {
        tombstone: true,
        ..back
    };
    assert!(Envelope::decode(&k, gone.encode(&k)).unwrap().tombstone);
    let clean = Envelope::clean_tombstone();
    assert_eq!(Envelope::decode(&k, clean.encode(&k)), Ok(clean));
}

#[test]
fn format_1_records_of_earlier_builds_are_still_read() {
    let k = key("users/42");
    for env in [
        sample(),
        Envelope {
            backend: None,
            ..sample()
        },
        Envelope::clean_tombstone(),
    ] {
        let v1 = Bytes::from(checks::encode_v1(&env));
        assert!(v1.starts_with(b"STv1"));
        // Format 1 does not bind the key: any key reads it.
        assert_eq!(
            Envelope::decode(&key("elsewhere"), v1.clone()),
            Ok(env.clone())
        );
        assert_eq!(checks::envelope(&k, &v1), Some(env));
    }
}

#[test]
fn foreign_truncated_or_moved_bytes_are_not_envelopes() {
    let k = key("k");
    let plain = Bytes::from_static(b"plain value");
    assert_eq!(Envelope::decode(&k, plain), Err(Undecodable::Foreign));
    assert_eq!(
        Envelope::decode(&k, Bytes::new()),
        Err(Undecodable::Foreign)
    );
    let bytes = sample().encode(&k);
    for cut in 0..bytes.len() {
        assert!(
            Envelope::decode(&k, bytes.slice(..cut)).is_err(),
            "cut at {cut}"
        );
    }
    let moved = Envelope::decode(&key("other"), bytes);
    assert_eq!(moved, Err(Undecodable::Damaged("checksum mismatch")));
    let error = Undecodable::Damaged("checksum mismatch").error(&k);
    assert_eq!(error.kind(), store_core::ErrorKind::Corrupted);
    assert_eq!(error.key(), Some("k"));
}

fn keys() -> impl Strategy<Value = Key> {
    "[a-z0-9]{1,8}(/[a-z0-9._-]{1,8}){0,3}".prop_filter_map("a valid key", |s| Key::new(s).ok())
}

fn versions() -> impl Strategy<Value = Version> {
    ".{0,24}".prop_map(Version::new)
}

fn envelopes() -> impl Strategy<Value = Envelope> {
    (
        versions(),
        prop_oneof![
            Just(None),
            Just(Some(None)),
            versions().prop_map(|v| Some(Some(v)))
        ],
        any::<u64>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(shown, backend, nanos, tombstone, value)| Envelope {
            // `Some(None)`: the backend's version is the one shown.
            backend: backend.map(|b| b.unwrap_or_else(|| shown.clone())),
            shown,
            modified: UNIX_EPOCH + Duration::from_nanos(nanos),
            tombstone,
            value: Bytes::from(value),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn every_envelope_round_trips(k in keys(), env in envelopes()) {
        let bytes = env.encode(&k);
        prop_assert_eq!(checks::journal(&k, &bytes).is_some(), true);
        prop_assert_eq!(Envelope::decode(&k, bytes), Ok(env.clone()));
        let v1 = checks::encode_v1(&env);
        prop_assert_eq!(checks::envelope(&k, &v1), Some(env));
    }

    #[test]
    fn damaged_envelopes_never_decode(k in keys(), env in envelopes(), m in Mutation::some()) {
        checks::damaged_envelope(&k, &env, &m);
    }

    #[test]
    fn random_bytes_are_an_error_never_a_panic(
        k in keys(),
        magic in prop_oneof![Just(&b""[..]), Just(&b"STv2"[..]), Just(&b"STv1"[..])],
        tail in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        let bytes = [magic, &tail].concat();
        checks::journal(&k, &bytes);
        // Past the checksum, the parser itself: what decodes is an exact encoding.
        checks::journal(&k, &checks::seal(&k, &tail));
    }

    #[test]
    fn damaged_sealed_headers_are_an_error_never_a_panic(
        k in keys(),
        env in envelopes(),
        m in Mutation::some(),
    ) {
        // Damage behind a correct checksum (as a hostile writer makes it): the parser
        // rejects what is not an exact encoding, and never panics.
        let body = Mutation::apply_all(&m, &env.encode(&k)[8..]);
        checks::journal(&k, &checks::seal(&k, &body));
        checks::journal(&k, &Mutation::apply_all(&m, &checks::encode_v1(&env)));
    }
}
