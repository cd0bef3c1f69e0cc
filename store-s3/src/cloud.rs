//! What differs between the clouds the store runs on, as data the shared store code
//! consults: one [`Profile`] per cloud. Everything else (versions, conditional puts,
//! ambiguous-write resolution, batching, multipart, listing, retries, error mapping) is
//! one piece of code for all of them; each cloud adds only its config, its client
//! builder and this profile.

use std::borrow::Cow;

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
    /// ETags come quoted from some answers and bare from others (Azure: quoted in
    /// headers, bare in listings): give every one its quotes, so a listed version equals
    /// the one `head` reports and `If-Match` gets the header form.
    pub quote_etags: bool,
    /// The service reads `\` in a name as `/` (Azure), which would make `a\b` and `a/b`
    /// one object: names escape `[` as `[[` and `\` as `[]` (order-preserving, so
    /// listings stay in key order).
    pub escape_backslash: bool,
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
    quote_etags: false,
    escape_backslash: false,
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
    quote_etags: true,
    escape_backslash: true,
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
    quote_etags: false,
    escape_backslash: false,
};

impl Profile {
    /// The version among an answer's ETag and object version (generation).
    pub fn pick(&self, e_tag: Option<&str>, version: Option<&str>) -> Option<String> {
        match self.version {
            VersionField::ETag => e_tag.map(|e_tag| {
                if self.quote_etags && !e_tag.starts_with('"') && !e_tag.starts_with("W/") {
                    format!("\"{e_tag}\"")
                } else {
                    e_tag.to_owned()
                }
            }),
            VersionField::Generation => version.map(str::to_owned),
        }
    }

    /// The object name of `name` (a prefix, a key, or both): as it is, or escaped.
    pub fn encode_name<'a>(&self, name: &'a str) -> Cow<'a, str> {
        if !self.escape_backslash || !name.contains(['[', '\\']) {
            return Cow::Borrowed(name);
        }
        let mut out = String::with_capacity(name.len() + 4);
        for c in name.chars() {
            match c {
                '[' => out.push_str("[["),
                '\\' => out.push_str("[]"),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    }

    /// The name an object name stands for, or `None` when no name encodes to it (an
    /// object another client wrote).
    pub fn decode_name<'a>(&self, object: &'a str) -> Option<Cow<'a, str>> {
        if !self.escape_backslash || !object.contains(['[', '\\']) {
            return Some(Cow::Borrowed(object));
        }
        let mut out = String::with_capacity(object.len());
        let mut chars = object.chars();
        while let Some(c) = chars.next() {
            match c {
                '[' => match chars.next()? {
                    '[' => out.push('['),
                    ']' => out.push('\\'),
                    _ => return None,
                },
                '\\' => return None,
                c => out.push(c),
            }
        }
        Some(Cow::Owned(out))
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

#[cfg(all(test, feature = "azure"))]
mod tests {
    use super::*;

    #[test]
    fn azure_names_escape_backslashes_reversibly_and_in_order() {
        let azure = &AZURE_PROFILE;
        let names = [
            "a", "a/b", "a[", "a[b", "a\\b", "a]", "a\\", "[x]", "Z", "\\\\[[", "é",
        ];
        for name in names {
            let encoded = azure.encode_name(name);
            assert!(!encoded.contains('\\'), "{encoded}");
            assert_eq!(azure.decode_name(&encoded).as_deref(), Some(name));
        }
        let mut sorted = names.to_vec();
        sorted.sort();
        let mut by_object = names.to_vec();
        by_object.sort_by_key(|n| azure.encode_name(n).into_owned());
        assert_eq!(by_object, sorted, "object order is key order");
        // Names no key encodes to are foreign.
        for foreign in ["a[b", "a[", "a\\b"] {
            assert_eq!(azure.decode_name(foreign), None, "{foreign}");
        }
        // Other clouds keep names as they are.
        assert_eq!(S3_PROFILE.encode_name("a\\b[c"), "a\\b[c");
    }

    #[test]
    fn azure_etags_are_quoted_whatever_the_answer_sent() {
        let azure = &AZURE_PROFILE;
        assert_eq!(
            azure.pick(Some("0x8D1"), None).as_deref(),
            Some("\"0x8D1\"")
        );
        assert_eq!(
            azure.pick(Some("\"0x8D1\""), None).as_deref(),
            Some("\"0x8D1\"")
        );
        assert_eq!(S3_PROFILE.pick(Some("abc"), None).as_deref(), Some("abc"));
    }
}
