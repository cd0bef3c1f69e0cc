//! GC (`store_layers::gc`): a writer running values-then-pointer sequences next to a
//! collector that sweeps continuously never loses a reachable or in-flight value, over
//! 1,000 randomized rounds, in-process on memory, redb and files, and with the writer in
//! a second OS process on Redis (the backends here that several processes can share
//! with native compare-and-swap: memory is one process's, redb and the file store lock
//! their file/root to one process). Plus: one collector at a time, takeover of a dead
//! collector's lease, a stalled collector stops, dry runs, a clear error without CAS.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::TryStreamExt;
use rand::Rng;
use store_core::{
    Capabilities, ConditionalPuts, ErrorKind, Key, Layer, ListOptions, Prefix, PutMode, Result,
    Store, async_trait,
};
use store_layers::gc::{self, LEASE_KEY, Reachable, Roots, SweepOptions};
use store_memory::MemoryStore;
use strata_tests::harness::runtime;
use strata_tests::redisenv::redis_config;

const ROUNDS: u64 = 1000;

/// Roots that reach nothing.
static NOTHING: std::sync::LazyLock<Reachable> = std::sync::LazyLock::new(Reachable::new);
const CHILD_ENV: &str = "STRATA_GC_WRITER_CHILD";

/// The roots: every pointer under `gcp/`, and every value a pointer names (read now).
struct Pointers;

#[async_trait]
impl Roots for Pointers {
    async fn reachable(&self, store: &dyn Store) -> Result<Reachable> {
        let prefix = Prefix::new("gcp/")?;
        let keys: Vec<Key> = store
            .list(ListOptions::prefix(prefix.clone()))
            .map_ok(|m| m.key)
            .try_collect()
            .await?;
        let mut reachable = Reachable::new().with_prefix(prefix);
        for entry in store.get_many(&keys).await?.into_iter().flatten() {
            reachable.extend(targets(&entry.value));
        }
        Ok(reachable)
    }
}

fn targets(pointer: &[u8]) -> Vec<Key> {
    String::from_utf8_lossy(pointer)
        .lines()
        .map(|k| Key::new(k).expect("pointer names keys"))
        .collect()
}

/// One values-then-pointer sequence. With `protect` it registers as in flight (the
/// protocol); without, it is the negative control that shows the sweep does race.
async fn write_round(store: &dyn Store, tag: &str, round: u64, protect: bool) -> Result<()> {
    let (values, pause, pointer, drop_old) = {
        let mut rng = rand::rng();
        (
            rng.random_range(1..=3u32),
            rng.random_range(0..3u64),
            rng.random_bool(0.8),
            rng.random_bool(0.1),
        )
    };
    let write = if protect {
        Some(gc::begin_write(store).await?)
    } else {
        None
    };
    let mut names = Vec::new();
    for i in 0..values {
        let key = Key::new(format!("gcv/{tag}/{round:05}/{i}"))?;
        store
            .put(&key, Bytes::from(key.to_string()), PutMode::Create)
            .await?;
        names.push(key.to_string());
    }
    if pause > 0 {
        tokio::time::sleep(Duration::from_millis(pause)).await;
    } else {
        tokio::task::yield_now().await;
    }
    if let Some(write) = &write {
        write.check()?;
    }
    if pointer || !protect {
        let key = Key::new(format!("gcp/{tag}/{round:05}"))?;
        store
            .put(&key, Bytes::from(names.join("\n")), PutMode::Create)
            .await?;
    }
    if let Some(write) = write {
        write.finish(store).await?;
    }
    if drop_old && round > 10 {
        // An old pointer goes away: its values become garbage.
        store
            .delete(&Key::new(format!("gcp/{tag}/{:05}", round - 10))?)
            .await?;
    }
    Ok(())
}

/// Values named by live pointers that are missing (a lost value is a GC bug).
async fn lost_values(store: &dyn Store) -> Vec<String> {
    let pointers: Vec<Key> = store
        .list(ListOptions::prefix(Prefix::new("gcp/").unwrap()))
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    let mut lost = Vec::new();
    for entry in store
        .get_many(&pointers)
        .await
        .unwrap()
        .into_iter()
        .flatten()
    {
        for key in targets(&entry.value) {
            match store.get(&key).await.unwrap() {
                Some(value) => assert_eq!(value.value, key.as_str(), "{key}"),
                None => lost.push(format!("{key} (named by {})", entry.meta.key)),
            }
        }
    }
    lost
}

fn sweep_options() -> SweepOptions {
    SweepOptions {
        batch: 64,
        // One machine's clock (and Redis's TIME, on this machine): no margin, so the
        // sweep deletes the youngest garbage it may, the hardest case for the writer.
        clock_margin: Duration::ZERO,
        ..SweepOptions::default()
    }
}

