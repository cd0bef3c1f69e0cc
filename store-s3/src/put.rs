//! Writes: single, multipart and conditional puts, each sending the value's checksum.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    Attribute, GetOptions, PutMultipartOptions, PutOptions, PutPayload, PutResult, WriteMultipart,
};
use store_core::{Error, Key, Meta, PutMode, Result};

use crate::checksum;
use crate::error::{Failure, condition, is_transient};
use crate::store::Inner;

/// The user-metadata name (`x-amz-meta-strata-write-id`) under which a conditional put
/// records its unique write id, so an ambiguous outcome can be resolved afterwards (on
/// Azure, whose metadata names cannot hold `-`, `strata_write_id`).
pub const WRITE_ID_METADATA: &str = "strata-write-id";

/// The part size of multipart uploads (S3 allows at most 10,000 parts).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// How many parts of one value are uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;

impl Inner {
    pub(crate) async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let path = self.path(key)?;
        let size = value.len() as u64;
        let attributes = checksum::attributes_for(&value, self.profile().checksum_metadata).await;
        let result = match mode {
            PutMode::Overwrite if value.len() > self.multipart_threshold => {
                self.put_multipart(key, &path, value, attributes).await
            }
            PutMode::Overwrite => {
                let options = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                self.client
                    .put_opts(&path, PutPayload::from(value), options)
                    .await
                    .map_err(|e| self.bucket.map(e, "put", Some(key)))
            }
            mode => {
                return self
                    .put_conditional(key, &path, value, mode, attributes)
                    .await;
            }
        }?;
        self.bucket.seen();
        self.put_meta(key, size, &result)
    }

    /// Upload in parts, handing object_store slices of `value` (no copy is made).
    async fn put_multipart(
        &self,
        key: &Key,
        path: &Path,
        value: Bytes,
        attributes: object_store::Attributes,
    ) -> Result<PutResult> {
        let fail = |e| self.bucket.map(e, "multipart put", Some(key));
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .client
            .put_multipart_opts(path, options)
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
        mut attributes: object_store::Attributes,
    ) -> Result<Meta> {
        let size = value.len() as u64;
        let write_id = format!("{:032x}", rand::random::<u128>());
        attributes.insert(
            Attribute::Metadata(self.profile().write_id_metadata.into()),
            write_id.clone().into(),
        );
        let options = PutOptions {
            mode: match &mode {
                PutMode::Update(version) => {
                    object_store::PutMode::Update(self.profile().update_version(version.as_str()))
                }
                _ => object_store::PutMode::Create,
            },
            attributes,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(value);
        // The server's refusal, in a word or two, and kept whole as the cause.
        let failed_condition = |err: object_store::Error| {
            let failed = match &mode {
                PutMode::Update(expected) => Error::version_mismatch(key, expected),
                _ => Error::already_exists(key),
            };
            failed
                .context(condition("conditional put", &Failure::of(&err)))
                .with_cause(err)
        };

        let first = self
            .client
            .put_opts(path, payload.clone(), options.clone())
            .await;
        let err = match first {
            Ok(result) => {
                self.bucket.seen();
                return self.put_meta(key, size, &result);
            }
            Err(e) => e,
        };
        // A 404 of an update comes back as a failed condition: it may be the bucket.
        if self.bucket.is_missing(&Failure::of(&err)) {
            return Err(self.bucket.map(err, "conditional put", Some(key)));
        }
        if is_condition_failure(&err) {
            // If the check itself fails, its (retryable) error says the outcome is unknown.
            return match self.landed(key, path, &write_id).await? {
                Some(meta) => Ok(meta),
                None => Err(failed_condition(err)),
            };
        }
        if !is_transient(&err) {
            return Err(self.bucket.map(err, "conditional put", Some(key)));
        }
        // The request may or may not have been applied.
        match self.landed(key, path, &write_id).await {
            Ok(Some(meta)) => return Ok(meta),
            Ok(None) => {}
            // Still unreachable: the outcome stays unknown, say so with the first error.
            Err(_) => {
                return Err(self
                    .bucket
                    .map(err, "conditional put (outcome unknown)", Some(key)));
            }
        }
        // It was not applied: send it once more; its condition keeps that safe.
        match self.client.put_opts(path, payload, options).await {
            Ok(result) => self.put_meta(key, size, &result),
            Err(e) if is_condition_failure(&e) && !self.bucket.is_missing(&Failure::of(&e)) => {
                match self.landed(key, path, &write_id).await? {
                    Some(meta) => Ok(meta),
                    None => Err(failed_condition(e)),
                }
            }
            Err(e) => Err(self.bucket.map(e, "conditional put", Some(key))),
        }
    }

    /// The object's metadata if it was written by the put with `write_id`.
    async fn landed(&self, key: &Key, path: &Path, write_id: &str) -> Result<Option<Meta>> {
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        let what = "conditional put: outcome unknown, reading it back";
        let result = match self.client.get_opts(path, options).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                self.absent(e, what, Some(key)).await?;
                return Ok(None);
            }
            Err(e) => return Err(self.bucket.map(e, what, Some(key))),
        };
        let ours = result
            .attributes
            .get(&Attribute::Metadata(
                self.profile().write_id_metadata.into(),
            ))
            .is_some_and(|id| id.as_ref() == write_id);
        if ours {
            self.meta(key.clone(), &result.meta).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A failed If-None-Match / If-Match, as object_store reports it.
fn is_condition_failure(err: &object_store::Error) -> bool {
    matches!(
        err,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
    )
}
