//! Values are verifiable: every put records the value's CRC32C in the object's metadata,
//! every get checks it, and a mismatch is `Corrupted` naming the key. Objects without the
//! metadata (other clients') are returned unverified.

use std::sync::Arc;

use bytes::Bytes;
use store_core::{ErrorKind, Key, PutMode, PutOp, Store};
use store_s3::object_store::memory::InMemory;
use store_s3::object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
};
use store_s3::{S3Config, S3Store};

use super::key;
use crate::s3_support::{block_on, config};

/// Spelled out rather than taken from the crate, so this test also builds against a
/// store that never wrote checksums.
const CHECKSUM_METADATA: &str = "strata-crc32c";

fn crc32c(bytes: &[u8]) -> String {
    format!(
        "{:08x}",
        crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
    )
}

/// Writes `stored` past the store under the checksum of `checksummed`: bytes changed
/// under their checksum, as a damaged copy, disk or proxy would leave them.
async fn put_under_checksum_of(
    store: &S3Store,
    key: &Key,
    checksummed: &[u8],
    stored: &'static [u8],
) {
    let mut attributes = Attributes::new();
    attributes.insert(
        Attribute::Metadata(CHECKSUM_METADATA.into()),
        crc32c(checksummed).into(),
    );
    let options = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    store
        .client()
        .put_opts(
            &store.path_of(key).unwrap(),
            PutPayload::from_static(stored),
            options,
        )
        .await
        .unwrap();
}

/// The checksum metadata of `key`'s object, read past the store.
async fn recorded(store: &S3Store, key: &Key) -> Option<String> {
    let path = store.path_of(key).unwrap();
    let options = GetOptions {
        head: true,
        ..GetOptions::default()
    };
    let result = store.client().get_opts(&path, options).await.unwrap();
    result
        .attributes
        .get(&Attribute::Metadata(CHECKSUM_METADATA.into()))
        .map(|v| v.as_ref().to_owned())
}

/// The stores to check: the test server's (if configured) and object_store's in-memory
/// one, which runs on every `cargo test`.
fn stores() -> Vec<S3Store> {
    let mut in_memory = S3Config::new("in-memory");
    in_memory.prefix = "checksums".into();
    in_memory.multipart_threshold = store_s3::MIN_PART_SIZE;
    let mut stores = vec![S3Store::with_client(Arc::new(InMemory::new()), &in_memory)];
    if let Some(config) = config() {
        stores.push(S3Store::connect(config).expect("connect"));
    }
    stores
}

#[test]
fn every_put_records_a_checksum_that_get_verifies() {
    for store in stores() {
        block_on(async {
            let big = Bytes::from(
                (0..store_s3::MIN_PART_SIZE + 3 * 1024 * 1024 + 1)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<u8>>(),
            );
            let plain = key("plain");
            store
                .put(&plain, "plain".into(), PutMode::Overwrite)
                .await
                .unwrap();
            let created = key("created");
            let meta = store
                .put(&created, "v1".into(), PutMode::Create)
                .await
                .unwrap();
            store
                .put(&created, "v2".into(), PutMode::Update(meta.version))
                .await
                .unwrap();
            store
                .put_many(vec![
                    PutOp::overwrite(key("batch/1"), "one"),
                    PutOp::new(key("batch/2"), "two", PutMode::Create),
                ])
                .await
                .unwrap();
            let multipart = key("multipart");
            let meta = store
                .put(&multipart, big.clone(), PutMode::Overwrite)
                .await
                .unwrap();
            assert_eq!(meta.size, big.len() as u64);

            let expected: [(Key, Bytes); 5] = [
                (plain, "plain".into()),
                (created, "v2".into()),
                (key("batch/1"), "one".into()),
                (key("batch/2"), "two".into()),
                (multipart, big),
            ];
            for (k, value) in expected {
                assert_eq!(
                    recorded(&store, &k).await.as_deref(),
                    Some(crc32c(&value).as_str()),
                    "{store:?}: the checksum of {k}"
                );
                let entry = store.get(&k).await.unwrap().expect("stored");
                assert!(entry.value == value, "{store:?}: {k} reads back intact");
            }
        });
    }
}

#[test]
fn a_value_that_fails_its_checksum_is_corrupted_with_its_key() {
    for store in stores() {
        block_on(async {
            // Bytes changed under their checksum, as a damaged copy, disk or proxy
            // would leave them.
            let damaged = key("damaged");
            put_under_checksum_of(&store, &damaged, b"hello", b"hellp").await;
            let err = store.get(&damaged).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted, "{store:?}: {err}");
            assert_eq!(err.key(), Some("damaged"), "{err}");
            assert!(!err.retryable());
            let err = store
                .get_many(std::slice::from_ref(&damaged))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corrupted, "{store:?}: {err}");

            // Another client's object carries no checksum: returned as it is.
            let theirs = key("theirs");
            store
                .client()
                .put(
                    &store.path_of(&theirs).unwrap(),
                    PutPayload::from_static(b"their bytes"),
                )
                .await
                .unwrap();
            assert_eq!(
                store.get(&theirs).await.unwrap().unwrap().value,
                "their bytes"
            );
            // Writing the key again through the store heals it.
            store
                .put(&damaged, "hello".into(), PutMode::Overwrite)
                .await
                .unwrap();
            assert_eq!(store.get(&damaged).await.unwrap().unwrap().value, "hello");
        });
    }
}

/// A range read is one ranged GET: it checks the stored checksum only when it covers the
/// whole value, and a part of a damaged value comes back as stored (the default
/// `get_range`, a whole `get`, would refuse every range of it).
#[test]
fn a_range_checks_the_checksum_only_when_it_covers_the_value() {
    for store in stores() {
        block_on(async {
            let damaged = key("damaged-range");
            put_under_checksum_of(&store, &damaged, b"hello world", b"hello wurld").await;
            let (part, meta) = store.get_range(&damaged, 0..5).await.unwrap().unwrap();
            assert_eq!((part.as_ref(), meta.size), (&b"hello"[..], 11), "{store:?}");
            let head = store.head(&damaged).await.unwrap().unwrap();
            assert_eq!(meta.version, head.version, "{store:?}: the ETag comes back");
            for whole in [0..11, 0..u64::MAX] {
                let err = store.get_range(&damaged, whole).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Corrupted, "{store:?}: {err}");
                assert_eq!(err.key(), Some("damaged-range"), "{err}");
            }
        });
    }
}
