//! Every row carries its value's CRC32C in the `crc` column (a `bigint` holding the
//! unsigned 32-bit checksum), written by every put and checked on every read of the whole
//! value, so bytes damaged on disk (bit-rot PostgreSQL's page checksums, if enabled, did
//! not catch), or a value replaced by another client's `UPDATE` without its checksum, is
//! reported as `Corrupted` naming the key instead of returned.

use bytes::Bytes;
use store_core::{Error, Key, Result, verify_crc32c};

/// Check `value` against the `crc` column's `stored` number (`NULL` only in a table
/// whose column lost its `NOT NULL`, written by another client: damage too).
pub(crate) async fn verify(key: &Key, value: &Bytes, stored: Option<i64>) -> Result<()> {
    let Some(stored) = stored else {
        return Err(Error::corrupted(
            key,
            "the value's checksum is missing (NULL)",
        ));
    };
    let Ok(expected) = u32::try_from(stored) else {
        return Err(Error::corrupted(
            key,
            format!("the stored checksum {stored} is not a CRC32C"),
        ));
    };
    verify_crc32c(key, value, expected).await
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
    fn a_value_verifies_against_its_own_checksum_only() {
        run(async {
            let key = Key::new("k").unwrap();
            let value = Bytes::from_static(b"hello");
            let stored = Some(i64::from(store_core::crc32c(&value)));
            verify(&key, &value, stored).await.unwrap();
            let err = verify(&key, &Bytes::from_static(b"hellp"), stored)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted);
            assert_eq!(err.key(), Some("k"));
            assert!(err.to_string().contains("CRC32C"), "{err}");
            // A number no CRC32C can be is damage too.
            for bad in [
                Some(-1),
                Some(i64::from(u32::MAX) + 1),
                Some(i64::MIN),
                None,
            ] {
                let err = verify(&key, &value, bad).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Corrupted, "{bad:?}");
            }
        });
    }
}
