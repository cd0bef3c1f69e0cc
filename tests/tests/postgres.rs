//! The PostgreSQL store against a real server named by `STRATA_POSTGRES_URL`.
//! `scripts/test.sh` starts a throwaway cluster and sets it, plus
//! `STRATA_POSTGRES_REQUIRED=1`, under which a missing server fails every test; without it
//! the tests report themselves skipped.
//!
//! Every test works in its own random table, so runs never see each other's keys.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use store_core::{Durability, ErrorKind, Key, PutMode, Store, StoreExt};
use store_postgres::{PostgresConfig, PostgresStore};
use strata_tests::harness::Fixture;
use strata_tests::pgenv::{postgres_url, random_table};

fn config(url: &str) -> PostgresConfig {
    let mut config = PostgresConfig::new(url).table(random_table());
    config.pool_size = 8;
    config
}

/// The whole conformance suite, each case in a fresh table.
mod conformance {
    use super::*;

    strata_tests::conformance_tests!(|| async {
        match postgres_url() {
            Some(url) => Fixture::new(Arc::new(
                PostgresStore::connect(config(&url)).await.expect("connect"),
            )),
            None => Fixture::skip("no PostgreSQL server configured (set STRATA_POSTGRES_URL)"),
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

/// `url` with its user info, database or port replaced.
fn edit(url: &str, f: impl FnOnce(&mut url::Url)) -> String {
    let mut parsed = url::Url::parse(url).expect("url");
    f(&mut parsed);
    parsed.to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A wrong password, a missing database, a port with no server and a table of another
/// shape each fail with a clear error naming what is wrong, never the password.
#[test]
fn connection_failures_are_named() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        let wrong = edit(&url, |u| u.set_password(Some("not-the-password")).unwrap());
        let err = PostgresStore::connect(config(&wrong)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("login refused"), "{err}");
        assert!(
            err.to_string().contains("password authentication failed"),
            "{err}"
        );
        assert!(
            !format!("{err} {err:?}").contains("not-the-password"),
            "{err:?}"
        );

        let missing = edit(&url, |u| u.set_path("/no_such_database"));
        let err = PostgresStore::connect(config(&missing)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("no_such_database"), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");

        let nowhere = edit(&url, |u| u.set_port(Some(free_port())).unwrap());
        let mut c = config(&nowhere);
        c.connect_timeout = Duration::from_secs(2);
        let started = Instant::now();
        let err = PostgresStore::connect(c).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.retryable(), "{err}");
        assert!(err.to_string().contains("unreachable"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        // A table of another shape is refused, never used.
        let table = random_table();
        let (client, conn) =
            store_postgres::tokio_postgres::connect(&url, store_postgres::tokio_postgres::NoTls)
                .await
                .expect("raw connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (key text PRIMARY KEY, value bytea)"
            ))
            .await
            .expect("create");
        let err = PostgresStore::connect(PostgresConfig::new(&url).table(&table))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(err.to_string().contains("is not a Strata store"), "{err}");
        assert!(err.to_string().contains(&table), "{err}");

        // A missing table with `create_table = false` is named too.
        let mut c = config(&url);
        c.create_table = false;
        let err = PostgresStore::connect(c).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("no such table"), "{err}");
    });
}

/// The default server settings (`fsync`, `synchronous_commit` on) are reported as
/// power-loss durable; a session with `synchronous_commit = off` is not.
#[test]
fn durability_comes_from_the_server_settings() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        let store = PostgresStore::connect(config(&url)).await.expect("connect");
        assert_eq!(store.capabilities().durability, Durability::PowerLoss);
        let sep = if url.contains('?') { '&' } else { '?' };
        let lax = format!("{url}{sep}options=-c%20synchronous_commit%3Doff");
        let store = PostgresStore::connect(config(&lax)).await.expect("connect");
        assert_eq!(store.capabilities().durability, Durability::ProcessCrash);
    });
}

/// The facade opens the store from a config map and from a URI with a password option.
#[test]
fn opens_through_the_facade() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        let table = random_table();
        let map = serde_json::json!({"type": "postgres", "url": url, "table": table});
        let store = strata::open(map.as_object().unwrap()).await.expect("open");
        store
            .put(&key("via/map"), "1".into(), PutMode::Create)
            .await
            .unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let password = parsed.password().unwrap_or("").to_owned();
        let no_password = edit(&url, |u| u.set_password(None).unwrap());
        let store = strata::registry()
            .open_uri_with(
                &format!("{no_password}?table={table}"),
                &[("password".to_owned(), password.clone())],
            )
            .await
            .expect("open by URI");
        assert!(store.get(&key("via/map")).await.unwrap().is_some());
        assert!(!format!("{store:?}").contains(&password) || password.is_empty());
    });
}

const RACE_ENV: &str = "STRATA_POSTGRES_RACE_TABLE";
const RACE_TASKS: u64 = 4;
const RACE_ROUNDS: u64 = 25;

/// Two OS processes (this test binary re-run) increment one counter by compare-and-swap
/// in the same table; the server's checks leave it exactly at the sum of both.
#[test]
fn cross_process_cas_race_is_exact() {
    let Some(url) = postgres_url() else { return };
    let counter = key("race/counter");
    if let Ok(table) = std::env::var(RACE_ENV) {
        runtime().block_on(async {
            let store = PostgresStore::connect(PostgresConfig::new(&url).table(table))
                .await
                .expect("child connect");
            let tasks: Vec<_> = (0..RACE_TASKS)
                .map(|_| {
                    let store = store.clone();
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        for _ in 0..RACE_ROUNDS {
                            loop {
                                match store
                                    .update(&counter, |n: Option<u64>| n.unwrap_or(0) + 1)
                                    .await
                                {
                                    Ok(_) => break,
                                    Err(e)
                                        if e.kind() == ErrorKind::VersionMismatch
                                            || e.kind() == ErrorKind::AlreadyExists =>
                                    {
                                        continue;
                                    }
                                    Err(e) => panic!("increment: {e}"),
                                }
                            }
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
        });
        println!("CHILD done");
        return;
    }
    let table = random_table();
    let store = runtime()
        .block_on(PostgresStore::connect(
            PostgresConfig::new(&url).table(&table),
        ))
        .expect("connect");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().expect("test binary"))
                .args(["--exact", "cross_process_cas_race_is_exact", "--nocapture"])
                .env(RACE_ENV, &table)
                .spawn()
                .expect("spawn child")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("child");
        assert!(out.status.success(), "a child failed");
    }
    let total: Option<u64> = runtime()
        .block_on(store.get_typed(&counter))
        .expect("read counter");
    assert_eq!(total, Some(2 * RACE_TASKS * RACE_ROUNDS));
}