/// Sweep until `done`, with the cutoff at "now": returns keys deleted, sweeps run.
async fn collect_until(store: Arc<dyn Store>, done: Arc<AtomicBool>) -> (u64, u64) {
    let (mut deleted, mut sweeps) = (0, 0);
    while !done.load(Ordering::Acquire) {
        let report = gc::sweep(&*store, &Pointers, SystemTime::now(), sweep_options())
            .await
            .expect("sweep");
        deleted += report.deleted;
        sweeps += 1;
        tokio::task::yield_now().await;
    }
    (deleted, sweeps)
}

/// Writer and collector side by side in this process; returns the values lost.
async fn race(store: Arc<dyn Store>, rounds: u64, protect: bool) -> (Vec<String>, u64) {
    let done = Arc::new(AtomicBool::new(false));
    let collector = tokio::spawn(collect_until(store.clone(), done.clone()));
    for round in 0..rounds {
        write_round(&*store, "w", round, protect)
            .await
            .expect("write");
    }
    done.store(true, Ordering::Release);
    let (deleted, sweeps) = collector.await.expect("collector");
    assert!(sweeps > 1, "the collector ran during the writes");
    (lost_values(&*store).await, deleted)
}

async fn check_race(store: Arc<dyn Store>) {
    let (lost, deleted) = race(store, ROUNDS, true).await;
    assert!(lost.is_empty(), "lost values: {lost:?}");
    assert!(deleted > 0, "the sweeps deleted the garbage");
}

#[test]
fn memory_writer_and_collector_never_lose_a_value() {
    runtime().block_on(check_race(Arc::new(MemoryStore::new())));
}

#[test]
fn redb_writer_and_collector_never_lose_a_value() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config = store_lmdb::RedbConfig::new(dir.path().join("gc.redb"))
            .durability(store_lmdb::RedbDurability::None);
        check_race(Arc::new(store_lmdb::RedbStore::open(config).await.unwrap())).await;
    });
}

#[test]
fn file_writer_and_collector_never_lose_a_value() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = store_file::FileStore::open(dir.path(), store_file::SyncMode::Never);
        check_race(Arc::new(store.await.unwrap())).await;
    });
}

/// The negative control: the same race without in-flight registration loses values, so
/// the race above is a real test of the protocol.
#[test]
fn without_registration_the_sweep_does_take_in_flight_values() {
    runtime().block_on(async {
        let (lost, _) = race(Arc::new(MemoryStore::new()), 300, false).await;
        assert!(
            !lost.is_empty(),
            "an unprotected writer lost nothing in 300 rounds"
        );
    });
}

/// The writer child: `ROUNDS` rounds against the store in `CHILD_ENV`'s config.
fn run_child_writer(config: &str) {
    let config: store_core::ConfigMap = serde_json::from_str(config).expect("child config");
    runtime().block_on(async {
        let store = strata::open(&config).await.expect("child opens the store");
        for round in 0..ROUNDS {
            write_round(&*store, "child", round, true)
                .await
                .expect("child write");
        }
    });
}

#[test]
fn a_writer_in_another_process_never_loses_a_value() {
    if let Ok(config) = std::env::var(CHILD_ENV) {
        return run_child_writer(&config);
    }
    let Some(config) = redis_config() else { return };
    runtime().block_on(async {
        let store = strata::open(&config).await.expect("open Redis");
        let done = Arc::new(AtomicBool::new(false));
        let collector = tokio::spawn(collect_until(store.clone(), done.clone()));
        let exe = std::env::current_exe().unwrap();
        let config_json = serde_json::to_string(&config).unwrap();
        let status = tokio::task::spawn_blocking(move || {
            Command::new(exe)
                .args(["--exact", "a_writer_in_another_process_never_loses_a_value"])
                .env(CHILD_ENV, config_json)
                .status()
                .expect("spawn the writer process")
        })
        .await
        .unwrap();
        done.store(true, Ordering::Release);
        let (deleted, sweeps) = collector.await.unwrap();
        assert!(status.success(), "the writer process failed: {status}");
        assert!(
            sweeps > 1 && deleted > 0,
            "{sweeps} sweeps deleted {deleted}"
        );
        let lost = lost_values(&*store).await;
        assert!(lost.is_empty(), "lost values: {lost:?}");
        let pointers = store.list(ListOptions::prefix(Prefix::new("gcp/child/").unwrap()));
        assert!(pointers.try_collect::<Vec<_>>().await.unwrap().len() > 500);
    });
}

