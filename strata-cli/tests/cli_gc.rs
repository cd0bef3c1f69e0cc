//! `strata gc` on a redb store, each step in its own process: a dry run deletes nothing,
//! a real run deletes what neither a keys file nor a prefix keeps, `--older-than` spares
//! recent writes, and bad arguments fail clearly.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

fn strata(store: &str) -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").env_remove("RUST_LOG");
    cmd.args(["--store", store]);
    cmd
}

fn put(store: &str, key: &str) {
    strata(store)
        .args(["put", key, "-"])
        .write_stdin("v")
        .assert()
        .success();
}

fn keys(store: &str) -> String {
    let out = strata(store).arg("list").assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn seed(dir: &Path) -> String {
    let store = format!("redb://{}", dir.join("gc.redb").display());
    for key in ["roots/main", "blobs/a", "blobs/b", "blobs/c", "tmp/x"] {
        put(&store, key);
    }
    store
}

#[test]
fn gc_keeps_what_is_reachable_and_deletes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = seed(dir.path());
    let file = dir.path().join("reachable.txt");
    std::fs::write(&file, "# kept by the roots\nblobs/a\n\nblobs/c\n").unwrap();
    // Everything was written under a second ago: with the one-second clock margin gone
    // by, all of it is older than the cutoff.
    std::thread::sleep(Duration::from_millis(1100));
    let args = |extra: &[&str]| {
        let mut v = vec![
            "gc".to_owned(),
            "--reachable".into(),
            file.display().to_string(),
        ];
        v.extend([
            "--reachable".into(),
            "prefix:roots/".into(),
            "--older-than".into(),
        ]);
        v.push("1ms".into());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    strata(&store)
        .args(args(&["--dry-run", "--no-progress"]))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "dry run: would delete 2 keys (2 bytes); kept 3 reachable",
        ));
    assert_eq!(keys(&store).lines().count(), 5, "a dry run deletes nothing");
    strata(&store)
        .args(args(&[]))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "deleted 2 keys (2 bytes); kept 3 reachable, 0 newer",
        ));
    // The released lease stays, marked expired (deleting it could remove a successor's).
    assert_eq!(
        keys(&store),
        "_strata/gc/lease\nblobs/a\nblobs/c\nroots/main\n"
    );
    // Recent writes are kept whatever the roots say.
    put(&store, "tmp/new");
    strata(&store)
        .args(["gc", "--reachable", "prefix:roots/", "--older-than", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "deleted 0 keys (0 bytes); kept 1 reachable, 3 newer",
        ));
}

#[test]
fn gc_refuses_bad_arguments_and_missing_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = seed(dir.path());
    // No --reachable: a usage error, never "nothing is reachable".
    strata(&store)
        .args(["gc", "--older-than", "1h"])
        .assert()
        .code(2);
    strata(&store)
        .args(["gc", "--reachable", "prefix:roots/", "--older-than", "0s"])
        .assert()
        .code(2);
    let missing = dir.path().join("none.txt");
    strata(&store)
        .args([
            "gc",
            "--reachable",
            missing.to_str().unwrap(),
            "--older-than",
            "1h",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("reading the reachable keys"));
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "ok/key\nbad//key\n").unwrap();
    strata(&store)
        .args([
            "gc",
            "--reachable",
            bad.to_str().unwrap(),
            "--older-than",
            "1h",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2"));
    // A store given both ways is a usage error; a missing store is not created.
    strata(&store)
        .args([
            "gc",
            "memory:",
            "--reachable",
            "prefix:a/",
            "--older-than",
            "1h",
        ])
        .assert()
        .code(2);
    let absent = format!("redb://{}", dir.path().join("absent.redb").display());
    let mut cmd = Command::cargo_bin("strata").unwrap();
    cmd.env_remove("STRATA_STORE")
        .args([
            "gc",
            &absent,
            "--reachable",
            "prefix:a/",
            "--older-than",
            "1h",
        ])
        .assert()
        .code(7);
    assert!(!dir.path().join("absent.redb").exists());
}
