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
        }
    }
}

impl Capabilities {
    /// Whether `Create` and `Update` puts are available at all.
    pub fn supports_conditional_puts(&self) -> bool {
        self.conditional_puts != ConditionalPuts::Unsupported
    }
}
