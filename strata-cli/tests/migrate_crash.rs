//! `strata migrate --resume`, SIGKILLed at random moments, to destinations that
//! acknowledge writes before they are durable: redb with `durability = "none"` and a
//! write-behind tier (a memory cache over redb, itself with `durability = "none"`). After every kill the checkpoint
//! may only name keys the destination really holds; and resuming until a run finishes
//! leaves the destination equal to the source, every key and every byte.
//!
//! `STRATA_MIGRATE_CRASH_KILLS` sets the kills per destination (default 25, so 50 in all).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::TryStreamExt;
use rand::Rng;
use strata::{Key, ListOptions, PutOp, Store};

/// Source keys: enough that a run takes a good fraction of a second in a debug build, so
/// most kills land mid-copy.
const KEYS: usize = 1000;

fn kills_per_destination() -> usize {
    std::env::var("STRATA_MIGRATE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

fn value(i: usize) -> Bytes {
    // 0 to ~2 KiB, each value distinct.
    let mut v = format!("value {i}|").into_bytes();
    v.resize(v.len() + (i * 7919) % 2000, (i % 251) as u8);
    v.into()
}

/// Run `f` on the store `config` describes, in a runtime of its own that is gone when
/// this returns: the store's background tasks and its file locks with it, so the next
/// `strata` process can open the store.
fn with_store<T>(config: &Path, f: impl AsyncFnOnce(Arc<dyn Store>) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = strata::open_file(config)
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", config.display()));
        f(store).await
    })
}

/// Every key and value of a store.
async fn contents(store: &dyn Store) -> BTreeMap<Key, Bytes> {
    let keys: Vec<Key> = store
        .list(ListOptions::default())
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    let values = store.get_many(&keys).await.unwrap();
    keys.into_iter()
        .zip(values)
        .map(|(k, v)| (k, v.expect("a listed key reads").value))
        .collect()
}

/// The key the checkpoint says everything up to is copied, if there is a checkpoint.
fn checkpointed(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let cp: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("a torn checkpoint: {e}: {text:?}"));
    Some(cp["last_key"].as_str().expect("last_key").to_owned())
}

struct Destination {
    name: &'static str,
    config: PathBuf,
    /// What to remove to start over.
    data: Vec<PathBuf>,
}

fn destinations(dir: &Path) -> Vec<Destination> {
    let redb = dir.join("to.redb");
    let redb_config = dir.join("to-redb.toml");
    std::fs::write(
        &redb_config,
        format!("type = \"redb\"\npath = {redb:?}\ndurability = \"none\"\n"),
    )
    .unwrap();
    // Acknowledged on reaching the cache, and not durable in the backend either until
    // its commit is flushed.
    let backend = dir.join("to-backend.redb");
    let tiered_config = dir.join("to-tiered.toml");
    std::fs::write(
        &tiered_config,
        format!(
            "type = \"tiered\"\nwrite_policy = \"write-behind\"\n\n[frontend]\ntype = \"cache\"\nmax_bytes = 4194304\n\n[backend]\ntype = \"redb\"\npath = {backend:?}\ndurability = \"none\"\n"
        ),
    )
    .unwrap();
    vec![
        Destination {
            name: "redb durability=none",
            config: redb_config,
            data: vec![redb],
        },
        Destination {
            name: "tiered write-behind (cache over redb durability=none)",
            config: tiered_config,
            data: vec![backend],
        },
    ]
}

