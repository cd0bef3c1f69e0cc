//! The Azure Blob store against Azurite (or a real account) named by the environment
//! (`strata_tests::azureenv`: `STRATA_AZURE_ENDPOINT`, `_ACCOUNT`, `_ACCESS_KEY`,
//! `_CONTAINER`). `scripts/test.sh` starts Azurite and sets `STRATA_AZURE_REQUIRED=1`,
//! under which missing settings fail every test; without it they report themselves
//! skipped. Every test works under its own random key prefix.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use serde_json::json;
use store_core::{ConfigMap, ErrorKind, Key, ListOptions, PutMode, Store};
use strata::migrate::{MigrateOptions, migrate};
use strata::{AzureConfig, AzureStore};
use strata_tests::azureenv::azure_config;
use strata_tests::harness::{Fixture, runtime};

/// The S3 tests' helpers, for their response-losing proxy.
#[allow(dead_code)]
#[path = "s3_support/mod.rs"]
mod s3_support;

const NO_AZURE: &str = "no Azure server configured (scripts/azurite-server.sh starts one)";

/// The whole conformance suite, each case on a fresh prefix.
mod conformance {
    use super::*;

    strata_tests::conformance_tests!(|| async {
        match azure_config() {
            Some(config) => Fixture::new(strata::open(&config).await.expect("open azure")),
            None => Fixture::skip(NO_AZURE),
        }
    });
}

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

async fn open(config: &ConfigMap) -> Arc<dyn Store> {
    strata::open(config).await.expect("open azure")
}

