//! Parallel batch insertion.
//!
//! Inserting a node is mostly *searching* for its neighbours, which only reads the graph.
//! A batch is therefore cut into chunks; for each chunk, worker threads find every new
//! node's candidates in the current graph (read-only) plus, by brute force, among the
//! chunk's earlier nodes (which the graph search cannot see yet); then the nodes are
//! linked one by one, in order, exactly as a single insert links them. The result is a
//! graph of the same quality as serial inserts, built faster on several cores.

use crate::filter::Metadata;
use crate::graph::{Cand, Graph};

/// Below this many live nodes the graph is too small to plan against: insert serially.
const SERIAL_BELOW: usize = 1_000;
/// Largest chunk planned at once (the in-chunk brute force costs chunk² / 2 distances).
const MAX_CHUNK: usize = 256;

/// One vector to insert: id, vector (validated and normalised), metadata.
pub(crate) type Item = (u64, Vec<f32>, Metadata);

impl Graph {
    /// Insert `items` (ids not present in the graph, no duplicates) in order, planning
    /// them on `threads` threads.
    pub fn insert_batch(&mut self, items: Vec<Item>, threads: usize) {
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            if threads <= 1 || self.live() < SERIAL_BELOW {
                if let Some((id, vector, metadata)) = items.next() {
                    self.insert(id, &vector, metadata);
                }
                continue;
            }
            // Keep a chunk small relative to the graph, so it mostly links into nodes
            // that already exist.
            let size = (self.live() / 4).clamp(1, MAX_CHUNK);
            let chunk: Vec<Item> = items.by_ref().take(size).collect();
            self.insert_chunk(chunk, threads);
        }
    }

    fn insert_chunk(&mut self, chunk: Vec<Item>, threads: usize) {
        let first = self.slots() as u32;
        let levels: Vec<u8> = (0..chunk.len() as u32)
            .map(|j| self.level_for(first + j))
            .collect();
        let plans: Vec<Vec<Vec<Cand>>> = {
            let (graph, chunk, levels) = (&*self, &chunk, &levels);
            let per = chunk.len().div_ceil(threads);
            std::thread::scope(|s| {
                let workers: Vec<_> = (0..chunk.len())
                    .step_by(per)
                    .map(|start| {
                        s.spawn(move || {
                            (start..(start + per).min(chunk.len()))
                                .map(|j| graph.plan(chunk, levels, first, j))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        for ((id, vector, metadata), (level, plan)) in
            chunk.into_iter().zip(levels.into_iter().zip(plans))
        {
            let slot = self.push_node(id, &vector, metadata, level);
            self.slot_of.insert(id, slot);
            self.link(slot, level, &plan);
        }
    }

    /// Node `j` of the chunk: its candidates in the graph, plus the chunk's earlier nodes
    /// (which will have slots `first + i`) on every layer they reach, nearest first.
    fn plan(&self, chunk: &[Item], levels: &[u8], first: u32, j: usize) -> Vec<Vec<Cand>> {
        let q = &chunk[j].1;
        let level = levels[j];
        let mut out = self.candidates(q, level);
        out.resize(level as usize + 1, Vec::new());
        let mut near: Vec<Cand> = (0..j)
            .map(|i| Cand {
                d: self.raw_distance(q, &chunk[i].1),
                slot: first + i as u32,
            })
            .collect();
        let keep = self.config.ef_construction;
        if near.len() > keep {
            near.select_nth_unstable(keep - 1);
            near.truncate(keep);
        }
        for (l, cands) in out.iter_mut().enumerate() {
            cands.extend(
                near.iter()
                    .filter(|c| levels[(c.slot - first) as usize] as usize >= l),
            );
            cands.sort_unstable();
        }
        out
    }
}
