//! Values carry their CRC32C in the object's user metadata (`x-amz-meta-strata-crc32c`,
//! eight hex digits), written by every put (single, conditional, multipart) and checked
//! on every get, so bytes damaged on the server, in a cache or proxy on the way, or
//! replaced without the metadata by a copy gone wrong are reported as `Corrupted` with
//! the key instead of returned.
//!
//! Objects without the metadata (written by other S3 clients, or by Strata before it
//! wrote checksums) are returned unverified: refusing them would make a bucket shared
//! with other tools unreadable.

use bytes::Bytes;
use object_store::{Attribute, AttributeValue, Attributes};
use store_core::{Error, Key, Result, crc32c_of, verify_crc32c};

/// The user-metadata name (`x-amz-meta-strata-crc32c`) of a value's CRC32C.
pub const CHECKSUM_METADATA: &str = "strata-crc32c";

/// The attributes every put sends: the value's checksum, under `name` (the cloud's
/// [`checksum_metadata`](crate::cloud::Profile::checksum_metadata)).
pub(crate) async fn attributes_for(value: &Bytes, name: &'static str) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(
        Attribute::Metadata(name.into()),
        AttributeValue::from(format!("{:08x}", crc32c_of(value).await)),
    );
    attributes
}

/// Check `value` against the checksum in `attributes` under `name`, if there is one.
pub(crate) async fn verify(
    key: &Key,
    value: &Bytes,
    attributes: &Attributes,
    name: &'static str,
) -> Result<()> {
    let Some(stored) = attributes.get(&Attribute::Metadata(name.into())) else {
        return Ok(());
    };
    let stored = stored.as_ref();
    let Some(expected) = parse(stored) else {
        let shown: String = stored
            .chars()
            .take(16)
            .flat_map(char::escape_debug)
            .collect();
        return Err(Error::corrupted(
            key,
            format!("the object's {name} metadata `{shown}` is not a CRC32C"),
        ));
    };
    verify_crc32c(key, value, expected).await
}

fn parse(stored: &str) -> Option<u32> {
    (stored.len() == 8 && stored.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(stored, 16).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_value_verifies_against_its_own_attributes_only() {
        run(async {
            let key = Key::new("k").unwrap();
            let value = Bytes::from_static(b"hello");
            let attributes = attributes_for(&value, CHECKSUM_METADATA).await;
            verify(&key, &value, &attributes, CHECKSUM_METADATA)
                .await
                .unwrap();
            let err = verify(
                &key,
                &Bytes::from_static(b"hellp"),
                &attributes,
                CHECKSUM_METADATA,
            )
            .await
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted);
            assert_eq!(err.key(), Some("k"));
            // No metadata: a foreign object, returned unverified.
            verify(&key, &value, &Attributes::new(), CHECKSUM_METADATA)
                .await
                .unwrap();
            // Damaged metadata is damage too.
            for bad in ["xyz", "0123456789", "g1234567", ""] {
                let mut attributes = Attributes::new();
                attributes.insert(Attribute::Metadata(CHECKSUM_METADATA.into()), bad.into());
                let err = verify(&key, &value, &attributes, CHECKSUM_METADATA)
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Corrupted, "{bad}");
            }
        });
    }
}
