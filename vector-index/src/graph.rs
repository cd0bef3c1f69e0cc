//! The in-memory HNSW graph: flat vectors, flat adjacency, tombstones and the search loops.
//!
//! Nodes live in *slots* (dense `u32` positions). Vectors are one contiguous `Vec<f32>`
//! (`slot * dim`), layer-0 links one contiguous `Vec<u32>` with a fixed stride
//! (`[count, link...]`), upper-layer links a small array per node. Deleted nodes keep their
//! slot and links until [`Graph::compacted`]: searches still walk through them (so the graph
//! stays connected) but never return them, and their neighbours are relinked on delete.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::config::{IndexConfig, Metric};
use crate::filter::Metadata;
use crate::kernels::{Kernels, prefetch};

/// The highest layer a node may get (keeps a corrupt or hostile level byte harmless).
pub(crate) const MAX_LEVEL: u8 = 16;

/// A candidate: distance and slot, ordered by distance (ties by slot).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cand {
    pub d: f32,
    pub slot: u32,
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.slot.cmp(&other.slot))
    }
}

/// Per-thread search state, reused so the search loop allocates nothing per visited node.
#[derive(Default)]
pub(crate) struct Scratch {
    visited: Vec<u32>,
    stamp: u32,
    candidates: BinaryHeap<Reverse<Cand>>,
    results: BinaryHeap<Cand>,
    /// The unvisited neighbours of the node being expanded.
    pending: Vec<u32>,
}

impl Scratch {
    /// Start a new search over `n` slots: bump the stamp instead of clearing the array.
    fn reset(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.visited.fill(0);
            self.stamp = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }

