//! A kill -9 crash harness shared by every durable store.
//!
//! The test binary re-runs itself as a child writer: the child opens the store from a
//! config map (through the `strata` registry), writes and overwrites keys from several
//! tasks, and prints `ACK key seq` after every acknowledged put. The parent SIGKILLs it at
//! a random moment, reopens the store and checks that:
//! - every acknowledged write is present with its value or a later one (seq ≥ acked);
//! - every value is exactly the bytes some put wrote (nothing half-present);
//! - `list` shows only keys the writer used (no temp or journal files leak through);
//! - the store accepts writes again.
//!
//! Usage from a test file (the test's own name must be passed so the child runs only it):
//!
//! ```no_run
//! # fn config() -> store_core::ConfigMap { Default::default() }
//! #[test]
//! fn crash_file_always() {
//!     strata_tests::crash::run("crash_file_always", config(), strata_tests::crash::cycles(50));
//! }
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use rand::Rng;
use store_core::{ConfigMap, ErrorKind, Key, ListOptions, PutMode};

/// How long a child waits for the parent to release the store's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);
const CHILD_ENV: &str = "STRATA_CRASH_CHILD";
const CYCLE_ENV: &str = "STRATA_CRASH_CYCLE";
/// Keys the child writes, spread over its writer tasks.
const KEYS: u64 = 48;
const WRITERS: u64 = 4;
/// A child that outlives its parent stops by itself after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);
/// Seqs of cycle `c` start at `c * SEQ_STRIDE`, so later cycles always write later values.
const SEQ_STRIDE: u64 = 1 << 32;

/// The number of kill cycles: `default`, or `STRATA_CRASH_CYCLES` if set (e.g. 500).
pub fn cycles(default: usize) -> usize {
    std::env::var("STRATA_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The key the child writes for slot `i`.
fn slot_key(i: u64) -> Key {
    Key::new(format!("crash/k{i:02}")).expect("valid key")
}

/// The exact bytes the child writes for (`key`, `seq`): a header naming both, then a
/// deterministic body of a seq-dependent length (0..8 KiB), so any torn or mixed write
/// fails the comparison.
pub fn value_for(key: &Key, seq: u64) -> Bytes {
    let mut v = format!("{key}|{seq}|").into_bytes();
    let len = (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 51) as usize;
    let mut x = seq ^ 0xA076_1D64_78BD_642F;
    v.extend((0..len).map(|_| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 56) as u8
    }));
    v.into()
}

fn seq_of(value: &[u8]) -> Option<u64> {
    // The header is `key|seq|` in ASCII/UTF-8; the body after it is binary.
    let mut bars = value
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'|')
        .map(|(i, _)| i);
    let (first, second) = (bars.next()?, bars.next()?);
    std::str::from_utf8(&value[first + 1..second])
        .ok()?
        .parse()
        .ok()
}

/// The child's side: open the store, write until killed, never return.
fn child_main(config: &ConfigMap) -> ! {
    let cycle: u64 = std::env::var(CYCLE_ENV)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let runtime = crate::harness::runtime();
    runtime.block_on(async {
        // The parent's verifying handle may still be closing (a store's files are released
        // by its background threads after the drop), so a lock held by it is waited out.
        let opening = Instant::now();
        let store = loop {
            match strata::open(config).await {
                Ok(store) => break store,
                Err(e) if e.kind() == ErrorKind::Locked && opening.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("child open: {e}"),
            }
        };
        println!("READY");
        let deadline = Instant::now() + CHILD_LIFETIME;
        let writers = (0..WRITERS).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seq = cycle * SEQ_STRIDE + w;
                while Instant::now() < deadline {
                    let slot = rand::rng().random_range(0..KEYS / WRITERS) * WRITERS + w;
                    let key = slot_key(slot);
                    store
                        .put(&key, value_for(&key, seq), PutMode::Overwrite)
                        .await
                        .expect("child put");
                    // One line per ack, written whole; the parent ignores a torn last line.
                    println!("ACK {slot} {seq}");
                    seq += WRITERS;
                }
            })
        });
        futures::future::join_all(writers).await;
    });
    std::process::exit(0)
}

