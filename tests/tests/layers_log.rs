//! The append log (`store_layers::log`): segments roll over at their bounds and read back
//! from any position; a crash between writing a segment and moving the head loses nothing
//! acknowledged; concurrent appenders in one process (memory, files) and 4 OS processes ×
//! 250 appends on Redis give exactly 1,000 entries in one order every reader sees.
//!
//! Why Redis for the processes: the appenders need one store that several processes
//! open at once with compare-and-swap enforced across them. Memory is one process's;
//! redb and the file store lock their file or root to one process (and the file store's
//! CAS is `InProcess`). Redis (like S3 and PostgreSQL) enforces CAS in the server.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use store_core::{
    Error, ErrorKind, Key, Layer, ListOptions, Meta, Prefix, PutMode, Result, Store, async_trait,
};
use store_layers::log::{AppendLog, LogOptions};
use store_memory::MemoryStore;
use strata_tests::harness::runtime;
use strata_tests::redisenv::redis_config;

const CHILD_ENV: &str = "STRATA_LOG_APPENDER_CHILD";

async fn values(store: &dyn Store, log: &str, from: u64) -> Vec<String> {
    let entries: Vec<_> = store.read_log(log, from).try_collect().await.unwrap();
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, from + i as u64, "entries come in sequence");
    }
    entries
        .into_iter()
        .map(|e| String::from_utf8(e.value.to_vec()).unwrap())
        .collect()
}

async fn count(store: &dyn Store, prefix: &str) -> usize {
    let listing = store.list(ListOptions::prefix(Prefix::new(prefix).unwrap()));
    listing.try_collect::<Vec<_>>().await.unwrap().len()
}

#[test]
fn segments_roll_over_at_their_bounds_and_read_back_from_anywhere() {
    runtime().block_on(async {
        let store = MemoryStore::new();
        let options = LogOptions {
            max_entries: 4,
            max_bytes: 1 << 20,
        };
        let all: Vec<String> = (0..30).map(|i| format!("entry-{i}")).collect();
        for (i, value) in all.iter().enumerate() {
            let seq = store
                .append_with("log", Bytes::from(value.clone()), &options)
                .await
                .unwrap();
            assert_eq!(seq, i as u64);
        }
        // 30 entries, 4 per segment: 7 sealed, 2 in the open one, one open object.
        assert_eq!(count(&store, "log/sealed/").await, 7);
        assert_eq!(count(&store, "log/open/").await, 1);
        for from in 0..=31 {
            let expected: Vec<String> = all.iter().skip(from).cloned().collect();
            assert_eq!(
                values(&store, "log", from as u64).await,
                expected,
                "from {from}"
            );
        }
        assert!(values(&store, "no-such-log", 0).await.is_empty());
        // Bytes bound: 100-byte values, sealed once a segment holds 250 bytes or more.
        let bytes = LogOptions {
            max_entries: 1000,
            max_bytes: 250,
        };
        for _ in 0..10 {
            store
                .append_with("big", Bytes::from(vec![b'x'; 100]), &bytes)
                .await
                .unwrap();
        }
        assert_eq!(
            count(&store, "big/sealed/").await,
            3,
            "3 + 3 + 3 sealed, 1 open"
        );
        assert_eq!(values(&store, "big", 0).await.len(), 10);
    });
}

/// Fails head writes while armed: `before` drops the write (a crash between the segment
/// and the head), otherwise the write applies and its reply is lost.
#[derive(Debug)]
struct HeadFault {
    inner: MemoryStore,
    armed: AtomicBool,
    before: AtomicBool,
}

#[async_trait]
impl Layer for HeadFault {
    fn inner(&self) -> &dyn Store {
        &self.inner
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        if !key.as_str().ends_with("/head") || !self.armed.load(Ordering::SeqCst) {
            return self.inner.put(key, value, mode).await;
        }
        if !self.before.load(Ordering::SeqCst) {
            self.inner.put(key, value, mode).await?;
        }
        Err(Error::unavailable("injected: the connection dropped"))
    }
}

#[test]
fn a_crash_between_segment_and_head_loses_nothing_acknowledged() {
    runtime().block_on(async {
        let store = HeadFault {
            inner: MemoryStore::new(),
            armed: AtomicBool::new(false),
            before: AtomicBool::new(true),
        };
        let options = LogOptions {
            max_entries: 3,
            max_bytes: 1 << 20,
        };
        let mut acknowledged = Vec::new();
        for i in 0..20 {
            let value = format!("v{i}");
            // Every third append crashes before its head moves (also at rollovers).
            store.armed.store(i % 3 == 2, Ordering::SeqCst);
            match store
                .append_with("log", Bytes::from(value.clone()), &options)
                .await
            {
                Ok(seq) => {
                    assert_eq!(seq, acknowledged.len() as u64);
                    acknowledged.push(value);
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Unavailable),
            }
        }
        store.armed.store(false, Ordering::SeqCst);
        assert_eq!(values(&store, "log", 0).await, acknowledged);
        // The head moved but the reply was lost: the entry is in, once, and the next
        // append follows it.
        store.armed.store(true, Ordering::SeqCst);
        store.before.store(false, Ordering::SeqCst);
        assert!(
            store
                .append_with("log", Bytes::from("lost-reply"), &options)
                .await
                .is_err()
        );
        store.armed.store(false, Ordering::SeqCst);
        let seq = store
            .append_with("log", Bytes::from("after"), &options)
            .await
            .unwrap();
        assert_eq!(seq, acknowledged.len() as u64 + 1);
        acknowledged.extend(["lost-reply".to_owned(), "after".to_owned()]);
        assert_eq!(values(&store, "log", 0).await, acknowledged);
    });
}

