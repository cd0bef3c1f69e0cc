use proptest::prelude::*;
use store_core::{ErrorKind, Key};

use super::{FORMAT, Manifest, PageRef};
use crate::checks::{self, Mutation};
use crate::config::{IndexConfig, Metric};

fn key() -> Key {
    Key::new("vector-index/props/manifest").unwrap()
}

fn manifests() -> impl Strategy<Value = Manifest> {
    (
        1usize..2048,
        prop_oneof![Just(Metric::L2), Just(Metric::Cosine), Just(Metric::Dot)],
        2usize..64,
        1usize..512,
        0u32..5_000,
        any::<u32>(),
        0u8..=16,
    )
        .prop_map(|(dim, metric, m, per, slots, nonce, max_level)| {
            let mut manifest =
                Manifest::empty(IndexConfig::new(dim, metric).m(m).nodes_per_page(per));
            manifest.slots = slots;
            manifest.entry = (slots > 0).then(|| nonce % slots);
            manifest.max_level = max_level;
            manifest.pages = (0..slots.div_ceil(per as u32))
                .map(|p| PageRef {
                    key: format!("vector-index/props/pages/{p:08}-{nonce:016x}"),
                    crc: nonce.rotate_left(p),
                })
                .collect();
            manifest
        })
}

/// The bare CBOR of format 1, as earlier builds stored it.
fn format_1(manifest: &Manifest) -> Vec<u8> {
    let old = Manifest {
        format: 1,
        ..manifest.clone()
    };
    let mut out = Vec::new();
    ciborium::into_writer(&old, &mut out).unwrap();
    out
}

#[test]
fn format_1_manifests_of_earlier_builds_are_still_read() {
    let manifest = Manifest::empty(IndexConfig::new(8, Metric::Cosine));
    let back = checks::manifest(&key(), &format_1(&manifest)).expect("format 1 reads");
    assert_eq!(back, manifest);
    assert_eq!(back.format, FORMAT, "and is written as format 2 next");
    // A framed manifest claiming format 1, or a bare one claiming 2, is neither.
    let framed_1 = checks::seal_manifest(&key(), &format_1(&manifest));
    let err = Manifest::decode(&key(), &framed_1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted);
    let mut bare_2 = Vec::new();
    ciborium::into_writer(&manifest, &mut bare_2).unwrap();
    assert!(checks::manifest(&key(), &bare_2).is_none());
}

#[test]
fn another_index_s_manifest_under_this_key_is_corrupted() {
    let manifest = Manifest::empty(IndexConfig::new(8, Metric::L2));
    let other = Key::new("vector-index/other/manifest").unwrap();
    let bytes = manifest.encode(&other).unwrap();
    let err = Manifest::decode(&key(), &bytes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted);
    assert_eq!(err.key(), Some(key().as_str()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn every_manifest_round_trips(manifest in manifests()) {
        let bytes = manifest.encode(&key()).unwrap();
        prop_assert_eq!(checks::manifest(&key(), &bytes), Some(manifest.clone()));
        prop_assert_eq!(checks::manifest(&key(), &format_1(&manifest)), Some(manifest));
    }

    #[test]
    fn damaged_manifests_never_decode(manifest in manifests(), m in Mutation::some()) {
        let good = manifest.encode(&key()).unwrap();
        let bad = Mutation::apply_all(&m, &good);
        prop_assume!(bad != good);
        prop_assert!(checks::manifest(&key(), &bad).is_none(), "damaged by {:?}", m);
    }

    #[test]
    fn random_manifests_are_an_error_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        manifest in manifests(),
        m in Mutation::some(),
    ) {
        checks::manifest(&key(), &bytes);
        checks::manifest(&key(), &checks::seal_manifest(&key(), &bytes));
        // Damaged CBOR behind a valid checksum (and format 1, which has none): refused
        // or a consistent manifest, never a panic.
        let body = Mutation::apply_all(&m, &manifest.encode(&key()).unwrap()[8..]);
        checks::manifest(&key(), &checks::seal_manifest(&key(), &body));
        checks::manifest(&key(), &Mutation::apply_all(&m, &format_1(&manifest)));
    }
}
