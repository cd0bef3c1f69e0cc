//! `S3Store`: the contract on S3 through object_store.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RetryConfig,
    UpdateVersion, WriteMultipart,
};
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, ErrorKind, Key, ListOptions, Meta,
    PutMode, PutOp, Result, Store, Version, async_trait,
};

use crate::config::{MIN_PART_SIZE, S3Config};
use crate::error::{is_transient, map};

/// The user-metadata name (`x-amz-meta-strata-write-id`) under which a conditional put
/// records its unique write id, so an ambiguous outcome can be resolved afterwards.
pub const WRITE_ID_METADATA: &str = "strata-write-id";

/// The part size of multipart uploads (S3 allows at most 10,000 parts).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// How many parts of one value are uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;
/// The largest object S3 stores.
const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// A [`Store`] on an S3 bucket (AWS S3, MinIO, Cloudflare R2, Ceph, ...).
///
/// Keys map to objects `prefix/key`; a key's [`Version`] is the object's ETag (so
/// writing identical bytes again yields the same version — S3 cannot tell the writes
/// apart). Clones share the same client.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: Arc<dyn ObjectStore>,
    /// The key prefix with its trailing `/`, or empty.
    prefix: String,
    concurrency: usize,
    multipart_threshold: usize,
    bucket: String,
    endpoint: Option<String>,
}

impl S3Store {
    /// Connect with `config`, filling absent credentials, region and endpoint from the
    /// standard AWS environment variables. No request is made until the first operation.
    pub fn connect(config: S3Config) -> Result<Self> {
        let config = config.with_env_fallback(|name| std::env::var(name).ok());
        config.validate()?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(config.region.as_deref().unwrap_or("us-east-1"))
            .with_allow_http(config.http_allowed())
            .with_virtual_hosted_style_request(config.virtual_hosted_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: config.max_retries,
                retry_timeout: config.retry_timeout,
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.http_allowed())
                    .with_timeout(config.request_timeout)
                    .with_connect_timeout(config.request_timeout),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token.expose());
        }
        let client = builder.build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("building the S3 client: {e}"),
            )
        })?;
        Ok(Self::with_client(Arc::new(client), &config))
    }

    /// A store over any object_store client (for instance one wrapped to inject latency),
    /// taking prefix, concurrency and multipart threshold from `config`; its connection
    /// settings are ignored.
    pub fn with_client(client: Arc<dyn ObjectStore>, config: &S3Config) -> Self {
        let prefix = if config.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", config.prefix)
        };
        S3Store {
            inner: Arc::new(Inner {
                client,
                prefix,
                concurrency: config.concurrency.max(1),
                multipart_threshold: config.multipart_threshold.max(MIN_PART_SIZE),
                bucket: config.bucket.clone(),
                endpoint: config.endpoint.clone(),
            }),
        }
    }

    /// The underlying object_store client.
    pub fn client(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.client
    }

    /// The object path `key` is stored at.
    pub fn path_of(&self, key: &Key) -> Result<Path> {
        self.inner.path(key)
    }
}

impl Inner {
    fn path(&self, key: &Key) -> Result<Path> {
        // `Path::parse` keeps the key's bytes as they are (no percent-encoding), so the
        // object names sort exactly like the keys and `list` order is key order.
        Path::parse(format!("{}{}", self.prefix, key.as_str()))
            .map_err(|e| Error::invalid_key(key.as_str(), e))
    }

    fn meta(&self, key: Key, object: &ObjectMeta) -> Result<Meta> {
        Ok(Meta {
            version: etag(object.e_tag.as_deref(), &key)?,
            key,
            size: object.size,
            last_modified: SystemTime::from(object.last_modified),
        })
    }

    /// The object's metadata if it is one of our keys and `options` selects it. Objects
    /// whose names are not valid keys (written by other tools) are skipped.
    fn meta_if_admitted(&self, object: &ObjectMeta, options: &ListOptions) -> Result<Option<Meta>> {
        let Some(rel) = object.location.as_ref().strip_prefix(self.prefix.as_str()) else {
            return Ok(None);
        };
        match Key::new(rel) {
            Ok(key) if options.admits(&key) => self.meta(key, object).map(Some),
            _ => Ok(None),
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let path = self.path(key)?;
        let result = match self.client.get_opts(&path, GetOptions::default()).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(map(e, "get", Some(key))),
        };
        let meta = self.meta(key.clone(), &result.meta)?;
        let value = result.bytes().await.map_err(|e| map(e, "get", Some(key)))?;
        Ok(Some(Entry { value, meta }))
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let path = self.path(key)?;
        match self.client.head(&path).await {
            Ok(object) => self.meta(key.clone(), &object).map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(map(e, "head", Some(key))),
        }
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let path = self.path(key)?;
        let size = value.len() as u64;
        let result = match mode {
            PutMode::Overwrite if value.len() > self.multipart_threshold => {
                self.put_multipart(key, &path, value).await
            }
            PutMode::Overwrite => self
                .client
                .put_opts(&path, PutPayload::from(value), PutOptions::default())
                .await
                .map_err(|e| map(e, "put", Some(key))),
            mode => return self.put_conditional(key, &path, value, mode).await,
        }?;
        put_meta(key, size, &result)
    }