/// Run `cycles` kill cycles of the store `config` describes, from the `#[test]` named
/// `test_name` (the child re-runs the test binary filtered to it). Panics on any lost or
/// torn write.
pub fn run(test_name: &str, config: ConfigMap, cycles: usize) {
    if let Ok(raw) = std::env::var(CHILD_ENV) {
        let config: ConfigMap = serde_json::from_str(&raw).expect("child config");
        child_main(&config);
    }
    let config_json = serde_json::to_string(&config).expect("config to json");
    let runtime = crate::harness::runtime();
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut total_acks = 0usize;
    for cycle in 1..=cycles as u64 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &config_json)
            .env(CYCLE_ENV, cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn crash child");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
            }
        });
        // Wait until the store is open, then let it write for a random while.
        let ready = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                // libtest may print `test NAME ... ` on the same line first.
                Ok(line) if line.ends_with("READY") => break,
                Ok(_) => continue,
                Err(e) => panic!(
                    "cycle {cycle}: child never became ready ({e}) after {:?}",
                    ready.elapsed()
                ),
            }
        }
        std::thread::sleep(Duration::from_millis(rand::rng().random_range(5..150)));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        reader.join().expect("reader thread");
        // Lines read to EOF are complete (split drops the newline); a torn final line
        // without its newline still parses or is ignored, and either is sound because
        // the put it reports had returned before printing began.
        for line in rx.try_iter() {
            let Some(at) = line.find("ACK ") else {
                continue;
            };
            let mut parts = line[at + 4..].split(' ');
            let (Some(slot), Some(seq)) = (parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(slot), Ok(seq)) = (slot.parse::<u64>(), seq.parse::<u64>()) else {
                continue;
            };
            let entry = acked.entry(slot).or_insert(seq);
            *entry = (*entry).max(seq);
            total_acks += 1;
        }
        runtime.block_on(verify(&config, &acked, cycle));
    }
    eprintln!(
        "crash test `{test_name}`: {cycles} kill cycles, {total_acks} acknowledged writes, all present"
    );
}

async fn verify(config: &ConfigMap, acked: &BTreeMap<u64, u64>, cycle: u64) {
    let store = strata::open(config)
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: reopen after kill failed: {e}"));
    for (&slot, &seq) in acked {
        let key = slot_key(slot);
        let entry = store
            .get(&key)
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle}: get {key} after kill: {e}"))
            .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged write {key}@{seq} lost"));
        let found = seq_of(&entry.value)
            .unwrap_or_else(|| panic!("cycle {cycle}: {key} holds bytes no put wrote"));
        assert!(
            found >= seq,
            "cycle {cycle}: {key} went back from acknowledged seq {seq} to {found}"
        );
        assert!(
            entry.value == value_for(&key, found),
            "cycle {cycle}: {key}@{found} is torn"
        );
        assert_eq!(
            entry.meta.size,
            entry.value.len() as u64,
            "cycle {cycle}: {key} size"
        );
    }
    let listed: Vec<Key> = store
        .list(ListOptions::default())
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: list after kill: {e}"));
    for key in &listed {
        let slot = key
            .as_str()
            .strip_prefix("crash/k")
            .and_then(|s| s.parse::<u64>().ok());
        assert!(
            slot.is_some_and(|s| s < KEYS),
            "cycle {cycle}: unexpected key {key} after crash"
        );
    }
    let probe = Key::new("crash/probe").expect("valid key");
    store
        .put(&probe, Bytes::from_static(b"alive"), PutMode::Overwrite)
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: store refuses writes after reopen: {e}"));
    store.delete(&probe).await.expect("delete probe");
    store.flush().await.expect("flush after reopen");
}
