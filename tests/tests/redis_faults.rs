//! The Redis store's failures and promises against real servers: capabilities read from
//! the server's settings, clear errors (wrong password, missing database, a port where no
//! Redis answers, nothing listening), the server killed and restarted mid-run, a lost
//! reply and a lost request settled, and a compare-and-swap race between two processes.
//!
//! Gated like tests/tests/redis.rs: skipped without `STRATA_REDIS_URL`, failing under
//! `STRATA_REDIS_REQUIRED=1`. Tests needing other settings start `redis-server` from PATH.

mod redis_support;

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use redis_support::{OwnServer, Proxy, free_port};
use store_core::{Durability, ErrorKind, Key, PutMode, Store, StoreExt};
use store_redis::{RedisConfig, RedisStore};
use strata_tests::harness::runtime;
use strata_tests::redisenv::{random_namespace, redis_url};

fn key(raw: &str) -> Key {
    Key::new(raw).expect("valid key")
}

async fn open(url: &str) -> store_core::Result<RedisStore> {
    let config = RedisConfig::new(url)
        .namespace(random_namespace())
        .timeout(Duration::from_secs(1));
    RedisStore::open(config).await
}

#[test]
fn durability_and_eviction_follow_the_server_settings() {
    for (args, durability, evicts) in [
        (&[][..], Durability::None, false),
        (
            &["--appendonly", "yes"][..],
            Durability::ProcessCrash,
            false,
        ),
        (
            &["--appendonly", "yes", "--appendfsync", "always"][..],
            Durability::PowerLoss,
            false,
        ),
        (
            &["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"][..],
            Durability::None,
            true,
        ),
    ] {
        let Some(server) = OwnServer::start(args) else {
            return;
        };
        runtime().block_on(async {
            let caps = open(&server.url()).await.expect("open").capabilities();
            assert_eq!(caps.durability, durability, "{args:?}");
            assert_eq!(caps.may_evict, evicts, "{args:?}");
            assert!(caps.atomic_batches);
            assert_eq!(caps.conditional_puts, store_core::ConditionalPuts::Native);
        });
    }
}

#[test]
fn wrong_password_is_permission_denied_and_not_shown() {
    let Some(server) = OwnServer::start(&["--requirepass", "right-secret"]) else {
        return;
    };
    runtime().block_on(async {
        let url = format!("redis://:wrong-secret@127.0.0.1:{}/0", server.port);
        let err = open(&url).await.expect_err("a wrong password must fail");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains(&format!("127.0.0.1:{}", server.port)),
            "{shown}"
        );
        assert!(
            !shown.contains("wrong-secret"),
            "the password leaked: {shown}"
        );
        let no_password = open(&server.url())
            .await
            .expect_err("no password must fail");
        assert_eq!(
            no_password.kind(),
            ErrorKind::PermissionDenied,
            "{no_password}"
        );
        let url = format!("redis://:right-secret@127.0.0.1:{}/0", server.port);
        let store = open(&url).await.expect("the right password opens");
        assert!(!format!("{store:?}").contains("right-secret"));
        store
            .put(&key("a"), "1".into(), PutMode::Create)
            .await
            .expect("put");
    });
}

#[test]
fn missing_database_is_not_found() {
    let Some(url) = redis_url() else { return };
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    runtime().block_on(async {
        let err = open(&format!("{base}/99"))
            .await
            .expect_err("db 99 does not exist");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("/99"), "{err}");
        assert!(err.to_string().contains("no such database"), "{err}");
    });
}

#[test]
fn a_port_without_redis_is_named() {
    if redis_url().is_none() {
        return;
    }
    // An HTTP-ish server: answers anything with a 400 and closes.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    runtime().block_on(async {
        let started = Instant::now();
        let err = open(&format!("redis://127.0.0.1:{port}/0"))
            .await
            .expect_err("not Redis");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
        assert!(
            err.to_string().contains("did not answer as a Redis server"),
            "{err}"
        );
    });
}

#[test]
fn nothing_listening_is_retryable_unavailable() {
    if redis_url().is_none() {
        return;
    }
    let port = free_port();
    runtime().block_on(async {
        let started = Instant::now();
        let err = open(&format!("redis://127.0.0.1:{port}/0"))
            .await
            .expect_err("closed port");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.retryable());
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    });
}

