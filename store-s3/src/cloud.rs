//! What differs between the clouds the store runs on, as data the shared store code
//! consults: one [`Profile`] per cloud. Everything else (versions, conditional puts,
//! ambiguous-write resolution, batching, multipart, listing, retries, error mapping) is
//! one piece of code for all of them; each cloud adds only its config, its client
//! builder and this profile.

/// Which field of object_store's answers is a key's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionField {
    /// The ETag: S3 and Azure check `If-Match` / `If-None-Match` against it.
    ETag,
    /// The object generation: GCS checks `x-goog-if-generation-match` against it, and
    /// object_store sends an update's expected version as that.
    #[cfg_attr(not(feature = "gcs"), allow(dead_code))]
    Generation,
}

/// One cloud's differences.
#[derive(Debug)]
pub(crate) struct Profile {
    /// The service, for messages: "S3", "Azure Blob Storage", "GCS".
    pub service: &'static str,
    /// The store's name in `Debug`: "S3Store", "AzureStore", "GcsStore".
    pub store_name: &'static str,
    /// What the service calls the namespace objects live in: "bucket" or "container".
    pub container: &'static str,
    /// The URI scheme of [`Store::locations`](store_core::Store::locations).
    pub scheme: &'static str,
    /// The error codes of an answer that says the bucket or container does not exist.
    pub missing_container: &'static [&'static str],
    /// The user-metadata name of a value's CRC32C.
    pub checksum_metadata: &'static str,
    /// The user-metadata name of a conditional put's write id.
    pub write_id_metadata: &'static str,
    /// Which field is the version.
    pub version: VersionField,
}

/// The S3 store: `x-amz-meta-strata-crc32c`, ETags, `NoSuchBucket`.
pub(crate) static S3_PROFILE: Profile = Profile {
    service: "S3",
    store_name: "S3Store",
    container: "bucket",
    scheme: "s3",
    missing_container: &["NoSuchBucket"],
    checksum_metadata: crate::CHECKSUM_METADATA,
    write_id_metadata: crate::WRITE_ID_METADATA,
    version: VersionField::ETag,
};

/// Azure Blob Storage: metadata names must be C# identifiers (no `-`), so
/// `x-ms-meta-strata_crc32c`; ETags; `ContainerNotFound`.
#[cfg(feature = "azure")]
pub(crate) static AZURE_PROFILE: Profile = Profile {
    service: "Azure Blob Storage",
    store_name: "AzureStore",
    container: "container",
    scheme: "az",
    missing_container: &["ContainerNotFound"],
    checksum_metadata: "strata_crc32c",
    write_id_metadata: "strata_write_id",
    version: VersionField::ETag,
};

/// Google Cloud Storage (the XML API object_store writes with): `x-goog-meta-*`,
/// generations, `NoSuchBucket`.
#[cfg(feature = "gcs")]
pub(crate) static GCS_PROFILE: Profile = Profile {
    service: "GCS",
    store_name: "GcsStore",
    container: "bucket",
    scheme: "gs",
    missing_container: &["NoSuchBucket"],
    checksum_metadata: crate::CHECKSUM_METADATA,
    write_id_metadata: crate::WRITE_ID_METADATA,
    version: VersionField::Generation,
};

impl Profile {
    /// The version among an answer's ETag and object version (generation).
    pub fn pick<'a>(&self, e_tag: Option<&'a str>, version: Option<&'a str>) -> Option<&'a str> {
        match self.version {
            VersionField::ETag => e_tag,
            VersionField::Generation => version,
        }
    }

    /// The expected version of a conditional update, in the field object_store sends.
    pub fn update_version(&self, version: &str) -> object_store::UpdateVersion {
        let version = Some(version.to_owned());
        match self.version {
            VersionField::ETag => object_store::UpdateVersion {
                e_tag: version,
                version: None,
            },
            VersionField::Generation => object_store::UpdateVersion {
                e_tag: None,
                version,
            },
        }
    }

    /// What the version field is called, for messages.
    pub fn version_name(&self) -> &'static str {
        match self.version {
            VersionField::ETag => "ETag",
            VersionField::Generation => "generation",
        }
    }
}

/// The S3 store (AWS S3, MinIO, R2, Ceph, ...): [`S3Store`](crate::S3Store).
#[derive(Debug, Clone, Copy)]
pub enum S3 {}

/// Azure Blob Storage: [`AzureStore`](crate::AzureStore).
#[cfg(feature = "azure")]
#[derive(Debug, Clone, Copy)]
pub enum Azure {}

/// Google Cloud Storage: [`GcsStore`](crate::GcsStore).
#[cfg(feature = "gcs")]
#[derive(Debug, Clone, Copy)]
pub enum Gcs {}
