//! The test server must itself keep conditional writes atomic, or the conformance CAS
//! race proves nothing (and a real bug could hide behind "flaky"). moto served on
//! threads checked If-None-Match / If-Match and then wrote without a lock; scripts run it
//! single-threaded (scripts/moto-server.py). This checks the server the tests use.

use std::sync::Arc;

use store_core::{ErrorKind, PutMode, Store};
use store_s3::S3Store;

use super::key;
use crate::s3_support::config;

/// 25 rounds of 16 racing creates of one key: exactly one wins each round, every other
/// one is told the key exists. (The conformance case `cas_race_8x50` races updates.)
#[test]
fn test_server_keeps_conditional_writes_exact() {
    let Some(config) = config() else { return };
    let store = Arc::new(S3Store::connect(config).expect("connect"));
    let runtime = strata_tests::harness::runtime();
    runtime.block_on(async {
        for round in 0..25 {
            let k = key(&format!("race/create-{round}"));
            let racers = (0..16).map(|i| {
                let (store, k) = (store.clone(), k.clone());
                tokio::spawn(async move {
                    store
                        .put(&k, format!("racer {i}").into(), PutMode::Create)
                        .await
                })
            });
            let mut winners = 0;
            for result in futures::future::join_all(racers).await {
                match result.expect("racer panicked") {
                    Ok(_) => winners += 1,
                    Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}"),
                }
            }
            assert_eq!(
                winners, 1,
                "round {round}: {winners} creates of one key won"
            );
        }
    });
}
