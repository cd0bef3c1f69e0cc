//! The `Watch` layer (`store_layers::watch`): the whole conformance suite through it (on
//! memory and on redb), and its own promises: changes after acknowledgement with their
//! versions, batches, prefixes, failed writes, and a slow watcher that never blocks writes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use store_core::{Key, Prefix, PutMode, PutOp, Store, Version};
use store_layers::watch::{Change, ChangeKind, Event, Watch};
use store_memory::MemoryStore;
use strata_tests::harness::{Fixture, runtime};

mod memory {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(Watch::new(Arc::new(MemoryStore::new()))))
    });
}

mod redb {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = store_lmdb::RedbConfig::new(dir.path().join("watch.redb"));
        let store = store_lmdb::RedbStore::open(config)
            .await
            .expect("open redb");
        Fixture::new(Arc::new(Watch::new(Arc::new(store)))).with_guard(dir)
    });
}

fn key(text: &str) -> Key {
    Key::new(text).unwrap()
}

fn put(text: &str, version: Version) -> Event {
    Event::Change(Change {
        key: key(text),
        version: Some(version),
        kind: ChangeKind::Put,
    })
}

fn deleted(text: &str) -> Event {
    Event::Change(Change {
        key: key(text),
        version: None,
        kind: ChangeKind::Delete,
    })
}

#[test]
fn puts_deletes_and_batches_arrive_in_order_with_their_versions() {
    runtime().block_on(async {
        let store = Watch::new(Arc::new(MemoryStore::new()));
        let mut all = store.watch(Prefix::default());
        let mut only_b = store.watch(Prefix::new("b/").unwrap());
        let a = store
            .put(&key("a/1"), Bytes::from("x"), PutMode::Create)
            .await
            .unwrap();
        let metas = store
            .put_many(vec![
                PutOp::overwrite(key("b/1"), "y"),
                PutOp::new(key("a/2"), "z", PutMode::Create),
            ])
            .await
            .unwrap();
        store.delete_many(&[key("b/1"), key("a/1")]).await.unwrap();
        store.delete(&key("a/2")).await.unwrap();
        let expected = vec![
            put("a/1", a.version),
            put("b/1", metas[0].version.clone()),
            put("a/2", metas[1].version.clone()),
            deleted("b/1"),
            deleted("a/1"),
            deleted("a/2"),
        ];
        let seen: Vec<Event> = all.by_ref().take(expected.len()).collect().await;
        assert_eq!(seen, expected);
        let seen_b: Vec<Event> = only_b.by_ref().take(2).collect().await;
        assert_eq!(seen_b, vec![expected[1].clone(), expected[3].clone()]);
        drop(store);
        assert_eq!(all.next().await, None, "the stream ends with the store");
    });
}

#[test]
fn a_change_is_announced_only_after_the_write_is_acknowledged() {
    runtime().block_on(async {
        let inner = Arc::new(MemoryStore::new());
        let store = Arc::new(Watch::new(inner.clone()));
        let mut changes = store.watch(Prefix::default());
        let checker = tokio::spawn(async move {
            for _ in 0..500 {
                let Some(Event::Change(change)) = changes.next().await else {
                    panic!("a change")
                };
                // The inner store already holds the announced version (no later write
                // to this key happens: each key is written once).
                let meta = inner.head(&change.key).await.unwrap().expect("written");
                assert_eq!(Some(meta.version), change.version);
            }
        });
        for i in 0..500 {
            let k = key(&format!("k/{i}"));
            store
                .put(&k, Bytes::from("v"), PutMode::Create)
                .await
                .unwrap();
        }
        tokio::time::timeout(Duration::from_secs(30), checker)
            .await
            .expect("all changes arrive")
            .unwrap();
    });
}

#[test]
fn a_write_that_did_not_apply_announces_nothing() {
    runtime().block_on(async {
        let store = Watch::new(Arc::new(MemoryStore::new()));
        let first = store
            .put(&key("k"), Bytes::from("1"), PutMode::Create)
            .await
            .unwrap();
        let mut changes = store.watch(Prefix::default());
        let again = store
            .put(&key("k"), Bytes::from("2"), PutMode::Create)
            .await;
        assert!(again.is_err());
        let stale = PutMode::Update(Version::new("no-such-version"));
        assert!(store.put(&key("k"), Bytes::from("3"), stale).await.is_err());
        let k = key("k");
        let next = store.put(&k, Bytes::from("4"), PutMode::Update(first.version));
        let next = next.await.unwrap();
        assert_eq!(changes.next().await, Some(put("k", next.version)));
    });
}

#[test]
fn a_slow_watcher_never_blocks_writes_and_is_told_what_it_missed() {
    runtime().block_on(async {
        let store = Watch::with_capacity(Arc::new(MemoryStore::new()), 8);
        let mut slow = store.watch(Prefix::default());
        // Nobody reads `slow` while 100 writes go through: none of them waits.
        let writes = async {
            for i in 0..100u32 {
                let k = key(&format!("k/{i:03}"));
                store
                    .put(&k, Bytes::from("v"), PutMode::Overwrite)
                    .await
                    .unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(10), writes)
            .await
            .expect("writes are not held up by a watcher");
        assert_eq!(slow.next().await, Some(Event::Lagged(92)));
        let rest: Vec<Event> = slow.take(8).collect().await;
        let Event::Change(first) = &rest[0] else {
            panic!("{rest:?}")
        };
        assert_eq!(first.key.as_str(), "k/092");
        let Event::Change(last) = &rest[7] else {
            panic!("{rest:?}")
        };
        assert_eq!(last.key.as_str(), "k/099");
    });
}
