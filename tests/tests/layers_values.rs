//! The compression layer's promises: sizes (logical in `Meta`, stored in `sizes`), mixed
//! codecs, damaged values, truthful `max_value_size`, and `head`/`list` reading headers only.

mod layers_support;

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use layers_support::{
    assert_corrupted, compressed, encrypted, json_like, key, keyring_a, memory, noise, put_raw,
    raw, rt,
};
use store_core::{Capabilities, ErrorKind, Key, ListOptions, Prefix, PutMode, Store};
use store_layers::compress::{Codec, Compressed, HEADER_LEN, Stored};
use store_layers::encrypt::{Encrypted, OVERHEAD};

#[test]
fn compressed_sizes_are_logical_in_meta_and_stored_in_sizes() {
    rt().block_on(async {
        for codec in [Codec::Zstd, Codec::Lz4] {
            let inner = memory();
            let store = compressed(inner.clone(), codec);
            let (text, random) = (key("s/json"), key("s/noise"));
            let meta = store
                .put(&text, json_like(4096), PutMode::Overwrite)
                .await
                .unwrap();
            assert_eq!(meta.size, 4096);
            store
                .put(&random, noise(4096), PutMode::Overwrite)
                .await
                .unwrap();

            let sizes = store.sizes(&text).await.unwrap().unwrap();
            assert_eq!(sizes.meta.size, 4096);
            assert!(sizes.stored_size < 1024, "{codec:?}: {}", sizes.stored_size);
            assert_eq!(sizes.stored_size, raw(&inner, &text).await.len() as u64);
            assert_ne!(sizes.codec, Stored::Raw);

            let sizes = store.sizes(&random).await.unwrap().unwrap();
            assert_eq!((sizes.codec, sizes.stored_size), (Stored::Raw, 4097));
            assert_eq!(store.head(&random).await.unwrap().unwrap().size, 4096);

            let listed: Vec<_> = store
                .list_sizes(ListOptions::prefix(Prefix::new("s/").unwrap()))
                .try_collect()
                .await
                .unwrap();
            let stored: Vec<_> = listed
                .iter()
                .map(|s| (s.meta.size, s.stored_size))
                .collect();
            assert_eq!(stored[0].0, 4096);
            assert_eq!(stored[1], (4096, 4097));
        }
    });
}

