//! The DynamoDB test server from the environment, for the DynamoDB tests and for tests
//! that combine DynamoDB with other stores (tiers, migrations).
//!
//! `scripts/test.sh` serves DynamoDB from the moto it starts for S3 and exports
//! `STRATA_DYNAMODB_ENDPOINT` (with `STRATA_DYNAMODB_ACCESS_KEY_ID`,
//! `STRATA_DYNAMODB_SECRET_ACCESS_KEY`, and optionally `STRATA_DYNAMODB_TABLE` and
//! `STRATA_DYNAMODB_REGION`), plus `STRATA_DYNAMODB_REQUIRED=1`: then a missing server
//! fails the test instead of skipping it.

use serde_json::json;
use store_core::ConfigMap;

/// Why a DynamoDB test is skipped.
pub const NO_DYNAMODB: &str = "no DynamoDB server configured (set STRATA_DYNAMODB_ENDPOINT)";

/// The test server's settings. Each test gets a table of its own (see [`random_table`]).
#[derive(Clone, Debug)]
pub struct DynamoEnv {
    /// The endpoint URL.
    pub endpoint: String,
    /// The table, fresh for each call of [`dynamodb_env`] unless `STRATA_DYNAMODB_TABLE`
    /// names one to share (each test then works in its own namespace).
    pub table: String,
    /// The region to sign for.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (a test server's dummy).
    pub secret_access_key: String,
}

/// The test server's settings, or `None` (with a note on stderr) when none is configured
/// and none is required.
///
/// # Panics
/// When `STRATA_DYNAMODB_REQUIRED=1` and `STRATA_DYNAMODB_ENDPOINT` is not set.
pub fn dynamodb_env() -> Option<DynamoEnv> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("STRATA_DYNAMODB_ENDPOINT") else {
        assert!(
            var("STRATA_DYNAMODB_REQUIRED").as_deref() != Some("1"),
            "STRATA_DYNAMODB_REQUIRED=1 but STRATA_DYNAMODB_ENDPOINT is not set: scripts/test.sh starts a server"
        );
        eprintln!("DynamoDB part skipped: {NO_DYNAMODB}");
        return None;
    };
    Some(DynamoEnv {
        endpoint,
        table: var("STRATA_DYNAMODB_TABLE").unwrap_or_else(random_table),
        region: var("STRATA_DYNAMODB_REGION").unwrap_or_else(|| "us-east-1".into()),
        access_key_id: var("STRATA_DYNAMODB_ACCESS_KEY_ID")
            .unwrap_or_else(|| "strata-test-key".into()),
        secret_access_key: var("STRATA_DYNAMODB_SECRET_ACCESS_KEY")
            .unwrap_or_else(|| "strata-test-secret".into()),
    })
}

/// A fresh table name. Tests use a table each because moto copies a whole table for
/// every item of a transaction (to roll back): in a table shared by the whole suite, a
/// 100-item `put_many` took seconds.
pub fn random_table() -> String {
    format!("strata-tests-{:016x}", rand::random::<u64>())
}

/// A fresh random namespace, so tests never see each other's keys.
pub fn random_namespace() -> String {
    format!("strata-tests-{:016x}", rand::random::<u64>())
}

/// A config map for the test server's table (created if missing) under a fresh namespace,
/// or `None` as [`dynamodb_env`] says.
pub fn dynamodb_config() -> Option<ConfigMap> {
    let env = dynamodb_env()?;
    let config = json!({
        "type": "dynamodb",
        "table": env.table,
        "endpoint": env.endpoint,
        "region": env.region,
        "namespace": random_namespace(),
        "access_key_id": env.access_key_id,
        "secret_access_key": env.secret_access_key,
        "create_table": true,
    });
    config.as_object().cloned()
}
