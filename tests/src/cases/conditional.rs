//! `PutMode::Create` and `PutMode::Update` (compare-and-swap).

use std::collections::HashSet;
use std::sync::Arc;

use store_core::{ErrorKind, PutMode, Store, Version};

use super::util::{key, must_get, val};
use crate::harness::{Outcome, require};

fn conditional(store: &Arc<dyn Store>) -> Outcome {
    require(
        store.capabilities().supports_conditional_puts(),
        "no conditional puts",
    )
}

/// `Create` on an absent key writes it.
pub async fn create_on_missing_key(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("create/new");
    let meta = store
        .put(&k, val("first"), PutMode::Create)
        .await
        .expect("create on a missing key");
    assert_eq!(must_get(&store, &k).await, val("first"));
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, meta.version);
    Ok(())
}

/// `Create` on an existing key fails with `AlreadyExists` and changes nothing.
pub async fn create_on_existing_key_fails(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("create/existing");
    let meta = store
        .put(&k, val("original"), PutMode::Overwrite)
        .await
        .unwrap();
    let err = store
        .put(&k, val("intruder"), PutMode::Create)
        .await
        .expect_err("create must fail");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.key(), Some(k.as_str()), "the error names the key");
    assert_eq!(must_get(&store, &k).await, val("original"));
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, meta.version);
    Ok(())
}

/// `Update` with the current version writes and returns a new version.
pub async fn update_with_current_version(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("update/current");
    let v1 = store
        .put(&k, val("v1"), PutMode::Overwrite)
        .await
        .unwrap()
        .version;
    let v2 = store
        .put(&k, val("v2"), PutMode::Update(v1.clone()))
        .await
        .expect("cas")
        .version;
    assert_ne!(v1, v2);
    assert_eq!(must_get(&store, &k).await, val("v2"));
    let v3 = store
        .put(&k, val("v3"), PutMode::Update(v2))
        .await
        .expect("second cas")
        .version;
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, v3);
    Ok(())
}

/// `Update` with a stale version fails with `VersionMismatch` and changes nothing.
pub async fn update_with_stale_version_fails(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("update/stale");
    let v1 = store
        .put(&k, val("v1"), PutMode::Overwrite)
        .await
        .unwrap()
        .version;
    let v2 = store
        .put(&k, val("v2"), PutMode::Overwrite)
        .await
        .unwrap()
        .version;
    let err = store
        .put(&k, val("lost"), PutMode::Update(v1))
        .await
        .expect_err("stale cas");
    assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
    assert_eq!(err.key(), Some(k.as_str()));
    assert_eq!(must_get(&store, &k).await, val("v2"));
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, v2);
    Ok(())
}

/// Versions compare as exact tokens: another spelling of the current version (a leading
/// zero, a plus sign, which a store that parses its versions as numbers would accept) is a
/// mismatch and changes nothing.
pub async fn update_with_a_respelled_version_fails(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("update/respelled");
    let current = store
        .put(&k, val("v1"), PutMode::Overwrite)
        .await
        .unwrap()
        .version;
    for respelled in [format!("0{current}"), format!("+{current}")] {
        let err = store
            .put(&k, val("lost"), PutMode::Update(Version::new(&respelled)))
            .await
            .expect_err(&format!("`{respelled}` is not version `{current}`"));
        assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{respelled}: {err}");
        assert_eq!(err.key(), Some(k.as_str()));
    }
    assert_eq!(must_get(&store, &k).await, val("v1"));
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, current);
    Ok(())
}

/// `Update` on a missing key is a mismatch, also when the key existed before.
pub async fn update_missing_key_fails(store: Arc<dyn Store>) -> Outcome {
    conditional(&store)?;
    let k = key("update/missing");
    let err = store
        .put(&k, val("x"), PutMode::Update(Version::new("1")))
        .await
        .expect_err("update of a missing key");
    assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
    let v = store
        .put(&k, val("x"), PutMode::Overwrite)
        .await
        .unwrap()
        .version;
    store.delete(&k).await.unwrap();
    let err = store
        .put(&k, val("y"), PutMode::Update(v))
        .await
        .expect_err("update after delete");
    assert_eq!(err.kind(), ErrorKind::VersionMismatch, "{err}");
    assert!(
        store.get(&k).await.unwrap().is_none(),
        "a failed update must not create the key"
    );
    Ok(())
}

/// Every write of different bytes gives the key a version it never had before.
pub async fn versions_change_on_every_write(store: Arc<dyn Store>) -> Outcome {
    let k = key("versions");
    let mut seen = HashSet::new();
    for i in 0..20 {
        let meta = store
            .put(&k, val(&format!("value {i}")), PutMode::Overwrite)
            .await
            .unwrap();
        assert!(
            seen.insert(meta.version.clone()),
            "version {} reused",
            meta.version
        );
    }
    Ok(())
}
