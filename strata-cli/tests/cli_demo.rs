//! `strata demo`: it runs on the store `--store` or `--config` names (not silently on the
//! embedded default), and any vector count it accepts runs to the end.

use assert_cmd::Command;
use predicates::prelude::*;

fn strata(cwd: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").current_dir(cwd);
    cmd
}

#[test]
fn demo_runs_on_the_store_named_by_store() {
    let cwd = tempfile::tempdir().unwrap();
    let store = format!("file://{}", cwd.path().join("named").display());
    strata(cwd.path())
        .args(["--store", &store, "demo", "--vectors", "40"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("the store {store}")));
    // The demo's keys are in the named store, and nothing went to the embedded default.
    strata(cwd.path())
        .args(["--store", &store, "list", "demo/"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("demo/accounts/alice\n")
                .and(predicate::str::contains("demo/notes/2\n")),
        );
    strata(cwd.path())
        .args(["--store", &store, "list", "vector-index/demo-vectors/"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty().not());
    assert!(!cwd.path().join("strata-data").exists());
}

#[test]
fn demo_runs_on_the_store_a_config_file_names() {
    let cwd = tempfile::tempdir().unwrap();
    let config = cwd.path().join("store.toml");
    let db = cwd.path().join("named.redb");
    std::fs::write(&config, format!("type = \"redb\"\npath = {:?}\n", db)).unwrap();
    strata(cwd.path())
        .args([
            "--config",
            config.to_str().unwrap(),
            "demo",
            "--vectors",
            "3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "reopened the store and the index (3 vectors)",
        ));
    strata(cwd.path())
        .args(["--config", config.to_str().unwrap(), "head", "demo/notes/0"])
        .assert()
        .success();
    assert!(!cwd.path().join("strata-data").exists());
}

#[test]
fn demo_on_an_in_memory_store_reopens_only_the_index() {
    let cwd = tempfile::tempdir().unwrap();
    strata(cwd.path())
        .args(["--store", "memory:", "demo", "--vectors", "3"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("reopened the index (3 vectors)")
                .and(predicate::str::contains("they are gone now")),
        );
}

#[test]
fn dir_and_store_together_are_a_usage_error() {
    let cwd = tempfile::tempdir().unwrap();
    strata(cwd.path())
        .args(["--store", "memory:", "demo", "--dir", "elsewhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dir"));
    assert!(!cwd.path().join("elsewhere").exists());
}

/// Small counts run to the end (or, for 0, are refused as a usage error): never a panic.
#[test]
fn small_vector_counts_never_panic() {
    for (count, code) in [("0", 2), ("1", 0), ("3", 0), ("31", 0), ("33", 0)] {
        let cwd = tempfile::tempdir().unwrap();
        let out = strata(cwd.path())
            .args(["demo", "--dir", "data", "--vectors", count])
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "--vectors {count}: {stderr}");
        assert!(!stderr.contains("panicked"), "--vectors {count}: {stderr}");
        if code == 0 {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains(&format!("built an HNSW index of {count} vectors")),
                "--vectors {count}: {stdout}"
            );
        }
    }
}
