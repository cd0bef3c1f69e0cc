//! Listing and batch reads past DynamoDB's 1 MB page: the store must follow
//! `LastEvaluatedKey` (Query) and re-ask for `UnprocessedKeys` (BatchGetItem).

use futures::TryStreamExt;
use store_core::{ErrorKind, Key, ListOptions, Prefix, PutMode, Store};

use crate::store;

/// 250 KB values: moto counts a binary attribute by its base64 text (about 333 KB here),
/// so three fit a 1 MB page and ten need four pages.
const VALUE: usize = 250 * 1024;
const COUNT: usize = 10;

#[test]
fn list_and_get_many_page_past_1_mb() {
    strata_tests::harness::runtime().block_on(async {
        let Some(store) = store().await else { return };
        let keys: Vec<Key> = (0..COUNT)
            .map(|i| Key::new(format!("big/{i:02}")).unwrap())
            .collect();
        for (i, key) in keys.iter().enumerate() {
            let value = vec![i as u8; VALUE];
            store
                .put(key, value.into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        store
            .put(&Key::new("small").unwrap(), "x".into(), PutMode::Overwrite)
            .await
            .unwrap();
        // More than 1 MB under `big/`: one Query page cannot hold it.
        const { assert!(COUNT * VALUE > 2 << 20) };
        let listed: Vec<Key> = store
            .list(ListOptions::prefix(Prefix::new("big/").unwrap()))
            .map_ok(|meta| meta.key)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, keys);
        let everything: Vec<_> = store
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(everything.len(), COUNT + 1);
        assert_eq!(everything[3].size, VALUE as u64);
        // Paging with start_after and limit crosses the page ends too.
        let after: Vec<Key> = store
            .list(ListOptions::default().start_after(keys[2].clone()).limit(5))
            .map_ok(|meta| meta.key)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(after, keys[3..8]);
        // A start_after outside the prefix (DynamoDB refuses it as a start key): before
        // the prefix admits all of it, past it none.
        let big = || ListOptions::prefix(Prefix::new("big/").unwrap());
        for (after, expected) in [("a", COUNT), ("big", COUNT), ("big/05", 4), ("c", 0)] {
            let options = big().start_after(Key::new(after).unwrap());
            let listed: Vec<_> = store.list(options).try_collect().await.unwrap();
            assert_eq!(listed.len(), expected, "start_after {after}");
        }
        let got = store.get_many(&keys).await.unwrap();
        for (i, entry) in got.iter().enumerate() {
            let entry = entry.as_ref().expect("every big value is there");
            assert_eq!(entry.value.len(), VALUE);
            assert!(
                entry.value.iter().all(|b| *b == i as u8),
                "value {i} differs"
            );
        }
    });
}

#[test]
fn a_value_over_the_item_limit_is_refused_naming_the_key() {
    strata_tests::harness::runtime().block_on(async {
        let Some(store) = store().await else { return };
        let max = store.capabilities().max_value_size.expect("declared");
        assert!(
            max < store_dynamodb::ITEM_LIMIT && max > 390 * 1024,
            "{max}"
        );
        let key = Key::new("too/big").unwrap();
        let err = store
            .put(&key, vec![0u8; max as usize + 1].into(), PutMode::Overwrite)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.key(), Some("too/big"));
        assert!(err.to_string().contains("400 KB"), "{err}");
        assert!(store.get(&key).await.unwrap().is_none());
    });
}
