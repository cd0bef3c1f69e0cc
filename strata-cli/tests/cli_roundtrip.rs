//! The `strata` binary against persistent stores: every command, each in its own process,
//! so each step also proves the previous one persisted. And `migrate` killed halfway
//! between two redb stores, then resumed and verified.

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").env_remove("RUST_LOG");
    cmd
}

/// The persistent targets, as `--store URI` or `--config FILE` arguments.
fn targets(dir: &Path) -> Vec<Vec<String>> {
    let tiered = dir.join("tiered.toml");
    std::fs::write(
        &tiered,
        format!(
            "type = \"tiered\"\nwrite_policy = \"write-behind\"\n\n[frontend]\ntype = \"cache\"\nmax_bytes = 1048576\n\n[backend]\ntype = \"redb\"\npath = \"{}\"\n",
            dir.join("tiered-back.redb").display()
        ),
    )
    .unwrap();
    vec![
        vec![
            "--store".into(),
            format!("redb://{}", dir.join("cli.redb").display()),
        ],
        vec!["--config".into(), tiered.display().to_string()],
    ]
}

fn run_roundtrip(target: &[String], dir: &Path) {
    let with = |args: &[&str]| {
        let mut cmd = strata();
        cmd.args(target).args(args);
        cmd
    };
    let input = dir.join("in.bin");
    let value: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&input, &value).unwrap();

    with(&["put", "docs/big", input.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("docs/big\t70000\t"));
    with(&["put", "docs/small", "-"])
        .write_stdin("hello")
        .assert()
        .success();
    with(&["get", "docs/small"])
        .assert()
        .success()
        .stdout("hello");
    let out = dir.join("out.bin");
    with(&["get", "docs/big", "-o", out.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        value,
        "get -o wrote other bytes"
    );

    let head = with(&["head", "docs/small"]).assert().success();
    let head = String::from_utf8(head.get_output().stdout.clone()).unwrap();
    assert!(head.contains("size:          5"), "{head}");
    let version = head
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().to_string())
        .expect("head prints a version");

    with(&["list", "docs/"])
        .assert()
        .success()
        .stdout("docs/big\ndocs/small\n");
    // Long lines: size, version, last-modified, key.
    let long_line = |size: &str, key: &str| {
        predicate::str::is_match(format!(r"(?m)^\s*{size}\s+\S+\s+\S+\s+{key}$")).unwrap()
    };
    with(&["list", "--long"])
        .assert()
        .success()
        .stdout(long_line("70000", "docs/big").and(long_line("5", "docs/small")));

    // Conditional writes: exit 4 when the condition fails, and nothing changes.
    with(&["put", "--if-absent", "docs/small", "-"])
        .write_stdin("clobber")
        .assert()
        .code(4);
    with(&["put", "--if-version", "not-the-version", "docs/small", "-"])
        .write_stdin("clobber")
        .assert()
        .code(4);
    with(&["get", "docs/small"])
        .assert()
        .success()
        .stdout("hello");
    with(&["put", "--if-version", &version, "docs/small", "-"])
        .write_stdin("hello again")
        .assert()
        .success();
    with(&["get", "docs/small"])
        .assert()
        .success()
        .stdout("hello again");

    with(&["delete", "docs/small"]).assert().success();
    with(&["delete", "docs/small"]).assert().success(); // idempotent
    with(&["get", "docs/small"]).assert().code(3);
    with(&["list"]).assert().success().stdout("docs/big\n");
}

#[test]
fn every_command_round_trips_on_persistent_stores() {
    let dir = tempfile::tempdir().unwrap();
    for target in targets(dir.path()) {
        run_roundtrip(&target, dir.path());
    }
}

/// Fill a redb store with `n` keys through the library.
fn fill(uri: &str, n: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = strata::open_uri(uri).await.unwrap();
        let ops: Vec<strata::PutOp> = (0..n)
            .map(|i| {
                let key = strata::Key::new(format!("m/{i:06}")).unwrap();
                strata::PutOp::overwrite(key, format!("value {i} ").repeat(1 + i % 9))
            })
            .collect();
        for chunk in ops.chunks(5_000) {
            store.put_many(chunk.to_vec()).await.unwrap();
        }
        store.flush().await.unwrap();
    });
}

fn count(uri: &str) -> usize {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = strata::open_uri(uri).await.unwrap();
        strata::migrate::count(store.as_ref(), &strata::Prefix::default())
            .await
            .unwrap()
            .0 as usize
    })
}

/// Whether two stores hold exactly the same keys with the same bytes.
fn same_contents(a: &str, b: &str) -> bool {
    use futures::TryStreamExt;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (a, b) = (
            strata::open_uri(a).await.unwrap(),
            strata::open_uri(b).await.unwrap(),
        );
        let keys = |s: std::sync::Arc<dyn strata::Store>| async move {
            s.list(strata::ListOptions::default())
                .map_ok(|m| m.key)
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
        };
        let (ka, kb) = (keys(a.clone()).await, keys(b.clone()).await);
        if ka != kb {
            return false;
        }
        let (va, vb) = (
            a.get_many(&ka).await.unwrap(),
            b.get_many(&kb).await.unwrap(),
        );
        va.iter()
            .zip(&vb)
            .all(|(x, y)| x.as_ref().map(|e| &e.value) == y.as_ref().map(|e| &e.value))
    })
}

#[test]
fn migrate_killed_halfway_resumes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let from = format!("redb://{}", dir.path().join("from.redb").display());
    let to = format!("redb://{}", dir.path().join("to.redb").display());
    let checkpoint = dir.path().join("migrate.checkpoint");
    let n = 40_000;
    fill(&from, n);

    // Small batches, one at a time, each an fsynced commit: slow enough to interrupt.
    let bin = assert_cmd::cargo::cargo_bin("strata");
    let args = [
        "migrate",
        "--from",
        &from,
        "--to",
        &to,
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--batch",
        "16",
        "--concurrency",
        "1",
        "--no-progress",
    ];
    let mut child = StdCommand::new(&bin)
        .args(args)
        .env_remove("STRATA_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !checkpoint.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "migrate finished before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let copied = count(&to);
    assert!(
        copied > 0 && copied < n,
        "killed halfway, yet {copied} of {n} copied"
    );

    let mut resume = strata();
    resume.args(args).args(["--resume", "--verify"]);
    let out = resume.assert().success();
    let summary = String::from_utf8(out.get_output().stdout.clone()).unwrap()
        + &String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(summary.contains("verified"), "{summary}");
    assert_eq!(count(&to), n);
    assert!(
        same_contents(&from, &to),
        "the destination differs from the source"
    );
    assert!(
        !checkpoint.exists(),
        "a finished run removes its checkpoint"
    );
}
