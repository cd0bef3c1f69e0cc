//! `S3Store`: the contract on S3 through object_store.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutResult};
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, ErrorKind, Key, ListOptions, Meta,
    PutMode, PutOp, Result, Store, Version, async_trait, clamp_range,
};

use crate::bucket::Bucket;
use crate::checksum;
use crate::client;
use crate::config::{MIN_PART_SIZE, S3Config};
use crate::error::NotFound;
use crate::list::{self, Lister, S3Lister};

/// What a URI path segment must encode (as the `url` crate does).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The largest object S3 stores.
pub(crate) const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// A [`Store`] on an S3 bucket (AWS S3, MinIO, Cloudflare R2, Ceph, ...).
///
/// Keys map to objects `prefix/key`; a key's [`Version`] is the object's ETag (so
/// writing identical bytes again yields the same version — S3 cannot tell the writes
/// apart). Clones share the same client.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Arc<dyn ObjectStore>,
    lister: Lister,
    pub(crate) bucket: Arc<Bucket>,
    /// The key prefix with its trailing `/`, or empty.
    prefix: String,
    concurrency: usize,
    pub(crate) multipart_threshold: usize,
    endpoint: Option<String>,
}

impl S3Store {
    /// Connect with `config`. Settings it leaves out come from the environment as the
    /// AWS tools read it: region and endpoint from the `AWS_*` variables, and without a
    /// configured key pair, credentials from the AWS credential chain (see the crate
    /// docs). Explicit settings always win. No request is made until the first operation.
    pub fn connect(config: S3Config) -> Result<Self> {
        let config = config.with_env_fallback(|name| std::env::var(name).ok());
        config.validate()?;
        let region = config.region.as_deref().unwrap_or("us-east-1");
        let client_options = ClientOptions::new()
            .with_allow_http(config.http_allowed())
            .with_timeout(config.request_timeout)
            .with_connect_timeout(config.request_timeout);
        let builder = client::builder(
            AmazonS3Builder::from_env(),
            &config,
            region,
            client_options.clone(),
        );
        let invalid = |e: object_store::Error| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("building the S3 client: {e}"),
            )
        };
        let client = builder.build().map_err(invalid)?;
        let lister = S3Lister::new(
            &config,
            region,
            client.credentials().clone(),
            &client_options,
        )
        .map_err(invalid)?;
        Ok(Self::build(
            Arc::new(client),
            Lister::S3(Arc::new(lister)),
            &config,
        ))
    }

    /// A store over any object_store client (for instance one wrapped to inject latency),
    /// taking bucket name, prefix, concurrency and multipart threshold from `config`; its
    /// connection settings are ignored.
    ///
    /// Such a store lists through the client's `list`, whose paths cannot name objects
    /// that are not keys (one such name fails the listing, a directory marker `dir/`
    /// reads as `dir`): over a bucket shared with other S3 clients, use
    /// [`connect`](Self::connect), which skips them.
    pub fn with_client(client: Arc<dyn ObjectStore>, config: &S3Config) -> Self {
        Self::build(client.clone(), Lister::Client(client), config)
    }

    fn build(client: Arc<dyn ObjectStore>, lister: Lister, config: &S3Config) -> Self {
        let prefix = if config.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", config.prefix)
        };
        S3Store {
            inner: Arc::new(Inner {
                client,
                lister,
                bucket: Arc::new(Bucket::new(config.bucket.clone())),
                prefix,
                concurrency: config.concurrency.max(1),
                multipart_threshold: config.multipart_threshold.max(MIN_PART_SIZE),
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
    pub(crate) fn path(&self, key: &Key) -> Result<Path> {
        // `Path::parse` keeps the key's bytes as they are (no percent-encoding), so the
        // object names sort exactly like the keys and `list` order is key order.
        Path::parse(format!("{}{}", self.prefix, key.as_str()))
            .map_err(|e| Error::invalid_key(key.as_str(), e))
    }

    pub(crate) fn meta(&self, key: Key, object: &ObjectMeta) -> Result<Meta> {
        Ok(Meta {
            version: etag(object.e_tag.as_deref(), &key)?,
            key,
            size: object.size,
            last_modified: SystemTime::from(object.last_modified),
        })
    }

    /// A 404 about `key`: `Ok` when the key is missing, an error when the bucket is.
    /// A 404 without a body (HEAD) is resolved by checking the bucket, once.
    pub(crate) async fn absent(
        &self,
        err: object_store::Error,
        what: &str,
        key: Option<&Key>,
    ) -> Result<()> {
        match NotFound::of(&err) {
            NotFound::Key => {
                self.bucket.seen();
                Ok(())
            }
            NotFound::Bucket => Err(self.bucket.map(err, what, key)),
            NotFound::Unknown if self.bucket.known() => Ok(()),
            NotFound::Unknown => match self.lister.probe(&self.prefix).await {
                Ok(()) => {
                    self.bucket.seen();
                    Ok(())
                }
                Err(e) => Err(self
                    .bucket
                    .map(e, &format!("{what}: checking the bucket"), None)),
            },
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        let path = self.path(key)?;
        let result = match self.client.get_opts(&path, GetOptions::default()).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                self.absent(e, "get", Some(key)).await?;
                return Ok(None);
            }
            Err(e) => return Err(self.bucket.map(e, "get", Some(key))),
        };
        self.bucket.seen();
        let meta = self.meta(key.clone(), &result.meta)?;
        let attributes = result.attributes.clone();
        let value = result
            .bytes()
            .await
            .map_err(|e| self.bucket.map(e, "get", Some(key)))?;
        checksum::verify(key, &value, &attributes).await?;
        Ok(Some(Entry { value, meta }))
    }

    pub(crate) async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        let path = self.path(key)?;
        match self.client.head(&path).await {
            Ok(object) => {
                self.bucket.seen();
                self.meta(key.clone(), &object).map(Some)
            }
            Err(e @ object_store::Error::NotFound { .. }) => {
                self.absent(e, "head", Some(key)).await?;
                Ok(None)
            }
            Err(e) => Err(self.bucket.map(e, "head", Some(key))),
        }
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let path = self.path(key)?;
        match self.client.delete(&path).await {
            Ok(()) => {
                self.bucket.seen();
                Ok(())
            }
            // S3 answers a delete of a missing key with success; a 404 is the bucket's.
            Err(e @ object_store::Error::NotFound { .. }) => {
                self.absent(e, "delete", Some(key)).await
            }
            Err(e) => Err(self.bucket.map(e, "delete", Some(key))),
        }
    }
}