fn migrate_command(from: &Path, to: &Path, checkpoint: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("strata"));
    cmd.env_remove("STRATA_STORE")
        .env_remove("RUST_LOG")
        .args(["migrate", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .arg("--checkpoint")
        .arg(checkpoint)
        .args([
            "--resume",
            "--batch",
            "32",
            "--concurrency",
            "2",
            "--checkpoint-interval",
            "50ms",
            "--no-progress",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Run to the end (no kill), with `--verify`: it must find every key equal.
fn finish_and_verify(from: &Path, to: &Path, checkpoint: &Path) {
    let out = migrate_command(from, to, checkpoint)
        .arg("--verify")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the final run failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("verified {KEYS}; failures 0")),
        "{stdout}"
    );
}

#[test]
fn killed_migrations_resume_to_an_exact_copy() {
    let dir = tempfile::tempdir().unwrap();
    let from_config = dir.path().join("from.toml");
    std::fs::write(
        &from_config,
        format!(
            "type = \"redb\"\npath = {:?}\n",
            dir.path().join("from.redb")
        ),
    )
    .unwrap();
    let source = with_store(&from_config, async |store| {
        let ops: Vec<PutOp> = (0..KEYS)
            .map(|i| PutOp::overwrite(Key::new(format!("m/{i:05}")).unwrap(), value(i)))
            .collect();
        store.put_many(ops).await.unwrap();
        store.flush().await.unwrap();
        contents(store.as_ref()).await
    });
    assert_eq!(source.len(), KEYS);
    let checkpoint = dir.path().join("migrate.checkpoint");
    let started = Instant::now();
    let mut kills_in_all = 0;

    for destination in destinations(dir.path()) {
        let name = destination.name;
        // How long an uninterrupted run takes here, to spread the kills over it. On a
        // loaded machine that changes from run to run, so the window adapts: it shrinks
        // when a run finished before its kill and grows when it was killed, which keeps
        // most kills mid-copy and some at its very start or end.
        let t = Instant::now();
        finish_and_verify(&from_config, &destination.config, &checkpoint);
        let full_run = t.elapsed();
        let mut window = full_run;
        let start_over = || {
            let _ = std::fs::remove_file(&checkpoint);
            for path in &destination.data {
                let _ = std::fs::remove_dir_all(path);
                let _ = std::fs::remove_file(path);
            }
        };
        start_over();

        let (mut kills, mut rounds, mut cycles) = (0, 0, 0);
        while kills < kills_per_destination() {
            cycles += 1;
            assert!(
                cycles < 20 * kills_per_destination(),
                "{name}: too few kills landed"
            );
            let mut child = migrate_command(&from_config, &destination.config, &checkpoint)
                .spawn()
                .unwrap();
            let delay = window.mul_f64(rand::rng().random_range(0.0..1.0));
            std::thread::sleep(delay);
            let finished = child.try_wait().unwrap();
            if finished.is_none() {
                child.kill().unwrap(); // SIGKILL: no flush, no tidying up
                kills += 1;
                window = window.mul_f64(1.1).min(full_run * 4);
            } else {
                window = window.mul_f64(0.7);
            }
            let out = child.wait_with_output().unwrap();
            if let Some(status) = finished {
                assert!(
                    status.success(),
                    "{name}: a run failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let holds = with_store(&destination.config, async |s| contents(s.as_ref()).await);
            if finished.is_some() {
                // The run finished: an exact copy. Start a new round from nothing.
                assert!(
                    holds == source,
                    "{name}: a finished run left a different copy"
                );
                rounds += 1;
                start_over();
                continue;
            }
            // Killed: every key up to the checkpoint must be there, with its bytes.
            if let Some(last) = checkpointed(&checkpoint) {
                for (key, bytes) in source.range(..=Key::new(&last).unwrap()) {
                    assert!(
                        holds.get(key) == Some(bytes),
                        "{name}: the checkpoint names {last}, but {key} is {} in the destination after a kill",
                        if holds.contains_key(key) {
                            "different"
                        } else {
                            "missing"
                        }
                    );
                }
            }
            assert!(
                holds.iter().all(|(k, v)| source.get(k) == Some(v)),
                "{name}: the destination holds bytes the source does not"
            );
        }
        finish_and_verify(&from_config, &destination.config, &checkpoint);
        let holds = with_store(&destination.config, async |s| contents(s.as_ref()).await);
        assert!(
            holds == source,
            "{name}: the resumed copy differs from the source"
        );
        eprintln!(
            "{name}: {kills} kills over {cycles} runs ({rounds} finished rounds); a first full run took {full_run:?}"
        );
        kills_in_all += kills;
        start_over();
    }
    eprintln!(
        "{kills_in_all} kills in {:.1} s, every resumed copy exact",
        started.elapsed().as_secs_f64()
    );
}