/// The server is killed mid-run: calls fail with retryable `Unavailable` within the
/// timeout; after a restart on the same port the same store works again by itself.
#[test]
fn server_killed_and_restarted_mid_run() {
    let Some(mut server) = OwnServer::start(&["--appendonly", "yes"]) else {
        return;
    };
    runtime().block_on(async {
        let store = open(&server.url()).await.expect("open");
        let k = key("restart/counter");
        let before = store
            .put(&k, "1".into(), PutMode::Create)
            .await
            .expect("put");
        server.kill();
        for _ in 0..3 {
            let started = Instant::now();
            let err = store
                .put(&k, "2".into(), PutMode::Overwrite)
                .await
                .expect_err("down");
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "took {:?}",
                started.elapsed()
            );
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(err.retryable(), "{err}");
            let err = store.get(&k).await.expect_err("down");
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            assert!(err.retryable(), "{err}");
        }
        server.restart();
        let deadline = Instant::now() + Duration::from_secs(15);
        let meta = loop {
            match store.head(&k).await {
                Ok(meta) => break meta,
                Err(err) if err.retryable() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("no recovery after the restart: {err}"),
            }
        };
        // The append-only file kept the write; compare-and-swap goes on from it.
        let meta = meta.expect("the write survived the kill (appendonly yes)");
        assert_eq!(meta.version, before.version);
        store
            .put(&k, "3".into(), PutMode::Update(meta.version))
            .await
            .expect("CAS after restart");
    });
}

/// A write whose reply is lost (the connection dies after the server ran the script) is
/// reported as the success it was, with its version; one whose request is lost is
/// reported as not applied, and never applies later.
#[test]
fn lost_reply_and_lost_request_are_settled() {
    let Some(url) = redis_url() else { return };
    let port: u16 = url
        .trim_start_matches("redis://")
        .split(['/', ':'])
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("STRATA_REDIS_URL has a port");
    let proxy = Proxy::start(port);
    runtime().block_on(async {
        let store = open(&proxy.url()).await.expect("open through the proxy");
        let k = key("lost/reply");
        proxy.lose_next_reply();
        let meta = store
            .put(&k, "applied".into(), PutMode::Create)
            .await
            .expect("the script ran: the settled outcome is success");
        let head = store.head(&k).await.expect("head").expect("written");
        assert_eq!(head.version, meta.version);
        let k2 = key("lost/request");
        proxy.lose_next_request();
        let err = store
            .put(&k2, "never".into(), PutMode::Create)
            .await
            .expect_err("the request never reached the server");
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.retryable());
        assert!(err.to_string().contains("not applied"), "{err}");
        assert_eq!(store.head(&k2).await.expect("head"), None);
        store
            .put(&k2, "retried".into(), PutMode::Create)
            .await
            .expect("retry");
    });
}

const CHILD_ENV: &str = "STRATA_REDIS_CAS_CHILD_NAMESPACE";
const CHILD_START_ENV: &str = "STRATA_REDIS_CAS_CHILD_START_MS";
const CHILD_INCREMENTS: u64 = 200;

fn unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.expect("clock after 1970").as_millis() as u64
}