pub(crate) fn etag(e_tag: Option<&str>, key: &Key) -> Result<Version> {
    e_tag
        .map(Version::new)
        .ok_or_else(|| Error::new(ErrorKind::Backend, "the server sent no ETag").with_key(key))
}

/// The metadata of a value just written. S3 does not return the modification time of a
/// put, so this is the client's clock; `head` and `list` report the server's.
pub(crate) fn put_meta(key: &Key, size: u64, result: &PutResult) -> Result<Meta> {
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

    /// One ranged GET (see `range.rs` for when the value's checksum is checked).
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        clamp_range(&range, 0)?;
        self.inner.get_range(key, range).await
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
        let inner = &self.inner;
        // S3 takes any string as a prefix, so it is asked for exactly the wanted one.
        let prefix = format!("{}{}", inner.prefix, options.prefix.as_str());
        let start_after = options
            .start_after
            .as_ref()
            .map(|after| format!("{}{after}", inner.prefix));
        let objects = inner.lister.objects(prefix, start_after);
        list::select(objects, inner.prefix.clone(), options, inner.bucket.clone())
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
                Ok(_) => self.inner.bucket.seen(),
                Err(e @ object_store::Error::NotFound { .. }) => {
                    self.inner.absent(e, "delete_many", None).await?;
                }
                Err(e) => return Err(self.inner.bucket.map(e, "delete_many", None)),
            }
        }
        Ok(())
    }

    /// `s3://bucket/prefix/`, the prefix's segments percent-encoded as URI paths are.
    fn locations(&self) -> Vec<String> {
        let mut uri = format!("s3://{}/", self.inner.bucket.name());
        for segment in self.inner.prefix.split('/').filter(|s| !s.is_empty()) {
            let encoded = percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT);
            uri.push_str(&format!("{encoded}/"));
        }
        vec![uri]
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.inner.bucket.name())
            .field("prefix", &self.inner.prefix)
            .field("endpoint", &self.inner.endpoint)
            .field("client", &self.inner.client.to_string())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_bucket_and_prefix() {
        let store = |prefix: &str| {
            let mut config = S3Config::new("bkt");
            config.prefix = prefix.into();
            S3Store::with_client(Arc::new(object_store::memory::InMemory::new()), &config)
        };
        assert_eq!(store("").locations(), ["s3://bkt/"]);
        assert_eq!(store("app/v1").locations(), ["s3://bkt/app/v1/"]);
        assert_eq!(
            store("my data/50%").locations(),
            ["s3://bkt/my%20data/50%25/"]
        );
        assert!(store_core::locations_overlap(
            &store("app").locations()[0],
            &store("app/v1").locations()[0]
        ));
        assert!(!store_core::locations_overlap(
            &store("app").locations()[0],
            &store("apple").locations()[0]
        ));
    }
}
