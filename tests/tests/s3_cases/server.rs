//! The test server must itself keep conditional writes atomic, or the conformance CAS
//! race proves nothing (and a real bug could hide behind "flaky"). moto served on
//! threads checked If-None-Match / If-Match and then wrote without a lock; scripts run it
//! single-threaded (scripts/moto-server.py). This checks the server the tests use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use store_core::{ErrorKind, PutMode, Store, StoreExt};
use store_s3::S3Store;

use super::key;
use crate::s3_support::config;

/// 25 rounds of 16 racing creates of one key: exactly one wins each round, every other
/// one is told the key exists; then 8 × 25 compare-and-swap increments end exact.
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

        let counter = key("race/counter");
        let acknowledged = Arc::new(AtomicU64::new(0));
        let racers = (0..8).map(|_| {
            let (store, k, acknowledged) = (store.clone(), counter.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for _ in 0..25 {
                    store
                        .update(&k, |n: Option<u64>| n.unwrap_or(0) + 1)
                        .await
                        .expect("update");
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            })
        });
        for racer in futures::future::join_all(racers).await {
            racer.expect("racer panicked");
        }
        let total: u64 = store.get_typed(&counter).await.unwrap().expect("counter");
        assert_eq!(acknowledged.load(Ordering::Relaxed), 200);
        assert_eq!(
            total, 200,
            "lost updates: 200 acknowledged, counter at {total}"
        );
    });
}
