//! The value checksum every checksumming backend stores and checks: CRC32C (Castagnoli,
//! "CRC-32/ISCSI"), one definition, so a value written through one backend and verified
//! through another agree, and the mismatch error reads the same everywhere.
//!
//! crc-fast folds with carry-less multiplies (AVX-512/PCLMULQDQ, NEON) where the `crc32c`
//! crate runs the CRC32 instruction: 0.6 us instead of 2.6 us for 64 KiB on the
//! development machine, which is most of a cached 64 KiB `get`.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::key::Key;

/// Values at least this large are checksummed off the async runtime's threads (about a
/// millisecond at the speed of crc-fast on one core), so large puts and gets never stall
/// other tasks.
const BLOCKING_THRESHOLD: usize = 4 * 1024 * 1024;

/// The CRC32C of `bytes`.
///
/// ```
/// // The CRC32C check value (RFC 3720, B.4).
/// assert_eq!(store_core::crc32c(b"123456789"), 0xe306_9283);
/// ```
pub fn crc32c(bytes: &[u8]) -> u32 {
    // The algorithm's width is 32 bits: the u64 never holds more.
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
}

/// [`crc32c`] of `value`, computed off the runtime's threads when it is large.
pub async fn crc32c_of(value: &Bytes) -> u32 {
    if value.len() < BLOCKING_THRESHOLD {
        return crc32c(value);
    }
    let owned = value.clone();
    tokio::task::spawn_blocking(move || crc32c(&owned))
        .await
        // Only a runtime shutting down refuses the task: then compute it here.
        .unwrap_or_else(|_| crc32c(value))
}

/// Check `value` (the value stored at `key`) against the CRC32C `expected` recorded with
/// it: `Corrupted` naming the key, with both checksums, when they differ.
pub async fn verify_crc32c(key: &Key, value: &Bytes, expected: u32) -> Result<()> {
    let actual = crc32c_of(value).await;
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
    use crate::error::ErrorKind;

    #[test]
    fn large_values_are_checksummed_the_same_off_the_runtime() {
        let value = Bytes::from(vec![7u8; BLOCKING_THRESHOLD + 1]);
        let direct = crc32c(&value);
        let offloaded = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .block_on(crc32c_of(&value));
        assert_eq!(direct, offloaded);
    }

    #[test]
    fn a_mismatch_is_corrupted_naming_the_key() {
        let key = Key::new("k").unwrap();
        let value = Bytes::from_static(b"hello");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(verify_crc32c(&key, &value, crc32c(b"hello")))
            .unwrap();
        let err = runtime
            .block_on(verify_crc32c(&key, &value, crc32c(b"hellp")))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted);
        assert_eq!(err.key(), Some("k"));
        assert!(err.to_string().contains("CRC32C"), "{err}");
    }
}
