//! Opening stores by config map and URI through the facade's registry, and the errors
//! bad input gets: each names the problem.

use serde_json::json;
use strata::{CacheFactory, ConfigMap, Durability, ErrorKind, Key, RedbConfig, S3Config};

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
        ("memory:?size=3", "field `size`: unknown field"),
        ("memory:/data", "takes no path"),
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

/// The config map a URI stands for, through the facade's registry.
fn uri_config(uri: &str) -> strata::Result<ConfigMap> {
    strata::registry().config_from_uri(uri)
}

/// Per backend, a URI with an unknown query parameter and one with a mistyped value: both
/// are `InvalidConfig` naming the parameter, and neither message repeats the value.
#[test]
fn uri_query_errors_name_the_parameter_never_the_value() {
    for (uri, field) in [
        ("memory:?colour=SECRETVALUE", "colour"),
        ("cache:?colour=SECRETVALUE", "colour"),
        ("cache:?max_bytes=SECRETVALUE", "max_bytes"),
        ("cache:?max_bytes=-1", "max_bytes"),
        ("redb:///tmp/x.redb?colour=SECRETVALUE", "colour"),
        ("redb:///tmp/x.redb?cache_size=SECRETVALUE", "cache_size"),
        ("redb:///tmp/x.redb?durability=SECRETVALUE", "durability"),
        ("redb:///tmp/x.redb?create=SECRETVALUE", "create"),
        ("redb:///tmp/x.redb?path=/SECRETVALUE", "path"),
        ("file:///tmp/x?colour=SECRETVALUE", "colour"),
        ("file:///tmp/x?sync=SECRETVALUE", "sync"),
        ("file:///tmp/x?create=SECRETVALUE", "create"),
        ("s3://bkt/p?colour=SECRETVALUE", "colour"),
        ("s3://bkt/p?max_retries=SECRETVALUE", "max_retries"),
        ("s3://bkt/p?allow_http=SECRETVALUE", "allow_http"),
        ("s3://bkt/p?retry_timeout=SECRETVALUE", "retry_timeout"),
        (
            "s3://bkt/p?secret_access_key=SECRETVALUE",
            "secret_access_key",
        ),
        ("s3://bkt/p?concurrency=1&concurrency=2", "concurrency"),
    ] {
        let err = uri_config(uri).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{uri}");
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("field `{field}`")),
            "{uri}: {shown}"
        );
        assert!(!shown.contains("SECRETVALUE"), "{uri}: {shown}");
    }
}

