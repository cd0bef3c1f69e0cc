//! A missing bucket and refused credentials are failures of the bucket, never of one key:
//! `NotFound` naming the bucket with no key (so never "no value"), `PermissionDenied`.

use bytes::Bytes;
use futures::TryStreamExt;
use store_core::{
    Error, ErrorKind, Key, ListOptions, PutMode, PutOp, Result, Secret, Store, Version,
};
use store_s3::{MIN_PART_SIZE, S3Config, S3Store};

use super::key;
use super::messages::assert_one_line;
use crate::s3_support::raw::RawS3;
use crate::s3_support::{OwnServer, block_on, closed_port, config, random_prefix, settings};

fn assert_bucket_missing(err: &Error, bucket: &str, what: &str) {
    assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    assert_eq!(
        err.key(),
        None,
        "{what}: a missing bucket is no key's fault: {err}"
    );
    assert!(
        err.to_string().contains(&format!("bucket `{bucket}`")),
        "{what}: {err}"
    );
    assert!(!err.retryable(), "{what}: {err}");
    assert_one_line(err, "NoSuchBucket", what);
}

/// Every operation on `k`, each as its result: `head` first, whose answers have no body.
async fn every_operation(store: &S3Store, k: &Key) -> Vec<(&'static str, Result<()>)> {
    vec![
        ("head", store.head(k).await.map(drop)),
        ("get", store.get(k).await.map(drop)),
        (
            "put",
            store.put(k, "v".into(), PutMode::Overwrite).await.map(drop),
        ),
        (
            "create",
            store.put(k, "v".into(), PutMode::Create).await.map(drop),
        ),
        (
            "update",
            store
                .put(k, "v".into(), PutMode::Update(Version::new("\"0\"")))
                .await
                .map(drop),
        ),
        ("delete", store.delete(k).await),
        (
            "delete_many",
            store.delete_many(std::slice::from_ref(k)).await,
        ),
        (
            "get_many",
            store.get_many(std::slice::from_ref(k)).await.map(drop),
        ),
        (
            "put_many",
            store
                .put_many(vec![PutOp::overwrite(k.clone(), "v")])
                .await
                .map(drop),
        ),
        (
            "list",
            store
                .list(ListOptions::default())
                .try_collect::<Vec<_>>()
                .await
                .map(drop),
        ),
    ]
}

#[test]
fn missing_bucket_is_not_a_missing_key() {
    let Some(settings) = settings() else { return };
    let bucket = format!("strata-missing-{:016x}", rand::random::<u64>());
    let mut config = config().expect("settings");
    config.bucket = bucket.clone();
    config.multipart_threshold = MIN_PART_SIZE;
    let store = S3Store::connect(config).expect("connect");
    block_on(async {
        let k = key("some/key");
        let big = Bytes::from(vec![1u8; MIN_PART_SIZE + 1]);
        // `head` first: its answer has no body, so only a look at the bucket can tell.
        let mut failures = every_operation(&store, &k).await;
        failures.push(("head again", store.head(&k).await.map(drop)));
        failures.push((
            "multipart put",
            store.put(&k, big, PutMode::Overwrite).await.map(drop),
        ));
        for (what, result) in failures {
            let err = result.expect_err(what);
            assert_bucket_missing(&err, &bucket, what);
        }

        // Once the bucket exists, the same store works: nothing was remembered as absent.
        let raw = RawS3::new(&settings);
        raw.create_bucket(&bucket).await;
        assert!(store.head(&k).await.unwrap().is_none());
        store.put(&k, "v".into(), PutMode::Create).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap().value, "v");
        // Gone again: `get` reads it in the answer, and from then on `head` checks again.
        store.delete(&k).await.unwrap();
        raw.delete_bucket(&bucket).await;
        assert_bucket_missing(&store.get(&k).await.unwrap_err(), &bucket, "get, deleted");
        assert_bucket_missing(&store.head(&k).await.unwrap_err(), &bucket, "head, deleted");
    });
}

/// Against a moto that checks signatures and IAM policies: an unknown key id
/// (`InvalidAccessKeyId`), a wrong secret (`SignatureDoesNotMatch`) and a user without
/// permissions (`AccessDenied`) are all `PermissionDenied`, for every operation; the user
/// with permissions works, listing included (the store signs its own listing requests).
#[test]
fn refused_credentials_are_permission_denied() {
    if settings().is_none() {
        return;
    }
    if OwnServer::executable().is_none() {
        assert!(
            std::env::var("STRATA_S3_REQUIRED").as_deref() != Ok("1"),
            "moto is not installed in .s3-server/venv (scripts/s3-server.sh installs it)"
        );
        eprintln!("refused_credentials_are_permission_denied skipped: no local moto installed");
        return;
    }
    let (server, users) = OwnServer::start_with_auth(closed_port(), "guarded");
    let store_for = |id: &str, secret: &str| {
        let mut config = S3Config::new("guarded");
        config.prefix = random_prefix();
        config.endpoint = Some(server.endpoint());
        config.access_key_id = Some(id.to_owned());
        config.secret_access_key = Some(Secret::new(secret));
        config.max_retries = 0;
        S3Store::connect(config).expect("connect")
    };
    block_on(async {
        let k = key("guarded/key");
        let allowed = store_for(&users.allowed.0, &users.allowed.1);
        allowed
            .put(&k, "v".into(), PutMode::Create)
            .await
            .expect("the allowed user writes");
        assert_eq!(allowed.get(&k).await.unwrap().unwrap().value, "v");
        let listed: Vec<_> = allowed
            .list(ListOptions::default())
            .map_ok(|m| m.key)
            .try_collect()
            .await
            .expect("the allowed user lists");
        assert_eq!(listed, std::slice::from_ref(&k));

        let refused = [
            (
                "unknown key id",
                store_for("AKIANOSUCHKEY0000000", "whatever"),
            ),
            (
                "wrong secret",
                store_for(&users.allowed.0, "not-the-secret-at-all"),
            ),
            (
                "no permission",
                store_for(&users.powerless.0, &users.powerless.1),
            ),
        ];
        for ((who, store), code) in refused.into_iter().zip([
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
        ]) {
            let failures = every_operation(&store, &k).await;
            for (what, result) in failures {
                let err = result.expect_err(&format!("{who}: {what}"));
                assert_eq!(
                    err.kind(),
                    ErrorKind::PermissionDenied,
                    "{who}: {what}: {err}"
                );
                assert!(!err.retryable(), "{who}: {what}: {err}");
                // A HEAD answer has no body: its status is all the server said.
                let said = if what == "head" { "HTTP 403" } else { code };
                assert_one_line(&err, said, &format!("{who}: {what}"));
                let shown = format!("{err} {err:?}");
                assert!(shown.contains("bucket `guarded`"), "{who}: {what}: {shown}");
                assert!(
                    !shown.contains(&users.allowed.1) && !shown.contains(&users.powerless.1),
                    "{who}: {what}: a secret in {shown}"
                );
            }
        }
        // Nothing the refused stores tried reached the bucket.
        assert_eq!(allowed.get(&k).await.unwrap().unwrap().value, "v");
    });
}
