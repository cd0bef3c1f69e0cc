//! Every row carries its value's CRC32C in the `crc` column (a `bigint` holding the
//! unsigned 32-bit checksum), written by every put and checked on every read of the whole
//! value, so bytes damaged on disk (bit-rot PostgreSQL's page checksums, if enabled, did
//! not catch), or a value replaced by another client's `UPDATE` without its checksum, is
//! reported as `Corrupted` naming the key instead of returned.

use bytes::Bytes;
use store_core::{Error, Key, Result};

/// Values at least this large are checksummed off the async runtime's threads (about a
/// millisecond at the speed of crc-fast on one core), so large puts and gets never stall
/// other tasks.
const BLOCKING_THRESHOLD: usize = 4 * 1024 * 1024;

/// The checksum stored with every value (column `crc`): its CRC32C (Castagnoli), as
/// store-file, store-s3 and store-redis use.
pub fn value_crc(value: &[u8]) -> u32 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, value) as u32
}

/// [`value_crc`] of `value`, off the runtime's threads when it is large.
pub(crate) async fn crc_of(value: &Bytes) -> u32 {
    if value.len() < BLOCKING_THRESHOLD {
        return value_crc(value);
    }
    let owned = value.clone();
    tokio::task::spawn_blocking(move || value_crc(&owned))
        .await
        // Only a runtime shutting down refuses the task: then compute it here.
        .unwrap_or_else(|_| value_crc(value))
}

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
    let actual = crc_of(value).await;
    if actual != expected {
        return Err(Error::corrupted(
            key,
            format!(
                "the value ({} bytes) fails its CRC32C check: stored {expected:08x}, computed {actual:08x}",
                value.len()
            ),
        ));
    }
    Ok(())
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
    fn known_vector() {
        // The CRC32C check value (RFC 3720, B.4).
        assert_eq!(value_crc(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn a_value_verifies_against_its_own_checksum_only() {
        run(async {
            let key = Key::new("k").unwrap();
            let value = Bytes::from_static(b"hello");
            let stored = Some(i64::from(value_crc(&value)));
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

    #[test]
    fn large_values_are_checksummed_the_same_off_the_runtime() {
        let value = Bytes::from(vec![7u8; BLOCKING_THRESHOLD + 1]);
        let direct = value_crc(&value);
        let offloaded = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .block_on(crc_of(&value));
        assert_eq!(direct, offloaded);
    }
}
