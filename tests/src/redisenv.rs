//! The Redis test server from the environment, for the Redis tests and for tests that
//! combine Redis with other stores (tiers, migrations).
//!
//! `scripts/test.sh` starts a local `redis-server` and exports `STRATA_REDIS_URL`, plus
//! `STRATA_REDIS_REQUIRED=1`: then a missing server fails the test instead of skipping it.

use serde_json::json;
use store_core::ConfigMap;

/// Why a Redis test is skipped.
pub const NO_REDIS: &str = "no Redis server configured (set STRATA_REDIS_URL)";

/// The test server's URL, or `None` (with a note on stderr) when none is configured and
/// none is required.
///
/// # Panics
/// When `STRATA_REDIS_REQUIRED=1` and `STRATA_REDIS_URL` is not set.
pub fn redis_url() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(url) = var("STRATA_REDIS_URL") else {
        assert!(
            var("STRATA_REDIS_REQUIRED").as_deref() != Some("1"),
            "STRATA_REDIS_REQUIRED=1 but STRATA_REDIS_URL is not set: scripts/test.sh starts a server"
        );
        eprintln!("Redis part skipped: {NO_REDIS}");
        return None;
    };
    Some(url)
}

/// A fresh random namespace, so tests never see each other's keys.
pub fn random_namespace() -> String {
    format!("strata-tests-{:016x}", rand::random::<u64>())
}

/// A config map for the Redis test server under a fresh namespace, or `None` as
/// [`redis_url`] says.
pub fn redis_config() -> Option<ConfigMap> {
    let config = json!({"type": "redis", "url": redis_url()?, "namespace": random_namespace()});
    config.as_object().cloned()
}
