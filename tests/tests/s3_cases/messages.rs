//! What a person reads of an S3 failure: one line saying what failed, the key, and the
//! server's error code, never the XML body of the answer (object_store's own text embeds
//! it), and nothing twice. The body stays available to code as the error's cause.

use store_core::{Error, ErrorKind, PutMode, Store, Version};
use store_s3::S3Store;

use super::key;
use crate::s3_support::{block_on, config};

/// `err` shown is one short line without any of the answer's XML; it names `code`, once.
pub(crate) fn assert_one_line(err: &Error, code: &str, what: &str) {
    let shown = err.to_string();
    assert!(!shown.contains('\n'), "{what}: more than one line: {shown}");
    assert!(shown.len() < 300, "{what}: {} bytes: {shown}", shown.len());
    assert!(
        !shown.contains("<?xml") && !shown.contains("<Error>") && !shown.contains("</"),
        "{what}: the answer's body is shown: {shown}"
    );
    assert_eq!(
        shown.matches(code).count(),
        1,
        "{what}: `{code}` once in {shown}"
    );
}

/// A failed `Create` and a failed `Update` (each a 412 from the server) read as one line
/// with the operation, the key and `PreconditionFailed`; the answer is kept as the cause.
#[test]
fn a_conflict_is_one_line_with_the_server_code() {
    let Some(config) = config() else { return };
    let store = S3Store::connect(config).expect("connect");
    block_on(async {
        let k = key("messages/conflict");
        let current = store
            .put(&k, "v1".into(), PutMode::Overwrite)
            .await
            .unwrap()
            .version;
        let stale = Version::new(format!("{current}-stale"));
        for (mode, kind) in [
            (PutMode::Create, ErrorKind::AlreadyExists),
            (PutMode::Update(stale), ErrorKind::VersionMismatch),
        ] {
            let what = format!("{mode:?}");
            let err = store.put(&k, "v2".into(), mode).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{what}: {err}");
            assert_eq!(err.key(), Some(k.as_str()), "{what}: {err}");
            assert_one_line(&err, "PreconditionFailed", &what);
            assert!(err.to_string().contains("conditional put"), "{what}: {err}");
            let cause = err.cause().map(ToString::to_string).unwrap_or_default();
            assert!(
                cause.contains("PreconditionFailed"),
                "{what}: the server's answer is kept as the cause: {cause:?}"
            );
        }
    });
}

/// A missing bucket reads as one line naming the bucket and `NoSuchBucket`, for an
/// answer with a body (`get`) and one without (`head`, which the store checks).
#[test]
fn a_missing_bucket_is_one_line_with_the_server_code() {
    let Some(mut config) = config() else { return };
    config.bucket = format!("strata-missing-{:016x}", rand::random::<u64>());
    let store = S3Store::connect(config).expect("connect");
    block_on(async {
        let k = key("messages/missing-bucket");
        for (what, err) in [
            ("get", store.get(&k).await.unwrap_err()),
            ("head", store.head(&k).await.unwrap_err()),
            (
                "put",
                store
                    .put(&k, "v".into(), PutMode::Overwrite)
                    .await
                    .unwrap_err(),
            ),
        ] {
            assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
            assert_one_line(&err, "NoSuchBucket", what);
            assert!(err.to_string().starts_with("not found: "), "{what}: {err}");
        }
    });
}