/// Roots that wait for a go signal, so a sweep can be held at the point where it holds
/// the lease.
struct Gate {
    entered: tokio::sync::Notify,
    go: tokio::sync::Notify,
}

#[async_trait]
impl Roots for Gate {
    async fn reachable(&self, _store: &dyn Store) -> Result<Reachable> {
        self.entered.notify_one();
        self.go.notified().await;
        Ok(Reachable::new())
    }
}

async fn seeded() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    for i in 0..10 {
        let key = Key::new(format!("junk/{i}")).unwrap();
        store
            .put(&key, Bytes::from("x"), PutMode::Overwrite)
            .await
            .unwrap();
    }
    store
}

#[test]
fn of_two_concurrent_collectors_one_runs() {
    runtime().block_on(async {
        let store = seeded().await;
        let gate = Arc::new(Gate {
            entered: Default::default(),
            go: Default::default(),
        });
        let first = tokio::spawn({
            let (store, gate) = (store.clone(), gate.clone());
            async move { gc::sweep(&*store, &*gate, SystemTime::now(), sweep_options()).await }
        });
        gate.entered.notified().await;
        let second = gc::sweep(&*store, &*NOTHING, SystemTime::now(), sweep_options());
        let err = second.await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
        assert_eq!(err.key(), Some(LEASE_KEY));
        gate.go.notify_one();
        assert_eq!(first.await.unwrap().unwrap().deleted, 10);
        // Released: the next collector runs.
        let again = gc::sweep(&*store, &*NOTHING, SystemTime::now(), sweep_options());
        assert_eq!(again.await.unwrap().deleted, 0);
    });
}

