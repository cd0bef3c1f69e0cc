//! The GCS store. Config, URI and error mapping run everywhere, without a server; the
//! conformance suite runs when `STRATA_GCS_*` point at a real bucket or a capable
//! emulator (`strata_tests::gcsenv`), and otherwise each case reports itself skipped
//! with the reason. Never required in CI: no emulator installable there speaks the XML
//! API object_store writes with.

use std::sync::Arc;

use serde_json::json;
use store_core::{ConditionalPuts, ErrorKind, Key, PutMode, Store};
use strata::{GcsConfig, GcsStore};
use strata_tests::gcsenv::{emulator_key, gcs_config};
use strata_tests::harness::{Fixture, runtime};

mod conformance {
    use super::*;

    strata_tests::conformance_tests!(|| async {
        match gcs_config() {
            Ok(config) => Fixture::new(strata::open(&config).await.expect("open gcs")),
            Err(why) => Fixture::skip(why),
        }
    });
}

fn map(v: serde_json::Value) -> store_core::ConfigMap {
    v.as_object().cloned().unwrap()
}

#[test]
fn opens_from_config_and_uri_without_a_request() {
    runtime().block_on(async {
        let key = emulator_key("http://127.0.0.1:1");
        let store = strata::open(&map(json!({
            "type": "gcs", "bucket": "bkt", "prefix": "app", "service_account_key": key,
        })))
        .await
        .unwrap();
        assert_eq!(store.locations(), ["gs://bkt/app/"]);
        let caps = store.capabilities();
        assert_eq!(caps.conditional_puts, ConditionalPuts::Native);
        assert!(!caps.atomic_batches);
        let store = strata::open_uri_with(
            "gs://bkt/a%20b?endpoint=http%3A%2F%2F127.0.0.1%3A1&concurrency=2",
            [("service_account_key", key.as_str())],
        )
        .await
        .unwrap();
        assert_eq!(store.locations(), ["gs://bkt/a%20b/"]);
    });
}

#[test]
fn config_names_an_unknown_field_and_never_shows_a_secret() {
    runtime().block_on(async {
        let secret = "-----BEGIN PRIVATE KEY-----hunter22";
        for field in ["container", "region", "access_key"] {
            let err = strata::open(&map(json!({"type": "gcs", "bucket": "b", field: secret})))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig);
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
        let err = strata::open_uri(&format!("gs://b/p?service_account_key={secret}"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`service_account_key`"), "{err}");
        assert!(!err.to_string().contains("hunter22"), "{err}");
        // A key that is not a service-account key: a config error, the key not shown.
        let mut config = GcsConfig::new("b");
        config.service_account_key =
            Some(store_core::Secret::new(format!("{{\"x\": \"{secret}\"}}")));
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter22"), "{shown}");
        let err = GcsStore::connect(config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(!err.to_string().contains("hunter22"), "{err}");
    });
}

/// Failures map to the contract's kinds without a server: a closed port is a retryable
/// `Unavailable` naming the key, in bounded time.
#[test]
fn an_unreachable_endpoint_is_unavailable_and_retryable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut config = GcsConfig::new("bkt");
    config.endpoint = Some(endpoint.clone());
    config.service_account_key = Some(store_core::Secret::new(emulator_key(&endpoint)));
    config.max_retries = 0;
    config.request_timeout = std::time::Duration::from_secs(2);
    let store: Arc<dyn Store> = Arc::new(GcsStore::connect(config).unwrap());
    runtime().block_on(async {
        let key = Key::new("k").unwrap();
        for err in [
            store.get(&key).await.unwrap_err(),
            store
                .put(&key, "v".into(), PutMode::Overwrite)
                .await
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(err.retryable(), "{err}");
            assert_eq!(err.key(), Some("k"), "{err}");
        }
    });
}