#[test]
fn config_names_an_unknown_field_and_never_shows_a_secret() {
    runtime().block_on(async {
        let secret = "c2VjcmV0LXZhbHVlLWh1bnRlcjI=";
        let map = |v: serde_json::Value| v.as_object().cloned().unwrap();
        // S3's field name is not Azure's: named, its value not shown.
        let err = strata::open(&map(json!({
            "type": "azure", "container": "c", "account": "a", "bucket": secret
        })))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("`bucket`"), "{err}");
        assert!(!err.to_string().contains(secret), "{err}");
        // A secret in a URI's query is refused without being repeated.
        let err = strata::open_uri(&format!("az://c/p?account=a&access_key={secret}"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`access_key`"), "{err}");
        assert!(!err.to_string().contains(secret), "{err}");
        // ... and accepted as an option, never shown by the store or its config.
        let store = strata::open_uri_with("azure://c/p?account=acct", [("access_key", secret)])
            .await
            .unwrap();
        assert_eq!(store.locations(), ["az://c/p/"]);
        let config = AzureConfig::from_map(&map(json!({
            "container": "c", "account": "acct", "access_key": secret
        })))
        .unwrap();
        let shown = format!(
            "{config:?} {:?}",
            AzureStore::connect(config.clone()).unwrap()
        );
        assert!(!shown.contains(secret), "{shown}");
        // A key that is not base64 is a config error that does not print it.
        let mut bad = config;
        bad.access_key = Some(store_core::Secret::new("not base64 hunter22!"));
        let err = AzureStore::connect(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(!err.to_string().contains("hunter22"), "{err}");
    });
}

#[test]
fn deleting_a_missing_key_succeeds_and_a_missing_container_is_an_error() {
    let Some(config) = azure_config() else { return };
    runtime().block_on(async {
        let store = open(&config).await;
        // Azure answers 404 BlobNotFound; the contract says success.
        store.delete(&key("never/written")).await.unwrap();
        store
            .delete_many(&[key("nope/1"), key("nope/2")])
            .await
            .unwrap();
        store
            .put(&key("there"), "v".into(), PutMode::Overwrite)
            .await
            .unwrap();
        store
            .delete_many(&[key("there"), key("nope/3")])
            .await
            .unwrap();
        assert!(store.get(&key("there")).await.unwrap().is_none());

        // A container that does not exist is never "no value" nor a successful delete.
        let mut gone = config.clone();
        gone.insert("container".into(), "no-such-container-strata".into());
        let gone = open(&gone).await;
        for err in [
            gone.get(&key("k")).await.unwrap_err(),
            gone.head(&key("k")).await.unwrap_err(),
            gone.delete(&key("k")).await.unwrap_err(),
            gone.put(&key("k"), "v".into(), PutMode::Create)
                .await
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert_eq!(err.key(), None, "{err}");
            assert!(
                err.to_string()
                    .contains("container `no-such-container-strata`"),
                "{err}"
            );
        }
    });
}

#[test]
fn lists_in_key_order_and_pages_without_gaps_or_repeats() {
    let Some(config) = azure_config() else { return };
    runtime().block_on(async {
        let store = open(&config).await;
        // Names whose byte order differs from other plausible orders (case, `/` vs `-`,
        // digits, non-ASCII), written in a scrambled order.
        let mut names: Vec<String> = ["a", "a/b", "a-b", "a0", "B", "b", "é", "z/z/z", "a/b/c"]
            .iter()
            .map(|s| s.to_string())
            .chain((0..40).map(|i| format!("n/{:03}", (i * 17) % 40)))
            .collect();
        for name in &names {
            store
                .put(&key(name), Bytes::from(name.clone()), PutMode::Overwrite)
                .await
                .unwrap();
        }
        names.sort();
        let all: Vec<String> = store
            .list(ListOptions::default())
            .map_ok(|m| m.key.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all, names);
        for page_size in [1, 7, 100] {
            let mut paged = Vec::new();
            let mut after: Option<Key> = None;
            loop {
                let mut options = ListOptions::default().limit(page_size);
                if let Some(after) = &after {
                    options = options.start_after(after.clone());
                }
                let page: Vec<Key> = store
                    .list(options)
                    .map_ok(|m| m.key)
                    .try_collect()
                    .await
                    .unwrap();
                let Some(last) = page.last().cloned() else {
                    break;
                };
                paged.extend(page.iter().map(|k| k.to_string()));
                after = Some(last);
            }
            assert_eq!(paged, names, "pages of {page_size}");
        }
        let under_n: Vec<String> = store
            .list(ListOptions::prefix(store_core::Prefix::new("n/").unwrap()))
            .map_ok(|m| m.key.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(under_n.len(), 40);
        assert!(under_n.iter().all(|k| k.starts_with("n/")));
    });
}

/// Stores with clients of their own (as separate processes have) race on one key: one
/// create wins, and a compare-and-swap counter loses no increment.
#[test]
fn independent_clients_race_on_one_key_and_lose_nothing() {
    const CLIENTS: usize = 5;
    const ROUNDS: usize = 10;
    let Some(config) = azure_config() else { return };
    runtime().block_on(async {
        let mut stores = Vec::new();
        for _ in 0..CLIENTS {
            stores.push(open(&config).await);
        }
        let creates = stores.iter().map(|store| {
            let store = store.clone();
            tokio::spawn(async move { store.put(&key("race"), "0".into(), PutMode::Create).await })
        });
        let mut winners = 0;
        for result in futures::future::join_all(creates).await {
            match result.unwrap() {
                Ok(_) => winners += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
            }
        }
        assert_eq!(winners, 1);

        let increments = stores.iter().map(|store| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    loop {
                        let entry = store.get(&key("race")).await.unwrap().unwrap();
                        let n: usize = std::str::from_utf8(&entry.value).unwrap().parse().unwrap();
                        let next = Bytes::from((n + 1).to_string());
                        match store
                            .put(&key("race"), next, PutMode::Update(entry.meta.version))
                            .await
                        {
                            Ok(_) => break,
                            Err(e) if e.kind() == ErrorKind::VersionMismatch => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        });
        for result in futures::future::join_all(increments).await {
            result.unwrap();
        }
        let last = stores[0].get(&key("race")).await.unwrap().unwrap();
        assert_eq!(last.value, Bytes::from((CLIENTS * ROUNDS).to_string()));
    });
}

/// Azure as the backend of a tier opened through the registry, and as the destination of
/// `strata migrate` from redb.
#[test]
fn serves_as_a_tiered_backend_and_a_migration_destination() {
    let Some(backend) = azure_config() else {
        return;
    };
    runtime().block_on(async {
        let tiered = json!({
            "type": "tiered",
            "write_policy": "write-through",
            "frontend": {"type": "cache", "max_bytes": 1 << 20},
            "backend": backend,
        });
        let tier = strata::registry()
            .open(tiered.as_object().unwrap())
            .await
            .expect("open the tier");
        let meta = tier
            .put(&key("t/1"), "one".into(), PutMode::Create)
            .await
            .unwrap();
        tier.put(&key("t/1"), "two".into(), PutMode::Update(meta.version))
            .await
            .unwrap();
        tier.flush().await.unwrap();
        // The value is in Azure itself, not only in the cache.
        let direct = open(&backend).await;
        let entry = direct.get(&key("t/1")).await.unwrap().unwrap();
        assert_eq!(entry.value, Bytes::from("two"));

        let dir = tempfile::tempdir().unwrap();
        let from = strata::open(
            json!({"type": "redb", "path": dir.path().join("src.redb")})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
        let mut destination = azure_config().expect("settings");
        destination.insert(
            "prefix".into(),
            format!("{}-migrated", backend["prefix"].as_str().unwrap()).into(),
        );
        let to = open(&destination).await;
        for i in 0..120 {
            let value = Bytes::from(format!("value {i} ").repeat(1 + i % 9));
            from.put(&key(&format!("m/{i:04}")), value, PutMode::Overwrite)
                .await
                .unwrap();
        }
        let options = MigrateOptions {
            verify: true,
            batch: 32,
            ..Default::default()
        };
        let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(report.copied, 120);
        assert_eq!(report.verified, 120);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        let copied: Vec<(Key, u64)> = to
            .list(ListOptions::default())
            .map_ok(|m| (m.key, m.size))
            .try_collect()
            .await
            .unwrap();
        let source: Vec<(Key, u64)> = from
            .list(ListOptions::default())
            .map_ok(|m| (m.key, m.size))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(copied, source);
    });
}

/// A conditional put whose response is lost: the write id in the blob's metadata
/// (`x-ms-meta-strata_write_id`) lets the store find out that it landed.
#[test]
fn lost_response_to_a_conditional_put_is_resolved() {
    let Some(config) = azure_config() else { return };
    let endpoint = config["endpoint"]
        .as_str()
        .expect("an Azurite endpoint")
        .to_owned();
    let url = url::Url::parse(&endpoint).unwrap();
    let origin = format!("http://{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let proxy = s3_support::Proxy::start(&origin);
    let mut through = config.clone();
    through.insert(
        "endpoint".into(),
        format!("{}{}", proxy.endpoint(), url.path()).into(),
    );
    through.insert("max_retries".into(), 0.into());
    runtime().block_on(async {
        let store = open(&through).await;
        let direct = open(&config).await;
        let k = key("ambiguous/create");
        let first = s3_support::lost_responses_resolve(&*store, &*direct, &proxy, 0, &k).await;
        // A stale version still fails, after the read-back finds the write is not ours.
        let err = store
            .put(&k, "third".into(), PutMode::Update(first))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
    });
}
