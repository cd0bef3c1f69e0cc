//! Stored bytes no encoder would write: the decoder refuses them without panicking or
//! allocating what a damaged header claims.

use super::*;

fn key() -> Key {
    Key::new("k").unwrap()
}

fn stored(tag: u8, len: u64, crc: u32, payload: &[u8]) -> Bytes {
    let mut out = vec![tag];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    Bytes::from(out)
}

#[test]
fn every_codec_round_trips_and_falls_back_to_raw() {
    let text = "abc".repeat(1000);
    for codec in [Codec::None, Codec::Zstd, Codec::Lz4] {
        for value in [&b""[..], b"x", text.as_bytes()] {
            let encoded = encode(value, codec, 3).unwrap();
            assert!(encoded.len() <= value.len() + 1, "{codec:?}");
            assert_eq!(
                decode(&key(), encoded, u64::MAX).unwrap(),
                value,
                "{codec:?}"
            );
        }
    }
    assert_eq!(encode(b"x", Codec::Zstd, 3).unwrap()[0], TAG_RAW);
    assert_eq!(encode(text.as_bytes(), Codec::Lz4, 3).unwrap()[0], TAG_LZ4);
}

#[test]
fn a_length_no_lz4_block_can_reach_is_refused_before_allocating() {
    let err = decode(&key(), stored(TAG_LZ4, u64::MAX / 2, 0, b"\x10a"), u64::MAX).unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::Corrupted, "{err}");
}

#[test]
fn a_zstd_frame_yielding_more_or_less_than_its_header_says_is_corrupted() {
    let value = "zstd ".repeat(500);
    let frame = zstd::bulk::compress(value.as_bytes(), 3).unwrap();
    let crc = store_core::crc32c(value.as_bytes());
    for claimed in [
        0,
        value.len() as u64 - 1,
        value.len() as u64 + 1,
        u64::MAX / 2,
    ] {
        let err = decode(&key(), stored(TAG_ZSTD, claimed, crc, &frame), u64::MAX).unwrap_err();
        assert_eq!(
            err.kind(),
            store_core::ErrorKind::Corrupted,
            "{claimed}: {err}"
        );
    }
    let good = stored(TAG_ZSTD, value.len() as u64, crc, &frame);
    assert_eq!(
        decode(&key(), good.clone(), u64::MAX).unwrap(),
        value.as_bytes()
    );
    let err = decode(&key(), good, 10).unwrap_err();
    assert!(
        err.to_string().contains("more than the largest value"),
        "{err}"
    );
}

#[test]
fn headers_are_read_from_their_first_bytes() {
    let k = key();
    assert_eq!(header(&k, &[TAG_RAW, 1, 2], 3).unwrap().logical_size, 2);
    let h = header(&k, &stored(TAG_LZ4, 77, 5, b""), 500).unwrap();
    assert_eq!(
        (h.codec, h.logical_size, h.crc32c),
        (Stored::Lz4, 77, Some(5))
    );
    assert!(header(&k, &[TAG_ZSTD, 1, 2, 3], 4).is_err());
    assert!(header(&k, &[], 0).is_err());
    assert!(header(&k, &[3], 1).is_err());
}
