//! Data for the vector-index tests and benchmark: Fashion-MNIST, a clustered synthetic
//! set, brute-force ground truth and recall.

use std::io::Read;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Where the Debian package `dataset-fashion-mnist` installs its files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// A row-major matrix of `f32` vectors.
#[derive(Clone, Debug)]
pub struct Vectors {
    /// Components per vector.
    pub dim: usize,
    /// `len * dim` components.
    pub data: Vec<f32>,
}

impl Vectors {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Vector `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The first `n` vectors.
    pub fn take(&self, n: usize) -> Vectors {
        Vectors {
            dim: self.dim,
            data: self.data[..n.min(self.len()) * self.dim].to_vec(),
        }
    }
}

/// Read a gzip IDX image file: 16-byte header (magic, count, rows, cols), then u8 pixels.
pub fn read_idx_images(path: &Path) -> std::io::Result<Vectors> {
    let file = std::fs::File::open(path)?;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut raw)?;
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    if raw.len() < 16 || raw[..4] != [0, 0, 8, 3] {
        return Err(bad("not an IDX3 u8 image file"));
    }
    let be = |i: usize| u32::from_be_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]) as usize;
    let (n, rows, cols) = (be(4), be(8), be(12));
    let dim = rows * cols;
    if raw.len() != 16 + n * dim {
        return Err(bad("IDX size does not match its header"));
    }
    Ok(Vectors {
        dim,
        data: raw[16..].iter().map(|&b| b as f32).collect(),
    })
}

/// Fashion-MNIST as (60,000 train vectors, 10,000 test vectors), 784 dimensions.
///
/// Panics with an install hint if the dataset package is missing (tests only).
pub fn fashion_mnist() -> (Vectors, Vectors) {
    let dir = PathBuf::from(FASHION_MNIST_DIR);
    let load = |name: &str| {
        read_idx_images(&dir.join(name)).unwrap_or_else(|e| {
            panic!(
                "cannot read {}/{name}: {e}; install the Debian package dataset-fashion-mnist \
                 (scripts/test.sh does)",
                dir.display()
            )
        })
    };
    (
        load("train-images-idx3-ubyte.gz"),
        load("t10k-images-idx3-ubyte.gz"),
    )
}

/// `n` vectors in `dim` dimensions around `clusters` random centres (Gaussian noise of
/// `spread` around each), from a fixed seed. Clustered, like real embeddings; uniform
/// random vectors would be a pathological case for any ANN index.
pub fn clustered(n: usize, dim: usize, clusters: usize, spread: f32, seed: u64) -> Vectors {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..clusters * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let mut data = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.random_range(0..clusters);
        for j in 0..dim {
            // Sum of uniforms: a cheap, seed-stable approximately Gaussian noise.
            let noise: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() * 0.5;
            data.push(centres[c * dim + j] + spread * noise);
        }
    }
    Vectors { dim, data }
}

/// How to compare vectors for ground truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    /// Squared Euclidean.
    L2,
    /// 1 - cosine similarity.
    Cosine,
}

/// `sum(f(a[i], b[i]))` with eight independent accumulators, so the compiler vectorises
/// it (a plain `.sum()` of floats must add in order and stays scalar). Kept independent of
/// vector-index's own kernels on purpose: the ground truth must not share their bugs.
fn sum8(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += f(x[i], y[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn distance(kind: Truth, a: &[f32], b: &[f32]) -> f32 {
    match kind {
        Truth::L2 => sum8(a, b, |x, y| (x - y) * (x - y)),
        Truth::Cosine => {
            let dot = sum8(a, b, |x, y| x * y);
            let na = sum8(a, a, |x, y| x * y).sqrt();
            let nb = sum8(b, b, |x, y| x * y).sqrt();
            1.0 - dot / (na * nb)
        }
    }
}

/// The exact `k` nearest base indices (among those `keep` admits) of every query, by brute
/// force, using every available core.
pub fn ground_truth(
    base: &Vectors,
    queries: &Vectors,
    k: usize,
    kind: Truth,
    keep: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<Vec<usize>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = queries.len().div_ceil(threads).max(1);
    let chunks: Vec<Vec<Vec<usize>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..queries.len())
            .step_by(per)
            .map(|start| {
                s.spawn(move || {
                    (start..(start + per).min(queries.len()))
                        .map(|q| {
                            let query = queries.row(q);
                            let mut all: Vec<(f32, usize)> = (0..base.len())
                                .filter(|&i| keep(i))
                                .map(|i| (distance(kind, query, base.row(i)), i))
                                .collect();
                            let kk = k.min(all.len());
                            if kk > 0 {
                                all.select_nth_unstable_by(kk - 1, |a, b| a.0.total_cmp(&b.0));
                            }
                            all.truncate(kk);
                            all.sort_by(|a, b| a.0.total_cmp(&b.0));
                            all.into_iter().map(|(_, i)| i).collect()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ground-truth thread panicked"))
            .collect()
    });
    chunks.into_iter().flatten().collect()
}

/// Mean recall@k: the share of true neighbours found, averaged over queries.
pub fn recall(found: &[Vec<u64>], truth: &[Vec<usize>], k: usize) -> f64 {
    let mut total = 0.0;
    for (f, t) in found.iter().zip(truth) {
        let t: Vec<u64> = t.iter().take(k).map(|&i| i as u64).collect();
        if t.is_empty() {
            total += 1.0;
            continue;
        }
        let hit = f.iter().take(k).filter(|id| t.contains(id)).count();
        total += hit as f64 / t.len() as f64;
    }
    total / found.len().max(1) as f64
}
