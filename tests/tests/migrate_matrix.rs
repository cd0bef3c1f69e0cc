//! `strata::migrate` between every pair of backends this build has (memory, redb, LMDB, a
//! tier, files, and S3 and Azure when a server is configured): each pair copies a
//! mix of small, empty and 1 MiB values, verifies them by content hash, and the
//! destination then lists exactly the source's keys with the same bytes.

use bytes::Bytes;
use futures::TryStreamExt;
use serde_json::json;
use strata::migrate::{MigrateOptions, migrate};
use strata::{ConfigMap, Key, ListOptions, PutOp, Store};
use strata_tests::harness::runtime;

/// A fresh store of each kind, as config maps, under `dir`.
fn backends(dir: &std::path::Path, tag: &str) -> Vec<(&'static str, ConfigMap)> {
    let map = |v: serde_json::Value| v.as_object().unwrap().clone();
    let mut all = vec![
        ("memory", map(json!({"type": "memory"}))),
        (
            "redb",
            map(json!({"type": "redb", "path": dir.join(format!("{tag}.redb"))})),
        ),
        (
            "lmdb",
            map(json!({"type": "lmdb", "path": dir.join(format!("{tag}-env"))})),
        ),
        (
            "tiered",
            map(json!({
                "type": "tiered",
                "write_policy": "write-behind",
                "frontend": {"type": "cache", "max_bytes": 4 << 20},
                "backend": {"type": "redb", "path": dir.join(format!("{tag}-tier.redb"))},
            })),
        ),
        (
            "file",
            map(json!({"type": "file", "path": dir.join(format!("{tag}-files"))})),
        ),
    ];
    if let Some(s3) = strata_tests::s3env::s3_config() {
        all.push(("s3", s3));
    }
    if let Some(azure) = strata_tests::azureenv::azure_config() {
        all.push(("azure", azure));
    }
    all
}

fn value(i: usize) -> Bytes {
    match i % 50 {
        0 => Bytes::new(),
        1 => Bytes::from(vec![(i % 251) as u8; 1 << 20]),
        _ => Bytes::from(format!("value {i} ").repeat(1 + i % 13)),
    }
}

async fn contents(store: &dyn Store) -> Vec<(Key, Bytes)> {
    let metas: Vec<_> = store
        .list(ListOptions::default())
        .try_collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for meta in metas {
        let entry = store
            .get(&meta.key)
            .await
            .unwrap()
            .expect("listed key reads");
        out.push((meta.key, entry.value));
    }
    out
}

#[test]
fn migrate_between_every_pair_of_backends() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let kinds = backends(dir.path(), "probe").len();
    runtime().block_on(async {
        for from_index in 0..kinds {
            for to_index in 0..kinds {
                if from_index == to_index {
                    continue;
                }
                let tag = format!("p{from_index}{to_index}");
                let (from_name, from_config) =
                    backends(dir.path(), &format!("{tag}-from")).swap_remove(from_index);
                let (to_name, to_config) =
                    backends(dir.path(), &format!("{tag}-to")).swap_remove(to_index);
                let from = strata::open(&from_config).await.unwrap();
                let to = strata::open(&to_config).await.unwrap();
                let ops: Vec<PutOp> = (0..N)
                    .map(|i| PutOp::overwrite(Key::new(format!("mx/{i:04}")).unwrap(), value(i)))
                    .collect();
                from.put_many(ops).await.unwrap();
                let options = MigrateOptions {
                    verify: true,
                    ..MigrateOptions::default()
                };
                let report = migrate(from.clone(), to.clone(), &options, &|_, _| {})
                    .await
                    .unwrap_or_else(|e| panic!("{from_name} -> {to_name}: {e}"));
                assert_eq!(report.copied, N as u64, "{from_name} -> {to_name}");
                assert_eq!(report.verified, N as u64, "{from_name} -> {to_name}");
                assert!(
                    report.failures.is_empty(),
                    "{from_name} -> {to_name}: {:?}",
                    report.failures
                );
                to.flush().await.unwrap();
                let (a, b) = (contents(from.as_ref()).await, contents(to.as_ref()).await);
                assert_eq!(a.len(), N);
                assert!(a == b, "{from_name} -> {to_name}: contents differ");
            }
        }
    });
}