    /// Upload in parts, handing object_store slices of `value` (no copy is made).
    async fn put_multipart(&self, key: &Key, path: &Path, value: Bytes) -> Result<PutResult> {
        let fail = |e| map(e, "multipart put", Some(key));
        let upload = self
            .client
            .put_multipart_opts(path, PutMultipartOptions::default())
            .await
            .map_err(fail)?;
        let part_size = PART_SIZE.max(value.len().div_ceil(10_000));
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut rest = value;
        while !rest.is_empty() {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                // Best effort: the upload failed either way; the error that matters is `e`.
                let _ = writer.abort().await;
                return Err(fail(e));
            }
            writer.put(rest.split_to(part_size.min(rest.len())));
        }
        writer.finish().await.map_err(fail)
    }

    /// A `Create` (If-None-Match) or `Update` (If-Match) put whose outcome is made
    /// unambiguous: object_store does not retry a conditional put whose response was
    /// lost, and a resend of one that landed fails its own condition. So each attempt
    /// carries a unique write id in the object's metadata; after a transport error or a
    /// failed condition, the object is read back and, if it carries our id, the write
    /// landed and is reported as the success it was.
    async fn put_conditional(
        &self,
        key: &Key,
        path: &Path,
        value: Bytes,
        mode: PutMode,
    ) -> Result<Meta> {
        let size = value.len() as u64;
        let write_id = format!("{:032x}", rand::random::<u128>());
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::Metadata(WRITE_ID_METADATA.into()),
            write_id.clone().into(),
        );
        let options = PutOptions {
            mode: match &mode {
                PutMode::Update(version) => object_store::PutMode::Update(UpdateVersion {
                    e_tag: Some(version.as_str().to_owned()),
                    version: None,
                }),
                _ => object_store::PutMode::Create,
            },
            attributes,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(value);
        let failed_condition = || match &mode {
            PutMode::Update(expected) => Error::version_mismatch(key, expected),
            _ => Error::already_exists(key),
        };

        let first = self
            .client
            .put_opts(path, payload.clone(), options.clone())
            .await;
        let err = match first {
            Ok(result) => return put_meta(key, size, &result),
            Err(e) => e,
        };
        if is_condition_failure(&err) {
            // If the check itself fails, its (retryable) error says the outcome is unknown.
            return match self.landed(key, path, &write_id).await? {
                Some(meta) => Ok(meta),
                None => Err(failed_condition().with_source(err)),
            };
        }
        if !is_transient(&err) {
            return Err(map(err, "conditional put", Some(key)));
        }
        // The request may or may not have been applied.
        match self.landed(key, path, &write_id).await {
            Ok(Some(meta)) => return Ok(meta),
            Ok(None) => {}
            // Still unreachable: the outcome stays unknown, say so with the first error.
            Err(_) => return Err(map(err, "conditional put (outcome unknown)", Some(key))),
        }
        // It was not applied: send it once more; its condition keeps that safe.
        match self.client.put_opts(path, payload, options).await {
            Ok(result) => put_meta(key, size, &result),
            Err(e) if is_condition_failure(&e) => match self.landed(key, path, &write_id).await? {
                Some(meta) => Ok(meta),
                None => Err(failed_condition().with_source(e)),
            },
            Err(e) => Err(map(e, "conditional put", Some(key))),
        }
    }

    /// The object's metadata if it was written by the put with `write_id`.
    async fn landed(&self, key: &Key, path: &Path, write_id: &str) -> Result<Option<Meta>> {
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        let result = match self.client.get_opts(path, options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => {
                return Err(map(
                    e,
                    "conditional put: outcome unknown, reading it back",
                    Some(key),
                ));
            }
        };
        let ours = result
            .attributes
            .get(&Attribute::Metadata(WRITE_ID_METADATA.into()))
            .is_some_and(|id| id.as_ref() == write_id);
        if ours {
            self.meta(key.clone(), &result.meta).map(Some)
        } else {
            Ok(None)
        }
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let path = self.path(key)?;
        match self.client.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map(e, "delete", Some(key))),
        }
    }

    /// Where a listing starts: the deepest "directory" holding every key with the
    /// prefix, and an exclusive offset just before the first candidate (pushed down to
    /// S3 as `start-after`, so paging with `start_after` does not re-read earlier keys).
    fn list_plan(&self, options: &ListOptions) -> (Option<Path>, Option<Path>) {
        let wanted = options.prefix.as_str();
        let dir = match wanted.rfind('/') {
            Some(at) => format!("{}{}", self.prefix, &wanted[..at]),
            None => self.prefix.trim_end_matches('/').to_owned(),
        };
        let offset = match &options.start_after {
            Some(after) if after.as_str() >= wanted => Some(after.as_str().to_owned()),
            // Everything with the prefix sorts after the prefix minus its last character.
            _ => wanted
                .char_indices()
                .last()
                .map(|(at, _)| wanted[..at].to_owned())
                .filter(|s| !s.is_empty()),
        };
        // A prefix that cannot be a path (e.g. with `//`) falls back to filtering.
        let dir = (!dir.is_empty()).then(|| Path::parse(&dir).ok()).flatten();
        let offset = offset.and_then(|o| Path::parse(format!("{}{o}", self.prefix)).ok());
        (dir, offset)
    }
}

