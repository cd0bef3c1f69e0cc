//! The S3 test server from the environment, for tests that combine S3 with other stores
//! (tiers, migrations, vector persistence).
//!
//! `scripts/test.sh` starts a local server and exports `STRATA_S3_ENDPOINT`,
//! `STRATA_S3_BUCKET`, `STRATA_S3_ACCESS_KEY_ID` and `STRATA_S3_SECRET_ACCESS_KEY`, plus
//! `STRATA_S3_REQUIRED=1`: then a missing server fails the test instead of skipping it.

use serde_json::json;
use store_core::ConfigMap;

/// A config map for the S3 test server under a fresh random prefix, or `None` (with a
/// note on stderr) when no server is configured and none is required.
///
/// # Panics
/// When `STRATA_S3_REQUIRED=1` and the settings are missing or incomplete.
pub fn s3_config() -> Option<ConfigMap> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("STRATA_S3_ENDPOINT") else {
        assert!(
            var("STRATA_S3_REQUIRED").as_deref() != Some("1"),
            "STRATA_S3_REQUIRED=1 but STRATA_S3_ENDPOINT is not set: scripts/test.sh starts a server"
        );
        eprintln!("S3 part skipped: STRATA_S3_ENDPOINT is not set");
        return None;
    };
    let required = |name: &str| {
        var(name).unwrap_or_else(|| panic!("{name} must be set with STRATA_S3_ENDPOINT"))
    };
    let config = json!({
        "type": "s3",
        "bucket": required("STRATA_S3_BUCKET"),
        "prefix": format!("strata-tests/{:016x}", rand::random::<u64>()),
        "endpoint": endpoint,
        "region": var("STRATA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        "access_key_id": required("STRATA_S3_ACCESS_KEY_ID"),
        "secret_access_key": required("STRATA_S3_SECRET_ACCESS_KEY"),
    });
    config.as_object().cloned()
}
