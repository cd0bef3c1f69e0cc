use proptest::prelude::*;
use store_core::Key;

use crate::checks::{self, Mutation};
use crate::filter::{Metadata, Value};
use crate::graph::Graph;

fn page_key() -> Key {
    Key::new("vector-index/props/pages/00000000-0").unwrap()
}

/// A graph of `vectors.len()` nodes (some deleted, some with metadata) in one page.
fn graph(vectors: &[[f32; 4]], deleted: &[bool]) -> Graph {
    let mut graph = Graph::new(checks::small_config());
    for (i, v) in vectors.iter().enumerate() {
        let mut meta = Metadata::new();
        if i % 3 == 0 {
            meta.insert("n".into(), Value::Int(i as i64));
            meta.insert("tag".into(), Value::Str(format!("t{i}")));
        }
        graph.insert(i as u64, v, meta);
    }
    for (i, gone) in deleted.iter().enumerate().take(vectors.len()) {
        if *gone {
            graph.delete(i as u64);
        }
    }
    graph
}

/// The vectors and tombstones of a graph (`Graph` itself has no `Debug` to report with).
fn graphs() -> impl Strategy<Value = (Vec<[f32; 4]>, Vec<bool>)> {
    (
        proptest::collection::vec(proptest::array::uniform4(-10.0f32..10.0), 0..32),
        proptest::collection::vec(proptest::bool::weighted(0.2), 32),
    )
}

#[test]
fn a_page_round_trips_and_a_truncated_one_never_decodes() {
    let vectors: Vec<[f32; 4]> = (0..20).map(|i| [i as f32, 1.0, -2.0, 0.5]).collect();
    let g = graph(&vectors, &[false, true, false, false, true]);
    let bytes = crate::page::encode(&g, 0, 20);
    let back = checks::page(&page_key(), &g.config, &bytes, 20).expect("decodes");
    assert_eq!(back.ids, g.ids);
    assert_eq!(back.vectors, g.vectors);
    assert_eq!(back.deleted, g.deleted);
    assert_eq!(back.metadata, g.metadata);
    for cut in 0..bytes.len() {
        assert!(checks::page(&page_key(), &g.config, &bytes[..cut], 20).is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn damaged_pages_never_decode((v, d) in graphs(), m in Mutation::some()) {
        let g = graph(&v, &d);
        let count = g.slots() as u32;
        let good = crate::page::encode(&g, 0, count);
        let bad = Mutation::apply_all(&m, &good);
        prop_assume!(bad != good);
        prop_assert!(
            checks::page(&page_key(), &g.config, &bad, count).is_none(),
            "damaged by {:?}, still decoded", m
        );
    }

    #[test]
    fn random_pages_are_an_error_never_a_panic(
        count in 0u32..8,
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let config = checks::small_config();
        let with_header = [&b"VXP1\0\0\0\0"[..], &count.to_le_bytes(), &bytes].concat();
        for raw in [&bytes, &with_header] {
            checks::page(&page_key(), &config, raw, count);
            checks::page(&page_key(), &config, &checks::seal_page(raw), count);
        }
    }

    #[test]
    fn damage_behind_a_valid_checksum_is_refused_or_safe_to_use(
        (v, d) in graphs(),
        m in Mutation::some(),
    ) {
        let g = graph(&v, &d);
        // A hostile writer can seal any bytes: `open` refuses them or they make a graph
        // that searches and changes without a panic.
        let count = g.slots() as u32;
        let good = crate::page::encode(&g, 0, count);
        let body = Mutation::apply_all(&m, &good[..good.len() - 4]);
        checks::page(&page_key(), &g.config, &checks::seal_page(&body), count);
    }
}
