//! Every layer factory: nested configs open through the facade registry, bad configs are
//! refused naming the field, and keys never show in the errors.

mod layers_support;

use std::sync::Arc;

use layers_support::key;
use serde_json::json;
use store_core::{ConfigMap, ErrorKind, PutMode, Result, Store};

fn rt() -> tokio::runtime::Runtime {
    strata_tests::harness::runtime()
}

fn map(value: serde_json::Value) -> ConfigMap {
    value.as_object().expect("a config map").clone()
}

async fn open(value: serde_json::Value) -> Result<Arc<dyn Store>> {
    strata::registry().open(&map(value)).await
}

#[test]
fn every_layer_opens_from_a_config_map_nesting_its_inner_store() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("k");
        std::fs::write(&key_path, layers_support::KEY_B).unwrap();
        let stack = open(json!({
            "type": "limit", "max": 8, "inner": {
            "type": "timeout", "ms": 5000, "inner": {
            "type": "retry", "max_attempts": 4, "initial_backoff_ms": 5, "max_backoff_ms": 50, "inner": {
            "type": "compress", "codec": "lz4", "inner": {
            "type": "encrypt", "key_file": key_path, "inner": "memory:"}}}}}))
        .await
        .unwrap();
        let k = key("f/a");
        stack.put(&k, layers_support::json_like(4096), PutMode::Overwrite).await.unwrap();
        assert_eq!(stack.get(&k).await.unwrap().unwrap().value, layers_support::json_like(4096));
        open(json!({"type": "compress", "inner": {"type": "memory"}})).await.unwrap();
        open(json!({"type": "compress", "codec": "zstd", "level": 19, "inner": "memory:"}))
            .await
            .unwrap();
    });
}

#[test]
fn layer_configs_are_checked_naming_the_field() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("k");
        std::fs::write(&key_path, layers_support::KEY_A).unwrap();
        let cases = [
            (json!({"type": "compress", "inner": "memory:", "extra": 1}), "extra"),
            (json!({"type": "compress", "codec": "brotli", "inner": "memory:"}), "codec"),
            (json!({"type": "compress", "level": 99, "inner": "memory:"}), "level"),
            (json!({"type": "compress", "codec": "lz4", "level": 3, "inner": "memory:"}), "level"),
            (json!({"type": "compress", "inner": {"type": "memory", "bogus": true}}), "bogus"),
            (json!({"type": "compress"}), "inner"),
            (json!({"type": "encrypt", "inner": "memory:"}), "key_env"),
            (json!({"type": "encrypt", "key_env": "X", "key_file": key_path, "inner": "memory:"}), "key_env"),
            (json!({"type": "encrypt", "key_file": key_path, "old_keys": [{}], "inner": "memory:"}), "old_keys[0]"),
            (json!({"type": "encrypt", "key_file": key_path, "key": "00", "inner": "memory:"}), "key"),
            (json!({"type": "encrypt", "key_file": dir.path().join("none"), "inner": "memory:"}), "key file"),
            (json!({"type": "encrypt", "key_env": "STRATA_TEST_SURELY_UNSET_VAR", "inner": "memory:"}), "STRATA_TEST_SURELY_UNSET_VAR"),
            (json!({"type": "retry", "max_attempts": 0, "inner": "memory:"}), "max_attempts"),
            (json!({"type": "retry", "initial_backoff_ms": 10, "max_backoff_ms": 1, "inner": "memory:"}), "max_backoff_ms"),
            (json!({"type": "retry", "attempts": 3, "inner": "memory:"}), "attempts"),
            (json!({"type": "timeout", "ms": 0, "inner": "memory:"}), "ms"),
            (json!({"type": "timeout", "inner": "memory:"}), "ms"),
            (json!({"type": "limit", "max": 0, "inner": "memory:"}), "max"),
            (json!({"type": "limit", "max": 4, "inner": "nosuch://x"}), "inner"),
        ];
        for (config, field) in cases {
            let err = open(config.clone()).await.expect_err("a bad config");
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{config}: {err}");
            assert!(err.to_string().contains(field), "{config}: {err}");
        }
    });
}

#[test]
fn a_key_from_the_environment_never_shows_in_the_error() {
    rt().block_on(async {
        // PATH is set everywhere and is no key: the error must say so without its value.
        let path = std::env::var("PATH").expect("PATH is set");
        let err = open(json!({"type": "encrypt", "key_env": "PATH", "inner": "memory:"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&path), "{shown}");
    });
}
