//! Property tests of the value-file decoder (stable Rust; `fuzz/` runs the same properties
//! deeper): random and mutated bytes give an error, never a panic, never wrong data.

use proptest::prelude::*;

use crate::fuzzing::{ValueFile, decode_header, decode_value_file, encode_value_file};

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._~%é键-]{1,12}".prop_filter("not `.` or `..`", |s| s != "." && s != "..")
}

fn value_file() -> impl Strategy<Value = ValueFile> {
    (
        prop::collection::vec(segment(), 1..5),
        prop::collection::vec(any::<u8>(), 0..1024),
        any::<u128>(),
        any::<u64>(),
    )
        .prop_map(|(segments, value, version, modified_nanos)| ValueFile {
            key: segments.join("/"),
            value,
            version,
            modified_nanos,
        })
}

/// One way storage damages a file.
#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, bit: u8 },
    Set { at: usize, to: u8 },
    Truncate { to: usize },
    Append(Vec<u8>),
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Zero { at: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Damage::Set { at, to }),
        any::<usize>().prop_map(|to| Damage::Truncate { to }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Damage::Insert { at, byte }),
        any::<usize>().prop_map(|at| Damage::Remove { at }),
        (any::<usize>(), 1..4096usize).prop_map(|(at, len)| Damage::Zero { at, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match damage {
        Damage::Flip { at, bit } => bytes[at % n] ^= 1 << bit,
        Damage::Set { at, to } => bytes[at % n] = *to,
        Damage::Truncate { to } => bytes.truncate(to % n),
        Damage::Append(tail) => bytes.extend_from_slice(tail),
        Damage::Insert { at, byte } => bytes.insert(at % n, *byte),
        Damage::Remove { at } => {
            bytes.remove(at % n);
        }
        Damage::Zero { at, len } => {
            let at = at % n;
            let end = n.min(at + len);
            bytes[at..end].fill(0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_written_file_reads_back_exactly(file in value_file()) {
        let bytes = encode_value_file(&file).expect("a valid key");
        prop_assert_eq!(decode_value_file(&bytes), Ok(file.clone()));
        prop_assert_eq!(
            decode_header(&bytes, bytes.len() as u64),
            Ok((file.key.clone(), file.value.len() as u64))
        );
    }

    #[test]
    fn damaged_files_are_rejected(
        file in value_file(),
        damages in prop::collection::vec(damage(), 1..4),
    ) {
        let original = encode_value_file(&file).expect("a valid key");
        let mut bytes = original.clone();
        for d in &damages {
            apply(&mut bytes, d);
        }
        prop_assume!(bytes != original);
        let decoded = decode_value_file(&bytes);
        prop_assert!(decoded.is_err(), "damaged bytes decoded as {:?}", decoded);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_only_to_what_encodes_them(
        mut bytes in prop::collection::vec(any::<u8>(), 0..512),
        start in any::<bool>(),
    ) {
        if start {
            // Past the magic and format check, into the length and checksum logic.
            bytes.splice(0..bytes.len().min(6), crate::format::START.iter().copied().chain([0]));
        }
        if let Ok(file) = decode_value_file(&bytes) {
            prop_assert_eq!(encode_value_file(&file), Some(bytes.clone()));
        }
        let _ = decode_header(&bytes, bytes.len() as u64);
        let _ = decode_header(&bytes, u64::MAX);
    }
}