    #[inline(always)]
    fn visit(&mut self, slot: u32) -> bool {
        let v = &mut self.visited[slot as usize];
        if *v == self.stamp {
            false
        } else {
            *v = self.stamp;
            true
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Run `f` with this thread's scratch space.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Only reachable if a search re-entered on the same thread; use a fresh one.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Prefetch a layer-0 adjacency row (a no-op for upper layers, which are small and few).
#[inline(always)]
fn prefetch_links(links0: &[u32], base: usize, level: usize) {
    if level == 0
        && let Some(row) = links0.get(base..)
    {
        crate::kernels::prefetch_u32(row);
    }
}

/// The HNSW graph and everything stored per node.
#[derive(Clone)]
pub(crate) struct Graph {
    pub config: IndexConfig,
    pub m0: usize,
    kernels: Kernels,
    pub vectors: Vec<f32>,
    pub links0: Vec<u32>,
    pub upper: Vec<Box<[u32]>>,
    pub levels: Vec<u8>,
    pub deleted: Vec<bool>,
    pub ids: Vec<u64>,
    pub metadata: Vec<Metadata>,
    pub slot_of: HashMap<u64, u32>,
    pub entry: Option<u32>,
    pub max_level: u8,
    /// Pages (slot / nodes_per_page) changed since the last flush.
    pub dirty: BTreeSet<u32>,
}

impl Graph {
    pub fn new(config: IndexConfig) -> Self {
        Graph {
            m0: 2 * config.m,
            config,
            kernels: Kernels::detect(),
            vectors: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            levels: Vec::new(),
            deleted: Vec::new(),
            ids: Vec::new(),
            metadata: Vec::new(),
            slot_of: HashMap::new(),
            entry: None,
            max_level: 0,
            dirty: BTreeSet::new(),
        }
    }

    /// A copy of this graph for an index with `config` (the same but for, perhaps,
    /// `nodes_per_page`), with every page to be written.
    pub fn copy_for(&self, config: IndexConfig) -> Graph {
        let pages = self.slots().div_ceil(config.nodes_per_page) as u32;
        Graph {
            config,
            dirty: (0..pages).collect(),
            ..self.clone()
        }
    }

    /// Number of slots, live or deleted.
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    /// Number of live vectors.
    pub fn live(&self) -> usize {
        self.slot_of.len()
    }

    pub fn dim(&self) -> usize {
        self.config.dim
    }

    #[inline(always)]
    pub fn vector(&self, slot: u32) -> &[f32] {
        let d = self.config.dim;
        &self.vectors[slot as usize * d..(slot as usize + 1) * d]
    }

    /// The distance used inside the graph (squared for L2).
    #[inline(always)]
    pub fn raw_distance(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.config.metric {
            Metric::L2 => (self.kernels.l2sq)(a, b),
            Metric::Cosine => 1.0 - (self.kernels.dot)(a, b),
            Metric::Dot => -(self.kernels.dot)(a, b),
        }
    }

    /// The distance reported to callers.
    pub fn reported(&self, raw: f32) -> f32 {
        match self.config.metric {
            Metric::L2 => raw.max(0.0).sqrt(),
            _ => raw,
        }
    }

    pub fn capacity(&self, level: usize) -> usize {
        if level == 0 { self.m0 } else { self.config.m }
    }

    #[inline(always)]
    pub fn neighbors(&self, slot: u32, level: usize) -> &[u32] {
        if level == 0 {
            let base = slot as usize * (self.m0 + 1);
            let count = self.links0[base] as usize;
            &self.links0[base + 1..base + 1 + count]
        } else {
            let u = &self.upper[slot as usize];
            let base = (level - 1) * (self.config.m + 1);
            let count = u[base] as usize;
            &u[base + 1..base + 1 + count]
        }
    }

    pub fn set_neighbors(&mut self, slot: u32, level: usize, links: &[u32]) {
        let (arr, base) = if level == 0 {
            (&mut self.links0[..], slot as usize * (self.m0 + 1))
        } else {
            (
                &mut self.upper[slot as usize][..],
                (level - 1) * (self.config.m + 1),
            )
        };
        arr[base] = links.len() as u32;
        arr[base + 1..base + 1 + links.len()].copy_from_slice(links);
        self.mark_dirty(slot);
    }

    pub fn mark_dirty(&mut self, slot: u32) {
        self.dirty.insert(slot / self.config.nodes_per_page as u32);
    }

    /// A node's level, drawn from the slot number with a hash so it needs no stored RNG
    /// state: P(level >= l) = m^-l, as in the HNSW paper.
    pub(crate) fn level_for(&self, slot: u32) -> u8 {
        let mut z = (slot as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        let level = -u.ln() / (self.config.m as f64).ln();
        (level as u8).min(MAX_LEVEL)
    }

    /// Append an empty node; returns its slot.
    pub fn push_node(&mut self, id: u64, vector: &[f32], metadata: Metadata, level: u8) -> u32 {
        let slot = self.ids.len() as u32;
        self.vectors.extend_from_slice(vector);
        self.links0.resize(self.links0.len() + self.m0 + 1, 0);
        self.upper
            .push(vec![0u32; level as usize * (self.config.m + 1)].into_boxed_slice());
        self.levels.push(level);
        self.deleted.push(false);
        self.ids.push(id);
        self.metadata.push(metadata);
        self.mark_dirty(slot);
        slot
    }

    /// Insert a new node for `id` (the caller has removed any previous one).
    pub fn insert(&mut self, id: u64, vector: &[f32], metadata: Metadata) {
        let level = self.level_for(self.ids.len() as u32);
        let found = self.candidates(vector, level);
        let slot = self.push_node(id, vector, metadata, level);
        self.slot_of.insert(id, slot);
        self.link(slot, level, &found);
    }

    /// For a node at `level` with vector `q` that is not yet in the graph: on every layer
    /// `0..=min(level, max_level)`, the `ef_construction` nearest nodes, ascending. Only
    /// live nodes, unless the search met nothing but tombstones (a large deleted region):
    /// then those, so the new node can be linked through them and stays reachable.
    /// Read-only, so the nodes of a batch can be planned in parallel.
    pub fn candidates(&self, q: &[f32], level: u8) -> Vec<Vec<Cand>> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        with_scratch(|scratch| {
            let cur = self.descend(q, entry, level as usize + 1);
            let top = level.min(self.max_level) as usize;
            let mut out = vec![Vec::new(); top + 1];
            let mut eps = vec![cur];
            for l in (0..=top).rev() {
                self.search_layer(q, &eps, self.config.ef_construction, l, scratch, |_| true);
                let mut found: Vec<Cand> = scratch.results.drain().collect();
                found.sort_unstable();
                let live: Vec<Cand> = found
                    .iter()
                    .copied()
                    .filter(|c| !self.deleted[c.slot as usize])
                    .collect();
                out[l] = if live.is_empty() { found.clone() } else { live };
                if !found.is_empty() {
                    eps = found;
                }
            }
            out
        })
    }

    /// Link the freshly pushed `slot` (at `level`) to the best of `found[l]` on every layer
    /// `l` and back, and promote it to entry point if it is the highest node.
    pub fn link(&mut self, slot: u32, level: u8, found: &[Vec<Cand>]) {
        // With no other live node (empty index, or everything deleted) the new node starts
        // a fresh graph: linking it into a graph of tombstones would gain nothing.
        if self.entry.is_none() || self.slot_of.len() <= 1 {
            self.entry = Some(slot);
            self.max_level = level;
            return;
        }
        for (l, cands) in found.iter().enumerate().take(level as usize + 1) {
            let chosen = self.select(cands, self.config.m);
            self.set_neighbors(slot, l, &chosen);
            for &n in &chosen {
                self.connect(n, slot, l);
            }
        }
        if level > self.max_level {
            self.entry = Some(slot);
            self.max_level = level;
        }
    }

    /// Add a link `from -> to` on `level`, pruning with the heuristic when full.
    pub(crate) fn connect(&mut self, from: u32, to: u32, level: usize) {
        let current = self.neighbors(from, level);
        if current.contains(&to) {
            return;
        }
        let cap = self.capacity(level);
        if current.len() < cap {
            let mut links = current.to_vec();
            links.push(to);
            self.set_neighbors(from, level, &links);
            return;
        }
        let base = self.vector(from);
        let mut cands: Vec<Cand> = current
            .iter()
            .chain(std::iter::once(&to))
            .map(|&s| Cand {
                d: self.raw_distance(base, self.vector(s)),
                slot: s,
            })
            .collect();
        cands.sort_unstable();
        let chosen = self.select(&cands, cap);
        self.set_neighbors(from, level, &chosen);
    }

    /// The HNSW neighbour-selection heuristic: walk candidates nearest first and keep one
    /// only if it is nearer to the base than to every neighbour kept so far (this keeps
    /// links pointing in diverse directions). `sorted` must be ascending.
    pub(crate) fn select(&self, sorted: &[Cand], cap: usize) -> Vec<u32> {
        let mut kept: Vec<Cand> = Vec::with_capacity(cap);
        for &c in sorted {
            if kept.len() >= cap {
                break;
            }
            let v = self.vector(c.slot);
            if kept
                .iter()
                .all(|k| self.raw_distance(v, self.vector(k.slot)) > c.d)
            {
                kept.push(c);
            }
        }
        kept.into_iter().map(|c| c.slot).collect()
    }

    /// Greedy descent on an upper layer: move to a nearer neighbour until none is nearer.
    /// Greedy descent from `entry` through the layers above `down_to - 1`: the closest
    /// node to `q` found on layer `down_to` (or `entry` when that is above the top).
    fn descend(&self, q: &[f32], entry: u32, down_to: usize) -> Cand {
        let mut cur = Cand {
            d: self.raw_distance(q, self.vector(entry)),
            slot: entry,
        };
        for l in (down_to..=self.max_level as usize).rev() {
            cur = self.greedy(q, cur, l);
        }
        cur
    }

    pub(crate) fn greedy(&self, q: &[f32], mut cur: Cand, level: usize) -> Cand {
        loop {
            let mut moved = false;
            for &n in self.neighbors(cur.slot, level) {
                let d = self.raw_distance(q, self.vector(n));
                if d < cur.d {
                    cur = Cand { d, slot: n };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Best-first search of one layer from `eps`, leaving the `ef` nearest *accepted*
    /// nodes in `scratch.results`. Rejected nodes (deleted, or failing a filter) are still
    /// expanded, so the walk can pass through them, but never enter the results.
    pub fn search_layer(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        level: usize,
        scratch: &mut Scratch,
        accept: impl Fn(u32) -> bool,
    ) {
        scratch.reset(self.slots());
        let mut bound = f32::INFINITY;
        for &ep in eps {
            if !scratch.visit(ep.slot) {
                continue;
            }
            scratch.candidates.push(Reverse(ep));
            if accept(ep.slot) {
                scratch.results.push(ep);
                if scratch.results.len() > ef {
                    scratch.results.pop();
                }
            }
        }
        if scratch.results.len() >= ef {
            bound = scratch.results.peek().map_or(f32::INFINITY, |c| c.d);
        }
        while let Some(Reverse(c)) = scratch.candidates.pop() {
            if c.d > bound {
                break;
            }
            // The next candidate is likely expanded next: start loading its links.
            if let Some(Reverse(next)) = scratch.candidates.peek() {
                prefetch_links(&self.links0, next.slot as usize * (self.m0 + 1), level);
            }
            // First collect the unvisited neighbours and start loading all their vectors,
            // so the memory fetches overlap instead of each distance waiting for its own.
            scratch.pending.clear();
            for &n in self.neighbors(c.slot, level) {
                if scratch.visit(n) {
                    prefetch(self.vector(n));
                    scratch.pending.push(n);
                }
            }
            for i in 0..scratch.pending.len() {
                let n = scratch.pending[i];
                let d = self.raw_distance(q, self.vector(n));
                if d < bound || scratch.results.len() < ef {
                    scratch.candidates.push(Reverse(Cand { d, slot: n }));
                    if accept(n) {
                        scratch.results.push(Cand { d, slot: n });
                        if scratch.results.len() > ef {
                            scratch.results.pop();
                        }
                        if scratch.results.len() >= ef {
                            bound = scratch.results.peek().map_or(f32::INFINITY, |c| c.d);
                        }
                    }
                }
            }
        }
    }

    /// The `k` nearest accepted nodes, nearest first, with raw distances.
    pub fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        accept: impl Fn(u32) -> bool,
    ) -> Vec<Cand> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        with_scratch(|scratch| {
            let cur = self.descend(q, entry, 1);
            self.search_layer(q, &[cur], ef.max(k), 0, scratch, accept);
            let mut out: Vec<Cand> = scratch.results.drain().collect();
            out.sort_unstable();
            out.truncate(k);
            out
        })
    }

    /// Exact nearest accepted nodes by scanning every slot (used for very selective filters).
    pub fn scan(&self, q: &[f32], k: usize, accept: impl Fn(u32) -> bool) -> Vec<Cand> {
        let mut heap: BinaryHeap<Cand> = BinaryHeap::with_capacity(k + 1);
        for slot in 0..self.slots() as u32 {
            if !accept(slot) {
                continue;
            }
            let d = self.raw_distance(q, self.vector(slot));
            if heap.len() < k {
                heap.push(Cand { d, slot });
            } else if heap.peek().is_some_and(|w| d < w.d) {
                heap.pop();
                heap.push(Cand { d, slot });
            }
        }
        heap.into_sorted_vec()
    }

    /// Tombstone `id` and relink its neighbours around it. Returns whether it existed.
    pub fn delete(&mut self, id: u64) -> bool {
        let Some(slot) = self.slot_of.remove(&id) else {
            return false;
        };
        self.deleted[slot as usize] = true;
        self.metadata[slot as usize] = Metadata::new();
        self.mark_dirty(slot);
        for level in 0..=self.levels[slot as usize] as usize {
            let around: Vec<u32> = self.neighbors(slot, level).to_vec();
            for &n in &around {
                if self.deleted[n as usize] || !self.neighbors(n, level).contains(&slot) {
                    continue;
                }
                self.relink(n, level, slot, &around);
            }
        }
        true
    }

    /// Replace `n`'s link to the deleted `gone` by the best of its other links and
    /// `gone`'s links (the repair step that keeps recall from decaying under deletes).
    fn relink(&mut self, n: u32, level: usize, gone: u32, gone_links: &[u32]) {
        let pool: Vec<u32> = self
            .neighbors(n, level)
            .iter()
            .chain(gone_links)
            .copied()
            .filter(|&s| s != n && s != gone && !self.deleted[s as usize])
            .collect();
        let cands = self.ranked(n, pool);
        let chosen = self.select(&cands, self.capacity(level));
        self.set_neighbors(n, level, &chosen);
    }

    /// A copy without tombstones: live nodes renumbered densely, links to deleted nodes
    /// replaced by the best live nodes reachable through them, every page dirty.
    pub fn compacted(&self) -> Graph {
        let mut map = vec![u32::MAX; self.slots()];
        let mut next = 0u32;
        for (slot, &gone) in self.deleted.iter().enumerate() {
            if !gone {
                map[slot] = next;
                next += 1;
            }
        }
        let mut out = Graph::new(self.config.clone());
        out.kernels = self.kernels;
        for slot in 0..self.slots() as u32 {
            if self.deleted[slot as usize] {
                continue;
            }
            let level = self.levels[slot as usize];
            let new = out.push_node(
                self.ids[slot as usize],
                self.vector(slot),
                self.metadata[slot as usize].clone(),
                level,
            );
            out.slot_of.insert(self.ids[slot as usize], new);
            for l in 0..=level as usize {
                let links = self.neighbors(slot, l);
                let mapped: Vec<u32> = if links.iter().all(|&s| !self.deleted[s as usize]) {
                    links.iter().map(|&s| map[s as usize]).collect()
                } else {
                    self.relinked_live(slot, l)
                        .into_iter()
                        .map(|s| map[s as usize])
                        .collect()
                };
                out.set_neighbors(new, l, &mapped);
            }
        }
        // Keep the entry if it survived; otherwise the highest live node takes over.
        let entry = match self.entry {
            Some(e) if !self.deleted[e as usize] => Some(map[e as usize]),
            _ => (0..out.slots() as u32).max_by_key(|&s| (out.levels[s as usize], Reverse(s))),
        };
        out.entry = entry;
        out.max_level = entry.map_or(0, |e| out.levels[e as usize]);
        out
    }

    /// `slot`'s live links on `level`, plus the live links of its deleted links, pruned.
    fn relinked_live(&self, slot: u32, level: usize) -> Vec<u32> {
        let mut pool = Vec::new();
        for &s in self.neighbors(slot, level) {
            if self.deleted[s as usize] {
                pool.extend(
                    self.neighbors(s, level)
                        .iter()
                        .copied()
                        .filter(|&t| t != slot && !self.deleted[t as usize]),
                );
            } else {
                pool.push(s);
            }
        }
        let cands = self.ranked(slot, pool);
        self.select(&cands, self.capacity(level))
    }

    /// The distinct slots of `pool` as candidates for `from`'s links, nearest first.
    fn ranked(&self, from: u32, mut pool: Vec<u32>) -> Vec<Cand> {
        pool.sort_unstable();
        pool.dedup();
        let base = self.vector(from);
        let mut cands: Vec<Cand> = pool
            .into_iter()
            .map(|s| Cand {
                d: self.raw_distance(base, self.vector(s)),
                slot: s,
            })
            .collect();
        cands.sort_unstable();
        cands
    }
}
