//! `strata bench` and `strata demo` on DynamoDB, whose batches hold at most 100 writes
//! (`Capabilities::max_batch_writes`): the tool's own batches (512 keys for the bench's
//! prefill and clean-up, the demo's removal of the previous index) must fit. The server is
//! the one named by `STRATA_DYNAMODB_ENDPOINT` (scripts/test.sh: moto); under
//! `STRATA_DYNAMODB_REQUIRED=1` a missing server fails the test instead of skipping it.

use assert_cmd::Command;

struct Server {
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
}

fn server() -> Option<Server> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("STRATA_DYNAMODB_ENDPOINT") else {
        assert!(
            var("STRATA_DYNAMODB_REQUIRED").as_deref() != Some("1"),
            "STRATA_DYNAMODB_REQUIRED=1 but STRATA_DYNAMODB_ENDPOINT is not set"
        );
        eprintln!("skipped: STRATA_DYNAMODB_ENDPOINT is not set");
        return None;
    };
    Some(Server {
        endpoint,
        access_key_id: var("STRATA_DYNAMODB_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        secret_access_key: var("STRATA_DYNAMODB_SECRET_ACCESS_KEY")
            .unwrap_or_else(|| "test".into()),
    })
}

impl Server {
    /// `strata` with the credentials in the standard AWS variables (a URI query may not
    /// hold a secret) and a store URI for a fresh table.
    fn strata(&self) -> (Command, String) {
        let mut cmd = Command::cargo_bin("strata").expect("the strata binary is built");
        cmd.env_remove("STRATA_STORE")
            .env_remove("RUST_LOG")
            .env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key);
        let table = format!("cli-{:016x}", rand_suffix());
        let endpoint: String = self
            .endpoint
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let uri = format!("dynamodb://{table}?region=us-east-1&endpoint={endpoint}");
        (cmd, uri)
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

#[test]
fn bench_prefills_and_cleans_up_more_keys_than_one_batch_holds() {
    let Some(server) = server() else { return };
    let (mut cmd, store) = server.strata();
    let out = cmd
        .args(["--store", &store, "bench", "--workload", "get"])
        .args(["--keys", "600", "--value-size", "64", "--concurrency", "2"])
        .args(["--duration", "200ms"])
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("get"), "{stdout}");
    // The clean-up removed every benchmark key.
    let (mut list, _) = server.strata();
    let listed = list
        .args(["--store", &store, "list", "bench/"])
        .assert()
        .success();
    assert_eq!(String::from_utf8_lossy(&listed.get_output().stdout), "");
}
