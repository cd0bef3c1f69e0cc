//! Opening the store a command names.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use strata::Store;

use crate::args::Target;

/// Open a store from a URI or a config file path.
pub async fn open_spec(spec: &str) -> anyhow::Result<Arc<dyn Store>> {
    let is_file = Path::new(spec)
        .extension()
        .is_some_and(|e| e == "toml" || e == "json")
        && !spec.contains("://");
    let store = if is_file {
        strata::open_file(spec)
            .await
            .with_context(|| format!("opening the store in {spec}"))?
    } else {
        strata::open_uri(spec)
            .await
            .with_context(|| format!("opening {spec}"))?
    };
    Ok(store)
}

/// Open the store `--store`/`--config` name, or the default.
pub async fn open_target(target: &Target) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(uri) = &target.store {
        return open_spec(uri).await;
    }
    if let Some(path) = &target.config {
        return strata::open_file(path)
            .await
            .with_context(|| format!("opening the store in {}", path.display()));
    }
    strata::open_default()
        .await
        .context("opening the default store (set --store, --config or STRATA_STORE)")
}