/// A failed If-None-Match / If-Match, as object_store reports it.
fn is_condition_failure(err: &object_store::Error) -> bool {
    matches!(
        err,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
    )
}

fn etag(e_tag: Option<&str>, key: &Key) -> Result<Version> {
    e_tag
        .map(Version::new)
        .ok_or_else(|| Error::new(ErrorKind::Backend, "the server sent no ETag").with_key(key))
}

/// The metadata of a value just written. S3 does not return the modification time of a
/// put, so this is the client's clock; `head` and `list` report the server's.
fn put_meta(key: &Key, size: u64, result: &PutResult) -> Result<Meta> {
    Ok(Meta {
        key: key.clone(),
        size,
        version: etag(result.e_tag.as_deref(), key)?,
        last_modified: SystemTime::now(),
    })
}

#[async_trait]
impl Store for S3Store {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: Durability::PowerLoss,
            atomic_batches: false,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: Some(MAX_OBJECT_SIZE),
            may_evict: false,
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.inner.get(key).await
    }

    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.inner.head(key).await
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.inner.put(key, value, mode).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner.delete(key).await
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let inner = self.inner.clone();
        let (dir, offset) = inner.list_plan(&options);
        let objects = match &offset {
            Some(offset) => inner.client.list_with_offset(dir.as_ref(), offset),
            None => inner.client.list(dir.as_ref()),
        };
        let limit = options.limit.unwrap_or(usize::MAX);
        let wanted = options.prefix.clone();
        objects
            // S3 lists in ascending byte order, so the first name past the prefix ends it.
            .take_while(move |item| {
                let go_on = match item {
                    Ok(object) => {
                        let rest = object.location.as_ref();
                        let rel = rest.strip_prefix(inner.prefix.as_str()).unwrap_or(rest);
                        wanted.matches(rel) || rel < wanted.as_str()
                    }
                    Err(_) => true,
                };
                futures::future::ready(go_on)
            })
            .scan(false, |failed, item| {
                // Errors end the stream.
                let out = if *failed { None } else { Some(item) };
                *failed = out.as_ref().is_some_and(|i| i.is_err());
                futures::future::ready(out)
            })
            .map_err(|e| map(e, "list", None))
            .try_filter_map({
                let inner = self.inner.clone();
                move |object| {
                    let found = inner.meta_if_admitted(&object, &options);
                    futures::future::ready(found)
                }
            })
            .take(limit)
            .boxed()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let gets = keys.iter().cloned().map(|key| {
            let inner = self.inner.clone();
            async move { inner.get(&key).await }
        });
        stream::iter(gets)
            .buffered(self.inner.concurrency)
            .try_collect()
            .await
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let puts = ops.into_iter().map(|op| {
            let inner = self.inner.clone();
            async move { inner.put(&op.key, op.value, op.mode).await }
        });
        stream::iter(puts)
            .buffered(self.inner.concurrency)
            .try_collect()
            .await
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let paths = keys
            .iter()
            .map(|key| self.inner.path(key))
            .collect::<Result<Vec<_>>>()?;
        let mut results = self
            .inner
            .client
            .delete_stream(stream::iter(paths.into_iter().map(Ok)).boxed());
        while let Some(result) = results.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(map(e, "delete_many", None)),
            }
        }
        Ok(())
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.inner.bucket)
            .field("prefix", &self.inner.prefix)
            .field("endpoint", &self.inner.endpoint)
            .field("client", &self.inner.client.to_string())
            .finish()
    }
}
