//! `get_range`: part of a value, cut at the value's end, with the whole value's metadata.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use store_core::{ErrorKind, Key, Meta, PutMode, Store};

use super::util::{key, pattern};
use crate::harness::Outcome;

/// Long enough to span several blocks of any block-wise format (and a 64 KiB read
/// buffer), and not a multiple of any power of two.
const LEN: usize = 300_001;

/// The range read of `range` at `k`, which must exist.
async fn must_range(store: &Arc<dyn Store>, k: &Key, range: Range<u64>) -> (Bytes, Meta) {
    let shown = format!("{}..{}", range.start, range.end);
    store
        .get_range(k, range)
        .await
        .unwrap_or_else(|e| panic!("get_range {k} {shown}: {e}"))
        .unwrap_or_else(|| panic!("{k} should exist"))
}

/// Writes a patterned value of [`LEN`] bytes; returns it and its metadata.
async fn patterned(store: &Arc<dyn Store>, k: &Key) -> (Bytes, Meta) {
    let value = pattern(LEN, 17);
    let meta = store
        .put(k, value.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    (value, meta)
}

/// The whole range (and one given as `0..u64::MAX`) is the whole value.
pub async fn get_range_whole(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/whole");
    let (value, _) = patterned(&store, &k).await;
    assert_eq!(must_range(&store, &k, 0..LEN as u64).await.0, value);
    assert_eq!(must_range(&store, &k, 0..u64::MAX).await.0, value);
    Ok(())
}

/// A range inside the value is exactly those bytes, wherever it starts and ends.
pub async fn get_range_middle(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/middle");
    let (value, _) = patterned(&store, &k).await;
    for (start, end) in [(1, 2), (1_000, 1_017), (65_535, 65_537), (70_000, 250_000)] {
        let (bytes, _) = must_range(&store, &k, start..end).await;
        assert_eq!(
            bytes,
            value.slice(start as usize..end as usize),
            "{start}..{end}"
        );
    }
    let (bytes, _) = must_range(&store, &k, 0..1).await;
    assert_eq!(bytes, value.slice(0..1));
    let last = LEN as u64 - 1;
    let (bytes, _) = must_range(&store, &k, last..LEN as u64).await;
    assert_eq!(bytes, value.slice(LEN - 1..));
    Ok(())
}

/// An empty range gives no bytes, and the key's metadata.
pub async fn get_range_empty(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/empty");
    let (_, meta) = patterned(&store, &k).await;
    for at in [0, 5, LEN as u64] {
        let (bytes, got) = must_range(&store, &k, at..at).await;
        assert!(bytes.is_empty(), "{at}..{at} gave {} bytes", bytes.len());
        assert_eq!(got.version, meta.version);
    }
    // An empty value: every range is empty.
    let e = key("range/empty-value");
    store
        .put(&e, Bytes::new(), PutMode::Overwrite)
        .await
        .unwrap();
    assert!(must_range(&store, &e, 0..10).await.0.is_empty());
    Ok(())
}

/// A range reaching past the end is cut at the end; one starting at or after the end
/// gives no bytes (not an error).
pub async fn get_range_past_the_end_is_clamped(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/past");
    let (value, meta) = patterned(&store, &k).await;
    let len = LEN as u64;
    let (bytes, _) = must_range(&store, &k, len - 10..len + 10).await;
    assert_eq!(bytes, value.slice(LEN - 10..));
    for start in [len, len + 1, u64::MAX - 1] {
        let (bytes, got) = must_range(&store, &k, start..u64::MAX).await;
        assert!(bytes.is_empty(), "{start}.. gave {} bytes", bytes.len());
        assert_eq!(got.version, meta.version);
    }
    Ok(())
}

/// A range whose start is after its end is `InvalidInput`, on a present key and on a
/// missing one alike.
pub async fn get_range_start_after_end_is_invalid(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/backwards");
    patterned(&store, &k).await;
    for k in [k, key("range/never-written")] {
        let backwards = Range { start: 10, end: 5 };
        let err = store
            .get_range(&k, backwards)
            .await
            .expect_err("a range that starts after it ends");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{k}: {err}");
    }
    Ok(())
}

/// A missing key is `None`, whatever the range.
pub async fn get_range_missing_key_is_none(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/missing");
    for range in [0..10, 0..0, 5..u64::MAX] {
        assert!(store.get_range(&k, range).await.unwrap().is_none());
    }
    // Deleted is missing too.
    store
        .put(&k, pattern(100, 1), PutMode::Overwrite)
        .await
        .unwrap();
    store.delete(&k).await.unwrap();
    assert!(store.get_range(&k, 0..10).await.unwrap().is_none());
    Ok(())
}

/// The metadata of a range read is the whole value's, as `head` gives it (its size is
/// the value's size, not the range's), and follows overwrites.
pub async fn get_range_meta_matches_head(store: Arc<dyn Store>) -> Outcome {
    let k = key("range/meta");
    let (_, put) = patterned(&store, &k).await;
    let head = store.head(&k).await.unwrap().expect("just written");
    let (bytes, meta) = must_range(&store, &k, 10..20).await;
    assert_eq!(bytes.len(), 10);
    assert_eq!(meta, head);
    assert_eq!((meta.size, &meta.version), (LEN as u64, &put.version));
    let again = store
        .put(&k, pattern(50, 2), PutMode::Overwrite)
        .await
        .unwrap();
    let (bytes, meta) = must_range(&store, &k, 10..100).await;
    assert_eq!(bytes, pattern(50, 2).slice(10..));
    assert_eq!((meta.size, &meta.version), (50, &again.version));
    Ok(())
}
