//! Commands that only read (get, head, list, migrate's `--from`) and delete never create a
//! store: a mistyped path fails with exit 7 ("the store does not exist"), naming the path,
//! and nothing appears on disk. Commands that write (put) still create the store.
//!
//! The CLI opens those commands through `strata::registry().with_creates_missing(false)`;
//! the redb and file stores honouring that setting is their own part of issue 16 (h/redb,
//! h/file), so these tests are ignored until it is merged.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").env_remove("RUST_LOG");
    cmd
}

/// Every way to name a store at `path` (a redb file or a file-store root).
fn targets(dir: &Path) -> Vec<(Vec<String>, std::path::PathBuf)> {
    let redb = dir.join("no-such-dir").join("x.redb");
    let files = dir.join("no-such-root").join("files");
    let config = dir.join("redb.toml");
    let config_target = dir.join("also-missing").join("y.redb");
    std::fs::write(
        &config,
        format!("type = \"redb\"\npath = {:?}\n", config_target),
    )
    .unwrap();
    vec![
        (
            vec!["--store".into(), format!("redb://{}", redb.display())],
            redb.parent().unwrap().to_owned(),
        ),
        (
            vec!["--store".into(), format!("file://{}", files.display())],
            files.parent().unwrap().to_owned(),
        ),
        (
            vec!["--config".into(), config.display().to_string()],
            config_target.parent().unwrap().to_owned(),
        ),
    ]
}

#[test]
fn read_only_commands_on_a_missing_store_exit_7_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (target, created) in targets(dir.path()) {
        for command in [
            vec!["get", "k"],
            vec!["head", "k"],
            vec!["list"],
            vec!["delete", "k"],
        ] {
            strata()
                .current_dir(dir.path())
                .args(&target)
                .args(&command)
                .assert()
                .code(7)
                .stderr(predicate::str::contains("not found"));
            assert!(
                !created.exists(),
                "{target:?} {command:?} created {}",
                created.display()
            );
        }
    }
}

#[test]
fn migrate_from_a_missing_store_exits_7_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("from.redb");
    let to = format!("redb://{}", dir.path().join("to.redb").display());
    strata()
        .current_dir(dir.path())
        .args([
            "migrate",
            "--from",
            &format!("redb://{}", missing.display()),
            "--to",
            &to,
            "--no-progress",
        ])
        .assert()
        .code(7)
        .stderr(predicate::str::contains(missing.display().to_string()));
    assert!(!missing.parent().unwrap().exists());
}

#[test]
fn put_still_creates_the_store() {
    let dir = tempfile::tempdir().unwrap();
    for (target, created) in targets(dir.path()) {
        strata()
            .args(&target)
            .args(["put", "k", "-"])
            .write_stdin("v")
            .assert()
            .success();
        assert!(created.exists(), "{target:?}: put did not create the store");
        strata()
            .args(&target)
            .args(["get", "k"])
            .assert()
            .success()
            .stdout("v");
    }
}
