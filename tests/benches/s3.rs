//! S3 store benchmark: 1,000 × 1 KiB puts and gets, sequential vs `put_many`/`get_many`,
//! through the `Store` trait vs raw object_store calls, with 20 ms injected per request
//! (object_store's `ThrottledStore`), plus plain figures against the local server.
//!
//! Run: `cargo bench -p strata-tests --bench s3`. It uses the server named by
//! `STRATA_S3_*` if set, else starts a moto of its own (scripts/s3-server.sh installs it).

#[allow(dead_code)]
#[path = "../tests/s3_support/mod.rs"]
mod s3_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use s3_support::{OwnServer, closed_port, random_prefix, settings};
use store_core::{Key, PutMode, PutOp, Secret, Store};
use store_s3::object_store::memory::InMemory;
use store_s3::object_store::path::Path;
use store_s3::object_store::throttle::{ThrottleConfig, ThrottledStore};
use store_s3::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use store_s3::{S3Config, S3Store};

const N: usize = 1_000;
const VALUE: usize = 1024;
const LATENCY: Duration = Duration::from_millis(20);

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
    compare(throttled, &config).await;

    println!("\n## in-memory object_store, 20 ms injected per request (no server cost at all)");
    let memory: Arc<dyn ObjectStore> = Arc::new(ThrottledStore::new(InMemory::new(), throttle()));
    compare(memory, &config).await;

    println!("\n## local moto, no injected latency");
    config.prefix = random_prefix();
    compare(s3_client, &config).await;
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

/// One client measured four ways per operation, in the same run.
async fn compare(client: Arc<dyn ObjectStore>, config: &S3Config) {
    let mut config = config.clone();
    config.prefix = random_prefix();
    let store = S3Store::with_client(client.clone(), &config);
    let keys: Vec<Key> = (0..N)
        .map(|i| Key::new(format!("b/{i:05}")).unwrap())
        .collect();
    let paths: Vec<Path> = keys.iter().map(|k| store.path_of(k).unwrap()).collect();
    let value = Bytes::from(vec![0xA5u8; VALUE]);
    let conc = config.concurrency;

    let seq_put = time(async {
        for k in &keys {
            store
                .put(k, value.clone(), PutMode::Overwrite)
                .await
                .unwrap();
        }
    })
    .await;
    let batch_put = time(async {
        let ops = keys
            .iter()
            .map(|k| PutOp::overwrite(k.clone(), value.clone()))
            .collect();
        store.put_many(ops).await.unwrap();
    })
    .await;
    let seq_get = time(async {
        for k in &keys {
            assert!(store.get(k).await.unwrap().is_some());
        }
    })
    .await;
    let batch_get = time(async {
        let got = store.get_many(&keys).await.unwrap();
        assert!(got.iter().all(Option::is_some));
    })
    .await;
    row("trait put", seq_put, batch_put);
    row("trait get", seq_get, batch_get);
    let raw_seq_put = time(async {
        for p in &paths {
            client
                .put(p, PutPayload::from(value.clone()))
                .await
                .unwrap();
        }
    })
    .await;
    let raw_batch_put = time(async {
        stream::iter(paths.iter())
            .map(|p| client.put(p, PutPayload::from(value.clone())))
            .buffered(conc)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    })
    .await;
    let raw_seq_get = time(async {
        for p in &paths {
            client.get(p).await.unwrap().bytes().await.unwrap();
        }
    })
    .await;
    let raw_batch_get = time(async {
        stream::iter(paths.iter())
            .map(|p| async { client.get(p).await?.bytes().await })
            .buffered(conc)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    })
    .await;
    row("raw put", raw_seq_put, raw_batch_put);
    row("raw get", raw_seq_get, raw_batch_get);
    println!(
        "  trait/raw time: put seq {:.2}, batch {:.2}; get seq {:.2}, batch {:.2}",
        ratio(seq_put, raw_seq_put),
        ratio(batch_put, raw_batch_put),
        ratio(seq_get, raw_seq_get),
        ratio(batch_get, raw_batch_get),
    );
}

async fn time(f: impl Future<Output = ()>) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn row(what: &str, sequential: Duration, batched: Duration) {
    let per_sec = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "  {what:<10} sequential {:>8.2?} ({:>7.0} ops/s)   batched {:>8.2?} ({:>7.0} ops/s)   speed-up {:>5.1}x",
        sequential,
        per_sec(sequential),
        batched,
        per_sec(batched),
        ratio(sequential, batched)
    );
}