#[test]
fn many_collectors_racing_for_the_lease_are_one_at_a_time() {
    runtime().block_on(async {
        let store = seeded().await;
        let running = Arc::new(AtomicU64::new(0));
        let (ran, locked) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        /// Counts sweeps inside their lease; fails if two overlap.
        struct Exclusive(Arc<AtomicU64>);
        #[async_trait]
        impl Roots for Exclusive {
            async fn reachable(&self, _store: &dyn Store) -> Result<Reachable> {
                assert_eq!(
                    self.0.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two sweeps at once"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
                self.0.fetch_sub(1, Ordering::SeqCst);
                Ok(Reachable::new())
            }
        }
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, running) = (store.clone(), running.clone());
                let (ran, locked) = (ran.clone(), locked.clone());
                tokio::spawn(async move {
                    for _ in 0..20 {
                        let roots = Exclusive(running.clone());
                        match gc::sweep(&*store, &roots, SystemTime::now(), sweep_options()).await {
                            Ok(_) => ran.fetch_add(1, Ordering::SeqCst),
                            Err(e) if e.kind() == ErrorKind::Locked => {
                                locked.fetch_add(1, Ordering::SeqCst)
                            }
                            Err(e) => panic!("{e}"),
                        };
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert!(ran.load(Ordering::SeqCst) > 0 && locked.load(Ordering::SeqCst) > 0);
    });
}

#[test]
fn a_dead_collector_s_lease_is_taken_over_after_it_expires() {
    runtime().block_on(async {
        let store = seeded().await;
        let lease = Key::new(LEASE_KEY).unwrap();
        let live = serde_json::json!({"owner": "dead", "expires_unix_ms": u64::MAX, "safe_point_unix_ms": 0});
        store.put(&lease, Bytes::from(live.to_string()), PutMode::Overwrite).await.unwrap();
        let blocked = gc::sweep(&*store, &*NOTHING, SystemTime::now(), sweep_options());
        assert_eq!(blocked.await.unwrap_err().kind(), ErrorKind::Locked);
        let expired = serde_json::json!({"owner": "dead", "expires_unix_ms": 1, "safe_point_unix_ms": 0});
        store.put(&lease, Bytes::from(expired.to_string()), PutMode::Overwrite).await.unwrap();
        let report = gc::sweep(&*store, &*NOTHING, SystemTime::now(), sweep_options());
        assert_eq!(report.await.unwrap().deleted, 10);
    });
}

#[test]
fn a_collector_whose_lease_was_taken_over_stops_before_deleting() {
    runtime().block_on(async {
        let store = seeded().await;
        let gate = Arc::new(Gate {
            entered: Default::default(),
            go: Default::default(),
        });
        let options = SweepOptions {
            lease_ttl: Duration::from_millis(50),
            batch: 1,
            ..sweep_options()
        };
        let stalled = tokio::spawn({
            let (store, gate, options) = (store.clone(), gate.clone(), options.clone());
            async move { gc::sweep(&*store, &*gate, SystemTime::now(), options).await }
        });
        gate.entered.notified().await;
        tokio::time::sleep(Duration::from_millis(80)).await;
        // The lease has expired: a second collector takes over and sweeps while the
        // first is stalled holding its roots; it keeps junk/0 this time.
        let keep = Reachable::new().with_key(Key::new("junk/0").unwrap());
        let report = gc::sweep(&*store, &keep, SystemTime::now(), sweep_options())
            .await
            .unwrap();
        assert_eq!(report.deleted, 9);
        store
            .put(
                &Key::new("junk/new").unwrap(),
                Bytes::from("x"),
                PutMode::Create,
            )
            .await
            .unwrap();
        // Hold the lease again (expired, but by another owner) while the first resumes.
        let held = tokio::spawn({
            let (store, gate2) = (
                store.clone(),
                Arc::new(Gate {
                    entered: Default::default(),
                    go: Default::default(),
                }),
            );
            let g = gate2.clone();
            let task = tokio::spawn(async move {
                gc::sweep(&*store, &*g, SystemTime::now(), sweep_options()).await
            });
            async move { (gate2, task) }
        })
        .await
        .unwrap();
        held.0.entered.notified().await;
        gate.go.notify_one();
        let err = stalled.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
        // The stalled collector deleted nothing: junk/0 is still there.
        assert!(
            store
                .head(&Key::new("junk/0").unwrap())
                .await
                .unwrap()
                .is_some()
        );
        held.0.go.notify_one();
        held.1.await.unwrap().unwrap();
    });
}

#[test]
fn a_dry_run_reports_and_deletes_nothing() {
    runtime().block_on(async {
        let store = seeded().await;
        let seen = Arc::new(AtomicU64::new(0));
        let options = SweepOptions {
            dry_run: true,
            batch: 3,
            progress: Some(Arc::new({
                let seen = seen.clone();
                move |r: &gc::Report| {
                    seen.store(r.deleted, Ordering::SeqCst);
                }
            })),
            ..sweep_options()
        };
        let keep = Reachable::new().with_key(Key::new("junk/3").unwrap());
        let report = gc::sweep(&*store, &keep, SystemTime::now(), options)
            .await
            .unwrap();
        assert!(report.dry_run);
        assert_eq!(
            (report.deleted, report.kept_reachable, report.listed),
            (9, 1, 10)
        );
        assert_eq!(
            seen.load(Ordering::SeqCst),
            9,
            "progress saw the last batch"
        );
        let left: Vec<_> = store
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(left.len(), 10, "nothing deleted, no lease written");
        // A cutoff before the writes keeps everything, as recent.
        let early = SystemTime::now() - Duration::from_secs(3600);
        let report = gc::sweep(&*store, &keep, early, sweep_options())
            .await
            .unwrap();
        assert_eq!((report.deleted, report.kept_recent), (0, 9));
    });
}

/// A store without conditional puts.
#[derive(Debug)]
struct NoCas(MemoryStore);

impl Layer for NoCas {
    fn inner(&self) -> &dyn Store {
        &self.0
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_puts: ConditionalPuts::Unsupported,
            ..self.0.capabilities()
        }
    }
}

#[test]
fn a_store_without_conditional_puts_is_refused_clearly() {
    runtime().block_on(async {
        let store = NoCas(MemoryStore::new());
        let err = gc::sweep(&store, &*NOTHING, SystemTime::now(), sweep_options());
        let err = err.await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("conditional puts"), "{err}");
    });
}

#[test]
fn abandoned_in_flight_registrations_stop_bounding_the_safe_point() {
    runtime().block_on(async {
        let store = seeded().await;
        let write = gc::begin_write(&*store).await.unwrap();
        let junk = Key::new("junk/late").unwrap();
        store
            .put(&junk, Bytes::from("x"), PutMode::Create)
            .await
            .unwrap();
        // A live registration protects what was written after it.
        let report = gc::sweep(&*store, &*NOTHING, SystemTime::now(), sweep_options());
        let report = report.await.unwrap();
        assert_eq!(
            (report.deleted, report.kept_recent, report.in_flight),
            (10, 1, 1)
        );
        // Past its time limit it is a dead writer's: removed, and it protects nothing.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let options = SweepOptions {
            inflight_ttl: Duration::from_millis(10),
            ..sweep_options()
        };
        let report = gc::sweep(&*store, &*NOTHING, SystemTime::now(), options);
        let report = report.await.unwrap();
        assert_eq!(
            (report.deleted, report.abandoned, report.in_flight),
            (1, 1, 0)
        );
        assert!(store.head(write.key()).await.unwrap().is_none());
    });
}
