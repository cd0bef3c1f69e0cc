//! What a store promises, so callers (and the conformance suite) can adapt.

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
}
