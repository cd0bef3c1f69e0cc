//! The properties the decoders of stored bytes keep, as functions shared by the property
//! tests (on stable, in CI) and the cargo-fuzz targets (the `fuzzing` feature): any bytes
//! give a `Corrupted` error naming the key, never a panic; a damaged encoding never
//! decodes; and what does decode (bytes sealed behind a correct checksum, as only a
//! hostile writer makes them) passes every check `open` makes and is then safe to search
//! and change. A failed property panics, which is how a fuzzer reports it.

use store_core::{Error, ErrorKind, Key};

use crate::config::{IndexConfig, Metric};
use crate::filter::Metadata;
use crate::graph::Graph;
use crate::manifest::Manifest;
use crate::page;

/// A small index configuration, so that arbitrary bytes reach deep into a page.
pub(crate) fn small_config() -> IndexConfig {
    IndexConfig::new(4, Metric::L2).m(4).nodes_per_page(32)
}

fn assert_names(error: &Error, key: &Key) {
    assert_eq!(error.kind(), ErrorKind::Corrupted, "{error}");
    assert_eq!(error.key(), Some(key.as_str()), "{error}");
}

/// Decode `bytes` as the first page of an index of `config` holding `count` slots, as
/// `open` does; `None` if `open` would refuse the page. An accepted page is then decoded
/// again and that graph searched and changed. Panics if a property fails.
pub(crate) fn page(key: &Key, config: &IndexConfig, bytes: &[u8], count: u32) -> Option<Graph> {
    let graph = open_page(key, config, bytes, count)?;
    let mut used = open_page(key, config, bytes, count).expect("decodes the same twice");
    use_graph(&mut used);
    Some(graph)
}

fn open_page(key: &Key, config: &IndexConfig, bytes: &[u8], count: u32) -> Option<Graph> {
    let mut graph = Graph::new(config.clone());
    if let Err(error) = page::decode_into(&mut graph, key, bytes, 0, count, count) {
        assert_names(&error, key);
        return None;
    }
    // What a manifest for this page would say: the highest node is the entry point.
    let entry = (0..count).max_by_key(|&s| (graph.levels[s as usize], std::cmp::Reverse(s)));
    let mut manifest = Manifest::empty(config.clone());
    manifest.slots = count;
    manifest.entry = entry;
    manifest.max_level = entry.map_or(0, |e| graph.levels[e as usize]);
    if let Err(error) = manifest.check_graph(key, &graph) {
        assert_names(&error, key);
        return None;
    }
    graph.entry = manifest.entry;
    graph.max_level = manifest.max_level;
    graph.dirty.clear();
    Some(graph)
}

/// Search, insert, delete and compact: a graph `open` accepted never panics in use.
fn use_graph(graph: &mut Graph) {
    let q = vec![0.25; graph.dim()];
    let found = graph.search(&q, 5, 16, |s| !graph.deleted[s as usize]);
    assert!(found.iter().all(|c| !graph.deleted[c.slot as usize]));
    graph.scan(&q, 5, |_| true);
    let ids: Vec<u64> = graph.slot_of.keys().copied().take(3).collect();
    for id in ids {
        graph.delete(id);
    }
    let fresh = graph.ids.iter().max().map_or(0, |m| m.wrapping_add(1));
    graph.delete(fresh);
    graph.insert(fresh, &q, Metadata::new());
    graph.search(&q, 5, 16, |_| true);
    let compacted = graph.compacted();
    compacted.search(&q, 5, 16, |_| true);
}

/// `body` followed by its correct page checksum.
pub(crate) fn seal_page(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out
}

/// Decode `bytes` as the manifest stored at `key`. `None` if `open` would refuse it.
/// Panics if a property fails: a manifest that decodes encodes and decodes back to
/// itself, and an error is `Corrupted` naming the key.
pub(crate) fn manifest(key: &Key, bytes: &[u8]) -> Option<Manifest> {
    let manifest = match Manifest::decode(key, bytes) {
        Ok(manifest) => manifest,
        Err(error) => {
            assert_names(&error, key);
            return None;
        }
    };
    let again = manifest.encode(key).expect("a decoded manifest encodes");
    let back = Manifest::decode(key, &again).expect("and decodes again");
    assert_eq!(back, manifest);
    Some(manifest)
}

/// `body` behind the format-2 magic and a correct checksum for `key`.
pub(crate) fn seal_manifest(key: &Key, body: &[u8]) -> Vec<u8> {
    let mut out = b"VXM2".to_vec();
    out.extend_from_slice(&crate::manifest::checksum(key, body).to_le_bytes());
    out.extend_from_slice(body);
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
