//! `strata bench` cleans up after itself: the keys it writes under `bench/` are deleted at
//! the end (and it says so) unless `--keep`, and other keys there are left alone.

use assert_cmd::Command;
use predicates::prelude::*;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE");
    cmd
}

/// The keys listed under `prefix`, one a line.
fn list(store: &str, prefix: &str) -> Vec<String> {
    let out = strata()
        .args(["--store", store, "list", prefix])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A short benchmark on `store` with the given workload and extra arguments.
fn bench(store: &str, workload: &str, extra: &[&str]) -> String {
    let out = strata()
        .args(["--store", store, "bench", "--workload", workload])
        .args(["--keys", "50", "--value-size", "64", "--concurrency", "2"])
        .args(["--duration", "200ms"])
        .args(extra)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn bench_deletes_its_keys_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    // A key of the user's under bench/ that is not one of the benchmark's.
    strata()
        .args(["--store", &store, "put", "bench/mine"])
        .write_stdin("mine")
        .assert()
        .success();
    for workload in ["put", "get", "mixed"] {
        let stdout = bench(&store, workload, &[]);
        assert!(
            stdout.contains("writing up to 50 keys under bench/"),
            "{stdout}"
        );
        // get and mixed prefill every key; put writes some of them.
        let deleted = stdout
            .lines()
            .find_map(|l| l.strip_prefix("deleted the "))
            .unwrap_or_else(|| panic!("{workload}: no cleanup line in {stdout}"));
        let count: usize = deleted.split(' ').next().unwrap().parse().unwrap();
        assert!(count > 0 && count <= 50, "{workload}: {deleted}");
        if workload != "put" {
            assert_eq!(count, 50, "{workload}: {deleted}");
        }
        assert_eq!(list(&store, "bench/"), ["bench/mine"], "{workload}");
    }
}

#[test]
fn bench_with_keep_leaves_its_keys_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    let stdout = bench(&store, "get", &["--keep"]);
    assert!(
        stdout.contains("kept the 50 keys (3200 bytes) written under bench/ (--keep)"),
        "{stdout}"
    );
    let keys = list(&store, "bench/");
    assert_eq!(keys.len(), 50, "{keys:?}");
    assert_eq!(keys[0], "bench/0000000000");
    // A later run without --keep removes them.
    bench(&store, "put", &[]);
    assert!(list(&store, "bench/").is_empty());
}

#[test]
fn bench_on_a_store_that_cannot_be_opened_fails_before_writing() {
    // A store that cannot be opened: an error before anything is written, no cleanup line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regular-file");
    std::fs::write(&file, "").unwrap();
    strata()
        .args(["--store", &format!("file://{}/s", file.display()), "bench"])
        .args(["--duration", "100ms"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("deleted").not())
        .stderr(predicate::str::contains("panicked").not());
}
