//! What a store promises, so callers (and the conformance suite) can adapt.

use crate::meta::PutOp;

/// What an acknowledged write survives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Durability {
    /// Nothing: the data lives in this process's memory.
    None,
    /// A crash of this process (kill -9), but not an OS crash or power loss.
    ProcessCrash,
    /// Power loss and OS crashes (data is fsynced or replicated before acknowledgement).
    PowerLoss,
}

/// How conditional puts (`Create`, `Update`) are enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionalPuts {
    /// Enforced by the storage engine itself, across every process using it.
    Native,
    /// Enforced atomically within this process only (e.g. per-key locks in a single-writer store).
    InProcess,
    /// Conditional modes fail with `Unsupported`.
    Unsupported,
}

/// A store's declared capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// What an acknowledged write survives (after `put` returns, or after `flush` for
    /// stores that batch).
    pub durability: Durability,
    /// Whether `put_many` and `delete_many` apply all or nothing.
    pub atomic_batches: bool,
    /// How conditional puts are enforced.
    pub conditional_puts: ConditionalPuts,
    /// The largest value accepted, if there is a limit.
    pub max_value_size: Option<u64>,
    /// Whether entries may disappear without a delete (caches).
    pub may_evict: bool,
    /// The most ops one `put_many` or `delete_many` call accepts (`None`: no limit). Above
    /// it the store fails with `InvalidInput` before writing anything, so callers moving
    /// many keys (`copy_all`, `migrate`) send batches of at most this many. `get_many` has
    /// no such limit: a store whose service caps reads splits them itself, which is safe
    /// because reads need no atomicity.
    pub max_batch_writes: Option<usize>,
    /// The most bytes, keys and values together, one `put_many` call accepts (`None`: no
    /// limit; DynamoDB: a transaction's 4 MB less its items' overhead). Above it the store
    /// fails with `InvalidInput` before writing anything; [`put_batches`](Self::put_batches)
    /// splits a caller's ops to fit.
    pub max_batch_bytes: Option<u64>,
}

impl Default for Capabilities {
    /// The weakest promises: nothing durable, nothing atomic, no conditional puts.
    fn default() -> Self {
        Capabilities {
            durability: Durability::None,
            atomic_batches: false,
            conditional_puts: ConditionalPuts::Unsupported,
            max_value_size: None,
            may_evict: false,
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }
}

impl Capabilities {
    /// Whether `Create` and `Update` puts are available at all.
    pub fn supports_conditional_puts(&self) -> bool {
        self.conditional_puts != ConditionalPuts::Unsupported
    }

    /// How many ops to send per `put_many`/`delete_many`: `wanted`, capped at
    /// [`max_batch_writes`](Self::max_batch_writes), and never 0.
    pub fn write_batch(&self, wanted: usize) -> usize {
        self.max_batch_writes
            .map_or(wanted, |max| wanted.min(max))
            .max(1)
    }

    /// `ops` cut, in order, into `put_many` batches this store takes: each of at most
    /// [`write_batch(wanted)`](Self::write_batch) ops and at most
    /// [`max_batch_bytes`](Self::max_batch_bytes) bytes of keys and values. An op larger
    /// than that on its own is a batch by itself, for the store to take or refuse (its
    /// value is then above any size the store accepts). Batches that need not be atomic
    /// together (copies, migrations, pages committed by a manifest) use this.
    pub fn put_batches(&self, ops: Vec<PutOp>, wanted: usize) -> Vec<Vec<PutOp>> {
        let count = self.write_batch(wanted);
        let bytes = self.max_batch_bytes.unwrap_or(u64::MAX);
        let mut batches: Vec<Vec<PutOp>> = Vec::new();
        let mut used = 0u64;
        for op in ops {
            let size = op.batch_bytes();
            match batches.last_mut() {
                Some(batch) if batch.len() < count && used.saturating_add(size) <= bytes => {
                    used += size;
                    batch.push(op);
                }
                _ => {
                    used = size;
                    batches.push(vec![op]);
                }
            }
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn op(name: &str, value_len: usize) -> PutOp {
        PutOp::overwrite(Key::new(name).unwrap(), vec![0u8; value_len])
    }

    fn shape(batches: &[Vec<PutOp>]) -> Vec<Vec<&str>> {
        batches
            .iter()
            .map(|b| b.iter().map(|op| op.key.as_str()).collect())
            .collect()
    }

    #[test]
    fn put_batches_cut_by_count_and_by_bytes_in_order() {
        let ops = || vec![op("a", 9), op("b", 9), op("c", 9), op("d", 9), op("e", 9)];
        let unlimited = Capabilities::default();
        assert_eq!(
            shape(&unlimited.put_batches(ops(), 2)),
            [vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        // Each op is 10 bytes (a one-byte key and nine of value): 25 bytes hold two.
        let bytes = Capabilities {
            max_batch_bytes: Some(25),
            ..Capabilities::default()
        };
        assert_eq!(
            shape(&bytes.put_batches(ops(), 100)),
            [vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        let both = Capabilities {
            max_batch_writes: Some(1),
            ..bytes
        };
        assert_eq!(both.put_batches(ops(), 100).len(), 5);
        assert!(unlimited.put_batches(Vec::new(), 10).is_empty());
    }

    #[test]
    fn an_op_above_the_byte_limit_is_a_batch_of_its_own() {
        let caps = Capabilities {
            max_batch_bytes: Some(25),
            ..Capabilities::default()
        };
        let ops = vec![op("a", 9), op("big", 100), op("c", 9)];
        assert_eq!(
            shape(&caps.put_batches(ops, 100)),
            [vec!["a"], vec!["big"], vec!["c"]]
        );
    }
}
