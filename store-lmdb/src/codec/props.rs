//! Property tests of the row decoders (stable Rust, every CI run; `fuzz/fuzz_targets/
//! redb_row.rs` runs the same properties deeper): random and mutated bytes give an error,
//! never a panic, and never data other than what was encoded.

use proptest::prelude::*;

use super::*;

fn value_row(key: &str, version: u64, mtime: u64, value: &[u8]) -> Vec<u8> {
    let mut row = vec![0u8; VALUE_HEADER_LEN + value.len()];
    encode_value_into(&mut row, key, version, mtime, value);
    row
}

/// A change to a row: flip some bits, cut it short, or add bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(usize, u8)>),
    Truncate(usize),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), 0u8..8), 1..8).prop_map(Mutation::Flip),
        any::<usize>().prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
    ]
}

fn mutate(row: &[u8], m: &Mutation) -> Vec<u8> {
    let mut out = row.to_vec();
    match m {
        Mutation::Flip(bits) => {
            for (at, bit) in bits {
                let at = at % out.len();
                out[at] ^= 1 << bit;
            }
        }
        Mutation::Truncate(to) => out.truncate(to % out.len()),
        Mutation::Extend(more) => out.extend_from_slice(more),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rows_roundtrip(
        key in "[a-z/]{0,40}",
        version: u64,
        mtime: u64,
        value in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let row = value_row(&key, version, mtime, &value);
        let (meta, got) = decode_value(&key, &row).unwrap();
        prop_assert_eq!((meta.version, meta.mtime, meta.size), (version, mtime, value.len() as u64));
        prop_assert_eq!(got, &value[..]);
        let m = RowMeta { version, mtime, size: value.len() as u64 };
        prop_assert_eq!(decode_meta(&key, &encode_meta(&key, m)), Ok(m));
        prop_assert_eq!(decode_counter(&key, &encode_counter(&key, version)), Ok(version));
    }

    /// Arbitrary bytes: never a panic; the rare accepted input re-encodes to itself, so
    /// what was decoded is exactly what the bytes say.
    #[test]
    fn random_bytes_never_panic(key in "\\PC{0,20}", row in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((meta, value)) = decode_value(&key, &row) {
            prop_assert_eq!(value_row(&key, meta.version, meta.mtime, value), row.clone());
        }
        if let Ok(meta) = decode_meta(&key, &row) {
            prop_assert_eq!(&encode_meta(&key, meta)[..], &row[..]);
        }
        if let Ok(n) = decode_counter(&key, &row) {
            prop_assert_eq!(&encode_counter(&key, n)[..], &row[..]);
        }
        let _ = decode_value_v0(&row);
    }

    /// A valid row, changed: an error, or (a change that changed nothing) the original.
    #[test]
    fn mutated_rows_are_caught(
        key in "[a-z0-9/]{1,30}",
        version: u64,
        mtime: u64,
        value in prop::collection::vec(any::<u8>(), 0..300),
        m in mutation(),
    ) {
        let row = value_row(&key, version, mtime, &value);
        let bad = mutate(&row, &m);
        match decode_value(&key, &bad) {
            Err(_) => {}
            Ok((meta, got)) => {
                prop_assert_eq!(&bad, &row, "a changed row was accepted");
                prop_assert_eq!((meta.version, meta.mtime, got), (version, mtime, &value[..]));
            }
        }
        let meta = encode_meta(&key, RowMeta { version, mtime, size: value.len() as u64 });
        let bad = mutate(&meta, &m);
        if decode_meta(&key, &bad).is_ok() {
            prop_assert_eq!(&bad[..], &meta[..], "a changed metadata row was accepted");
        }
    }
}
