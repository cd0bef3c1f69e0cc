//! The manifest: the one key that says what the index is and which page keys hold it.
//!
//! It is written last on every flush, with a conditional put, so a reader that loads it
//! sees only pages that were complete before it was written, and two writers cannot both
//! commit on top of the same version.
//!
//! Stored form, format 2 (written by this build):
//!
//! ```text
//! "VXM2" | CRC32C u32 (little-endian) of (manifest key bytes ‖ body) | body: the CBOR manifest
//! ```
//!
//! The checksum makes any damage to the manifest an error (CBOR alone would read a
//! flipped bit in, say, `ef_search` as another index), and binding the key catches another
//! index's manifest stored under this one's key. Format 1 was the bare CBOR body; it is
//! still read (its pages carry their own checksums, the manifest nothing), and the next
//! flush rewrites it in format 2.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store_core::{Error, Key, Result};

use crate::config::IndexConfig;
use crate::graph::{Graph, MAX_LEVEL};

/// Format version of the manifest; bumped on incompatible changes. (Pages say theirs in
/// their magic, `VXP1`.)
pub(crate) const FORMAT: u32 = 2;
/// The bare-CBOR manifest of earlier builds.
const FORMAT_1: u32 = 1;
const MAGIC: &[u8; 4] = b"VXM2";

/// CRC32C (Castagnoli), as the file store uses, of `key` and `body`.
pub(crate) fn checksum(key: &Key, body: &[u8]) -> u32 {
    let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
    digest.update(key.as_str().as_bytes());
    digest.update(body);
    // The algorithm's width is 32 bits: the u64 never holds more.
    digest.finalize() as u32
}

/// One stored page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PageRef {
    /// The key holding the page (pages are never overwritten in place: each flush writes
    /// changed pages under fresh keys, so a reader of the previous manifest is unaffected).
    pub key: String,
    /// CRC-32 of the page body, as stored in its last four bytes.
    pub crc: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub format: u32,
    pub config: IndexConfig,
    /// Slots stored (live and deleted).
    pub slots: u32,
    pub entry: Option<u32>,
    pub max_level: u8,
    /// Page `i` holds slots `i * nodes_per_page ..`.
    pub pages: Vec<PageRef>,
}

impl Manifest {
    /// The stored form of this manifest at `key` (format 2).
    pub fn encode(&self, key: &Key) -> Result<Bytes> {
        let body = store_core::encode_cbor(key, self)?;
        let mut out = Vec::with_capacity(8 + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&checksum(key, &body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(Bytes::from(out))
    }

    /// Read a stored manifest (format 2, or the bare CBOR of format 1) and check it is
    /// self-consistent: any damage is `Corrupted` naming `key`. A format-1 manifest comes
    /// back as format 2, to be written so by the next flush.
    pub fn decode(key: &Key, bytes: &[u8]) -> Result<Manifest> {
        let corrupt = |why: &str| Error::corrupted(key, why.to_owned());
        let (mut manifest, format) = match bytes.strip_prefix(MAGIC) {
            Some(rest) => {
                let (stored, body) = rest
                    .split_first_chunk::<4>()
                    .ok_or_else(|| corrupt("manifest is truncated"))?;
                if u32::from_le_bytes(*stored) != checksum(key, body) {
                    return Err(corrupt("manifest checksum mismatch"));
                }
                (store_core::decode_cbor::<Manifest>(key, body)?, FORMAT)
            }
            None => (store_core::decode_cbor::<Manifest>(key, bytes)?, FORMAT_1),
        };
        if manifest.format != format {
            return Err(corrupt(&format!(
                "unsupported index format {} (this build reads {FORMAT_1} and {FORMAT})",
                manifest.format
            )));
        }
        manifest.format = FORMAT;
        manifest.check(key)?;
        Ok(manifest)
    }

    pub fn empty(config: IndexConfig) -> Self {
        Manifest {
            format: FORMAT,
            config,
            slots: 0,
            entry: None,
            max_level: 0,
            pages: Vec::new(),
        }
    }

    /// Check the manifest is self-consistent before trusting any of it.
    fn check(&self, key: &Key) -> Result<()> {
        let corrupt = |why: &str| Error::corrupted(key, why.to_owned());
        self.config
            .validate()
            .map_err(|e| corrupt(&format!("stored config is invalid: {e}")))?;
        let per = self.config.nodes_per_page as u64;
        let want_pages = (self.slots as u64).div_ceil(per);
        if self.pages.len() as u64 != want_pages {
            return Err(corrupt("page count does not match the slot count"));
        }
        match self.entry {
            None if self.slots != 0 => Err(corrupt("nodes but no entry point")),
            Some(e) if e >= self.slots => Err(corrupt("entry point outside the index")),
            _ if self.max_level > MAX_LEVEL => Err(corrupt("max level out of range")),
            _ => Ok(()),
        }
    }

    /// After loading every page: links must point to nodes present on their layer.
    pub fn check_graph(&self, key: &Key, graph: &Graph) -> Result<()> {
        let corrupt = |why: &str| Error::corrupted(key, why.to_owned());
        if let Some(e) = self.entry
            && graph.levels[e as usize] != self.max_level
        {
            return Err(corrupt("entry point level does not match the manifest"));
        }
        for slot in 0..graph.slots() as u32 {
            for level in 1..=graph.levels[slot as usize] as usize {
                if graph
                    .neighbors(slot, level)
                    .iter()
                    .any(|&t| (graph.levels[t as usize] as usize) < level)
                {
                    return Err(corrupt("a link points to a node absent from its layer"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
