//! `StoreExt`: typed CBOR values, `update`, `exists` and `copy_all`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use store_core::{ErrorKind, ListOptions, Prefix, PutMode, Store, StoreExt};
use store_memory::MemoryStore;

use super::util::{key, list_keys, must_get, val};
use crate::harness::Outcome;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    name: String,
    score: f64,
    tags: Vec<String>,
    counts: BTreeMap<String, u64>,
    parent: Option<Box<Doc>>,
    blob: Vec<u8>,
}

fn sample() -> Doc {
    let child = Doc {
        name: "child".into(),
        score: -0.5,
        tags: vec![],
        counts: BTreeMap::new(),
        parent: None,
        blob: vec![],
    };
    Doc {
        name: "ünïcødé ✓".into(),
        score: 3.25,
        tags: vec!["a".into(), "b".into()],
        counts: [("x".to_string(), 1), ("y".to_string(), u64::MAX)].into(),
        parent: Some(Box::new(child)),
        blob: vec![0, 255, 1, 254],
    }
}

/// A structured value written with `put_typed` reads back equal with `get_typed`.
pub async fn typed_cbor_roundtrip(store: Arc<dyn Store>) -> Outcome {
    let k = key("typed/doc");
    let doc = sample();
    store.put_typed(&k, &doc, PutMode::Overwrite).await.unwrap();
    let back: Doc = store.get_typed(&k).await.unwrap().expect("typed value");
    assert_eq!(back, doc);
    assert_eq!(
        store.get_typed::<Doc>(&key("typed/missing")).await.unwrap(),
        None
    );
    Ok(())
}

/// Bytes that do not decode as the requested type give `Corrupted` naming the key.
pub async fn typed_decode_error_is_corrupted(store: Arc<dyn Store>) -> Outcome {
    let k = key("typed/garbage");
    store
        .put(&k, val("\u{7f}not cbor at all"), PutMode::Overwrite)
        .await
        .unwrap();
    let err = store
        .get_typed::<Doc>(&k)
        .await
        .expect_err("garbage must not decode");
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert_eq!(err.key(), Some(k.as_str()));
    Ok(())
}

/// `update` on a missing key creates it from `f(None)`, then updates it.
pub async fn update_helper_creates_missing(store: Arc<dyn Store>) -> Outcome {
    if !store.capabilities().supports_conditional_puts() {
        return Err(crate::harness::Skip("no conditional puts".into()));
    }
    let k = key("typed/list");
    let (v, _) = store
        .update(&k, |l: Option<Vec<String>>| {
            assert!(l.is_none());
            vec!["first".to_string()]
        })
        .await
        .unwrap();
    assert_eq!(v, ["first"]);
    let (v, meta) = store
        .update(&k, |l: Option<Vec<String>>| {
            let mut l = l.expect("exists now");
            l.push("second".into());
            l
        })
        .await
        .unwrap();
    assert_eq!(v, ["first", "second"]);
    assert_eq!(store.head(&k).await.unwrap().unwrap().version, meta.version);
    Ok(())
}

/// `exists` follows puts and deletes.
pub async fn exists_tracks_presence(store: Arc<dyn Store>) -> Outcome {
    let k = key("typed/exists");
    assert!(!store.exists(&k).await.unwrap());
    store.put(&k, val(""), PutMode::Overwrite).await.unwrap();
    assert!(store.exists(&k).await.unwrap());
    store.delete(&k).await.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    Ok(())
}

/// `copy_all` moves exactly the keys under a prefix, into and out of this store.
pub async fn copy_all_both_directions(store: Arc<dyn Store>) -> Outcome {
    let source = MemoryStore::new();
    for i in 0..300 {
        let k = key(&format!("copy/{i:03}"));
        source
            .put(&k, val(&format!("v{i}")), PutMode::Overwrite)
            .await
            .unwrap();
    }
    source
        .put(&key("other/x"), val("no"), PutMode::Overwrite)
        .await
        .unwrap();
    let prefix = Prefix::new("copy/").unwrap();
    let report = source.copy_all(store.as_ref(), &prefix).await.unwrap();
    assert_eq!(report.keys, 300);
    assert_eq!(list_keys(&store, ListOptions::default()).await.len(), 300);
    assert_eq!(must_get(&store, &key("copy/299")).await, val("v299"));

    let back = MemoryStore::new();
    let report = store
        .copy_all(&back, &Prefix::new("copy/1").unwrap())
        .await
        .unwrap();
    assert_eq!(report.keys, 100);
    assert_eq!(back.len(), 100);
    assert_eq!(
        back.get(&key("copy/150")).await.unwrap().unwrap().value,
        val("v150")
    );
    Ok(())
}