/// `tasks` appenders × `each` appends at once: exactly that many entries, every appender's
/// in its own order, each at the position its append returned.
async fn concurrent_appends(store: Arc<dyn Store>, tasks: usize, each: usize) {
    let options = LogOptions {
        max_entries: 16,
        max_bytes: 1 << 20,
    };
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..each {
                    let value = format!("t{t}-{i}");
                    let seq = store.append_with("log", Bytes::from(value.clone()), &options);
                    mine.push((seq.await.unwrap(), value));
                }
                mine
            })
        })
        .collect();
    let mut appended = Vec::new();
    for handle in handles {
        appended.push(handle.await.unwrap());
    }
    let log = values(&*store, "log", 0).await;
    check_appends(&log, &appended, tasks * each);
}

fn check_appends(log: &[String], appended: &[Vec<(u64, String)>], total: usize) {
    assert_eq!(log.len(), total, "exactly one entry per append");
    assert_eq!(
        log.iter().collect::<HashSet<_>>().len(),
        total,
        "no duplicates"
    );
    for mine in appended {
        assert!(
            mine.windows(2).all(|w| w[0].0 < w[1].0),
            "an appender's order is kept"
        );
        for (seq, value) in mine {
            assert_eq!(&log[*seq as usize], value, "entry {seq}");
        }
    }
}

#[test]
fn concurrent_appenders_in_one_process_are_totally_ordered() {
    runtime().block_on(async {
        concurrent_appends(Arc::new(MemoryStore::new()), 8, 100).await;
        let dir = tempfile::tempdir().unwrap();
        let files = store_file::FileStore::open(dir.path(), store_file::SyncMode::Never);
        concurrent_appends(Arc::new(files.await.unwrap()), 4, 50).await;
    });
}

/// What an appender process reports: its appends, and the log as it read it afterwards.
#[derive(Serialize, Deserialize)]
struct ChildReport {
    appended: Vec<(u64, String)>,
    snapshot: Vec<String>,
}

fn run_child(spec: &str) {
    let (config, id, out): (store_core::ConfigMap, usize, String) =
        serde_json::from_str(spec).expect("child spec");
    runtime().block_on(async {
        let store = strata::open(&config).await.expect("child opens the store");
        let options = LogOptions {
            max_entries: 32,
            max_bytes: 1 << 20,
        };
        let mut appended = Vec::new();
        for i in 0..250 {
            let value = format!("p{id}-{i:03}");
            let seq = store
                .append_with("shared", Bytes::from(value.clone()), &options)
                .await;
            appended.push((seq.expect("append"), value));
        }
        let snapshot = values(&*store, "shared", 0).await;
        let report = ChildReport { appended, snapshot };
        std::fs::write(out, serde_json::to_vec(&report).unwrap()).unwrap();
    });
}

#[test]
fn four_processes_appending_250_each_give_1000_entries_in_one_order() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return run_child(&spec);
    }
    let Some(config) = redis_config() else { return };
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|id| {
            let out = dir.path().join(format!("child-{id}.json"));
            let spec = serde_json::to_string(&(&config, id, &out)).unwrap();
            let child = Command::new(&exe)
                .args([
                    "--exact",
                    "four_processes_appending_250_each_give_1000_entries_in_one_order",
                ])
                .env(CHILD_ENV, spec)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn an appender");
            (child, out)
        })
        .collect();
    let mut reports = Vec::new();
    for (mut child, out) in children {
        assert!(
            child.wait().unwrap().success(),
            "an appender process failed"
        );
        let report: ChildReport = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
        reports.push(report);
    }
    runtime().block_on(async {
        let store = strata::open(&config).await.unwrap();
        let log = values(&*store, "shared", 0).await;
        let appended: Vec<_> = reports.iter().map(|r| r.appended.clone()).collect();
        check_appends(&log, &appended, 1000);
        for report in &reports {
            assert!(report.snapshot.len() >= 250);
            assert_eq!(
                report.snapshot[..],
                log[..report.snapshot.len()],
                "one order for all"
            );
        }
    });
}

/// A store without conditional puts, and a name no key can start with.
#[test]
fn without_compare_and_swap_or_with_a_bad_name_the_log_refuses_clearly() {
    #[derive(Debug)]
    struct NoCas(MemoryStore);
    impl Layer for NoCas {
        fn inner(&self) -> &dyn Store {
            &self.0
        }
        fn capabilities(&self) -> store_core::Capabilities {
            let caps = self.0.capabilities();
            store_core::Capabilities {
                conditional_puts: store_core::ConditionalPuts::Unsupported,
                ..caps
            }
        }
    }
    runtime().block_on(async {
        let err = NoCas(MemoryStore::new())
            .append("log", Bytes::from("x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let err = MemoryStore::new()
            .append("bad//name", Bytes::from("x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
    });
}
