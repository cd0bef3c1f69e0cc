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

/// The suite through a tiered store: a 64 MiB cache in front of PostgreSQL.
mod cache_over_postgres {
    use super::*;
    use store_memory::CacheStore;
    use store_tiered::{TieredOptions, TieredStore};

    strata_tests::conformance_tests!(|| async {
        match postgres_url() {
            Some(url) => {
                let backend = PostgresStore::connect(config(&url)).await.expect("connect");
                let store = TieredStore::open_cached(
                    CacheStore::new(64 << 20),
                    Arc::new(backend),
                    TieredOptions::default(),
                )
                .await
                .expect("tiered");
                Fixture::new(Arc::new(store))
            }
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

/// Whether this process runs as root (then PostgreSQL's tools run as `postgres`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// A cluster of this test's own (the server is stopped and started under it), made with
/// the PostgreSQL tools in `STRATA_POSTGRES_BINDIR` (set by scripts/postgres-server.sh).
struct OwnCluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl OwnCluster {
    /// `None` (reported) when no tools are known and none are required.
    fn new() -> Option<Self> {
        let Some(bin) = std::env::var_os("STRATA_POSTGRES_BINDIR") else {
            assert!(
                std::env::var("STRATA_POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "STRATA_POSTGRES_BINDIR is not set: scripts/postgres-server.sh sets it"
            );
            eprintln!("skipped: STRATA_POSTGRES_BINDIR is not set");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = OwnCluster {
            dir,
            bin: bin.into(),
            port: free_port(),
        };
        if is_root() {
            // The server refuses to run as root; its files belong to `postgres`.
            let status = Command::new("chown")
                .arg("postgres")
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "strata", "--auth=trust", "--no-sync"],
        );
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let out = command.args(args).output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        self.start_with("");
    }

    fn start_with(&self, extra: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} {extra}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-w",
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stop as a crash would: no checkpoint, connections cut.
    fn kill(&self) {
        self.run(
            "pg_ctl",
            &["-w", "-D", &self.data(), "-m", "immediate", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://strata@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(exe)
                .args(args)
                .output()
        } else {
            Command::new(exe).args(args).output()
        };
    }
}

/// The server dies mid-run: every operation fails with a retryable `Unavailable` within
/// the configured bounds; once it is back the same store works again, and every write
/// acknowledged before the crash is there.
#[test]
fn server_stopped_and_restarted() {
    let Some(cluster) = OwnCluster::new() else {
        return;
    };
    runtime().block_on(async {
        let mut c = PostgresConfig::new(cluster.url());
        c.connect_timeout = Duration::from_secs(2);
        c.op_timeout = Duration::from_secs(4);
        c.pool_size = 4;
        let store = PostgresStore::connect(c).await.expect("connect");
        let acknowledged: Vec<Key> = (0..20).map(|i| key(&format!("acked/{i:02}"))).collect();
        for k in &acknowledged {
            store
                .put(k, "kept".into(), PutMode::Overwrite)
                .await
                .expect("put");
        }
        cluster.kill();
        let bound = Duration::from_secs(15);
        for round in 0..3 {
            let k = key(&format!("while-down/{round}"));
            let started = Instant::now();
            let errors = [
                store.get(&k).await.expect_err("get while down"),
                store
                    .put(&k, "x".into(), PutMode::Overwrite)
                    .await
                    .expect_err("put while down"),
                store
                    .delete_many(std::slice::from_ref(&k))
                    .await
                    .expect_err("delete while down"),
                futures::TryStreamExt::try_collect::<Vec<_>>(store.list(Default::default()))
                    .await
                    .expect_err("list while down"),
            ];
            assert!(started.elapsed() < bound, "{:?}", started.elapsed());
            for err in errors {
                assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
                assert!(err.retryable(), "{err}");
            }
        }
        cluster.start();
        let started = Instant::now();
        let after = key("after/restart");
        loop {
            match store.put(&after, "back".into(), PutMode::Create).await {
                Ok(_) => break,
                Err(e) if e.retryable() && started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the store did not recover: {e}"),
            }
        }
        let found = store.get_many(&acknowledged).await.expect("get_many");
        assert!(
            found
                .iter()
                .all(|e| e.as_ref().is_some_and(|e| e.value == "kept"))
        );
        assert!(store.head(&after).await.expect("head").is_some());
    });
}

/// A TCP proxy in front of the server that, when armed, forwards the next client write
/// containing a needle and then cuts the connection: the server gets the statement (or
/// COMMIT) and applies it, the client never sees the answer (the connection is marked cut
/// before the write is forwarded, so even an answer faster than the cut is dropped).
struct CuttingProxy {
    port: u16,
    needle: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
}

impl CuttingProxy {
    fn start(upstream: std::net::SocketAddr) -> Self {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let needle: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
        let cuts: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let (n, c) = (needle.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let Ok(mut server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (mut client_back, mut server_back) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let cut_back = cut.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(len) = server_back.read(&mut buf) {
                        if len == 0
                            || cut_back.load(std::sync::atomic::Ordering::SeqCst)
                            || client_back.write_all(&buf[..len]).is_err()
                        {
                            break;
                        }
                    }
                    let _ = client_back.shutdown(Shutdown::Both);
                });
                let (needle, cuts) = (n.clone(), c.clone());
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(len) = client.read(&mut buf) {
                        if len == 0 {
                            break;
                        }
                        let mut armed = needle.lock().expect("lock");
                        let hit = armed.as_ref().is_some_and(|n| {
                            n.is_empty() || buf[..len].windows(n.len()).any(|w| w == &n[..])
                        });
                        if hit {
                            cut.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        if server.write_all(&buf[..len]).is_err() {
                            break;
                        }
                        if hit {
                            *armed = None;
                            cuts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let _ = client.shutdown(Shutdown::Both);
                            let _ = server.shutdown(Shutdown::Both);
                            break;
                        }
                    }
                    let _ = server.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingProxy { port, needle, cuts }
    }

    /// Cut after the next client write containing `needle` (any write if empty).
    fn arm(&self, needle: &[u8]) {
        *self.needle.lock().expect("lock") = Some(needle.to_vec());
    }

    fn cuts(&self) -> usize {
        self.cuts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The connection is lost after a write was sent and applied: the store finds out that it
/// landed and reports success with the version that is there; a refused write whose
/// answer is lost is reported as of unknown outcome, never as a success or a conflict.
#[test]
fn ambiguous_commit_is_resolved() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        let parsed = url::Url::parse(&url).expect("url");
        let upstream = format!(
            "{}:{}",
            parsed.host_str().expect("host"),
            parsed.port().unwrap_or(5432)
        );
        let proxy = CuttingProxy::start(upstream.parse().expect("socket address"));
        let through = edit(&url, |u| u.set_port(Some(proxy.port)).unwrap());
        let table = random_table();
        let mut c = PostgresConfig::new(&through).table(&table);
        // One connection, so the warm-up below leaves its statements prepared and the
        // armed write is the statement itself.
        c.pool_size = 1;
        c.op_timeout = Duration::from_secs(10);
        let store = PostgresStore::connect(c).await.expect("connect");
        let direct = PostgresStore::connect(PostgresConfig::new(&url).table(&table))
            .await
            .expect("direct");
        // Each cut costs the connection; its replacement prepares statements anew.
        let warm_up = || async {
            let warm = key("warm");
            store.delete(&warm).await.unwrap();
            let m = store.put(&warm, "w".into(), PutMode::Create).await.unwrap();
            store
                .put(&warm, "w".into(), PutMode::Update(m.version))
                .await
                .unwrap();
            store
                .put_many(vec![store_core::PutOp::overwrite(warm.clone(), "w")])
                .await
                .unwrap();
        };

        // A create that lands, its answer lost.
        let k = key("ambiguous/create");
        warm_up().await;
        proxy.arm(b"");
        let meta = store
            .put(&k, "first".into(), PutMode::Create)
            .await
            .expect("the create landed, so it is a success");
        assert_eq!(proxy.cuts(), 1, "the proxy must have cut the connection");
        let seen = direct.get(&k).await.unwrap().expect("stored");
        assert_eq!(
            (seen.value, seen.meta.version.clone()),
            ("first".into(), meta.version.clone())
        );

        // An update the same way.
        warm_up().await;
        proxy.arm(b"");
        let updated = store
            .put(&k, "second".into(), PutMode::Update(meta.version.clone()))
            .await
            .expect("the update landed, so it is a success");
        assert_eq!(proxy.cuts(), 2);
        assert_eq!(
            direct.head(&k).await.unwrap().unwrap().version,
            updated.version
        );

        // A batch whose COMMIT is sent and the answer lost.
        let batch: Vec<_> = (0..3)
            .map(|i| store_core::PutOp::overwrite(key(&format!("ambiguous/batch/{i}")), "b"))
            .collect();
        warm_up().await;
        proxy.arm(b"COMMIT");
        let metas = store.put_many(batch).await.expect("the batch committed");
        assert_eq!(proxy.cuts(), 3);
        for m in &metas {
            assert_eq!(
                direct.head(&m.key).await.unwrap().unwrap().version,
                m.version
            );
        }

        // A create the server refused (the key exists), its answer lost: the store cannot
        // tell "refused" from "applied and replaced since", and says so.
        warm_up().await;
        proxy.arm(b"");
        let err = store
            .put(&k, "third".into(), PutMode::Create)
            .await
            .expect_err("not applied");
        assert_eq!(proxy.cuts(), 4);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains("outcome unknown"), "{err}");
        assert!(
            !err.retryable(),
            "a conditional write of unknown outcome is not retried blindly"
        );
        assert_eq!(direct.get(&k).await.unwrap().unwrap().value, "second");
    });
}

/// Rows other tools inserted under names that are not keys are skipped by `list`, never
/// counted toward its limit and never end it; `_` and `%` in a prefix are plain
/// characters (no `LIKE`).
#[test]
fn list_skips_foreign_rows_and_takes_prefixes_literally() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        use futures::TryStreamExt;
        use store_core::{ListOptions, Prefix};
        let c = config(&url);
        let table = c.table.clone();
        let store = PostgresStore::connect(c).await.expect("connect");
        for k in ["a_1", "a%2", "ab3", "a_4"] {
            store.put(&key(k), "v".into(), PutMode::Overwrite).await.unwrap();
        }
        let (client, conn) = store_postgres::tokio_postgres::connect(
            &url,
            store_postgres::tokio_postgres::NoTls,
        )
        .await
        .expect("raw connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "INSERT INTO {table} VALUES ('a_//bad', 1, 1, now(), 'x', 0), ('a_3/../x', 2, 1, now(), 'x', 0)"
            ))
            .await
            .expect("insert foreign rows");
        let names = |options| {
            let store = store.clone();
            async move {
                store
                    .list(options)
                    .map_ok(|m| m.key.to_string())
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap()
            }
        };
        let under = ListOptions::prefix(Prefix::new("a_").unwrap());
        assert_eq!(names(under.clone()).await, ["a_1", "a_4"]);
        assert_eq!(names(under.limit(2)).await, ["a_1", "a_4"]);
        let percent = ListOptions::prefix(Prefix::new("a%").unwrap());
        assert_eq!(names(percent).await, ["a%2"]);
    });
}

/// A value changed behind the store's back (same length, so its `size` still matches) is
/// `Corrupted` naming the key on `get`, `get_many` and a `get_range` covering the whole
/// value; a part of it is returned unchecked (the checksum covers the whole value);
/// `head` and a listing, which never read values, go on; a put makes the key whole again.
#[test]
fn a_value_changed_behind_the_stores_back_is_corrupted() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        use futures::TryStreamExt;
        use store_core::ListOptions;
        let c = config(&url);
        let table = c.table.clone();
        let store = PostgresStore::connect(c).await.expect("connect");
        for k in ["a", "b", "c"] {
            store
                .put(&key(k), "value".into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        let (client, conn) =
            store_postgres::tokio_postgres::connect(&url, store_postgres::tokio_postgres::NoTls)
                .await
                .expect("raw connect");
        tokio::spawn(conn);
        let changed = client
            .execute(
                &format!("UPDATE {table} SET value = $2 WHERE key = $1"),
                &[&"b", &&b"VALUE"[..]],
            )
            .await
            .expect("raw update");
        assert_eq!(changed, 1);

        let corrupted = |err: store_core::Error| {
            assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
            assert_eq!(err.key(), Some("b"), "{err}");
            assert!(err.to_string().contains("CRC32C"), "{err}");
        };
        corrupted(store.get(&key("b")).await.unwrap_err());
        corrupted(store.get_many(&[key("a"), key("b")]).await.unwrap_err());
        corrupted(store.get_range(&key("b"), 0..5).await.unwrap_err());
        corrupted(store.get_range(&key("b"), 0..100).await.unwrap_err());
        let (part, meta) = store.get_range(&key("b"), 1..3).await.unwrap().unwrap();
        assert_eq!((&part[..], meta.size), (&b"AL"[..], 5));

        let a = store.get(&key("a")).await.unwrap().expect("a");
        assert_eq!(&a.value[..], b"value");
        assert_eq!(store.head(&key("b")).await.unwrap().expect("b").size, 5);
        let listed: Vec<String> = store
            .list(ListOptions::default())
            .map_ok(|m| m.key.to_string())
            .try_collect()
            .await
            .expect("a listing does not read values");
        assert_eq!(listed, ["a", "b", "c"]);

        store
            .put(&key("b"), "fixed".into(), PutMode::Overwrite)
            .await
            .unwrap();
        let b = store.get(&key("b")).await.unwrap().expect("b");
        assert_eq!(&b.value[..], b"fixed");
    });
}

