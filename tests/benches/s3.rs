//! S3 store benchmark: 1,000 × 1 KiB puts and gets, sequential vs `put_many`/`get_many`,
//! through the `Store` trait vs raw object_store calls, with 20 ms injected per request
//! (object_store's `ThrottledStore`), plus plain figures against the local server.
//!
//! The four ways of each operation run in paired rounds (`strata_tests::bench`: each round
//! runs every way once, alternating the order; a comparison is the median of the per-round
//! ratios, with their range). Under injected latency a sequential round does the first
//! [`SEQUENTIAL_UNDER_LATENCY`] keys only: its rate is set by the latency, and 1,000 keys
//! (20 s) per round and way would make the run take half an hour.
//!
//! Run: `cargo bench -p strata-tests --bench s3`. It uses the server named by
//! `STRATA_S3_*` if set, else starts a moto of its own (scripts/s3-server.sh installs it).

#[allow(dead_code)]
#[path = "../tests/s3_support/mod.rs"]
mod s3_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use s3_support::{OwnServer, closed_port, random_prefix, settings};
use store_core::{Key, Secret};
use store_s3::object_store::memory::InMemory;
use store_s3::object_store::path::Path;
use store_s3::object_store::throttle::{ThrottleConfig, ThrottledStore};
use store_s3::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use store_s3::{S3Config, S3Store};
use strata_tests::bench::{Bench, Report};

const N: usize = 1_000;
const VALUE: usize = 1024;
const LATENCY: Duration = Duration::from_millis(20);
/// Keys a sequential round does when every request waits [`LATENCY`].
const SEQUENTIAL_UNDER_LATENCY: usize = 100;
const RAW_SEQ: &str = "object_store, sequential";
const RAW_BATCH: &str = "object_store, concurrent";
const OURS_SEQ: &str = "strata, sequential";
const OURS_BATCH: &str = "strata, batch";

fn main() {
    let (_own, config) = match settings() {
        Some(s) => {
            let mut config = S3Config::new(s.bucket);
            config.endpoint = Some(s.endpoint);
            config.access_key_id = Some(s.access_key_id);
            config.secret_access_key = Some(Secret::new(s.secret_access_key));
            (None, config)
        }
        None if OwnServer::executable().is_some() => {
            let server = OwnServer::start(closed_port(), "bench");
            let mut config = S3Config::new("bench");
            config.endpoint = Some(server.endpoint());
            config.access_key_id = Some("bench".into());
            config.secret_access_key = Some(Secret::new("bench-secret"));
            (Some(server), config)
        }
        None => {
            eprintln!(
                "s3 bench skipped: no server (run scripts/s3-server.sh's s3_server_start, or install moto)"
            );
            return;
        }
    };
    let runtime = strata_tests::harness::runtime();
    runtime.block_on(run(config));
}

async fn run(mut config: S3Config) {
    config.prefix = random_prefix();
    println!(
        "store-s3 benchmark: {N} x {VALUE} B values; concurrency {} for batches and raw concurrent calls",
        config.concurrency
    );
    let plain = S3Store::connect(config.clone()).expect("connect");
    let s3_client = plain.client().clone();

    println!("\n## local moto, 20 ms injected per request (ThrottledStore)");
    let throttled: Arc<dyn ObjectStore> =
        Arc::new(ThrottledStore::new(s3_client.clone(), throttle()));
    compare(throttled, &config, SEQUENTIAL_UNDER_LATENCY).await;

    println!("\n## in-memory object_store, 20 ms injected per request (no server cost at all)");
    let memory: Arc<dyn ObjectStore> = Arc::new(ThrottledStore::new(InMemory::new(), throttle()));
    compare(memory, &config, SEQUENTIAL_UNDER_LATENCY).await;

    println!("\n## local moto, no injected latency");
    config.prefix = random_prefix();
    compare(s3_client, &config, N).await;
}

fn throttle() -> ThrottleConfig {
    ThrottleConfig {
        wait_get_per_call: LATENCY,
        wait_put_per_call: LATENCY,
        wait_delete_per_call: LATENCY,
        wait_list_per_call: LATENCY,
        ..ThrottleConfig::default()
    }
}

/// One client measured four ways per operation, in paired rounds; sequential rounds do
/// the first `sequential` keys, batched rounds all [`N`].
async fn compare(client: Arc<dyn ObjectStore>, config: &S3Config, sequential: usize) {
    let mut config = config.clone();
    config.prefix = random_prefix();
    let store = S3Store::with_client(client.clone(), &config);
    let key = |side: &str, i: usize| Key::new(format!("{side}/{i:05}")).unwrap();
    let keys: Vec<Key> = (0..N).map(|i| key("b", i)).collect();
    // The raw side writes objects of its own: the store's gets read only the store's format.
    let paths: Vec<Path> = (0..N)
        .map(|i| store.path_of(&key("raw", i)).unwrap())
        .collect();
    let value = Bytes::from(vec![0xA5u8; VALUE]);
    let conc = config.concurrency;
    let (store, client, value) = (&store, &client, &value);
    let (seq_keys, seq_paths) = (&keys[..sequential], &paths[..sequential]);
    let (keys, paths) = (&keys, &paths);

    let put = Bench::new(format!(
        "put: {sequential} sequential or {N} concurrent ({conc} in flight; strata: put_many) (puts/s)"
    ))
    .system(RAW_SEQ, || async move {
        for p in seq_paths {
            client
                .put(p, PutPayload::from(value.clone()))
                .await
                .unwrap();
        }
        sequential as u64
    })
    .system(RAW_BATCH, || async move {
        stream::iter(paths.iter())
            .map(|p| client.put(p, PutPayload::from(value.clone())))
            .buffered(conc)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        N as u64
    })
    .puts((OURS_SEQ, OURS_BATCH), store, (seq_keys, keys), value)
    .run()
    .await;
    summary(&put);

    // Every key was written by the put rounds.
    let get = Bench::new(format!(
        "get: {sequential} sequential or {N} concurrent ({conc} in flight; strata: get_many) (gets/s)"
    ))
    .system(RAW_SEQ, || async move {
        for p in seq_paths {
            client.get(p).await.unwrap().bytes().await.unwrap();
        }
        sequential as u64
    })
    .system(RAW_BATCH, || async move {
        stream::iter(paths.iter())
            .map(|p| async { client.get(p).await?.bytes().await })
            .buffered(conc)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        N as u64
    })
    .gets((OURS_SEQ, OURS_BATCH), store, seq_keys, keys)
    .run()
    .await;
    summary(&get);
}

/// Print the report and the comparisons against the raw client.
fn summary(report: &Report) {
    report.print_against("object_store", [RAW_SEQ, RAW_BATCH], [OURS_SEQ, OURS_BATCH]);
}
