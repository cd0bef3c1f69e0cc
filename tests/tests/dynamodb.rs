//! The DynamoDB store against a real DynamoDB API: moto's server, which scripts/test.sh
//! starts for S3 and DynamoDB alike, named by `STRATA_DYNAMODB_ENDPOINT`. Under
//! `STRATA_DYNAMODB_REQUIRED=1` a missing server fails every test; without it the tests
//! report themselves skipped. Every test works in its own random namespace of one table.
//!
//! The whole conformance suite: opened directly, from a `dynamodb://` URI through the
//! registry, and as the backend of a tiered stack. Paging, transactions, failures and the
//! CAS race are in tests/tests/dynamodb_cases.

use std::sync::Arc;

use store_dynamodb::{DynamoConfig, DynamoStore};
use store_memory::CacheStore;
use store_tiered::{TieredOptions, TieredStore};
use strata_tests::dynamoenv::{DynamoEnv, NO_DYNAMODB, dynamodb_env, random_namespace};
use strata_tests::harness::Fixture;

mod dynamodb_cases;

/// The config of a fresh namespace of the test server's table (created if missing).
fn config(env: &DynamoEnv) -> DynamoConfig {
    DynamoConfig::new(&env.table)
        .endpoint(&env.endpoint)
        .region(&env.region)
        .credentials(&env.access_key_id, &env.secret_access_key)
        .namespace(random_namespace())
        .create_table(true)
}

/// A store in a fresh namespace of the test server, or `None` to skip.
async fn store() -> Option<DynamoStore> {
    let env = dynamodb_env()?;
    Some(
        DynamoStore::open(config(&env))
            .await
            .expect("open the DynamoDB store"),
    )
}

mod conformance {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        match store().await {
            Some(store) => Fixture::new(Arc::new(store)),
            None => Fixture::skip(NO_DYNAMODB),
        }
    });
}

/// The suite through the registry and the `dynamodb://` URI, as applications open it
/// (the secret as an option: never in the URI).
mod conformance_from_uri {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(env) = dynamodb_env() else {
            return Fixture::skip(NO_DYNAMODB);
        };
        let uri = format!(
            "dynamodb://{}?endpoint={}&region={}&namespace={}&access_key_id={}",
            env.table,
            env.endpoint,
            env.region,
            random_namespace(),
            env.access_key_id
        );
        let options = [(
            "secret_access_key".to_owned(),
            env.secret_access_key.clone(),
        )];
        let store = strata::registry()
            .open_uri_with(&uri, &options)
            .await
            .expect("open the dynamodb:// URI");
        Fixture::new(store)
    });
}

/// `strata migrate` into DynamoDB and back out, verified: 1,200 keys, more than one
/// listing page and several batches at the default size.
#[test]
fn migrates_in_and_out_verified() {
    strata_tests::harness::runtime().block_on(async {
        let Some(dynamo) = store().await else {
            return;
        };
        strata_tests::roundtrip::migrate_in_and_out(Arc::new(dynamo), "DynamoDB").await;
    });
}

/// Values of 100 KB: 100 of them are 10 MB, more than one 4 MB transaction holds, so
/// `migrate` and `copy_all` cut their batches by bytes as well as by count.
#[test]
fn large_values_migrate_in_batches_under_4_mb() {
    use store_core::{Key, Prefix, PutMode, Store, StoreExt};
    use store_memory::MemoryStore;
    use strata::migrate::{MigrateOptions, migrate};

    strata_tests::harness::runtime().block_on(async {
        let Some(dynamo) = store().await else {
            return;
        };
        let dynamo: Arc<dyn Store> = Arc::new(dynamo);
        let source: Arc<dyn Store> = Arc::new(MemoryStore::new());
        for i in 0..120usize {
            let key = Key::new(format!("big/{i:04}")).unwrap();
            let value = vec![i as u8; 100_000];
            source
                .put(&key, value.into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        let options = MigrateOptions {
            verify: true,
            ..MigrateOptions::default()
        };
        let report = migrate(source.clone(), dynamo.clone(), &options, &|_, _| {})
            .await
            .expect("migrate 12 MB into DynamoDB");
        assert_eq!((report.copied, report.verified), (120, 120));
        let back: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let copy = dynamo
            .copy_all(back.as_ref(), &Prefix::empty())
            .await
            .unwrap();
        assert_eq!(copy.keys, 120);
        let got = back.get(&Key::new("big/0077").unwrap()).await.unwrap();
        assert_eq!(got.unwrap().value, vec![77u8; 100_000]);
    });
}

/// A memory cache in front of DynamoDB: DynamoDB as a tiered backend.
mod cache_over_dynamodb {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(dynamo) = store().await else {
            return Fixture::skip(NO_DYNAMODB);
        };
        let store = TieredStore::open_cached(
            CacheStore::new(64 << 20),
            Arc::new(dynamo),
            TieredOptions::default(),
        )
        .await
        .expect("cache over DynamoDB");
        Fixture::new(Arc::new(store))
    });
}
