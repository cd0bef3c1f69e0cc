//! Round trips, overwrites, deletes and keys.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use store_core::{ErrorKind, Key, ListOptions, PutMode, Store};

use super::util::{key, list_keys, must_get, pattern, val};
use crate::harness::{Outcome, require};

/// A new store has nothing in it.
pub async fn empty_store(store: Arc<dyn Store>) -> Outcome {
    let k = key("nothing/here");
    assert!(
        store.get(&k).await.unwrap().is_none(),
        "get on an empty store"
    );
    assert!(
        store.head(&k).await.unwrap().is_none(),
        "head on an empty store"
    );
    assert!(
        list_keys(&store, ListOptions::default()).await.is_empty(),
        "list on an empty store"
    );
    Ok(())
}

/// What `put` stores, `get` returns, with matching metadata.
pub async fn put_get_roundtrip(store: Arc<dyn Store>) -> Outcome {
    let k = key("roundtrip/a");
    let meta = store
        .put(&k, val("hello"), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(meta.key, k);
    assert_eq!(meta.size, 5);
    let entry = store.get(&k).await.unwrap().expect("value just written");
    assert_eq!(entry.value, val("hello"));
    assert_eq!(
        entry.meta.version, meta.version,
        "get returns the version put returned"
    );
    assert_eq!(entry.meta.size, 5);
    Ok(())
}

/// An empty value is a value, not an absence.
pub async fn empty_value(store: Arc<dyn Store>) -> Outcome {
    let k = key("empty");
    store
        .put(&k, Bytes::new(), PutMode::Overwrite)
        .await
        .unwrap();
    let entry = store
        .get(&k)
        .await
        .unwrap()
        .expect("an empty value still exists");
    assert!(entry.value.is_empty());
    assert_eq!(entry.meta.size, 0);
    assert_eq!(
        store
            .head(&k)
            .await
            .unwrap()
            .expect("head of empty value")
            .size,
        0
    );
    Ok(())
}

/// Every byte value survives, including NUL and invalid UTF-8.
pub async fn binary_value(store: Arc<dyn Store>) -> Outcome {
    let k = key("binary");
    let value: Bytes = (0..=255u8)
        .chain((0..=255u8).rev())
        .collect::<Vec<_>>()
        .into();
    store
        .put(&k, value.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(must_get(&store, &k).await, value);
    Ok(())
}

/// A 16 MiB value round-trips byte for byte.
pub async fn large_value_16mib(store: Arc<dyn Store>) -> Outcome {
    const SIZE: usize = 16 << 20;
    let max = store.capabilities().max_value_size;
    require(
        max.is_none_or(|m| m >= SIZE as u64),
        "max_value_size is below 16 MiB",
    )?;
    let k = key("large/16mib");
    let value = pattern(SIZE, 7);
    let meta = store
        .put(&k, value.clone(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(meta.size, SIZE as u64);
    let got = must_get(&store, &k).await;
    assert_eq!(got.len(), SIZE);
    assert!(got == value, "16 MiB value came back different");
    Ok(())
}

/// `head` reports the size and version `put` returned.
pub async fn head_matches_put(store: Arc<dyn Store>) -> Outcome {
    let k = key("head/x");
    let meta = store
        .put(&k, pattern(1000, 1), PutMode::Overwrite)
        .await
        .unwrap();
    let head = store.head(&k).await.unwrap().expect("head after put");
    assert_eq!(head.key, k);
    assert_eq!(head.size, 1000);
    assert_eq!(head.version, meta.version);
    Ok(())
}

/// An overwrite replaces the value and changes both version and last-modified.
///
/// It waits 1.1 s between the writes because some backends (S3) keep last-modified
/// with one-second resolution.
pub async fn overwrite_changes_version_and_last_modified(store: Arc<dyn Store>) -> Outcome {
    let k = key("overwrite");
    let first = store.put(&k, val("one"), PutMode::Overwrite).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = store
        .put(&k, val("two!"), PutMode::Overwrite)
        .await
        .unwrap();
    assert_ne!(
        first.version, second.version,
        "overwrite must change the version"
    );
    assert!(
        second.last_modified > first.last_modified,
        "overwrite must advance last-modified: {:?} then {:?}",
        first.last_modified,
        second.last_modified
    );
    let head = store.head(&k).await.unwrap().unwrap();
    assert_eq!(head.version, second.version);
    assert_eq!(head.size, 4);
    assert_eq!(must_get(&store, &k).await, val("two!"));
    Ok(())
}

/// Deleting a missing key succeeds, and so does deleting twice.
pub async fn delete_is_idempotent(store: Arc<dyn Store>) -> Outcome {
    let k = key("del/x");
    store
        .delete(&k)
        .await
        .expect("delete of a missing key is not an error");
    store.put(&k, val("v"), PutMode::Overwrite).await.unwrap();
    store.delete(&k).await.unwrap();
    store
        .delete(&k)
        .await
        .expect("second delete is not an error");
    assert!(store.get(&k).await.unwrap().is_none());
    Ok(())
}

/// A deleted key is gone from get, head and list; its neighbours stay.
pub async fn deleted_key_disappears(store: Arc<dyn Store>) -> Outcome {
    for k in ["d/a", "d/b", "d/c"] {
        store
            .put(&key(k), val(k), PutMode::Overwrite)
            .await
            .unwrap();
    }
    store.delete(&key("d/b")).await.unwrap();
    assert!(
        store.get(&key("d/b")).await.unwrap().is_none(),
        "get after delete"
    );
    assert!(
        store.head(&key("d/b")).await.unwrap().is_none(),
        "head after delete"
    );
    assert_eq!(
        list_keys(&store, ListOptions::default()).await,
        ["d/a", "d/c"]
    );
    assert_eq!(must_get(&store, &key("d/c")).await, val("d/c"));
    Ok(())
}

/// Non-ASCII keys and characters that file systems or URLs treat specially.
pub async fn unicode_and_awkward_keys(store: Arc<dyn Store>) -> Outcome {
    let raw = [
        "ünïcødé/键/🔑",
        "emoji/😀😀",
        "windows/a:b*c?d<e>f|g\"h",
        "percent/%2F%00%",
        "back\\slash",
        " spaces around ",
        ".hidden/..dots../...",
        "plus+and&query?x=1#frag",
        "CON/aux/nul",
        "~tilde/$dollar/'quote'",
    ];
    for (i, k) in raw.iter().enumerate() {
        store
            .put(&key(k), pattern(10 + i, i as u8), PutMode::Overwrite)
            .await
            .unwrap();
    }
    for (i, k) in raw.iter().enumerate() {
        assert_eq!(
            must_get(&store, &key(k)).await,
            pattern(10 + i, i as u8),
            "{k}"
        );
    }
    let mut expected: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(list_keys(&store, ListOptions::default()).await, expected);
    Ok(())
}

/// Keys with many segments, long segments, and the maximum length.
pub async fn deep_and_long_keys(store: Arc<dyn Store>) -> Outcome {
    let deep = (0..60)
        .map(|i| format!("d{i}"))
        .collect::<Vec<_>>()
        .join("/");
    let long_segment = format!("long/{}", "x".repeat(1000));
    let wide_unicode = format!("wide/{}", "é".repeat(300));
    let max_len = format!("max/{}", "m".repeat(1020));
    let keys = [deep, long_segment, wide_unicode, max_len];
    for (i, k) in keys.iter().enumerate() {
        store
            .put(&key(k), pattern(64, i as u8), PutMode::Overwrite)
            .await
            .unwrap();
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(must_get(&store, &key(k)).await, pattern(64, i as u8));
        assert_eq!(store.head(&key(k)).await.unwrap().unwrap().key.as_str(), k);
    }
    let mut expected = keys.to_vec();
    expected.sort();
    assert_eq!(list_keys(&store, ListOptions::default()).await, expected);
    Ok(())
}

/// `a` and `a/b` are independent keys: both can exist, and deleting one keeps the other.
pub async fn key_and_its_children_coexist(store: Arc<dyn Store>) -> Outcome {
    store
        .put(&key("tree/a/b"), val("child"), PutMode::Overwrite)
        .await
        .unwrap();
    store
        .put(&key("tree/a"), val("parent"), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(must_get(&store, &key("tree/a")).await, val("parent"));
    assert_eq!(must_get(&store, &key("tree/a/b")).await, val("child"));
    assert_eq!(
        list_keys(&store, ListOptions::default()).await,
        ["tree/a", "tree/a/b"]
    );
    store.delete(&key("tree/a")).await.unwrap();
    assert_eq!(must_get(&store, &key("tree/a/b")).await, val("child"));
    store
        .put(&key("tree/a"), val("again"), PutMode::Overwrite)
        .await
        .unwrap();
    store.delete(&key("tree/a/b")).await.unwrap();
    assert_eq!(must_get(&store, &key("tree/a")).await, val("again"));
    assert_eq!(list_keys(&store, ListOptions::default()).await, ["tree/a"]);
    Ok(())
}

/// Invalid keys are refused with `InvalidKey` when constructed, so they never reach a store.
pub async fn invalid_keys_rejected(store: Arc<dyn Store>) -> Outcome {
    let long = "k".repeat(1025);
    let bad = [
        "",
        "/",
        "/abs",
        "trail/",
        "a//b",
        ".",
        "..",
        "a/../b",
        "a/./b",
        "nul\0",
        "tab\there",
        &long,
    ];
    for raw in bad {
        let err = Key::new(raw).expect_err(raw);
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{raw:?}");
        assert!(!err.to_string().is_empty());
    }
    assert!(list_keys(&store, ListOptions::default()).await.is_empty());
    Ok(())
}
