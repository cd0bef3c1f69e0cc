//! Range reads: one ranged GET, which still returns the object's ETag (the version) and
//! its whole size.
//!
//! Checksums: the CRC32C in the object's metadata covers the whole value, so it is checked
//! only when the range covers the whole value; a part of the value comes back as the
//! server sent it (S3 checks the transfer itself with the request's signature and TLS).
//! A caller that needs the stored checksum verified reads the value with `get`.

use std::ops::Range;

use bytes::Bytes;
use object_store::{GetOptions, GetRange};
use store_core::{Key, Meta, Result, clamp_range};

use crate::checksum;
use crate::store::{Inner, MAX_OBJECT_SIZE};

impl Inner {
    /// The bytes of `range` (cut at the value's end) and the value's metadata, or `None`.
    /// `range` must not start after its end.
    pub(crate) async fn get_range(
        &self,
        key: &Key,
        range: Range<u64>,
    ) -> Result<Option<(Bytes, Meta)>> {
        // HTTP cannot ask for no bytes, and no object is larger than the limit.
        let end = range.end.min(range.start.saturating_add(MAX_OBJECT_SIZE));
        if range.start >= end {
            return self.empty_range(key, &range).await;
        }
        let path = self.path(key)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.start..end)),
            ..GetOptions::default()
        };
        let result = match self.client.get_opts(&path, options).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                self.absent(e, "get_range", Some(key)).await?;
                return Ok(None);
            }
            // A range starting at or past the end is refused (416): then the answer is
            // no bytes, if the key exists. Any other failure stays the error it is.
            Err(e) => {
                return match self.head(key).await {
                    Ok(Some(meta)) if range.start >= meta.size => Ok(Some((Bytes::new(), meta))),
                    Ok(None) => Ok(None),
                    _ => Err(self.bucket.map(e, "get_range", Some(key))),
                };
            }
        };
        self.bucket.seen();
        let meta = self.meta(key.clone(), &result.meta)?;
        let (got, attributes) = (result.range.clone(), result.attributes.clone());
        let bytes = result
            .bytes()
            .await
            .map_err(|e| self.bucket.map(e, "get_range", Some(key)))?;
        if got == (0..meta.size) {
            checksum::verify(key, &bytes, &attributes, self.profile().checksum_metadata).await?;
        }
        Ok(Some((bytes, meta)))
    }

    /// An empty range: the metadata only, from a HEAD.
    async fn empty_range(&self, key: &Key, range: &Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let Some(meta) = self.head(key).await? else {
            return Ok(None);
        };
        clamp_range(range, meta.size)?;
        Ok(Some((Bytes::new(), meta)))
    }
}