/// Query values arrive typed: numbers, booleans, enums and durations in the query are what
/// the backend's config struct reads, and the store opened from the URI uses them.
#[test]
fn uri_query_values_round_trip_typed() {
    let cache = CacheFactory::open_cache(&uri_config("cache:?max_bytes=1024").unwrap()).unwrap();
    assert_eq!(cache.max_bytes(), 1024);

    let redb: RedbConfig = strata::parse_config(
        &uri_config("redb:///data/x.redb?durability=none&cache_size=4096&create=false").unwrap(),
    )
    .unwrap();
    assert_eq!(
        redb,
        RedbConfig::new("/data/x.redb")
            .durability(strata::RedbDurability::None)
            .cache_size(4096)
            .create(false)
    );

    let s3 = S3Config::from_map(
        &uri_config("s3://bkt/a/b?max_retries=7&allow_http=false&retry_timeout=1500ms&region=007")
            .unwrap(),
    )
    .unwrap();
    assert_eq!((s3.bucket.as_str(), s3.prefix.as_str()), ("bkt", "a/b"));
    assert_eq!(s3.max_retries, 7);
    assert_eq!(s3.allow_http, Some(false));
    assert_eq!(s3.retry_timeout, std::time::Duration::from_millis(1500));
    // A string field stays a string even when it looks like a number.
    assert_eq!(s3.region.as_deref(), Some("007"));

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("files");
    let uri = format!("file://{}?sync=never", root.display());
    let store = block_on(strata::open_uri(&uri)).unwrap();
    assert_eq!(store.capabilities().durability, Durability::ProcessCrash);
    // `create=false` arrives as a boolean: a missing root is not created.
    let missing = format!("file://{}?create=false", dir.path().join("none").display());
    let err = block_on(strata::open_uri(&missing)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// `open_uri_with`: options are config fields like query parameters (typed, checked by
/// name), and a field in both the URI and the options is refused rather than one winning.
#[test]
fn open_uri_with_merges_options_into_the_query() {
    let options = [("max_bytes".to_owned(), "2048".to_owned())];
    let map = strata::registry()
        .config_from_uri_with("cache:", &options)
        .unwrap();
    assert_eq!(CacheFactory::open_cache(&map).unwrap().max_bytes(), 2048);
    let store = block_on(strata::open_uri_with("cache:", [("max_bytes", "2048")])).unwrap();
    assert!(store.capabilities().may_evict);
    assert!(
        block_on(strata::open_uri_with(
            "memory:",
            Vec::<(String, String)>::new()
        ))
        .is_ok()
    );

    for (uri, options, field, why) in [
        (
            "memory:",
            ("colour", "SECRETVALUE"),
            "colour",
            "unknown field",
        ),
        (
            "cache:",
            ("max_bytes", "SECRETVALUE"),
            "max_bytes",
            "expected",
        ),
        (
            "cache:?max_bytes=1",
            ("max_bytes", "2"),
            "max_bytes",
            "is given twice",
        ),
        (
            "s3://bkt/p",
            ("bucket", "other"),
            "bucket",
            "is given twice",
        ),
        (
            "redb:///tmp/x.redb",
            ("path", "/y.redb"),
            "path",
            "is given twice",
        ),
    ] {
        let err = block_on(strata::open_uri_with(uri, [options])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{uri}");
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("field `{field}`: {why}")),
            "{uri}: {shown}"
        );
        assert!(!shown.contains("SECRETVALUE"), "{uri}: {shown}");
    }
}

/// S3 through `open_uri_with`: the URI says where, the options carry the credentials
/// (which the query may not), and the store works against the test server.
#[test]
fn open_uri_with_passes_s3_credentials_as_options() {
    let Some(config) = strata_tests::s3env::s3_config() else {
        return;
    };
    let text = |field: &str| config[field].as_str().expect("a string").to_owned();
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let uri = format!(
        "s3://{}/{}?endpoint={}&region={}&max_retries=1",
        text("bucket"),
        text("prefix"),
        encode(&text("endpoint")),
        encode(&text("region")),
    );
    let secret = text("secret_access_key");
    let options = [
        ("access_key_id", text("access_key_id")),
        ("secret_access_key", secret.clone()),
    ];
    block_on(async {
        let store = strata::open_uri_with(&uri, options.clone()).await.unwrap();
        let key = Key::new("via/uri-with").unwrap();
        store
            .put(&key, "hello".into(), strata::PutMode::Create)
            .await
            .unwrap();
        let entry = store.get(&key).await.unwrap().expect("the value just put");
        assert_eq!(entry.value.as_ref(), b"hello");
        store.delete(&key).await.unwrap();

        // The same secret in the query is refused, and not repeated in the message.
        let in_query = format!("{uri}&secret_access_key={}", encode(&secret));
        let err = strata::open_uri_with(&in_query, [options[0].clone()])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("secrets do not belong in a URI"),
            "{err}"
        );
        assert!(!err.to_string().contains(&secret), "{err}");
    });
}

/// Puts the current directory back when dropped, even if the test fails.
struct CurrentDir(std::path::PathBuf);

impl Drop for CurrentDir {
    fn drop(&mut self) {
        std::env::set_current_dir(&self.0).expect("restoring the current directory");
    }
}

/// A config file in directory A names `path = "db.redb"` (and a file store root
/// `"files"`, and a tiered store whose backend is `"tier.redb"`); opened while the
/// current directory is B, the stores live in A, and nothing is made in B. (The only
/// test here that changes the current directory; the others use absolute paths.)
#[test]
fn relative_paths_in_a_config_file_are_relative_to_the_file() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let redb = a.path().join("redb.toml");
    std::fs::write(&redb, "type = \"redb\"\npath = \"db.redb\"\n").unwrap();
    let files = a.path().join("files.json");
    std::fs::write(&files, r#"{"type": "file", "path": "files"}"#).unwrap();
    let tiered = a.path().join("tiered.toml");
    std::fs::write(
        &tiered,
        "type = \"tiered\"\n[frontend]\ntype = \"memory\"\n[backend]\ntype = \"redb\"\npath = \"tier.redb\"\n",
    )
    .unwrap();

    let _restore = CurrentDir(std::env::current_dir().unwrap());
    std::env::set_current_dir(b.path()).unwrap();
    block_on(async {
        for config in [&redb, &files, &tiered] {
            let store = strata::open_file(config).await.unwrap();
            let key = Key::new("here").unwrap();
            store
                .put(&key, "1".into(), strata::PutMode::Overwrite)
                .await
                .unwrap();
            store.flush().await.unwrap();
        }
    });
    for made in ["db.redb", "files", "tier.redb"] {
        assert!(
            a.path().join(made).exists(),
            "{made} not in the file's directory"
        );
        assert!(
            !b.path().join(made).exists(),
            "{made} made in the current directory"
        );
    }
}
