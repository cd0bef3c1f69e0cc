//! Ordered listing, prefixes, `start_after`, limits and paging.

use std::sync::Arc;

use rand::seq::SliceRandom;
use store_core::{Key, ListOptions, Prefix, PutMode, PutOp, Store};

use super::util::{key, list, list_keys, val};
use crate::harness::Outcome;

async fn put_all(store: &Arc<dyn Store>, keys: &[&str]) {
    for k in keys {
        store
            .put(&key(k), val(k), PutMode::Overwrite)
            .await
            .unwrap();
    }
}

fn opts(prefix: &str) -> ListOptions {
    ListOptions::prefix(Prefix::new(prefix).unwrap())
}

/// `list` yields keys in ascending byte order whatever order they were written in.
pub async fn list_is_ordered(store: Arc<dyn Store>) -> Outcome {
    let mut keys: Vec<String> = (0..200).map(|i| format!("o/{}", i * 7919 % 1000)).collect();
    keys.extend(["o/A", "o/a", "o/Z", "o/é", "o/a/b", "o/a0", "o/-"].map(String::from));
    keys.shuffle(&mut rand::rng());
    for k in &keys {
        store
            .put(&key(k), val(k), PutMode::Overwrite)
            .await
            .unwrap();
    }
    keys.sort();
    keys.dedup();
    assert_eq!(list_keys(&store, ListOptions::default()).await, keys);
    Ok(())
}

/// A prefix selects exactly the keys that start with it (a string prefix, not a segment).
pub async fn list_prefix(store: Arc<dyn Store>) -> Outcome {
    put_all(&store, &["a", "a/1", "a/2", "a/2/deep", "ab", "b/1", "A/1"]).await;
    assert_eq!(
        list_keys(&store, opts("a/")).await,
        ["a/1", "a/2", "a/2/deep"]
    );
    assert_eq!(
        list_keys(&store, opts("a")).await,
        ["a", "a/1", "a/2", "a/2/deep", "ab"]
    );
    assert_eq!(list_keys(&store, opts("a/2")).await, ["a/2", "a/2/deep"]);
    assert!(list_keys(&store, opts("c")).await.is_empty());
    assert!(list_keys(&store, opts("a/1/")).await.is_empty());
    assert_eq!(list_keys(&store, opts("")).await.len(), 7);
    Ok(())
}

/// `start_after` excludes the given key and everything before it, present or not.
pub async fn list_start_after(store: Arc<dyn Store>) -> Outcome {
    put_all(&store, &["s/a", "s/b", "s/b/x", "s/c", "t/a"]).await;
    let after = |k: &str| ListOptions::default().start_after(key(k));
    assert_eq!(
        list_keys(&store, after("s/b")).await,
        ["s/b/x", "s/c", "t/a"]
    );
    assert_eq!(list_keys(&store, after("s/bb")).await, ["s/c", "t/a"]);
    assert_eq!(list_keys(&store, after("a")).await.len(), 5);
    assert!(list_keys(&store, after("z")).await.is_empty());
    let both = opts("s/").start_after(key("s/a"));
    assert_eq!(list_keys(&store, both).await, ["s/b", "s/b/x", "s/c"]);
    let before_prefix = opts("t/").start_after(key("a"));
    assert_eq!(list_keys(&store, before_prefix).await, ["t/a"]);
    Ok(())
}

/// `limit` caps the number of entries and keeps the first ones.
pub async fn list_limit(store: Arc<dyn Store>) -> Outcome {
    put_all(&store, &["l/1", "l/2", "l/3", "l/4", "m/1"]).await;
    assert_eq!(
        list_keys(&store, ListOptions::default().limit(2)).await,
        ["l/1", "l/2"]
    );
    assert!(
        list_keys(&store, ListOptions::default().limit(0))
            .await
            .is_empty()
    );
    assert_eq!(
        list_keys(&store, ListOptions::default().limit(100))
            .await
            .len(),
        5
    );
    let page = opts("l/").start_after(key("l/2")).limit(1);
    assert_eq!(list_keys(&store, page).await, ["l/3"]);
    Ok(())
}

/// Paging with `start_after` + `limit` visits 2,500 keys once each, in order.
pub async fn list_pages_through_2500_keys(store: Arc<dyn Store>) -> Outcome {
    let all: Vec<Key> = (0..2500).map(|i| key(&format!("page/{i:05}"))).collect();
    // Batches of 100, or smaller where the store declares smaller batch limits.
    let ops: Vec<PutOp> = all
        .iter()
        .map(|k| PutOp::overwrite(k.clone(), val(k.as_str())))
        .collect();
    for batch in store.capabilities().put_batches(ops, 100) {
        store.put_many(batch).await.unwrap();
    }
    let mut seen: Vec<Key> = Vec::new();
    let mut pages = 0;
    loop {
        let mut options = opts("page/").limit(1000);
        options.start_after = seen.last().cloned();
        let page = list(&store, options).await;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 1000);
        pages += 1;
        seen.extend(page.into_iter().map(|m| m.key));
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);
    let unpaged = list(&store, opts("page/")).await;
    assert_eq!(unpaged.len(), 2500);
    Ok(())
}

/// `list` reports the same size and version as `head`, without reading values.
pub async fn list_meta_matches_head(store: Arc<dyn Store>) -> Outcome {
    for (i, k) in ["h/a", "h/b", "h/c"].iter().enumerate() {
        store
            .put(&key(k), vec![b'x'; i * 100].into(), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let listed = list(&store, opts("h/")).await;
    assert_eq!(
        listed.iter().map(|m| m.size).collect::<Vec<_>>(),
        [0, 100, 200]
    );
    for meta in listed {
        let head = store
            .head(&meta.key)
            .await
            .unwrap()
            .expect("listed key exists");
        assert_eq!(meta.size, head.size, "{}", meta.key);
        assert_eq!(meta.version, head.version, "{}", meta.key);
    }
    Ok(())
}
