//! `ObjectStoreBackend`: the contract on any object_store cloud (S3, Azure, GCS), one
//! implementation for all of them; each cloud's module adds its constructor.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutResult};
use store_core::{
    Capabilities, ConditionalPuts, Durability, Entry, Error, ErrorKind, Key, ListOptions, Meta,
    PutMode, PutOp, Result, Store, Version, async_trait, clamp_range,
};

use crate::bucket::Bucket;
use crate::checksum;
use crate::cloud::{Profile, S3};
use crate::config::MIN_PART_SIZE;
use crate::error::NotFound;
use crate::list::{self, Lister};

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

/// The largest object stored (S3's and GCS's limit; Azure's block blobs go higher).
pub(crate) const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// A [`Store`] on a bucket of an object store: S3 ([`S3Store`]), Azure Blob Storage
/// (`AzureStore`, feature `azure`) or Google Cloud Storage (`GcsStore`, feature `gcs`).
/// `C` names the cloud; the store's logic is the same for all of them.
///
/// Keys map to objects `prefix/key`; a key's [`Version`] is the object's ETag (S3,
/// Azure) or generation (GCS), so on S3 and Azure writing identical bytes again may
/// yield the same version. Clones share the same client.
pub struct ObjectStoreBackend<C> {
    inner: Arc<Inner>,
    cloud: PhantomData<fn() -> C>,
}

/// A [`Store`] on an S3 bucket (AWS S3, MinIO, Cloudflare R2, Ceph, ...): see the crate
/// docs, [`S3Store::connect`] and [`S3Store::with_client`].
pub type S3Store = ObjectStoreBackend<S3>;

impl<C> Clone for ObjectStoreBackend<C> {
    fn clone(&self) -> Self {
        ObjectStoreBackend {
            inner: self.inner.clone(),
            cloud: PhantomData,
        }
    }
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

/// The settings every cloud's config gives the shared store.
pub(crate) struct Settings<'a> {
    /// The bucket or container.
    pub container: &'a str,
    pub prefix: &'a str,
    pub concurrency: usize,
    pub multipart_threshold: usize,
    /// Shown by `Debug` only.
    pub endpoint: Option<&'a str>,
}

impl<C> ObjectStoreBackend<C> {
    pub(crate) fn build(
        client: Arc<dyn ObjectStore>,
        lister: Lister,
        settings: Settings<'_>,
        profile: &'static Profile,
    ) -> Self {
        let prefix = if settings.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", settings.prefix)
        };
        ObjectStoreBackend {
            inner: Arc::new(Inner {
                client,
                lister,
                bucket: Arc::new(Bucket::new(settings.container, profile)),
                prefix,
                concurrency: settings.concurrency.max(1),
                multipart_threshold: settings.multipart_threshold.max(MIN_PART_SIZE),
                endpoint: settings.endpoint.map(str::to_owned),
            }),
            cloud: PhantomData,
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
    /// The cloud the store is on.
    pub(crate) fn profile(&self) -> &'static Profile {
        self.bucket.profile()
    }

    pub(crate) fn path(&self, key: &Key) -> Result<Path> {
        // `Path::parse` keeps the key's bytes as they are (no percent-encoding), so the
        // object names sort exactly like the keys and `list` order is key order.
        let name = format!("{}{}", self.prefix, key.as_str());
        Path::parse(self.profile().encode_name(&name).as_ref())
            .map_err(|e| Error::invalid_key(key.as_str(), e))
    }

    pub(crate) fn meta(&self, key: Key, object: &ObjectMeta) -> Result<Meta> {
        Ok(Meta {
            version: self.version(object.e_tag.as_deref(), object.version.as_deref(), &key)?,
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
        match NotFound::of(&err, self.profile().missing_container) {
            NotFound::Key => {
                self.bucket.seen();
                Ok(())
            }
            NotFound::Bucket => Err(self.bucket.map(err, what, key)),
            NotFound::Unknown if self.bucket.known() => Ok(()),
            NotFound::Unknown => match self
                .lister
                .probe(&self.profile().encode_name(&self.prefix))
                .await
            {
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
        checksum::verify(key, &value, &attributes, self.profile().checksum_metadata).await?;
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

impl Inner {
    /// The version among an answer's ETag and object version, as the cloud has it.
    fn version(&self, e_tag: Option<&str>, version: Option<&str>, key: &Key) -> Result<Version> {
        let profile = self.profile();
        profile
            .pick(e_tag, version)
            .map(Version::new)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Backend,
                    format!("the server sent no {}", profile.version_name()),
                )
                .with_key(key)
            })
    }

    /// The metadata of a value just written. No cloud returns the modification time of a
    /// put, so this is the client's clock; `head` and `list` report the server's.
    pub(crate) fn put_meta(&self, key: &Key, size: u64, result: &PutResult) -> Result<Meta> {
        Ok(Meta {
            key: key.clone(),
            size,
            version: self.version(result.e_tag.as_deref(), result.version.as_deref(), key)?,
            last_modified: SystemTime::now(),
        })
    }
}

#[async_trait]
impl<C: 'static> Store for ObjectStoreBackend<C> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            durability: Durability::PowerLoss,
            atomic_batches: false,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: Some(MAX_OBJECT_SIZE),
            may_evict: false,
            max_batch_writes: None,
            max_batch_bytes: None,
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
        // The lister takes any string as a prefix, so it is asked for exactly the wanted one.
        let profile = inner.profile();
        let encode = |name: String| profile.encode_name(&name).into_owned();
        let prefix = encode(format!("{}{}", inner.prefix, options.prefix.as_str()));
        let start_after = options
            .start_after
            .as_ref()
            .map(|after| encode(format!("{}{after}", inner.prefix)));
        let objects = inner.lister.objects(prefix, start_after);
        list::select(
            objects,
            encode(inner.prefix.clone()),
            options,
            inner.bucket.clone(),
        )
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

    /// `s3://bucket/prefix/` (`az://container/prefix/`, `gs://bucket/prefix/`), the
    /// prefix's segments percent-encoded as URI paths are.
    fn locations(&self) -> Vec<String> {
        let scheme = self.inner.profile().scheme;
        let mut uri = format!("{scheme}://{}/", self.inner.bucket.name());
        for segment in self.inner.prefix.split('/').filter(|s| !s.is_empty()) {
            let encoded = percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT);
            uri.push_str(&format!("{encoded}/"));
        }
        vec![uri]
    }
}

impl<C> fmt::Debug for ObjectStoreBackend<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.inner.profile().store_name)
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
    use crate::S3Config;

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
