//! The compare-and-swap race across OS processes: this test binary runs itself twice as
//! workers (`STRATA_DYNAMODB_CAS_WORKER` set), each adding to one counter with
//! read + `Update(version)` loops; no increment may be lost.

use std::process::Command;

use store_core::{Key, StoreExt};
use store_dynamodb::DynamoStore;
use strata_tests::dynamoenv::dynamodb_env;

use crate::config;

const WORKERS: usize = 2;
const INCREMENTS: u64 = 25;
const WORKER_ENV: &str = "STRATA_DYNAMODB_CAS_WORKER";

fn counter() -> Key {
    Key::new("cas/counter").unwrap()
}

/// A worker's body: does nothing unless run by the race below.
#[test]
fn cas_worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let (table, namespace) = spec.split_once('/').expect("table/namespace");
    strata_tests::harness::runtime().block_on(async {
        let env = dynamodb_env().expect("the worker's parent has a server");
        let mut config = config(&env).namespace(namespace);
        config.table = table.to_owned();
        let store = DynamoStore::open(config).await.unwrap();
        for _ in 0..INCREMENTS {
            // StoreExt::update: get, then put Update(version), again on a lost race.
            store
                .update(&counter(), |n: Option<u64>| n.unwrap_or(0) + 1)
                .await
                .unwrap();
        }
    });
}

#[test]
fn cas_race_across_processes_loses_no_update() {
    if std::env::var(WORKER_ENV).is_ok() {
        return;
    }
    let Some(env) = dynamodb_env() else { return };
    let config = config(&env);
    let (table, namespace) = (config.table.clone(), config.namespace.clone());
    strata_tests::harness::runtime().block_on(async {
        // Open once first, so the workers find the table.
        DynamoStore::open(config.clone()).await.unwrap();
    });
    let exe = std::env::current_exe().expect("this test binary");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "dynamodb_cases::race::cas_worker", "--nocapture"])
                .env(WORKER_ENV, format!("{table}/{namespace}"))
                .spawn()
                .expect("spawn a worker")
        })
        .collect();
    for mut worker in workers {
        assert!(worker.wait().expect("worker").success(), "a worker failed");
    }
    strata_tests::harness::runtime().block_on(async {
        let store = DynamoStore::open(config).await.unwrap();
        let total: Option<u64> = store.get_typed(&counter()).await.unwrap();
        assert_eq!(total, Some(WORKERS as u64 * INCREMENTS));
    });
}
