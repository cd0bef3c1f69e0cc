//! The registry: opens a store from a config map or a URI by backend name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::config::{ConfigMap, TYPE_FIELD, config_type, redact_uri};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::uri::StoreUri;

/// Builds one kind of store. Backends provide one; the `strata` facade registers them all.
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// The `type` value this factory answers to, e.g. `"file"`.
    fn type_name(&self) -> &'static str;

    /// Other accepted `type` values (alternative spellings of the type name).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// URI schemes this factory opens, e.g. `["file"]`.
    fn uri_schemes(&self) -> &'static [&'static str] {
        &[]
    }

    /// Turn a URI with one of [`uri_schemes`](Self::uri_schemes) into a config map
    /// (including its `type` field): read what the host and path say into a base map, and
    /// hand it to [`StoreUri::config`] with the backend's config struct, which adds the
    /// query parameters and options, typed.
    fn config_from_uri(&self, uri: &StoreUri<'_>) -> Result<ConfigMap> {
        Err(Error::invalid_config(
            "uri",
            format!(
                "store type `{}` cannot be opened from the URI `{}`",
                self.type_name(),
                redact_uri(uri.url().as_str())
            ),
        ))
    }

    /// Open a store from its config map. `registry` opens nested stores, and resolves
    /// the config's relative paths ([`Registry::resolve_path`]: a config file's paths are
    /// relative to the file).
    async fn open(&self, config: &ConfigMap, registry: &Registry) -> Result<Arc<dyn Store>>;
}

