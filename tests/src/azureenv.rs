//! The Azure Blob test server (Azurite, or a real account) from the environment.
//!
//! `scripts/test.sh` starts Azurite (`scripts/azurite-server.sh`) and exports
//! `STRATA_AZURE_ENDPOINT`, `STRATA_AZURE_ACCOUNT`, `STRATA_AZURE_ACCESS_KEY` and
//! `STRATA_AZURE_CONTAINER`, plus `STRATA_AZURE_REQUIRED=1`: then a missing server fails
//! the test instead of skipping it. Against a real account, leave the endpoint unset
//! (`STRATA_AZURE_ACCOUNT` is then required) or point it at a private endpoint.

use serde_json::json;
use store_core::ConfigMap;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A config map (`type = "azure"`) for the test container under a fresh random prefix,
/// or `None` (with a note on stderr) when no server is configured and none is required.
///
/// # Panics
/// When `STRATA_AZURE_REQUIRED=1` and the settings are missing or incomplete.
pub fn azure_config() -> Option<ConfigMap> {
    let Some(container) = var("STRATA_AZURE_CONTAINER") else {
        assert!(
            var("STRATA_AZURE_REQUIRED").as_deref() != Some("1"),
            "STRATA_AZURE_REQUIRED=1 but STRATA_AZURE_CONTAINER is not set: \
             scripts/test.sh starts Azurite (scripts/azurite-server.sh)"
        );
        eprintln!(
            "Azure part skipped: STRATA_AZURE_CONTAINER is not set \
             (scripts/azurite-server.sh starts a local Azurite)"
        );
        return None;
    };
    let required = |name: &str| {
        var(name).unwrap_or_else(|| panic!("{name} must be set with STRATA_AZURE_CONTAINER"))
    };
    let mut config = json!({
        "type": "azure",
        "container": container,
        "prefix": format!("strata-tests/{:016x}", rand::random::<u64>()),
        "account": required("STRATA_AZURE_ACCOUNT"),
        "access_key": required("STRATA_AZURE_ACCESS_KEY"),
        // Small enough that the suite's large values take the block-upload path.
        "multipart_threshold": 5 * 1024 * 1024,
    });
    if let Some(endpoint) = var("STRATA_AZURE_ENDPOINT") {
        config["endpoint"] = endpoint.into();
    }
    config.as_object().cloned()
}
