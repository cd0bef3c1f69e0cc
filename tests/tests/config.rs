//! Opening stores by config map and URI through the facade's registry, and the errors
//! bad input gets: each names the problem.

use serde_json::json;
use strata::{ConfigMap, ErrorKind, Key};

fn map(v: serde_json::Value) -> ConfigMap {
    v.as_object().expect("object").clone()
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    strata_tests::harness::runtime().block_on(f)
}

#[test]
fn opens_memory_from_map_and_uri() {
    assert!(block_on(strata::open(&map(json!({"type": "memory"})))).is_ok());
    assert!(block_on(strata::open_uri("memory:")).is_ok());
}

#[test]
fn unknown_field_is_rejected_by_name() {
    let err = block_on(strata::open(&map(
        json!({"type": "memory", "capacity": 10}),
    )))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("field `capacity`"), "{err}");
}

#[test]
fn unknown_type_lists_known_types() {
    let err = block_on(strata::open(&map(json!({"type": "floppy"})))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    let msg = err.to_string();
    assert!(
        msg.contains("field `type`") && msg.contains("floppy") && msg.contains("memory"),
        "{msg}"
    );
}

#[test]
fn missing_or_mistyped_type_is_rejected() {
    let err = block_on(strata::open(&map(json!({})))).unwrap_err();
    assert!(err.to_string().contains("field `type`: missing"), "{err}");
    let err = block_on(strata::open(&map(json!({"type": 3})))).unwrap_err();
    assert!(err.to_string().contains("field `type`"), "{err}");
}

#[test]
fn bad_uris_are_rejected() {
    for (uri, needle) in [
        ("not a uri", "not a valid URI"),
        ("floppy://a", "unknown URI scheme `floppy:`"),
        ("memory:?size=3", "takes no path or options"),
    ] {
        let err = block_on(strata::open_uri(uri)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{uri}");
        assert!(err.to_string().contains(needle), "{uri}: {err}");
    }
}

#[test]
fn invalid_key_names_the_rule() {
    let err = Key::new("users//42").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    assert_eq!(
        err.to_string(),
        "invalid key (key `users//42`): empty segment (leading, trailing or doubled `/`)"
    );
}
