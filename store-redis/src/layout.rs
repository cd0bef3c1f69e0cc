//! Where a namespace's data lives in Redis.
//!
//! Every name starts with the hash tag `{namespace}`, so on a Redis Cluster a namespace's
//! keys share one slot and one script may touch any of them:
//!
//! | Redis key | type | holds |
//! |---|---|---|
//! | `{ns}:k:<key>` | hash | `v` value, `ver` version, `size` bytes, `mod` last write (ms since the epoch), `crc` the value's CRC32C |
//! | `{ns}:idx` | sorted set, every score 0 | each stored key, so `ZRANGE … BYLEX` lists them in byte order |
//! | `{ns}:ver` | string | the namespace's version counter (see `scripts.rs`) |
//! | `{ns}:w:<token>` | string, expires | the outcome of one write, to settle a write whose reply was lost |

use store_core::Key;

/// How long the outcome of a write stays readable, for settling a lost reply, at least.
/// Settling happens within two timeouts of the write (its reply's, then the settling's
/// own), so a record outlives it with room to spare; records are small (~100 bytes), but
/// one per write in the last minute is memory the server must have.
pub(crate) const MIN_OUTCOME_TTL_SECS: u64 = 60;

/// The record lifetime for a store whose calls time out after `timeout`.
pub(crate) fn outcome_ttl_secs(timeout: std::time::Duration) -> u64 {
    MIN_OUTCOME_TTL_SECS.max(timeout.as_secs().saturating_mul(4))
}

/// The Redis key names of one namespace.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    prefix: String,
    index: String,
    counter: String,
}

impl Names {
    pub(crate) fn new(namespace: &str) -> Self {
        let prefix = format!("{{{namespace}}}:");
        Names {
            index: format!("{prefix}idx"),
            counter: format!("{prefix}ver"),
            prefix,
        }
    }

    /// The hash holding `key`'s value and metadata.
    pub(crate) fn entry(&self, key: &Key) -> String {
        format!("{}k:{}", self.prefix, key.as_str())
    }

    /// The sorted set of every key.
    pub(crate) fn index(&self) -> &str {
        &self.index
    }

    /// The version counter.
    pub(crate) fn counter(&self) -> &str {
        &self.counter
    }

    /// The outcome record of the write carrying `token`.
    pub(crate) fn outcome(&self, token: &str) -> String {
        format!("{}w:{token}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_share_the_hash_tag() {
        let names = Names::new("app");
        let key = Key::new("a/b").unwrap();
        assert_eq!(names.entry(&key), "{app}:k:a/b");
        assert_eq!(names.index(), "{app}:idx");
        assert_eq!(names.counter(), "{app}:ver");
        assert_eq!(names.outcome("t1"), "{app}:w:t1");
    }

    #[test]
    fn records_outlive_the_settling() {
        use std::time::Duration;
        assert_eq!(
            outcome_ttl_secs(Duration::from_secs(5)),
            MIN_OUTCOME_TTL_SECS
        );
        assert_eq!(outcome_ttl_secs(Duration::from_secs(30)), 120);
    }
}
