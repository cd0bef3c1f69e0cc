//! The crash harness can fail: a store that keeps nothing across a kill must be caught.

use strata::ConfigMap;

#[test]
fn crash_harness_detects_lost_writes() {
    let config: ConfigMap = serde_json::from_str(r#"{"type": "memory"}"#).unwrap();
    let outcome = std::panic::catch_unwind(|| {
        strata_tests::crash::run("crash_harness_detects_lost_writes", config, 1)
    });
    let payload =
        outcome.expect_err("a memory store loses everything on kill -9; the harness must say so");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains("lost"), "unexpected failure: {message}");
}
