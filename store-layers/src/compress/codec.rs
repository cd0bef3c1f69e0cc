//! The compressed value format: one tag byte, then (for compressed values) the logical
//! length and a CRC32C of the decoded value, then the payload.
//!
//! ```text
//! raw:   [0x00] value…
//! zstd:  [0x01] logical length (u64 LE) CRC32C of the value (u32 LE) zstd frame…
//! lz4:   [0x02] logical length (u64 LE) CRC32C of the value (u32 LE) lz4 block…
//! ```
//!
//! The checksum is there because neither payload checks itself (a zstd frame written
//! without its optional checksum, an LZ4 block never): a flipped payload byte could
//! otherwise decode to other bytes of the right length. Raw values are left to the inner
//! store's own checks.
//!
//! The tag is per value, so a store holds values of every codec at once and the writing
//! codec can change without rewriting anything. A value that would not shrink is stored
//! raw, so a stored value is at most one byte longer than the value.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use store_core::{Error, Key, Result};

/// The tag of a value stored as is.
pub const TAG_RAW: u8 = 0;
/// The tag of a zstd frame.
pub const TAG_ZSTD: u8 = 1;
/// The tag of an LZ4 block.
pub const TAG_LZ4: u8 = 2;
/// The longest header: a tag, the logical length and the checksum. Reading this many
/// bytes of a stored value tells its codec and logical size.
pub const HEADER_LEN: usize = 13;
/// LZ4 cannot compress better than 255:1, so a block claiming more is damaged (checked
/// before allocating the output, so a flipped length byte cannot ask for exabytes).
const LZ4_MAX_RATIO: u64 = 255;
/// zstd cannot do better than 32768:1 (a 128 KiB block as a 4-byte RLE block), so a
/// frame claiming more is damaged; checked before allocating the output.
const ZSTD_MAX_RATIO: u64 = 32 << 10;

thread_local! {
    // zstd contexts are costly to make (their tables dwarf a 4 KiB value), so each
    // thread keeps one for compressing (at the level last used) and one for decoding.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

fn zstd_compress(value: &[u8], level: i32) -> Result<Vec<u8>> {
    let failed = |e: std::io::Error| Error::backend("zstd compression failed", e);
    COMPRESSOR.with_borrow_mut(|slot| {
        if !matches!(slot, Some((l, _)) if *l == level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level).map_err(failed)?));
        }
        match slot {
            Some((_, compressor)) => compressor.compress(value).map_err(failed),
            None => Err(Error::backend("zstd compression failed", "no context")),
        }
    })
}

/// Decode a zstd frame into at most `capacity` bytes (more is an error).
fn zstd_decompress(payload: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    DECOMPRESSOR.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot {
            Some(decompressor) => decompressor.decompress_to_buffer(payload, &mut out),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })?;
    Ok(out)
}

/// How values are written. Reading understands every codec whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Store values as they are (tag `raw`).
    None,
    /// zstd at a level (1..=22; 3 is zstd's own default).
    Zstd,
    /// LZ4 block format (fast, weaker ratio).
    Lz4,
}

/// The codec a stored value was written with, as its tag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored as is.
    Raw,
    /// A zstd frame.
    Zstd,
    /// An LZ4 block.
    Lz4,
}

/// What a stored value's header says: its codec and its logical (decoded) size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The codec the value was written with.
    pub codec: Stored,
    /// The value's size once decoded.
    pub logical_size: u64,
    /// The CRC32C of the decoded value (compressed values only).
    pub crc32c: Option<u32>,
}

/// Encode `value` with `codec` (zstd at `level`), falling back to raw when it would not shrink.
pub fn encode(value: &[u8], codec: Codec, level: i32) -> Result<Bytes> {
    let compressed = match codec {
        Codec::None => None,
        Codec::Zstd => Some((TAG_ZSTD, zstd_compress(value, level)?)),
        Codec::Lz4 => Some((TAG_LZ4, lz4_flex::block::compress(value))),
    };
    if let Some((tag, payload)) = compressed
        && HEADER_LEN + payload.len() < 1 + value.len()
    {
        let mut out = BytesMut::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&[tag]);
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(&store_core::crc32c(value).to_le_bytes());
        out.extend_from_slice(&payload);
        return Ok(out.freeze());
    }
    let mut out = BytesMut::with_capacity(1 + value.len());
    out.extend_from_slice(&[TAG_RAW]);
    out.extend_from_slice(value);
    Ok(out.freeze())
}

/// Read the header of a stored value from its first bytes (at least [`HEADER_LEN`] of
/// them, or all of a shorter value) and its stored size.
pub fn header(key: &Key, first: &[u8], stored_size: u64) -> Result<Header> {
    let Some((&tag, rest)) = first.split_first() else {
        return Err(Error::corrupted(
            key,
            "compressed value is empty (no codec tag)",
        ));
    };
    let codec = match tag {
        TAG_RAW => {
            return Ok(Header {
                codec: Stored::Raw,
                logical_size: stored_size.saturating_sub(1),
                crc32c: None,
            });
        }
        TAG_ZSTD => Stored::Zstd,
        TAG_LZ4 => Stored::Lz4,
        other => {
            return Err(Error::corrupted(
                key,
                format!("unknown compression codec tag {other:#04x}"),
            ));
        }
    };
    let short = || Error::corrupted(key, "compressed value is shorter than its header");
    let len: [u8; 8] = rest
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(short)?;
    let crc: [u8; 4] = rest
        .get(8..12)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(short)?;
    Ok(Header {
        codec,
        logical_size: u64::from_le_bytes(len),
        crc32c: Some(u32::from_le_bytes(crc)),
    })
}

/// Decode a whole stored value; `max_size` bounds what a damaged header may make us
/// allocate or produce.
pub fn decode(key: &Key, stored: Bytes, max_size: u64) -> Result<Bytes> {
    let head = header(key, &stored, stored.len() as u64)?;
    let want = head.logical_size;
    if head.codec != Stored::Raw && want > max_size {
        return Err(Error::corrupted(
            key,
            format!("compressed value claims {want} bytes, more than the largest value"),
        ));
    }
    let damaged = |what: &dyn std::fmt::Display| {
        Error::corrupted(key, format!("compressed value does not decode: {what}"))
    };
    // `header` checked that a compressed value holds the whole header.
    let payload = stored.get(HEADER_LEN..).unwrap_or_default();
    let out = match head.codec {
        Stored::Raw => return Ok(stored.slice(1..)),
        Stored::Zstd => {
            let most = (payload.len() as u64).saturating_mul(ZSTD_MAX_RATIO);
            if want > most {
                return Err(damaged(
                    &"the length exceeds what zstd can encode in this frame",
                ));
            }
            let capacity = usize::try_from(want).map_err(|e| damaged(&e))?;
            zstd_decompress(payload, capacity).map_err(|e| damaged(&e))?
        }
        Stored::Lz4 => {
            if want > (payload.len() as u64).saturating_mul(LZ4_MAX_RATIO) {
                return Err(damaged(
                    &"the length exceeds what LZ4 can encode in this block",
                ));
            }
            let capacity = usize::try_from(want).map_err(|e| damaged(&e))?;
            lz4_flex::block::decompress(payload, capacity).map_err(|e| damaged(&e))?
        }
    };
    if out.len() as u64 != want {
        return Err(damaged(&format_args!(
            "decoded {} bytes, the header says {want}",
            out.len()
        )));
    }
    if head.crc32c != Some(store_core::crc32c(&out)) {
        return Err(damaged(&"its checksum does not match"));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests;
