//! DynamoDB store benchmark: 1,000 × 1 KiB puts and gets, sequential (`put` / `get`, one
//! request each) against batched (`put_many` in transactions of 100 — DynamoDB's limit —
//! and `get_many`, `BatchGetItem` of 100 keys per request), same run, on a local server
//! and through proxies adding network latency (1 ms and 5 ms each way). moto does the
//! server's work in Python, one request at a time, and copies the table for each
//! transaction, so locally the server's own time bounds the batched rate.
//!
//! Paired rounds (`strata_tests::bench`): each round runs every way once, in alternating
//! order; a comparison is the median of the per-round ratios, with their range.
//!
//! Run: `cargo bench -p strata-tests --bench dynamodb` with `STRATA_DYNAMODB_ENDPOINT` set
//! (source scripts/s3-server.sh, call `s3_server_start`, and export it as scripts/test.sh does).

use std::time::Duration;

use bytes::Bytes;
use store_core::Key;
use store_dynamodb::{DynamoConfig, DynamoStore};
use strata_tests::bench::{Bench, Report};
use strata_tests::dynamoenv::{DynamoEnv, dynamodb_env, random_namespace};

const N: usize = 1_000;
/// Added by the proxies in each direction: a LAN, and about a region's DynamoDB endpoint
/// seen from outside it (10 ms round trip).
const LATENCIES: [Duration; 2] = [Duration::from_millis(1), Duration::from_millis(5)];
const VALUE: usize = 1024;
const SEQ: &str = "strata, sequential";
const BATCH: &str = "strata, batch";

fn main() {
    if std::env::var("STRATA_DYNAMODB_ENDPOINT").is_err() {
        eprintln!("dynamodb bench skipped: set STRATA_DYNAMODB_ENDPOINT (see scripts/test.sh)");
        return;
    }
    let env = dynamodb_env().expect("the endpoint is set");
    strata_tests::harness::runtime().block_on(run(env));
}

async fn run(env: DynamoEnv) {
    println!(
        "store-dynamodb benchmark: {N} x {VALUE} B values, server {}",
        env.endpoint
    );
    println!("\n## local server, no added latency");
    compare(&env, &env.endpoint).await;
    let target = env
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/');
    for latency in LATENCIES {
        let port = strata_tests::latency::latency_proxy(target, latency);
        println!(
            "\n## through a proxy delaying each direction by {latency:?} (a network between client and server)"
        );
        compare(&env, &format!("http://127.0.0.1:{port}")).await;
    }
}

async fn compare(env: &DynamoEnv, endpoint: &str) {
    let config = DynamoConfig::new(&env.table)
        .endpoint(endpoint)
        .region(&env.region)
        .credentials(&env.access_key_id, &env.secret_access_key)
        .namespace(random_namespace())
        .create_table(true);
    let store = DynamoStore::open(config).await.expect("open");
    let keys: Vec<Key> = (0..N)
        .map(|i| Key::new(format!("b/{i:05}")).unwrap())
        .collect();
    let value = Bytes::from(vec![0xA5u8; VALUE]);
    let (store, keys, value) = (&store, &keys, &value);

    let put = Bench::new(format!("put: {N} keys (puts/s)"))
        .puts((SEQ, BATCH), store, (keys, keys), value)
        .run()
        .await;
    summary(&put);

    let get = Bench::new(format!("get: {N} keys (gets/s)"))
        .gets((SEQ, BATCH), store, keys, keys)
        .run()
        .await;
    summary(&get);
}

/// Print the report and batch against sequential.
fn summary(report: &Report) {
    print!("{report}");
    println!("   batch / sequential: {}\n", report.ratio(BATCH, SEQ));
}