/// Maps store type names and URI schemes to factories.
///
/// ```
/// # use std::sync::Arc;
/// # use async_trait::async_trait;
/// # use store_core::*;
/// # #[derive(Debug)] struct Null;
/// # #[async_trait] impl Store for Null {
/// #   fn capabilities(&self) -> Capabilities { Capabilities::default() }
/// #   async fn get(&self, _: &Key) -> Result<Option<Entry>> { Ok(None) }
/// #   async fn head(&self, _: &Key) -> Result<Option<Meta>> { Ok(None) }
/// #   async fn put(&self, _: &Key, _: bytes::Bytes, _: PutMode) -> Result<Meta> { Err(Error::unsupported("put")) }
/// #   async fn delete(&self, _: &Key) -> Result<()> { Ok(()) }
/// #   fn list(&self, _: ListOptions) -> futures::stream::BoxStream<'static, Result<Meta>> { Box::pin(futures::stream::empty()) }
/// # }
/// struct NullFactory;
/// #[async_trait]
/// impl StoreFactory for NullFactory {
///     fn type_name(&self) -> &'static str { "null" }
///     async fn open(&self, config: &ConfigMap, _: &Registry) -> Result<Arc<dyn Store>> {
///         #[derive(serde::Deserialize)]
///         #[serde(deny_unknown_fields)]
///         struct NullConfig {}
///         let _: NullConfig = parse_config(config)?;
///         Ok(Arc::new(Null))
///     }
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut registry = Registry::new();
/// registry.register(NullFactory);
/// let config = serde_json::json!({"type": "null"}).as_object().unwrap().clone();
/// assert!(registry.open(&config).await.is_ok());
/// let bad = serde_json::json!({"type": "null", "colour": 1}).as_object().unwrap().clone();
/// assert!(registry.open(&bad).await.unwrap_err().to_string().contains("colour"));
/// # });
/// ```
#[derive(Clone)]
pub struct Registry {
    by_type: BTreeMap<&'static str, Arc<dyn StoreFactory>>,
    by_scheme: BTreeMap<&'static str, Arc<dyn StoreFactory>>,
    create_missing: bool,
    base_dir: Option<PathBuf>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            by_type: BTreeMap::new(),
            by_scheme: BTreeMap::new(),
            create_missing: true,
            base_dir: None,
        }
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Whether stores opened through this registry create what they need (a database file,
    /// a root directory) when it does not exist yet. On by default; a store's own `create`
    /// config field, where it has one, overrides it.
    pub fn creates_missing(&self) -> bool {
        self.create_missing
    }

    /// Set [`creates_missing`](Self::creates_missing). Tools that only read (`strata get`,
    /// `list`, a migration's source) turn it off, so a mistyped path fails with `NotFound`
    /// instead of creating an empty store there. Nested stores (a tiered store's tiers) are
    /// opened through the same registry and follow the same setting.
    pub fn with_creates_missing(mut self, create: bool) -> Self {
        self.create_missing = create;
        self
    }

    /// The directory relative paths in config maps (a file store's root, a redb file)
    /// are relative to, if one was set; else they are relative to the current directory.
    pub fn base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    /// Resolve relative paths in config maps against `dir` instead of the current
    /// directory. A config file's paths mean what they say from where the file is, not
    /// from wherever its user happens to run the program: opening a config file sets its
    /// directory here (`strata::open_file`). Nested stores (a tiered store's tiers) are
    /// opened through the same registry and resolve the same way.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// `path` as a factory should open it: joined onto [`base_dir`](Self::base_dir) when
    /// it is relative and a base is set, else unchanged. Factories call this on every
    /// path field of their config.
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_owned(),
        }
    }

    /// Add a factory under its type name, aliases and URI schemes (replacing earlier ones).
    pub fn register(&mut self, factory: impl StoreFactory) -> &mut Self {
        let factory: Arc<dyn StoreFactory> = Arc::new(factory);
        for name in std::iter::once(factory.type_name()).chain(factory.aliases().iter().copied()) {
            self.by_type.insert(name, factory.clone());
        }
        for scheme in factory.uri_schemes() {
            self.by_scheme.insert(scheme, factory.clone());
        }
        self
    }

    /// The registered type names (aliases included), sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        self.by_type.keys().copied().collect()
    }

    /// Open the store `config` describes.
    pub async fn open(&self, config: &ConfigMap) -> Result<Arc<dyn Store>> {
        let store_type = config_type(config)?;
        let factory = self.by_type.get(store_type).ok_or_else(|| {
            Error::invalid_config(
                TYPE_FIELD,
                format!(
                    "unknown store type `{store_type}` (known: {})",
                    self.type_names().join(", ")
                ),
            )
        })?;
        factory.open(config, self).await
    }

    /// The config map a URI stands for, e.g. `memory:` → `{"type": "memory"}`.
    pub fn config_from_uri(&self, uri: &str) -> Result<ConfigMap> {
        self.config_from_uri_with(uri, &[])
    }

    /// The config map a URI stands for, with `options` added as if they were query
    /// parameters (typed the same way). Options are not part of the URI's text, so they
    /// may carry secrets (an access key, a password), which a URI's query may not.
    pub fn config_from_uri_with(
        &self,
        uri: &str,
        options: &[(String, String)],
    ) -> Result<ConfigMap> {
        let parsed = Url::parse(uri).map_err(|e| {
            Error::invalid_config(
                "uri",
                format!("`{}` is not a valid URI: {e}", redact_uri(uri)),
            )
        })?;
        // For `file:` the URL parser supplies a missing `//` and `/` itself, turning
        // `file:data` (which a user means relative) into `file:///data`. Refuse a URI whose
        // path the parser had to make absolute.
        let written = uri.trim().split_once(':').map_or("", |(_, rest)| rest);
        if parsed.has_authority() && !written.starts_with('/') {
            return Err(Error::invalid_config(
                "uri",
                format!(
                    "`{}` names no absolute path; write `{}:///absolute/path`",
                    redact_uri(uri),
                    parsed.scheme()
                ),
            ));
        }
        let factory = self.by_scheme.get(parsed.scheme()).ok_or_else(|| {
            let known: Vec<&str> = self.by_scheme.keys().copied().collect();
            Error::invalid_config(
                "uri",
                format!(
                    "unknown URI scheme `{}:` (known: {})",
                    parsed.scheme(),
                    known.join(", ")
                ),
            )
        })?;
        factory
            .config_from_uri(&StoreUri::new(&parsed, options))
            .map_err(|e| without_uri_secrets(e, &parsed))
    }

    /// Open the store a URI describes.
    pub async fn open_uri(&self, uri: &str) -> Result<Arc<dyn Store>> {
        self.open_uri_with(uri, &[]).await
    }

    /// Open the store a URI describes, with `options` added as query parameters would be
    /// (see [`config_from_uri_with`](Self::config_from_uri_with)), as OpenDAL's `from_uri`
    /// and object_store's `parse_url_opts` do.
    pub async fn open_uri_with(
        &self,
        uri: &str,
        options: &[(String, String)],
    ) -> Result<Arc<dyn Store>> {
        let config = self.config_from_uri_with(uri, options)?;
        self.open(&config).await
    }
}

