//! A vector index whose stored bytes were damaged behind its back (through the store it
//! lives in) never opens into a different index: every bit flip in its manifest or its
//! pages is a `Corrupted` error naming the damaged key. Manifests of earlier builds (bare
//! CBOR, no checksum) still open and are rewritten with one.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::{ErrorKind, Key, ListOptions, PutMode, Store};
use store_memory::MemoryStore;
use strata_tests::vectors;
use vector_index::{IndexConfig, Metadata, Metric, Value, VectorIndex};

const NAME: &str = "fragile";

fn manifest_key() -> Key {
    Key::new(format!("vector-index/{NAME}/manifest")).unwrap()
}

/// An index of `n` 8-dimensional nodes, 40 to a page, flushed to a fresh memory store.
async fn stored(n: usize) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let base = vectors::clustered(n, 8, 4, 0.3, 9);
    let config = IndexConfig::new(8, Metric::L2).nodes_per_page(40);
    let index = VectorIndex::create(store.clone(), NAME, config)
        .await
        .unwrap();
    for i in 0..n {
        let mut meta = Metadata::new();
        meta.insert("i".into(), Value::Int(i as i64));
        index.insert(i as u64, base.row(i), meta).unwrap();
    }
    index.flush().await.unwrap();
    store
}

async fn page_keys(store: &dyn Store) -> Vec<Key> {
    let prefix = format!("vector-index/{NAME}/pages/").parse().unwrap();
    let pages: Vec<_> = store
        .list(ListOptions::prefix(prefix))
        .try_collect()
        .await
        .unwrap();
    pages.into_iter().map(|m| m.key).collect()
}

async fn stored_bytes(store: &dyn Store, key: &Key) -> Vec<u8> {
    store.get(key).await.unwrap().unwrap().value.to_vec()
}

async fn replace(store: &dyn Store, key: &Key, bytes: Vec<u8>) {
    store
        .put(key, Bytes::from(bytes), PutMode::Overwrite)
        .await
        .unwrap();
}

/// Open after damage: must be `Corrupted`, naming `damaged`.
async fn assert_refused(store: &Arc<dyn Store>, damaged: &Key, what: &str) {
    match VectorIndex::open(store.clone(), NAME).await {
        Ok(index) => panic!(
            "{what}: opened as {} vectors, {:?}",
            index.len(),
            index.config()
        ),
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::Corrupted, "{what}: {error}");
            assert_eq!(error.key(), Some(damaged.as_str()), "{what}: {error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_bit_anywhere_in_the_manifest_is_corrupted_naming_it() {
    let store = stored(60).await;
    let key = manifest_key();
    let good = stored_bytes(store.as_ref(), &key).await;
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        replace(store.as_ref(), &key, bad).await;
        assert_refused(&store, &key, &format!("manifest bit {bit}")).await;
    }
    replace(store.as_ref(), &key, good).await;
    assert_eq!(VectorIndex::open(store, NAME).await.unwrap().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_bit_in_a_page_is_corrupted_naming_the_page() {
    let store = stored(100).await;
    let pages = page_keys(store.as_ref()).await;
    assert_eq!(pages.len(), 3);
    let page = &pages[1];
    let good = stored_bytes(store.as_ref(), page).await;
    // Every 5th byte, a different bit each time: ~600 opens covering every field.
    for (n, at) in (0..good.len()).step_by(5).enumerate() {
        let mut bad = good.clone();
        bad[at] ^= 1 << (n % 8);
        replace(store.as_ref(), page, bad).await;
        assert_refused(&store, page, &format!("page byte {at}")).await;
    }
    // A page cut short, and one with bytes added.
    replace(store.as_ref(), page, good[..good.len() - 9].to_vec()).await;
    assert_refused(&store, page, "truncated page").await;
    replace(store.as_ref(), page, [&good[..], b"tail"].concat()).await;
    assert_refused(&store, page, "extended page").await;
    replace(store.as_ref(), page, good).await;
    let index = VectorIndex::open(store, NAME).await.unwrap();
    assert_eq!(index.search(&[0.0; 8], 3, None, None).unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_of_an_earlier_build_opens_and_is_rewritten_with_a_checksum() {
    let store = stored(60).await;
    let key = manifest_key();
    let framed = stored_bytes(store.as_ref(), &key).await;
    assert!(framed.starts_with(b"VXM2"));
    // Format 1 was the bare CBOR body, saying `format: 1`.
    let mut bare = framed[8..].to_vec();
    let at = bare
        .windows(7)
        .position(|w| w == b"\x66format")
        .expect("the format field");
    assert_eq!(bare[at + 7], 2);
    bare[at + 7] = 1;
    replace(store.as_ref(), &key, bare).await;

    let index = VectorIndex::open(store.clone(), NAME).await.unwrap();
    assert_eq!(index.len(), 60);
    let before = index.search(&[0.1; 8], 5, None, None).unwrap();
    index.upsert(1_000, &[0.5; 8], Metadata::new()).unwrap();
    index.flush().await.unwrap();
    assert!(
        stored_bytes(store.as_ref(), &key)
            .await
            .starts_with(b"VXM2")
    );
    let reopened = VectorIndex::open(store, NAME).await.unwrap();
    assert_eq!(reopened.len(), 61);
    reopened.delete(1_000);
    assert_eq!(reopened.search(&[0.1; 8], 5, None, None).unwrap(), before);
}
