//! The `strata` binary's exit codes and messages for bad input, on stores that need no
//! setup (round trips against persistent stores live beside each backend's CLI tests).

use assert_cmd::Command;
use predicates::prelude::*;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE");
    cmd
}

#[test]
fn missing_key_exits_3_and_names_the_key() {
    strata()
        .args(["--store", "memory:", "get", "no/such/key"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no/such/key").and(predicate::str::contains("not found")));
}

#[test]
fn bad_uri_exits_1_and_names_the_scheme() {
    strata()
        .args(["--store", "floppy://a", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown URI scheme `floppy:`"));
}

#[test]
fn unknown_config_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.toml");
    std::fs::write(&path, "type = \"memory\"\ncolour = \"red\"\n").unwrap();
    strata()
        .args(["--config", path.to_str().unwrap(), "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("field `colour`"));
}

#[test]
fn failed_conditional_put_exits_4() {
    strata()
        .args(["--store", "memory:", "put", "k", "--if-version", "42"])
        .write_stdin("value")
        .assert()
        .code(4)
        .stderr(predicate::str::contains("version mismatch"));
}

#[test]
fn invalid_key_is_explained() {
    strata()
        .args(["--store", "memory:", "head", "a/../b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid key").and(predicate::str::contains("`..`")));
}

#[test]
fn put_prints_key_size_and_version() {
    strata()
        .args(["--store", "memory:", "put", "greeting"])
        .write_stdin("hello")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("greeting\t5\t"));
}