#[test]
fn one_store_reads_every_codec_and_the_codec_changes_without_rewriting() {
    rt().block_on(async {
        let inner = memory();
        let value = json_like(4096);
        for (name, codec) in [("z", Codec::Zstd), ("l", Codec::Lz4), ("n", Codec::None)] {
            let writer = compressed(inner.clone(), codec);
            writer
                .put(&key(name), value.clone(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        let mut codecs = Vec::new();
        for name in ["z", "l", "n"] {
            codecs.push(raw(&inner, &key(name)).await[0]);
        }
        assert_eq!(codecs, [1, 2, 0], "each value carries its own tag");
        for codec in [Codec::Zstd, Codec::Lz4, Codec::None] {
            let reader = compressed(inner.clone(), codec);
            for name in ["z", "l", "n"] {
                let got = reader.get(&key(name)).await.unwrap().unwrap();
                assert_eq!(got.value, value, "{codec:?} reading {name}");
                assert_eq!(got.meta.size, 4096);
                let (part, _) = reader
                    .get_range(&key(name), 100..110)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(part, value.slice(100..110));
            }
        }
    });
}

#[test]
fn damaged_compressed_values_are_corrupted_with_the_key() {
    rt().block_on(async {
        let inner = memory();
        let store = compressed(inner.clone(), Codec::Zstd);
        let k = key("c/v");
        for codec in [Codec::Zstd, Codec::Lz4] {
            compressed(inner.clone(), codec)
                .put(&k, json_like(4096), PutMode::Overwrite)
                .await
                .unwrap();
            let good = raw(&inner, &k).await;
            // A flipped payload byte, a flipped length, a truncation, a cut header.
            let mut flipped = good.clone();
            let last = flipped.len() - 3;
            flipped[last] ^= 0x40;
            let mut longer = good.clone();
            longer[1] ^= 0x01;
            let mut huge = good.clone();
            huge[8] = 0x7f;
            for bad in [
                flipped,
                longer,
                huge,
                good[..good.len() / 2].to_vec(),
                good[..5].to_vec(),
            ] {
                put_raw(&inner, &k, bad).await;
                assert_corrupted(&store, &k).await;
            }
        }
        put_raw(&inner, &k, vec![0x09, 1, 2, 3]).await;
        assert_corrupted(&store, &k).await;
        let err = store.head(&k).await.expect_err("unknown tag");
        assert_eq!((err.kind(), err.key()), (ErrorKind::Corrupted, Some("c/v")));
        put_raw(&inner, &k, Bytes::new()).await;
        assert_corrupted(&store, &k).await;
    });
}

/// A store that accepts at most 100 bytes per value.
#[derive(Debug)]
struct Small(Arc<dyn Store>);

impl store_core::Layer for Small {
    fn inner(&self) -> &dyn Store {
        &*self.0
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_value_size: Some(100),
            ..self.0.capabilities()
        }
    }
}

#[test]
fn max_value_size_tells_the_truth_through_the_stack() {
    rt().block_on(async {
        let small: Arc<dyn Store> = Arc::new(Small(memory()));
        let zstd = Compressed::new(small.clone(), Codec::Zstd);
        assert_eq!(zstd.capabilities().max_value_size, Some(99));
        let sealed = Encrypted::new(small, keyring_a());
        assert_eq!(
            sealed.capabilities().max_value_size,
            Some(100 - OVERHEAD as u64)
        );
        let stack = Compressed::new(Arc::new(sealed), Codec::Lz4);
        let max = stack.capabilities().max_value_size.unwrap();
        assert_eq!(max, 100 - OVERHEAD as u64 - 1);
        // Incompressible bytes of exactly the limit fit; one more does not.
        stack
            .put(&key("m"), noise(max as usize), PutMode::Overwrite)
            .await
            .unwrap();
        let err = stack
            .put(&key("m"), noise(max as usize + 1), PutMode::Overwrite)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

/// Records what reaches the store it wraps.
#[derive(Debug)]
struct Reads {
    inner: Arc<dyn Store>,
    gets: std::sync::atomic::AtomicU64,
    ranges: std::sync::Mutex<Vec<std::ops::Range<u64>>>,
}

#[store_core::async_trait]
impl store_core::Layer for Reads {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }
    async fn get(&self, key: &Key) -> store_core::Result<Option<store_core::Entry>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.get(key).await
    }
    async fn get_range(
        &self,
        key: &Key,
        range: std::ops::Range<u64>,
    ) -> store_core::Result<Option<(Bytes, store_core::Meta)>> {
        self.ranges.lock().unwrap().push(range.clone());
        self.inner.get_range(key, range).await
    }
}

#[test]
fn head_and_list_read_only_headers_and_encrypt_reads_nothing() {
    rt().block_on(async {
        let reads = Arc::new(Reads {
            inner: memory(),
            gets: Default::default(),
            ranges: Default::default(),
        });
        let store = compressed(reads.clone(), Codec::Zstd);
        for i in 0..5 {
            store
                .put(&key(&format!("h/{i}")), json_like(4096), PutMode::Overwrite)
                .await
                .unwrap();
        }
        store.head(&key("h/0")).await.unwrap().unwrap();
        let listed: Vec<_> = store
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert!(listed.iter().all(|m| m.size == 4096));
        assert_eq!(reads.gets.load(std::sync::atomic::Ordering::Relaxed), 0);
        let ranges = reads.ranges.lock().unwrap().clone();
        assert_eq!(ranges.len(), 6);
        assert!(
            ranges.iter().all(|r| *r == (0..HEADER_LEN as u64)),
            "{ranges:?}"
        );

        // Encryption's overhead is fixed: its sizes come from the listing alone.
        let reads = Arc::new(Reads {
            inner: memory(),
            gets: Default::default(),
            ranges: Default::default(),
        });
        let sealed = encrypted(reads.clone());
        sealed
            .put(&key("e"), json_like(77), PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(sealed.head(&key("e")).await.unwrap().unwrap().size, 77);
        let listed: Vec<_> = sealed
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed[0].size, 77);
        assert_eq!(reads.gets.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(reads.ranges.lock().unwrap().is_empty());
    });
}
