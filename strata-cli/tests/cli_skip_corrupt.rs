//! `--skip-corrupt` on `list` and `migrate`, against a file store with damaged value
//! files (layout: `store-file/src/layout.rs`; each value file carries a header CRC and a
//! value CRC). Without the flag a command stops at the first damaged entry, naming its
//! key and file; with it, each is named on stderr, every healthy key is handled, and the
//! exit code is 6.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").env_remove("RUST_LOG");
    cmd
}

const HEALTHY: &[&str] = &["a/1", "a/2", "a/3", "m/1", "m/2"];

/// A file store under `dir` holding `HEALTHY` and `damaged`, each value `value of KEY`.
fn file_store(dir: &Path, damaged: &str) -> String {
    let uri = format!("file://{}", dir.join("files").display());
    for key in HEALTHY.iter().copied().chain([damaged]) {
        strata()
            .args(["--store", &uri, "put", key, "-"])
            .write_stdin(format!("value of {key}"))
            .assert()
            .success();
    }
    uri
}

/// The value file of `key` (`a/b` is `a/b~`: no key here needs encoding).
fn value_file(dir: &Path, key: &str) -> PathBuf {
    dir.join("files").join(format!("{key}~"))
}

fn flip(path: &Path, at: impl FnOnce(usize) -> usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at(bytes.len());
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn migrate_skip_corrupt_copies_every_healthy_key_and_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = "m/0-bad";
    let from = file_store(dir.path(), damaged);
    // The last byte is the value's: the header still reads, the value checksum fails.
    let file = value_file(dir.path(), damaged);
    flip(&file, |len| len - 1);
    let to = format!("redb://{}", dir.path().join("to.redb").display());
    let migrate = |extra: &[&str]| {
        let mut cmd = strata();
        cmd.current_dir(dir.path())
            .args(["migrate", "--from", &from, "--to", &to, "--no-progress"])
            .args(extra);
        cmd
    };

    migrate(&[]).assert().code(1).stderr(
        predicate::str::contains(format!("key `{damaged}`"))
            .and(predicate::str::contains(file.display().to_string()))
            .and(predicate::str::contains("checksum")),
    );

    migrate(&["--skip-corrupt", "--verify"])
        .assert()
        .code(6)
        .stderr(
            predicate::str::contains(format!("damaged: {damaged}: "))
                .and(predicate::str::contains(file.display().to_string())),
        )
        .stdout(predicate::str::contains(format!(
            "copied {} keys",
            HEALTHY.len()
        )))
        .stdout(predicate::str::contains(
            "damaged 1; verified 5; failures 0",
        ));

    let listed = strata().args(["--store", &to, "list"]).assert().success();
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert_eq!(listed.lines().collect::<Vec<_>>(), HEALTHY);
    for key in HEALTHY {
        strata()
            .args(["--store", &to, "get", key])
            .assert()
            .success()
            .stdout(format!("value of {key}"));
    }
}

#[test]
fn list_stops_at_a_damaged_entry_or_names_it_and_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    // Last in key order, in a directory of its own.
    let damaged = "z/bad";
    let store = file_store(dir.path(), damaged);
    let file = value_file(dir.path(), damaged);
    flip(&file, |_| 0); // the header's magic number

    strata()
        .args(["--store", &store, "list"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains(format!("key `{damaged}`"))
                .and(predicate::str::contains(file.display().to_string())),
        );

    let out = strata()
        .args(["--store", &store, "list", "--skip-corrupt"])
        .assert()
        .code(6)
        .stderr(
            predicate::str::contains(format!("damaged: corrupted data (key `{damaged}`)"))
                .and(predicate::str::contains(file.display().to_string()))
                .and(predicate::str::contains("skipped 1 damaged entries")),
        );
    let listed = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        listed.lines().all(|key| HEALTHY.contains(&key)),
        "only healthy keys are listed: {listed}"
    );
}

/// The file store's `list` going on after a damaged entry (the list contract) is the file
/// store's part of issue 16; until it is merged, the entries read together with the
/// damaged one are lost with it.
#[test]
fn list_skip_corrupt_lists_every_healthy_key_around_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = "a/2-bad";
    let store = file_store(dir.path(), damaged);
    flip(&value_file(dir.path(), damaged), |_| 0);
    let out = strata()
        .args(["--store", &store, "list", "--skip-corrupt"])
        .assert()
        .code(6);
    let listed = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(listed.lines().collect::<Vec<_>>(), HEALTHY);
}