/// A table of the shape before values carried checksums (no `crc` column) is refused,
/// naming the missing column.
#[test]
fn a_table_without_checksums_is_refused() {
    let Some(url) = postgres_url() else { return };
    runtime().block_on(async {
        let table = random_table();
        let (client, conn) =
            store_postgres::tokio_postgres::connect(&url, store_postgres::tokio_postgres::NoTls)
                .await
                .expect("raw connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "CREATE TABLE {table} (key text COLLATE \"C\" PRIMARY KEY, \
                 version bigint NOT NULL, size bigint NOT NULL, \
                 modified timestamptz NOT NULL, value bytea NOT NULL)"
            ))
            .await
            .expect("create");
        let err = PostgresStore::connect(PostgresConfig::new(&url).table(&table))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(err.to_string().contains(&table), "{err}");
        assert!(err.to_string().contains("missing column `crc`"), "{err}");
    });
}

/// Makes a CA and a server certificate for 127.0.0.1 signed by it in `dir`; returns the
/// server's `-c` options and the CA's PEM file.
fn make_certificates(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=strata test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    for file in ["server.key", "server.crt"] {
        let path = dir.join(file);
        if is_root() {
            assert!(
                Command::new("chown")
                    .arg("postgres")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        assert!(
            Command::new("chmod")
                .arg("600")
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
    }
    let options = format!(
        "-c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    );
    (options, dir.join("ca.crt"))
}

/// `tls = "require"` connects over TLS to a server whose certificate the given CA signed,
/// refuses a server without TLS, and refuses a certificate no trusted CA signed.
#[test]
fn tls_is_required_and_verified_when_asked() {
    use store_postgres::TlsMode;
    let Some(cluster) = OwnCluster::new() else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    if is_root() {
        assert!(
            Command::new("chmod")
                .arg("755")
                .arg(certs.path())
                .status()
                .unwrap()
                .success()
        );
    }
    let (options, ca) = make_certificates(certs.path());
    runtime().block_on(async {
        // The cluster runs without TLS first: `require` refuses it.
        let mut c = PostgresConfig::new(cluster.url()).table(random_table());
        c.tls = TlsMode::Require;
        c.tls_ca_file = Some(ca.clone());
        c.connect_timeout = Duration::from_secs(5);
        let err = PostgresStore::connect(c.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(format!("{err}").contains("127.0.0.1"), "{err}");

        cluster.kill();
        cluster.start_with(&options);
        let store = PostgresStore::connect(c.clone())
            .await
            .expect("TLS connect");
        store
            .put(&key("over/tls"), "v".into(), PutMode::Create)
            .await
            .unwrap();
        assert!(store.get(&key("over/tls")).await.unwrap().is_some());

        // Without the CA (the system roots do not know it) the certificate is refused.
        let mut untrusted = c.clone();
        untrusted.tls_ca_file = None;
        let err = PostgresStore::connect(untrusted).await.unwrap_err();
        assert!(
            format!("{err:?}").to_lowercase().contains("certificate"),
            "{err:?}"
        );

        // And `disable` (the default) still connects in plain text to the same server.
        let plain = PostgresConfig::new(cluster.url()).table(random_table());
        PostgresStore::connect(plain).await.expect("plain connect");
    });
}
