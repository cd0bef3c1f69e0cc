//! What the server's configuration promises, read once at open.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use store_core::{Capabilities, ConditionalPuts, Durability};

/// Redis's default `proto-max-bulk-len`: the largest argument, so the largest value.
const DEFAULT_MAX_BULK: u64 = 512 * 1024 * 1024;

/// The settings that decide the capabilities, as `CONFIG GET` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerSettings(HashMap<String, String>);

impl ServerSettings {
    /// Read the settings. A server that refuses `CONFIG` (managed services often rename
    /// it) gives empty settings, so the capabilities assume the least: no durability.
    pub(crate) async fn read(conn: &mut ConnectionManager) -> redis::RedisResult<Self> {
        let mut pipe = redis::pipe();
        for name in [
            "appendonly",
            "appendfsync",
            "maxmemory",
            "maxmemory-policy",
            "proto-max-bulk-len",
        ] {
            pipe.cmd("CONFIG").arg("GET").arg(name);
        }
        match pipe.query_async::<Vec<HashMap<String, String>>>(conn).await {
            Ok(maps) => Ok(ServerSettings(maps.into_iter().flatten().collect())),
            Err(err) if err.code().is_some() => Ok(ServerSettings::default()),
            Err(err) => Err(err),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// What an acknowledged write survives: with the append-only file and `appendfsync
    /// always`, each write is fsynced before its reply (power loss); with the file and a
    /// lazier fsync, it reaches the OS before the reply, so it survives the server process
    /// dying but not the machine; without it (the default) only snapshots persist, and a
    /// crash loses every write since the last one.
    pub(crate) fn durability(&self) -> Durability {
        match (self.get("appendonly"), self.get("appendfsync")) {
            (Some("yes"), Some("always")) => Durability::PowerLoss,
            (Some("yes"), _) => Durability::ProcessCrash,
            _ => Durability::None,
        }
    }

    /// Whether the server may evict keys: a memory limit with a policy other than
    /// `noeviction`. Unknown settings count as "may".
    pub(crate) fn may_evict(&self) -> bool {
        !matches!(
            (self.get("maxmemory"), self.get("maxmemory-policy")),
            (Some("0"), _) | (_, Some("noeviction"))
        )
    }

    pub(crate) fn capabilities(&self) -> Capabilities {
        let max = self
            .get("proto-max-bulk-len")
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_MAX_BULK);
        Capabilities {
            durability: self.durability(),
            atomic_batches: true,
            conditional_puts: ConditionalPuts::Native,
            max_value_size: Some(max),
            may_evict: self.may_evict(),
            max_batch_writes: None,
            max_batch_bytes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> ServerSettings {
        ServerSettings(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn durability_follows_the_append_only_file() {
        let default = settings(&[("appendonly", "no"), ("appendfsync", "everysec")]);
        assert_eq!(default.durability(), Durability::None);
        let aof = settings(&[("appendonly", "yes"), ("appendfsync", "everysec")]);
        assert_eq!(aof.durability(), Durability::ProcessCrash);
        let always = settings(&[("appendonly", "yes"), ("appendfsync", "always")]);
        assert_eq!(always.durability(), Durability::PowerLoss);
        assert_eq!(ServerSettings::default().durability(), Durability::None);
    }

    #[test]
    fn eviction_and_size_limit_are_read() {
        let caps = settings(&[
            ("maxmemory", "0"),
            ("maxmemory-policy", "allkeys-lru"),
            ("proto-max-bulk-len", "1024"),
        ])
        .capabilities();
        assert!(!caps.may_evict);
        assert_eq!(caps.max_value_size, Some(1024));
        let lru = settings(&[("maxmemory", "100mb"), ("maxmemory-policy", "allkeys-lru")]);
        assert!(lru.may_evict());
        assert!(ServerSettings::default().may_evict());
        assert_eq!(
            ServerSettings::default().capabilities().max_value_size,
            Some(DEFAULT_MAX_BULK)
        );
    }
}
