//! PostgreSQL store benchmark: 1,000 × 1 KiB puts and gets, sequential vs
//! `put_many`/`get_many`, through the `Store` trait vs raw `tokio-postgres` issuing the
//! same statements on the same pool, in the same run.
//!
//! Each comparison runs twice: straight to the local server, and through a proxy that
//! delays every chunk by [`ONE_WAY`] each way (a 1 ms round trip, as to a server in the
//! same data centre), where what batching saves is the round trips it avoids.
//!
//! The four ways of each operation run in paired rounds (`strata_tests::bench`: each
//! round runs every way once, alternating the order; a comparison is the median of the
//! per-round ratios, with their range). The raw batch put is what the store does: one
//! transaction whose statements are pipelined; the raw batch get one `key = ANY($1)`.
//!
//! Run: `cargo bench -p strata-tests --bench postgres` with `STRATA_POSTGRES_URL` set
//! (scripts/postgres-server.sh's `pg_server_start` sets it).

use bytes::Bytes;
use store_core::{Key, Store};
use store_postgres::{PostgresConfig, PostgresStore};
use strata_tests::bench::{Bench, Report};

const N: usize = 1_000;
const VALUE: usize = 1024;
const RAW_SEQ: &str = "tokio-postgres, sequential";
const RAW_BATCH: &str = "tokio-postgres, batch";
const OURS_SEQ: &str = "strata, sequential";
const OURS_BATCH: &str = "strata, batch";

/// A `get_many` row: key, version, size, modified, value, crc.
type ManyRow<'a> = (&'a str, i64, i64, std::time::SystemTime, Vec<u8>, i64);

/// The delay the proxy adds to each chunk, in each direction.
const ONE_WAY: std::time::Duration = std::time::Duration::from_micros(500);

fn main() {
    let Some(url) = std::env::var("STRATA_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("postgres bench skipped: STRATA_POSTGRES_URL is not set");
        return;
    };
    let runtime = strata_tests::harness::runtime();
    println!("## local server");
    runtime.block_on(run(url.clone()));
    let mut parsed = url::Url::parse(&url).expect("STRATA_POSTGRES_URL is a URL");
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(5432)
    );
    let port = strata_tests::latency::latency_proxy(&upstream, ONE_WAY);
    parsed.set_port(Some(port)).expect("port");
    println!("\n## through a proxy adding {ONE_WAY:?} each way");
    runtime.block_on(run(parsed.to_string()));
}

async fn run(url: String) {
    let table = strata_tests::pgenv::random_table();
    let store = PostgresStore::connect(PostgresConfig::new(&url).table(&table))
        .await
        .expect("connect");
    println!(
        "store-postgres benchmark: {N} x {VALUE} B values, durability {:?}",
        store.capabilities().durability
    );
    // The store's statements, as the store builds them (see store-postgres/src/sql.rs).
    let overwrite = format!(
        "INSERT INTO {table} (key, version, size, modified, value, crc) \
         VALUES ($1, $2, $3, now(), $4, $5) \
         ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, size = EXCLUDED.size, \
         modified = EXCLUDED.modified, value = EXCLUDED.value, crc = EXCLUDED.crc \
         RETURNING modified"
    );
    let get = format!("SELECT version, size, modified, value, crc FROM {table} WHERE key = $1");
    let get_many =
        format!("SELECT key, version, size, modified, value, crc FROM {table} WHERE key = ANY($1)");
    let key = |side: &str, i: usize| Key::new(format!("{side}/{i:05}")).unwrap();
    let ours: Vec<Key> = (0..N).map(|i| key("ours", i)).collect();
    let raw: Vec<String> = (0..N).map(|i| format!("raw/{i:05}")).collect();
    let value = Bytes::from(vec![0xA5u8; VALUE]);
    let pool = store.pool();
    let (store, value, ours, raw) = (&store, &value, &ours, &raw);
    let (overwrite, get, get_many) = (&overwrite, &get, &get_many);
    let version = || (rand::random::<u64>() >> 1) as i64;

    let put = Bench::new(format!("put: {N} sequential or one batch of {N} (puts/s)"))
        .system(RAW_SEQ, || async move {
            for k in raw {
                let client = pool.get().await.unwrap();
                let stmt = client.prepare_cached(overwrite).await.unwrap();
                let v: &[u8] = value;
                // The checksum the store computes for every put.
                let crc = i64::from(store_core::crc32c(v));
                client
                    .query_opt(&stmt, &[&k.as_str(), &version(), &(VALUE as i64), &v, &crc])
                    .await
                    .unwrap();
            }
            N as u64
        })
        .system(RAW_BATCH, || async move {
            let mut client = pool.get().await.unwrap();
            let tx = client.transaction().await.unwrap();
            let stmt = tx.prepare_cached(overwrite).await.unwrap();
            let versions: Vec<i64> = raw.iter().map(|_| version()).collect();
            let v: &[u8] = value;
            let crcs: Vec<i64> = raw
                .iter()
                .map(|_| i64::from(store_core::crc32c(v)))
                .collect();
            let queries = raw.iter().zip(&versions).zip(&crcs).map(|((k, ver), crc)| {
                let (tx, stmt) = (&tx, &stmt);
                async move {
                    tx.query_opt(stmt, &[&k.as_str(), ver, &(VALUE as i64), &v, crc])
                        .await
                }
            });
            for row in futures::future::join_all(queries).await {
                row.unwrap();
            }
            tx.commit().await.unwrap();
            N as u64
        })
        .puts((OURS_SEQ, OURS_BATCH), store, (ours, ours), value)
        .run()
        .await;
    summary(&put);

    // Every key was written by the put rounds.
    let gets = Bench::new(format!("get: {N} sequential or one batch of {N} (gets/s)"))
        .system(RAW_SEQ, || async move {
            for k in raw {
                let client = pool.get().await.unwrap();
                let stmt = client.prepare_cached(get).await.unwrap();
                let row = client.query_opt(&stmt, &[&k.as_str()]).await.unwrap();
                let row = row.expect("written");
                let _: (Vec<u8>, i64) = (row.get(3), row.get(4));
            }
            N as u64
        })
        .system(RAW_BATCH, || async move {
            let client = pool.get().await.unwrap();
            let stmt = client.prepare_cached(get_many).await.unwrap();
            let names: Vec<&str> = raw.iter().map(String::as_str).collect();
            let rows = client.query(&stmt, &[&names]).await.unwrap();
            // Decoded as the store decodes them.
            let decoded: Vec<ManyRow<'_>> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            assert_eq!(decoded.len(), N);
            N as u64
        })
        .gets((OURS_SEQ, OURS_BATCH), store, ours, ours)
        .run()
        .await;
    summary(&gets);
}

/// Print the report and the comparisons against the raw client.
fn summary(report: &Report) {
    report.print_against(
        "tokio-postgres",
        [RAW_SEQ, RAW_BATCH],
        [OURS_SEQ, OURS_BATCH],
    );
}
