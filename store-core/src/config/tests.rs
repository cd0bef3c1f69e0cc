//! `parse_config`: fields named, values never shown.

use super::*;
use crate::ErrorKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Example {
    path: String,
    #[serde(default)]
    max_bytes: Option<u64>,
}

fn map(v: serde_json::Value) -> ConfigMap {
    v.as_object().unwrap().clone()
}

#[test]
fn unknown_field_is_named() {
    let err = parse_config::<Example>(&map(serde_json::json!({
        "type": "x", "path": "/p", "colour": "red"
    })))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("field `colour`"), "{err}");
}

#[test]
fn wrong_type_is_named() {
    let err = parse_config::<Example>(&map(serde_json::json!({
        "path": "/p", "max_bytes": "lots"
    })))
    .unwrap_err();
    assert!(err.to_string().contains("field `max_bytes`"), "{err}");
}

#[test]
fn missing_type_is_reported() {
    let err = config_type(&ConfigMap::new()).unwrap_err();
    assert!(err.to_string().contains("field `type`"), "{err}");
}

#[test]
fn secrets_are_redacted() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    assert_eq!(s.expose(), "hunter2");
}

/// A value no error may print.
const SECRET: &str = "SUPERSECRET-abc123";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Mode {
    Fast,
    Safe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Inner {
    count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Spec {
    Number(u64),
    Inner(Inner),
}

/// A `FromStr` type whose error quotes its input, as many do.
#[derive(Debug, Default)]
#[allow(dead_code)]
struct Port(u16);

impl std::str::FromStr for Port {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        s.parse()
            .map(Port)
            .map_err(|_| format!("`{s}` is not a port (and neither is {s:?})"))
    }
}

fn from_str<'de, D: Deserializer<'de>, T>(d: D) -> std::result::Result<T, D::Error>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Everything {
    path: String,
    #[serde(default)]
    max_retries: usize,
    #[serde(default)]
    small: u8,
    #[serde(default)]
    pair: Option<(u32, u32)>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default, deserialize_with = "from_str")]
    port: Port,
    #[serde(default)]
    inner: Option<Inner>,
    #[serde(default)]
    tags: Vec<u32>,
    #[serde(default)]
    spec: Option<Spec>,
    #[serde(default)]
    verbose: bool,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    ratio: f64,
}

fn everything_error(extra: serde_json::Value) -> Error {
    let mut config = map(serde_json::json!({"type": "x", "path": "/p"}));
    config.extend(map(extra));
    parse_config::<Everything>(&config).unwrap_err()
}

#[test]
fn no_error_shape_prints_the_value() {
    let long_secret = format!("{SECRET} with \"quotes\" and \\ backslashes");
    let cases: Vec<(serde_json::Value, &str, &str)> = vec![
        // invalid type
        (
            serde_json::json!({"max_retries": SECRET}),
            "field `max_retries`",
            "expected an unsigned integer, found a string",
        ),
        (
            serde_json::json!({"path": 7}),
            "field `path`",
            "expected a string, found an integer",
        ),
        (
            serde_json::json!({"verbose": SECRET}),
            "field `verbose`",
            "expected a boolean, found a string",
        ),
        (
            serde_json::json!({"inner": SECRET}),
            "field `inner`",
            "expected a map of fields, found a string",
        ),
        // invalid value (out of range)
        (
            serde_json::json!({"small": 300_123}),
            "field `small`",
            "expected an unsigned integer up to 255, found an integer that is not one",
        ),
        // invalid length
        (
            serde_json::json!({"pair": [1]}),
            "field `pair`",
            "found 1 element",
        ),
        (
            serde_json::json!({"pair": [1, 2, 3]}),
            "field `pair`",
            "found 3 elements",
        ),
        // unknown variant: the accepted names, not the given one
        (
            serde_json::json!({"mode": SECRET}),
            "field `mode`",
            "unknown value; expected one of `fast`, `safe`",
        ),
        // missing field, nested
        (
            serde_json::json!({"inner": {}}),
            "field `inner.count`",
            "missing",
        ),
        // unknown field: its name (a name, not a value) but never its value
        (
            serde_json::json!({"colour": SECRET}),
            "field `colour`",
            "unknown field; known fields: `path`, `max_retries`",
        ),
        (
            serde_json::json!({"inner": {"count": 1, "extra": SECRET}}),
            "field `inner.extra`",
            "unknown field; known fields: `count`",
        ),
        // custom errors from `FromStr` quoting the value, plain and escaped
        (
            serde_json::json!({"port": long_secret}),
            "field `port`",
            "`<value>` is not a port (and neither is \"<value>\")",
        ),
        // inside lists and untagged enums
        (
            serde_json::json!({"tags": [1, SECRET]}),
            "field `tags[1]`",
            "expected an unsigned integer up to 4294967295, found a string",
        ),
        (
            serde_json::json!({"spec": SECRET}),
            "field `spec`",
            "did not match any variant",
        ),
        (
            serde_json::json!({"spec": {"count": SECRET}}),
            "field `spec`",
            "did not match any variant",
        ),
    ];
    for (extra, field, message) in cases {
        let shown = extra.to_string();
        let err = everything_error(extra);
        let text = format!("{err} {err:?}");
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{shown}: {text}");
        assert!(text.contains(field), "{shown}: no {field} in {text}");
        assert!(text.contains(message), "{shown}: no `{message}` in {text}");
        for leak in [SECRET, "300123"] {
            assert!(!text.contains(leak), "{shown}: the value leaked: {text}");
        }
    }
}

#[test]
fn numbers_and_booleans_may_be_strings() {
    // `${VAR}` expansions and URI query parameters are strings.
    let parsed: Everything = parse_config(&map(serde_json::json!({
        "path": "/p", "max_retries": "5", "small": " 7 ", "verbose": "true",
        "limit": "42", "ratio": "0.5", "tags": ["1", 2], "pair": ["3", "4"],
    })))
    .unwrap();
    assert_eq!(parsed.max_retries, 5);
    assert_eq!(parsed.small, 7);
    assert!(parsed.verbose);
    assert_eq!(parsed.limit, Some(42));
    assert_eq!(parsed.ratio, 0.5);
    assert_eq!(parsed.tags, [1, 2]);
    assert_eq!(parsed.pair, Some((3, 4)));
    // A string field stays a string, digits or not.
    let parsed: Everything = parse_config(&map(serde_json::json!({"path": "123"}))).unwrap();
    assert_eq!(parsed.path, "123");
}

#[test]
fn a_mistyped_store_type_is_described_not_printed() {
    let err = config_type(&map(serde_json::json!({"type": [SECRET]}))).unwrap_err();
    assert!(err.to_string().contains("found a list"), "{err}");
    assert!(!err.to_string().contains(SECRET), "{err}");
}

#[test]
fn uris_are_redacted_for_messages() {
    for (uri, shown) in [
        ("memory:", "memory:"),
        ("file:///d/a?sync=always", "file:///d/a?sync=…"),
        ("s3://b/p?secret=x&flag", "s3://b/p?secret=…&flag"),
        ("s3://id:pw@b/p", "s3://id:…@b/p"),
        ("s3://id@b/p", "s3://id@b/p"),
        ("not a uri ?token=abc", "not a uri ?token=…"),
        ("redb:///d/x@y.redb", "redb:///d/x@y.redb"),
    ] {
        assert_eq!(redact_uri(uri), shown, "{uri}");
    }
}
