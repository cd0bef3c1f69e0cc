//! The PostgreSQL test server from the environment.
//!
//! `scripts/test.sh` starts a throwaway cluster and exports `STRATA_POSTGRES_URL`, plus
//! `STRATA_POSTGRES_REQUIRED=1`: then a missing server fails the test instead of skipping it.

/// The connection URL of the test server, or `None` (with a note on stderr) when none is
/// configured and none is required.
///
/// # Panics
/// When `STRATA_POSTGRES_REQUIRED=1` and `STRATA_POSTGRES_URL` is not set.
pub fn postgres_url() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(url) = var("STRATA_POSTGRES_URL") else {
        assert!(
            var("STRATA_POSTGRES_REQUIRED").as_deref() != Some("1"),
            "STRATA_POSTGRES_REQUIRED=1 but STRATA_POSTGRES_URL is not set: scripts/test.sh starts a server"
        );
        eprintln!("PostgreSQL part skipped: STRATA_POSTGRES_URL is not set");
        return None;
    };
    Some(url)
}

/// A fresh random table name, so tests never see each other's keys.
pub fn random_table() -> String {
    format!("strata_test_{:016x}", rand::random::<u64>())
}
