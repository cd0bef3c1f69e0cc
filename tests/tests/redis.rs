//! The Redis store against a real `redis-server` named by `STRATA_REDIS_URL`.
//! `scripts/test.sh` starts one (scripts/redis-server.sh) and sets
//! `STRATA_REDIS_REQUIRED=1`, under which a missing server fails every test; without it the
//! tests report themselves skipped. Every test works in its own random namespace.
//!
//! The whole conformance suite: opened directly, from a `redis://` URI through the
//! registry, and as the middle of a tiered stack. Failures, server settings and the
//! cross-process race are in tests/tests/redis_faults.rs.

use std::sync::Arc;

use store_memory::{CacheStore, MemoryStore};
use store_redis::{RedisConfig, RedisStore};
use store_tiered::{TieredOptions, TieredStore, WritePolicy};
use strata_tests::harness::Fixture;
use strata_tests::redisenv::{NO_REDIS, random_namespace, redis_url};

/// A store in a fresh namespace of the test server, or `None` to skip.
async fn store() -> Option<RedisStore> {
    let config = RedisConfig::new(redis_url()?).namespace(random_namespace());
    Some(
        RedisStore::open(config)
            .await
            .expect("open the Redis store"),
    )
}

mod conformance {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        match store().await {
            Some(store) => Fixture::new(Arc::new(store)),
            None => Fixture::skip(NO_REDIS),
        }
    });
}

/// The suite through the registry and the `redis://` URI, as applications open it.
mod conformance_from_uri {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(url) = redis_url() else {
            return Fixture::skip(NO_REDIS);
        };
        let uri = format!("{url}?namespace={}", random_namespace());
        Fixture::new(strata::open_uri(&uri).await.expect("open the redis:// URI"))
    });
}

/// Three tiers: a memory cache over Redis (write-through), Redis over memory
/// (write-behind): Redis as both a tiered frontend and a tiered backend.
mod cache_over_redis_over_memory {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        let Some(redis) = store().await else {
            return Fixture::skip(NO_REDIS);
        };
        let write_behind = TieredOptions {
            write_policy: WritePolicy::WriteBehind,
            ..TieredOptions::default()
        };
        let middle = TieredStore::open(Arc::new(redis), Arc::new(MemoryStore::new()), write_behind)
            .await
            .expect("redis over memory");
        let store = TieredStore::open_cached(
            CacheStore::new(64 << 20),
            Arc::new(middle),
            TieredOptions::default(),
        )
        .await
        .expect("cache over redis");
        Fixture::new(Arc::new(store))
    });
}

/// `strata migrate` into Redis and back out, verified: 1,200 keys, more than one page of
/// the index and several batches.
#[test]
fn migrates_in_and_out_verified() {
    strata_tests::harness::runtime().block_on(async {
        let Some(redis) = store().await else {
            return;
        };
        strata_tests::roundtrip::migrate_in_and_out(Arc::new(redis), "Redis").await;
    });
}
