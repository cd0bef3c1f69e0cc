//! `strata migrate` in both directions between redb and PostgreSQL (the server named by
//! `STRATA_POSTGRES_URL`; under `STRATA_POSTGRES_REQUIRED=1`, as scripts/test.sh sets, a
//! missing server fails the test instead of skipping it).

use assert_cmd::Command;

fn strata() -> Command {
    let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
    cmd.env_remove("STRATA_STORE").env_remove("RUST_LOG");
    cmd
}

fn postgres_url() -> Option<String> {
    match std::env::var("STRATA_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("STRATA_POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "STRATA_POSTGRES_REQUIRED=1 but STRATA_POSTGRES_URL is not set"
            );
            eprintln!("skipped: STRATA_POSTGRES_URL is not set");
            None
        }
    }
}

#[test]
fn migrate_to_postgres_and_back() {
    let Some(url) = postgres_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let from = format!("redb://{}", dir.path().join("from.redb").display());
    let back = format!("redb://{}", dir.path().join("back.redb").display());
    let sep = if url.contains('?') { '&' } else { '?' };
    let pg = format!("{url}{sep}table=cli_{:016x}", rand_suffix());
    for i in 0..50 {
        strata()
            .args(["--store", &from, "put", &format!("k/{i:03}")])
            .write_stdin(format!("value {i}"))
            .assert()
            .success();
    }
    for (a, b) in [(&from, &pg), (&pg, &back)] {
        strata()
            .args([
                "migrate",
                "--from",
                a,
                "--to",
                b,
                "--verify",
                "--no-progress",
            ])
            .assert()
            .success()
            .stdout(predicates::str::contains("copied 50 keys"))
            .stdout(predicates::str::contains("verified 50"));
    }
    strata()
        .args(["--store", &back, "get", "k/042"])
        .assert()
        .success()
        .stdout("value 42");
    // The password never shows in what the tool prints.
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user_info, _)| user_info.split_once(':'))
        .map(|(_, password)| password.to_owned());
    let out = strata()
        .args(["--store", &pg, "head", "no/such/key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    if let Some(password) = password {
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!shown.contains(&password), "{shown}");
    }
}

/// A table name suffix unique to this run.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}
