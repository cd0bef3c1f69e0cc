//! The index's parameters, fixed at creation and stored in its manifest.

use serde::{Deserialize, Serialize};
use store_core::{Error, Result};

/// How distance between vectors is measured. Smaller distances are nearer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// `1 - cos(a, b)`. Vectors are normalised on insert (so [`VectorIndex::get`] returns
    /// the unit vector); a zero vector is rejected.
    ///
    /// [`VectorIndex::get`]: crate::VectorIndex::get
    Cosine,
    /// Euclidean distance `|a - b|` (searched as its square; reported as the root).
    L2,
    /// Negative inner product `-(a · b)`, for maximum-inner-product search.
    Dot,
}

/// The parameters of an index.
///
/// ```
/// use vector_index::{IndexConfig, Metric};
/// let config = IndexConfig::new(784, Metric::L2).m(16).ef_construction(200);
/// assert_eq!(config.ef_search, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// Number of components of every vector.
    pub dim: usize,
    /// The distance.
    pub metric: Metric,
    /// Links per node on the upper layers (layer 0 keeps `2 * m`). Default 16.
    pub m: usize,
    /// Candidate list size while inserting. Default 200.
    pub ef_construction: usize,
    /// Candidate list size while searching when the caller gives none. Default 64.
    pub ef_search: usize,
    /// Nodes packed into one stored page. Default 256.
    pub nodes_per_page: usize,
}

impl IndexConfig {
    /// A config with the defaults above.
    pub fn new(dim: usize, metric: Metric) -> Self {
        IndexConfig {
            dim,
            metric,
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            nodes_per_page: 256,
        }
    }

    /// Set `m`.
    pub fn m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }

    /// Set `ef_construction`.
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Set `ef_search`.
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }

    /// Set `nodes_per_page`.
    pub fn nodes_per_page(mut self, n: usize) -> Self {
        self.nodes_per_page = n;
        self
    }

    /// Reject parameters the index cannot work with (`InvalidConfig`, naming the field).
    pub fn validate(&self) -> Result<()> {
        let check = |field: &str, ok: bool, why: &str| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid_config(field, why))
            }
        };
        check("dim", (1..=65_536).contains(&self.dim), "must be 1..=65536")?;
        check("m", (2..=256).contains(&self.m), "must be 2..=256")?;
        check(
            "ef_construction",
            (1..=100_000).contains(&self.ef_construction),
            "must be 1..=100000",
        )?;
        check(
            "ef_search",
            (1..=100_000).contains(&self.ef_search),
            "must be 1..=100000",
        )?;
        check(
            "nodes_per_page",
            (1..=1_000_000).contains(&self.nodes_per_page),
            "must be 1..=1000000",
        )
    }
}
