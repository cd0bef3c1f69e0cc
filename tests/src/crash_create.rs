//! A kill -9 loop around a store's *creation*: no interruption may leave a store that does
//! not open.
//!
//! Each cycle gives a child process (the test binary re-run, as in [`crash`](crate::crash))
//! a path that does not exist yet. The child opens the store there (creating it and its
//! directories), writes one key and prints `ACK`. The parent SIGKILLs it at a random moment
//! between "about to open" and a little after the usual time to `ACK` (measured on the
//! first, unkilled cycles, then adjusted after every kill: shorter when the kill came after
//! the `ACK`, longer when it came before any file existed, so the kills keep landing inside
//! creation on a fast machine or a loaded one), then opens the store itself and checks that:
//! - it opens (a half-created store is finished or started over, never left unopenable);
//! - the key is there with its value if the child printed `ACK`;
//! - it accepts writes;
//! - the directory holds only the files the caller allows (no creation debris is left).
//!
//! The loop asserts that a fair share of its kills hit the creation window (the store's
//! path or its temporary files existed but the write was not acknowledged), so it cannot
//! pass by killing only before or after it.
//!
//! ```no_run
//! # fn config(dir: &std::path::Path) -> store_core::ConfigMap { Default::default() }
//! #[test]
//! fn crash_creation() {
//!     strata_tests::crash_create::run("crash_creation", config, |_| true, 200);
//! }
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use store_core::{ConfigMap, Key, PutMode};

const CHILD_ENV: &str = "STRATA_CREATE_CRASH_CHILD";
/// Cycles run to the end, unkilled, to learn how long opening and one write take here.
const CALIBRATION: usize = 3;

fn probe_key() -> Key {
    Key::new("created/probe").expect("valid key")
}

fn probe_value() -> Bytes {
    Bytes::from_static(b"acknowledged before the kill")
}

/// The child's side: open (creating), write, acknowledge, exit.
fn child_main(config: &ConfigMap) -> ! {
    let runtime = crate::harness::runtime();
    runtime.block_on(async {
        println!("OPENING");
        let store = strata::open(config).await.expect("child open");
        store
            .put(&probe_key(), probe_value(), PutMode::Overwrite)
            .await
            .expect("child put");
        println!("ACK");
        drop(store);
    });
    std::process::exit(0)
}

/// What a cycle's kill left behind, before the parent touched anything.
#[derive(Debug, Default)]
struct Outcomes {
    /// Killed before anything existed in the cycle's directory.
    nothing: usize,
    /// Killed while files existed but the write was not acknowledged: inside creation.
    mid_creation: usize,
    /// The child acknowledged its write before the kill (or exited).
    acknowledged: usize,
}

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Run `cycles` kill cycles (after 3 unkilled ones that calibrate the timing) from the `#[test]` named
/// `test_name`. `config_in(dir)` is the config of a store that lives in `dir`, a directory
/// that does not exist yet; `allowed(file)` says whether a file may remain under `dir` once
/// the parent has reopened the store. Panics on a store that does not open, a lost
/// acknowledged write or leftover files.
pub fn run(
    test_name: &str,
    config_in: impl Fn(&Path) -> ConfigMap,
    allowed: impl Fn(&Path) -> bool,
    cycles: usize,
) {
    if let Ok(raw) = std::env::var(CHILD_ENV) {
        let config: ConfigMap = serde_json::from_str(&raw).expect("child config");
        child_main(&config);
    }
    let base = tempfile::tempdir().expect("tempdir");
    let runtime = crate::harness::runtime();
    let mut outcomes = Outcomes::default();
    // From "OPENING" to "ACK" in the unkilled cycles: the span the kills are spread over.
    let mut calibration = Vec::new();
    let mut window = Duration::ZERO;
    for cycle in 0..CALIBRATION + cycles {
        let dir = base.path().join(format!("cycle-{cycle}"));
        let config = config_in(&dir);
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(
                CHILD_ENV,
                serde_json::to_string(&config).expect("config to json"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the creating child");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let wait_for = |what: &str| loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                // libtest may print `test NAME ... ` on the same line first.
                Ok(line) if line.ends_with(what) => break Instant::now(),
                Ok(_) => continue,
                Err(e) => panic!("cycle {cycle}: the child never printed {what} ({e})"),
            }
        };
        let opening = wait_for("OPENING");
        let calibrating = cycle < CALIBRATION;
        if calibrating {
            let acked = wait_for("ACK");
            calibration.push(acked - opening);
            calibration.sort();
            // The median: one slow start on a loaded machine does not set the window.
            window = calibration[calibration.len() / 2];
            let status = child.wait().expect("reap the child");
            assert!(status.success(), "cycle {cycle}: the unkilled child failed");
        } else {
            // Spin rather than sleep: the window is a few milliseconds and sleeps overshoot.
            let at = window.mul_f64(rand::rng().random_range(0.0..1.3));
            while opening.elapsed() < at {
                std::hint::spin_loop();
            }
            child.kill().expect("SIGKILL the child");
            child.wait().expect("reap the child");
        }
        reader.join().expect("reader thread");
        let acked = rx.try_iter().any(|line| line.ends_with("ACK")) || calibrating;
        let too_early = !acked && files_under(&dir).is_empty();
        if acked {
            outcomes.acknowledged += 1;
        } else if too_early {
            outcomes.nothing += 1;
        } else {
            outcomes.mid_creation += 1;
        }
        if !calibrating {
            // Follow the machine: aim the next kills where this one should have landed.
            if acked {
                window = window.mul_f64(0.93);
            } else if too_early {
                window = window.mul_f64(1.07);
            }
        }
        runtime.block_on(verify(&config, acked, cycle));
        let leftovers: Vec<PathBuf> = files_under(&dir)
            .into_iter()
            .filter(|f| !allowed(f))
            .collect();
        assert!(
            leftovers.is_empty(),
            "cycle {cycle}: files left behind after reopening: {leftovers:?}"
        );
    }
    eprintln!(
        "creation crash test `{test_name}`: {cycles} kills within ~{window:?} of the open \
         beginning (calibrated {calibration:?}): {outcomes:?}; every store opened"
    );
    assert!(
        outcomes.mid_creation * 10 >= cycles,
        "only {} of {cycles} kills landed inside creation: the test did not exercise it",
        outcomes.mid_creation
    );
}

async fn verify(config: &ConfigMap, acked: bool, cycle: usize) {
    let store = strata::open(config)
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: the store does not open after the kill: {e}"));
    let found = store
        .get(&probe_key())
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: get after the kill: {e}"));
    match found {
        Some(entry) => assert_eq!(entry.value, probe_value(), "cycle {cycle}: wrong value"),
        None => assert!(!acked, "cycle {cycle}: the acknowledged write was lost"),
    }
    store
        .put(&probe_key(), probe_value(), PutMode::Overwrite)
        .await
        .unwrap_or_else(|e| panic!("cycle {cycle}: the store refuses writes after reopen: {e}"));
    store.flush().await.expect("flush after reopen");
}
