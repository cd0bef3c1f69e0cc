//! `put_many` / `delete_many` as DynamoDB transactions: a failed condition rolls back
//! every write, and batches past the transaction limit fail before writing anything.

use store_core::{ErrorKind, Key, PutMode, PutOp, Store, Version};
use store_dynamodb::MAX_TRANSACTION_ITEMS;

use crate::store;

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

#[test]
fn a_stale_version_rolls_back_the_whole_transaction() {
    strata_tests::harness::runtime().block_on(async {
        let Some(store) = store().await else { return };
        let held = store
            .put(&key("t/held"), "v1".into(), PutMode::Overwrite)
            .await
            .unwrap();
        store
            .put(&key("t/held"), "v2".into(), PutMode::Overwrite)
            .await
            .unwrap();
        store
            .put(&key("t/other"), "old".into(), PutMode::Overwrite)
            .await
            .unwrap();
        let ops = vec![
            PutOp::overwrite(key("t/a"), "a"),
            PutOp::overwrite(key("t/other"), "new"),
            PutOp::new(key("t/held"), "v3", PutMode::Update(held.version.clone())),
            PutOp::new(key("t/fresh"), "f", PutMode::Create),
        ];
        let err = store.put_many(ops).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
        assert_eq!(err.key(), Some("t/held"), "{err}");
        assert!(store.get(&key("t/a")).await.unwrap().is_none());
        assert!(store.get(&key("t/fresh")).await.unwrap().is_none());
        assert_eq!(
            store.get(&key("t/other")).await.unwrap().unwrap().value,
            "old"
        );
        assert_eq!(
            store.get(&key("t/held")).await.unwrap().unwrap().value,
            "v2"
        );
        // The same batch with the current version applies whole.
        let current = store.head(&key("t/held")).await.unwrap().unwrap().version;
        let ops = vec![
            PutOp::overwrite(key("t/a"), "a"),
            PutOp::new(key("t/held"), "v3", PutMode::Update(current)),
        ];
        let metas = store.put_many(ops).await.unwrap();
        assert_eq!(metas.len(), 2);
        assert_eq!(
            store.get(&key("t/held")).await.unwrap().unwrap().value,
            "v3"
        );
        assert_eq!(
            store.head(&key("t/a")).await.unwrap().unwrap().version,
            metas[0].version
        );
        // Update of a version no write made: VersionMismatch, nothing written.
        let ops = vec![
            PutOp::overwrite(key("t/b"), "b"),
            PutOp::new(key("t/a"), "x", PutMode::Update(Version::new("nope"))),
        ];
        assert_eq!(
            store.put_many(ops).await.unwrap_err().kind(),
            ErrorKind::VersionMismatch
        );
        assert!(store.get(&key("t/b")).await.unwrap().is_none());
    });
}

#[test]
fn batches_past_the_transaction_limit_fail_clearly_and_write_nothing() {
    strata_tests::harness::runtime().block_on(async {
        let Some(store) = store().await else { return };
        let keys: Vec<Key> = (0..=MAX_TRANSACTION_ITEMS)
            .map(|i| key(&format!("lim/{i:03}")))
            .collect();
        let ops: Vec<PutOp> = keys
            .iter()
            .map(|k| PutOp::overwrite(k.clone(), "v"))
            .collect();
        let err = store.put_many(ops.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("at most 100"), "{err}");
        assert!(store.get(&keys[0]).await.unwrap().is_none());
        // Exactly the limit is one transaction.
        store
            .put_many(ops[..MAX_TRANSACTION_ITEMS].to_vec())
            .await
            .unwrap();
        let err = store.delete_many(&keys).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            store.get(&keys[0]).await.unwrap().is_some(),
            "nothing deleted"
        );
        // Repeats of a key count once: 100 distinct keys named twice is one transaction.
        let twice: Vec<Key> = keys[..MAX_TRANSACTION_ITEMS]
            .iter()
            .chain(&keys[..10])
            .cloned()
            .collect();
        store.delete_many(&twice).await.unwrap();
        assert!(store.get(&keys[0]).await.unwrap().is_none());
        // A key written twice in one batch cannot be one transaction: refused by name.
        let dup = vec![
            PutOp::overwrite(key("d"), "1"),
            PutOp::overwrite(key("d"), "2"),
        ];
        let err = store.put_many(dup).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.key(), Some("d"));
    });
}
