//! The manifest: the one key that says what the index is and which page keys hold it.
//!
//! It is written last on every flush, with a conditional put, so a reader that loads it
//! sees only pages that were complete before it was written, and two writers cannot both
//! commit on top of the same version.

use serde::{Deserialize, Serialize};
use store_core::{Error, Key, Result};

use crate::config::IndexConfig;
use crate::graph::{Graph, MAX_LEVEL};

/// Format version of the manifest and pages; bumped on incompatible changes.
pub(crate) const FORMAT: u32 = 1;

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
    pub fn check(&self, key: &Key) -> Result<()> {
        let corrupt = |why: &str| Error::corrupted(key, why.to_owned());
        if self.format != FORMAT {
            return Err(corrupt(&format!(
                "unsupported index format {} (this build reads {FORMAT})",
                self.format
            )));
        }
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