/// Factories' messages quote the URI or one of its query values (`` `cache_size` must be
/// a number, not `…` ``); either may hold a secret. Replace the URI by its
/// [`redact_uri`] form, and every query value and password (4 bytes or longer: shorter
/// ones hold no secret, and replacing them would mangle the message's own words) by `…`.
fn without_uri_secrets(error: Error, uri: &Url) -> Error {
    let mut message = error
        .message()
        .replace(uri.as_str(), &redact_uri(uri.as_str()));
    let mut values: Vec<String> = uri.query_pairs().map(|(_, v)| v.into_owned()).collect();
    values.extend(uri.password().map(str::to_owned));
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in values.iter().filter(|v| v.len() >= 4) {
        message = message.replace(value.as_str(), "…");
    }
    error.with_message(message)
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("types", &self.type_names())
            .field("schemes", &self.by_scheme.keys().collect::<Vec<_>>())
            .field("create_missing", &self.create_missing)
            .field("base_dir", &self.base_dir)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A factory whose URI errors quote the URI and a query value, as real ones do.
    struct Quoting;

    #[async_trait]
    impl StoreFactory for Quoting {
        fn type_name(&self) -> &'static str {
            "quoting"
        }
        fn uri_schemes(&self) -> &'static [&'static str] {
            &["quoting"]
        }
        fn config_from_uri(&self, uri: &StoreUri<'_>) -> Result<ConfigMap> {
            let uri = uri.url();
            let (name, value) = uri.query_pairs().next().expect("a query");
            Err(Error::invalid_config(
                &name,
                format!("`{value}` is not a number in `{uri}`"),
            ))
        }
        async fn open(&self, _: &ConfigMap, _: &Registry) -> Result<Arc<dyn Store>> {
            Err(Error::unsupported("opening"))
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_base_dir() {
        let plain = Registry::new();
        assert_eq!(plain.base_dir(), None);
        assert_eq!(plain.resolve_path("db.redb"), Path::new("db.redb"));
        let based = plain.with_base_dir("/etc/app");
        assert_eq!(based.resolve_path("db.redb"), Path::new("/etc/app/db.redb"));
        assert_eq!(based.resolve_path("../d/x"), Path::new("/etc/app/../d/x"));
        assert_eq!(based.resolve_path("/var/x.redb"), Path::new("/var/x.redb"));
    }

    #[test]
    fn uri_errors_never_show_query_values_or_passwords() {
        let mut registry = Registry::new();
        registry.register(Quoting);
        let err = registry
            .config_from_uri("quoting://user:hunter22@host/p?max_retries=SUPERSECRET-abc123")
            .unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("SUPERSECRET") && !text.contains("hunter22"),
            "{text}"
        );
        assert!(
            text.contains("field `max_retries`: `…` is not a number in `quoting://user:…@host/p?max_retries=…`"),
            "{text}"
        );
        let err = registry
            .config_from_uri("not a URI?token=SUPERSECRET")
            .unwrap_err();
        assert!(!err.to_string().contains("SUPERSECRET"), "{err}");
    }
}
