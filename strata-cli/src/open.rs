//! Opening the store a command names.
//!
//! Commands that only read (get, head, list, migrate's source) and delete open with
//! [`Access::Existing`]: through a registry that creates nothing, so a mistyped path or
//! bucket fails with `NotFound` (exit 7) instead of creating an empty store there. Only
//! commands that write (put, migrate's destination, bench) may create the store.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use strata::{Registry, Store, redact_uri};

use crate::args::Target;

/// Whether a command may create the store it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The store must exist already.
    Existing,
    /// A missing store is created (a database file, a root directory).
    Create,
}

fn registry(access: Access) -> Registry {
    strata::registry().with_creates_missing(access == Access::Create)
}

/// Open a store from a URI or a config file path.
pub async fn open_spec(spec: &str, access: Access) -> anyhow::Result<Arc<dyn Store>> {
    let registry = registry(access);
    let is_file = Path::new(spec)
        .extension()
        .is_some_and(|e| e == "toml" || e == "json")
        && !spec.contains("://");
    let store = if is_file {
        strata::open_file_with(&registry, spec)
            .await
            .with_context(|| format!("opening the store in {spec}"))?
    } else {
        registry
            .open_uri(spec)
            .await
            .with_context(|| format!("opening {}", redact_uri(spec)))?
    };
    Ok(store)
}

/// Open the store `--store`/`--config` name, or the default.
pub async fn open_target(target: &Target, access: Access) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(uri) = &target.store {
        return open_spec(uri, access).await;
    }
    if let Some(path) = &target.config {
        return strata::open_file_with(&registry(access), path)
            .await
            .with_context(|| format!("opening the store in {}", path.display()));
    }
    strata::open_default_with(&registry(access))
        .await
        .context("opening the default store (set --store, --config or STRATA_STORE)")
}
