//! A Google Cloud Storage bucket from the environment, for running the suite against GCS.
//!
//! Never started by `scripts/test.sh` and never required: no emulator installable there
//! speaks the XML API object_store writes with. Set `STRATA_GCS_BUCKET` and one of
//! `STRATA_GCS_SERVICE_ACCOUNT_PATH` (a key file) or `STRATA_GCS_SERVICE_ACCOUNT_KEY` (the
//! key's JSON); for a capable emulator, `STRATA_GCS_ENDPOINT` alone gives object_store's
//! emulator-style key (no token fetched, no metadata server asked).

use serde_json::json;
use store_core::ConfigMap;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// object_store's key for an emulator at `endpoint`: it sends no token and never asks
/// a metadata endpoint.
pub fn emulator_key(endpoint: &str) -> String {
    json!({
        "gcs_base_url": endpoint,
        "disable_oauth": true,
        "client_email": "",
        "private_key": "",
        "private_key_id": "",
    })
    .to_string()
}

/// A config map (`type = "gcs"`) for the bucket under a fresh random prefix, or `Err`
/// with the reason the GCS tests are skipped.
pub fn gcs_config() -> Result<ConfigMap, String> {
    let Some(bucket) = var("STRATA_GCS_BUCKET") else {
        return Err(
            "STRATA_GCS_BUCKET is not set: GCS is not integration-tested in CI \
                    (no emulator here speaks object_store's XML API); point STRATA_GCS_* \
                    at a real bucket to run it"
                .into(),
        );
    };
    let mut config = json!({
        "type": "gcs",
        "bucket": bucket,
        "prefix": format!("strata-tests/{:016x}", rand::random::<u64>()),
        "multipart_threshold": 5 * 1024 * 1024,
    });
    let endpoint = var("STRATA_GCS_ENDPOINT");
    if let Some(endpoint) = &endpoint {
        config["endpoint"] = endpoint.clone().into();
    }
    match (
        var("STRATA_GCS_SERVICE_ACCOUNT_PATH"),
        var("STRATA_GCS_SERVICE_ACCOUNT_KEY"),
        endpoint,
    ) {
        (Some(path), _, _) => config["service_account_path"] = path.into(),
        (None, Some(key), _) => config["service_account_key"] = key.into(),
        (None, None, Some(endpoint)) => {
            config["service_account_key"] = emulator_key(&endpoint).into()
        }
        (None, None, None) => {
            return Err(
                "STRATA_GCS_BUCKET is set but neither STRATA_GCS_SERVICE_ACCOUNT_PATH, \
                        STRATA_GCS_SERVICE_ACCOUNT_KEY nor STRATA_GCS_ENDPOINT is"
                    .into(),
            );
        }
    }
    Ok(config.as_object().cloned().unwrap_or_default())
}
