//! Config every engine shares: durability, the value cache's default size, the builder
//! methods, and the base config map of a local-path URI.

use serde::Deserialize;
use store_core::{ConfigMap, Error, Result, StoreUri};

/// The default size of the value cache (see [`RedbConfig::value_cache_size`](crate::RedbConfig::value_cache_size)): 64 MiB.
pub const DEFAULT_VALUE_CACHE_SIZE: u64 = 64 * 1024 * 1024;

/// What an acknowledged write survives, for either engine (named for redb, which had it
/// first; [`LmdbDurability`](crate::LmdbDurability) is the same type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedbDurability {
    /// Every commit is fsynced before its writes are acknowledged: they survive power loss.
    #[default]
    Immediate,
    /// Commits are not fsynced and survive neither a crash nor power loss until
    /// [`flush`](store_core::Store::flush) forces a durable commit. For cache tiers.
    None,
}

impl RedbDurability {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RedbDurability::Immediate => "immediate",
            RedbDurability::None => "none",
        }
    }
}

/// The base config map of `SCHEME:///abs/path?…`: `type` (the scheme) and `path` from the
/// URI; the caller reads the query into its config with `uri.config::<Config>(base)`.
/// `what` names the path ("database file", "environment directory"), `example` shows a URI.
pub(crate) fn local_path_config(
    uri: &StoreUri<'_>,
    what: &str,
    example: &str,
) -> Result<ConfigMap> {
    let url = uri.url();
    let scheme = url.scheme();
    let bad = |why: String| Error::invalid_config("uri", why);
    if url.host_str().is_some_and(|h| !h.is_empty()) {
        return Err(bad(format!(
            "a {scheme} URI names a local {what}: use `{example}`"
        )));
    }
    if url.path().is_empty() || url.path() == "/" {
        return Err(bad(format!("missing the {what} path, as in `{example}`")));
    }
    let path = url
        .to_file_path()
        .map_err(|()| bad("the path is not an absolute local path".into()))?;
    let mut config = ConfigMap::new();
    config.insert("type".into(), scheme.into());
    config.insert("path".into(), path.to_string_lossy().into_owned().into());
    Ok(config)
}

/// The builder methods every engine's config shares (`create`, `durability`,
/// `value_cache_size`) and `creates()`; `$what` names what may be created.
macro_rules! embedded_config {
    ($config:ident, $what:literal) => {
        impl $config {
            #[doc = concat!("Allow (`true`) or forbid (`false`) creating the ", $what, " if it is missing.")]
            pub fn create(mut self, create: bool) -> Self {
                self.create = Some(create);
                self
            }

            #[doc = concat!("Whether a missing ", $what, " may be created (unset means yes).")]
            pub(crate) fn creates(&self) -> bool {
                self.create.unwrap_or(true)
            }

            /// Set the durability.
            pub fn durability(mut self, durability: $crate::RedbDurability) -> Self {
                self.durability = durability;
                self
            }

            /// Set the value cache size in bytes (0 disables it).
            pub fn value_cache_size(mut self, bytes: u64) -> Self {
                self.value_cache_size = Some(bytes);
                self
            }
        }
    };
}
pub(crate) use embedded_config;