/// The child half of [`cross_process_cas_race`]: run by it as a separate process (with
/// `CHILD_ENV` set); alone, it has nothing to do.
#[test]
fn cas_race_child() {
    let Ok(namespace) = std::env::var(CHILD_ENV) else {
        return;
    };
    let url = redis_url().expect("the parent passes STRATA_REDIS_URL");
    let start: u64 = std::env::var(CHILD_START_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("the parent passes the start time");
    runtime().block_on(async {
        let store = RedisStore::open(RedisConfig::new(url).namespace(namespace))
            .await
            .expect("open");
        // Both children start incrementing at the same moment, so they really race.
        tokio::time::sleep(Duration::from_millis(start.saturating_sub(unix_ms()))).await;
        for _ in 0..CHILD_INCREMENTS {
            store
                .update(&key("race/counter"), |n: Option<u64>| n.unwrap_or(0) + 1)
                .await
                .expect("update");
        }
    });
}

/// Two OS processes increment one counter by compare-and-swap: the server decides every
/// condition, so no increment is lost.
#[test]
fn cross_process_cas_race() {
    if redis_url().is_none() {
        return;
    }
    let namespace = random_namespace();
    let exe = std::env::current_exe().expect("test binary");
    let start = (unix_ms() + 1500).to_string();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "cas_race_child", "--test-threads", "1"])
                .env(CHILD_ENV, &namespace)
                .env(CHILD_START_ENV, &start)
                .spawn()
                .expect("spawn a child")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success(), "a child failed");
    }
    let url = redis_url().expect("url");
    runtime().block_on(async {
        let store = RedisStore::open(RedisConfig::new(url).namespace(namespace))
            .await
            .expect("open");
        let total: u64 = store
            .get_typed(&key("race/counter"))
            .await
            .expect("get")
            .expect("set");
        assert_eq!(total, 2 * CHILD_INCREMENTS, "lost updates across processes");
    });
}

/// A server without persistence loses everything in a crash, its version counter too:
/// versions handed out before must not come back, or a stale `Update` would match.
#[test]
fn versions_are_not_reused_after_the_server_lost_its_data() {
    let Some(mut server) = OwnServer::start(&["--appendonly", "no"]) else {
        return;
    };
    runtime().block_on(async {
        let store = open(&server.url()).await.expect("open");
        let k = key("lost/data");
        let old = store
            .put(&k, "a".into(), PutMode::Create)
            .await
            .expect("put");
        server.kill();
        server.restart();
        let deadline = Instant::now() + Duration::from_secs(15);
        let new = loop {
            match store.put(&k, "b".into(), PutMode::Create).await {
                Ok(meta) => break meta,
                Err(err) if err.retryable() && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("no recovery after the restart: {err}"),
            }
        };
        assert_ne!(
            new.version, old.version,
            "a version came back after the data loss"
        );
        let stale = store
            .put(&k, "c".into(), PutMode::Update(old.version))
            .await;
        assert_eq!(stale.unwrap_err().kind(), ErrorKind::VersionMismatch);
    });
}

/// Bytes changed behind the store's back are `Corrupted` naming the key, never a wrong
/// value: a flipped value fails its CRC32C; an unparsable version fails `head`, and a
/// listing reports that entry and goes on.
#[test]
fn damaged_entries_are_corrupted_naming_the_key() {
    use futures::StreamExt;
    use store_core::ListOptions;

    let Some(url) = redis_url() else { return };
    runtime().block_on(async {
        let namespace = random_namespace();
        let config = RedisConfig::new(url.as_str()).namespace(namespace.as_str());
        let store = RedisStore::open(config).await.expect("open");
        for k in ["a", "b", "c"] {
            store
                .put(&key(k), "abc".into(), PutMode::Overwrite)
                .await
                .expect("put");
        }
        let client = redis::Client::open(url.as_str()).expect("client");
        let mut raw = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let hset = |k: &str, field: &str, value: &str| {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(format!("{{{namespace}}}:k:{k}"))
                .arg(field)
                .arg(value);
            cmd
        };
        hset("a", "v", "abd")
            .query_async::<i64>(&mut raw)
            .await
            .expect("hset");
        let err = store.get(&key("a")).await.expect_err("flipped value");
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
        assert_eq!(err.key(), Some("a"));
        let err = store
            .get_many(&[key("c"), key("a")])
            .await
            .expect_err("flipped value");
        assert_eq!(err.key(), Some("a"));
        hset("b", "ver", "x")
            .query_async::<i64>(&mut raw)
            .await
            .expect("hset");
        let err = store.head(&key("b")).await.expect_err("bad version");
        assert_eq!((err.kind(), err.key()), (ErrorKind::Corrupted, Some("b")));
        let listed: Vec<_> = store.list(ListOptions::default()).collect().await;
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert_eq!(listed[1].as_ref().unwrap_err().damaged_key(), Some("b"));
        assert_eq!(listed[2].as_ref().expect("c is fine").key, key("c"));
    });
}
