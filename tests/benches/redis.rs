//! Redis store benchmark: 1,000 × 1 KiB puts and gets through the `Store` trait vs raw
//! redis-rs issuing the same commands (the store's own put script, `HMGET`), same run,
//! sequential vs batched (strata: `put_many` / `get_many`; raw: one pipeline).
//!
//! Paired rounds (`strata_tests::bench`): each round runs every way once, in alternating
//! order; a comparison is the median of the per-round ratios, with their range.
//!
//! Run: `cargo bench -p strata-tests --bench redis` with `STRATA_REDIS_URL` set (source
//! scripts/redis-server.sh and call `redis_server_start`).

use std::time::Duration;

use bytes::Bytes;
use redis::Script;
use redis::aio::ConnectionManager;
use store_core::Key;
use store_redis::{RedisConfig, RedisStore};
use strata_tests::bench::{Bench, Report};
use strata_tests::redisenv::random_namespace;

/// An entry hash's `v`, `ver`, `size`, `mod`, `crc` fields, as the raw side reads them.
type Row = (
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const N: usize = 1_000;
/// Added by the proxy in each direction.
const LATENCY: Duration = Duration::from_millis(1);
const VALUE: usize = 1024;
const RAW_SEQ: &str = "redis-rs, sequential";
const RAW_BATCH: &str = "redis-rs, pipeline";
const OURS_SEQ: &str = "strata, sequential";
const OURS_BATCH: &str = "strata, batch";

fn main() {
    let Some(url) = std::env::var("STRATA_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "redis bench skipped: set STRATA_REDIS_URL (scripts/redis-server.sh's redis_server_start)"
        );
        return;
    };
    strata_tests::harness::runtime().block_on(run(url));
}

async fn run(url: String) {
    println!("store-redis benchmark: {N} x {VALUE} B values, server {url}");
    println!("\n## local server, no added latency");
    compare(&url).await;
    let target = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .expect("host:port");
    let port = strata_tests::latency::latency_proxy(target, LATENCY);
    let proxy = format!("redis://127.0.0.1:{port}/0");
    println!(
        "\n## through a proxy delaying each direction by {LATENCY:?} (a network between client and server)"
    );
    compare(&proxy).await;
}

async fn compare(url: &str) {
    let namespace = random_namespace();
    let store = RedisStore::open(RedisConfig::new(url).namespace(&namespace))
        .await
        .expect("open");
    let client = redis::Client::open(url).expect("client");
    let conn = ConnectionManager::new(client).await.expect("connect");
    let script = Script::new(&store_redis::put_source());
    let keys: Vec<Key> = (0..N)
        .map(|i| Key::new(format!("b/{i:05}")).unwrap())
        .collect();
    // The raw side writes hashes of its own in the same namespace layout.
    let raw: Vec<String> = (0..N).map(|i| format!("raw/{i:05}")).collect();
    let hash = |k: &str| format!("{{{namespace}}}:k:{k}");
    let index = format!("{{{namespace}}}:idx");
    let counter = format!("{{{namespace}}}:ver");
    let value = Bytes::from(vec![0xA5u8; VALUE]);
    let (store, conn, script, keys, raw, value) = (&store, &conn, &script, &keys, &raw, &value);
    let (hash, index, counter, namespace) = (&hash, &index, &counter, &namespace);
    // The store's put script by hash, as the store sends it (loaded once, up front).
    let sha = script.get_hash().to_owned();
    script
        .prepare_invoke()
        .load_async(&mut conn.clone())
        .await
        .expect("load the script");
    let sha = &sha;
    let put_cmd = move |k: &str| {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(sha)
            .arg(4)
            .arg(hash(k))
            .arg(index)
            .arg(counter)
            // A fresh outcome token per write, as the store makes (a reused one is fenced).
            .arg(format!("{{{namespace}}}:w:{:032x}", rand::random::<u128>()))
            .arg("o")
            .arg("")
            .arg(value.as_ref())
            .arg(k)
            // The record lifetime the store uses at its default timeout.
            .arg(60)
            .arg(store_core::crc32c(value));
        cmd
    };

    let put = Bench::new(format!("put: {N} keys (puts/s)"))
        .system(RAW_SEQ, || async move {
            let mut c = conn.clone();
            for k in raw {
                put_cmd(k).query_async::<Vec<i64>>(&mut c).await.unwrap();
            }
            N as u64
        })
        .system(RAW_BATCH, || async move {
            // One pipeline of EVALSHAs: what a raw client would do.
            let mut c = conn.clone();
            let mut pipe = redis::pipe();
            for k in raw {
                pipe.add_command(put_cmd(k));
            }
            pipe.query_async::<Vec<Vec<i64>>>(&mut c).await.unwrap();
            N as u64
        })
        .puts((OURS_SEQ, OURS_BATCH), store, (keys, keys), value)
        .run()
        .await;
    summary(&put);

    let get = Bench::new(format!("get: {N} keys (gets/s)"))
        .system(RAW_SEQ, || async move {
            let mut c = conn.clone();
            for k in raw {
                let row: Row = redis::cmd("HMGET")
                    .arg(hash(k))
                    .arg(&["v", "ver", "size", "mod", "crc"])
                    .query_async(&mut c)
                    .await
                    .unwrap();
                assert!(row.0.is_some());
            }
            N as u64
        })
        .system(RAW_BATCH, || async move {
            let mut c = conn.clone();
            let mut pipe = redis::pipe();
            for k in raw {
                pipe.cmd("HMGET")
                    .arg(hash(k))
                    .arg(&["v", "ver", "size", "mod", "crc"]);
            }
            let rows: Vec<Row> = pipe.query_async(&mut c).await.unwrap();
            assert!(rows.iter().all(|r| r.0.is_some()));
            N as u64
        })
        .gets((OURS_SEQ, OURS_BATCH), store, keys, keys)
        .run()
        .await;
    summary(&get);
}

/// Print the report and the comparisons against the raw client.
fn summary(report: &Report) {
    report.print_against("redis-rs", [RAW_SEQ, RAW_BATCH], [OURS_SEQ, OURS_BATCH]);
}
