//! The stored form of a page: a run of consecutive slots with everything per node.
//!
//! Layout (little-endian): `b"VXP1"`, first slot `u32`, node count `u32`, then per node:
//! id `u64`, flags `u8` (bit 0: deleted), level `u8`, `dim` × `f32`, for each layer
//! `0..=level` a link count `u16` and that many `u32` slots, a metadata length `u32` and
//! that much CBOR; finally a CRC-32 of everything before it (and the manifest records
//! that CRC too). Decoding checks every length and bound, so a damaged page is
//! `Corrupted`, never a panic or a wrong graph.

use store_core::{Error, Key, Result};

use crate::filter::Metadata;
use crate::graph::{Graph, MAX_LEVEL};

const MAGIC: &[u8; 4] = b"VXP1";

/// Encode slots `first..first + count` of `graph`.
pub(crate) fn encode(graph: &Graph, first: u32, count: u32) -> Vec<u8> {
    let dim = graph.dim();
    let mut out = Vec::with_capacity(count as usize * (dim * 4 + 4 * graph.m0 + 32) + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&first.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    let mut meta_buf = Vec::new();
    for slot in first..first + count {
        let s = slot as usize;
        out.extend_from_slice(&graph.ids[s].to_le_bytes());
        out.push(u8::from(graph.deleted[s]));
        out.push(graph.levels[s]);
        for x in graph.vector(slot) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for level in 0..=graph.levels[s] as usize {
            let links = graph.neighbors(slot, level);
            out.extend_from_slice(&(links.len() as u16).to_le_bytes());
            for l in links {
                out.extend_from_slice(&l.to_le_bytes());
            }
        }
        meta_buf.clear();
        if !graph.metadata[s].is_empty() {
            // Encoding a map of scalars into a Vec cannot fail.
            let _ = ciborium::into_writer(&graph.metadata[s], &mut meta_buf);
        }
        out.extend_from_slice(&(meta_buf.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta_buf);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The CRC stored at the end of an encoded page.
pub(crate) fn stored_crc(bytes: &[u8]) -> Option<u32> {
    let tail = bytes.get(bytes.len().checked_sub(4)?..)?;
    Some(u32::from_le_bytes(tail.try_into().ok()?))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    key: &'a Key,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| Error::corrupted(self.key, "page is truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Decode a page that must hold slots `first..first + count`, appending its nodes to
/// `graph` (which must hold exactly `first` slots). Links are checked against `total`.
pub(crate) fn decode_into(
    graph: &mut Graph,
    key: &Key,
    bytes: &[u8],
    first: u32,
    count: u32,
    total: u32,
) -> Result<()> {
    let corrupt = |why: &str| Error::corrupted(key, why.to_owned());
    if bytes.len() < 16 {
        return Err(corrupt("page is too short"));
    }
    let body = &bytes[..bytes.len() - 4];
    if stored_crc(bytes) != Some(crc32fast::hash(body)) {
        return Err(corrupt("page checksum mismatch"));
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
        key,
    };
    if r.take(4)? != MAGIC {
        return Err(corrupt("not a vector-index page (bad magic)"));
    }
    if r.u32()? != first || r.u32()? != count {
        return Err(corrupt("page holds other slots than the manifest says"));
    }
    let dim = graph.dim();
    let mut vector = vec![0f32; dim];
    let mut links = Vec::new();
    for slot in first..first + count {
        let id = r.u64()?;
        let flags = r.u8()?;
        if flags > 1 {
            return Err(corrupt("unknown node flags"));
        }
        let level = r.u8()?;
        if level > MAX_LEVEL {
            return Err(corrupt("node level out of range"));
        }
        let raw = r.take(dim * 4)?;
        for (x, b) in vector.iter_mut().zip(raw.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(corrupt("vector holds a non-finite component"));
        }
        let mut per_level: Vec<Vec<u32>> = Vec::with_capacity(level as usize + 1);
        for l in 0..=level as usize {
            let n = r.u16()? as usize;
            if n > graph.capacity(l) {
                return Err(corrupt("too many links for the layer"));
            }
            links.clear();
            for _ in 0..n {
                let t = r.u32()?;
                if t >= total || t == slot {
                    return Err(corrupt("link points outside the index"));
                }
                links.push(t);
            }
            per_level.push(links.clone());
        }
        let meta_len = r.u32()? as usize;
        let metadata: Metadata = if meta_len == 0 {
            Metadata::new()
        } else {
            ciborium::from_reader(r.take(meta_len)?)
                .map_err(|e| corrupt(&format!("metadata is not valid CBOR: {e}")))?
        };
        let deleted = flags & 1 == 1;
        let s = graph.push_node(id, &vector, metadata, level);
        debug_assert_eq!(s, slot);
        for (l, links) in per_level.iter().enumerate() {
            graph.set_neighbors(s, l, links);
        }
        if deleted {
            graph.deleted[s as usize] = true;
        } else if graph.slot_of.insert(id, s).is_some() {
            return Err(corrupt("the same id is live in two slots"));
        }
    }
    if r.pos != body.len() {
        return Err(corrupt("trailing bytes after the last node"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
