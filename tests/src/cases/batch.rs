//! `get_many`, `put_many` and `delete_many`.

use std::sync::Arc;

use store_core::{Capabilities, ErrorKind, ListOptions, Prefix, PutMode, PutOp, Store};

use super::util::{key, list_keys, must_get, pattern, val};
use crate::harness::{Outcome, Skip, require};

/// `get_many` answers in request order, with `None` for missing keys and repeats allowed.
pub async fn get_many_with_missing_keys(store: Arc<dyn Store>) -> Outcome {
    store
        .put(&key("gm/a"), val("A"), PutMode::Overwrite)
        .await
        .unwrap();
    store
        .put(&key("gm/c"), val("C"), PutMode::Overwrite)
        .await
        .unwrap();
    let keys = [key("gm/c"), key("gm/b"), key("gm/a"), key("gm/c")];
    let got = store.get_many(&keys).await.unwrap();
    let values: Vec<Option<String>> = got
        .iter()
        .map(|e| {
            e.as_ref()
                .map(|e| String::from_utf8(e.value.to_vec()).unwrap())
        })
        .collect();
    assert_eq!(
        values,
        [Some("C".into()), None, Some("A".into()), Some("C".into())]
    );
    assert_eq!(got[0].as_ref().unwrap().meta.key, key("gm/c"));
    assert!(store.get_many(&[]).await.unwrap().is_empty());
    Ok(())
}

/// `put_many` writes every entry and returns their metadata in order.
pub async fn put_many_roundtrip(store: Arc<dyn Store>) -> Outcome {
    let ops: Vec<PutOp> = (0..100)
        .map(|i| PutOp::overwrite(key(&format!("pm/{i:03}")), pattern(i, i as u8)))
        .collect();
    // In batches the store takes (DynamoDB: 100; a store may declare fewer ops or bytes).
    let mut metas = Vec::new();
    for batch in store.capabilities().put_batches(ops.clone(), 100) {
        let len = batch.len();
        let written = store.put_many(batch).await.unwrap();
        assert_eq!(written.len(), len);
        metas.extend(written);
    }
    assert_eq!(metas.len(), 100);
    for (op, meta) in ops.iter().zip(&metas) {
        assert_eq!(meta.key, op.key);
        assert_eq!(meta.size, op.value.len() as u64);
        let entry = store
            .get(&op.key)
            .await
            .unwrap()
            .expect("written by put_many");
        assert_eq!(entry.value, op.value);
        assert_eq!(entry.meta.version, meta.version);
    }
    assert!(store.put_many(Vec::new()).await.unwrap().is_empty());
    Ok(())
}

/// Where batches are atomic, one failed condition fails the whole batch and writes nothing.
pub async fn put_many_atomic_on_conflict(store: Arc<dyn Store>) -> Outcome {
    let caps = store.capabilities();
    atomic_on_conflict(&store, caps).await
}

/// The body of [`put_many_atomic_on_conflict`], run on `store` when `caps` (the store's own,
/// or those of the store a layer wraps) promise atomic batches and conditional puts.
pub(super) async fn atomic_on_conflict(store: &Arc<dyn Store>, caps: Capabilities) -> Outcome {
    require(caps.atomic_batches, "put_many is not atomic")?;
    require(caps.supports_conditional_puts(), "no conditional puts")?;
    store
        .put(&key("atomic/taken"), val("original"), PutMode::Overwrite)
        .await
        .unwrap();
    let ops = vec![
        PutOp::overwrite(key("atomic/a"), val("a")),
        PutOp::new(key("atomic/taken"), val("intruder"), PutMode::Create),
        PutOp::overwrite(key("atomic/z"), val("z")),
    ];
    let err = store
        .put_many(ops)
        .await
        .expect_err("batch with a failing condition");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(
        store.get(&key("atomic/a")).await.unwrap().is_none(),
        "atomic/a written by a failed batch"
    );
    assert!(
        store.get(&key("atomic/z")).await.unwrap().is_none(),
        "atomic/z written by a failed batch"
    );
    assert_eq!(must_get(store, &key("atomic/taken")).await, val("original"));
    Ok(())
}

/// `delete_many` removes the given keys, ignores missing ones, and keeps the rest.
pub async fn delete_many_removes_all(store: Arc<dyn Store>) -> Outcome {
    let keys: Vec<_> = (0..10).map(|i| key(&format!("dm/{i}"))).collect();
    for k in &keys {
        store
            .put(k, val(k.as_str()), PutMode::Overwrite)
            .await
            .unwrap();
    }
    let mut doomed: Vec<_> = keys.iter().step_by(2).cloned().collect();
    doomed.push(key("dm/never-existed"));
    store.delete_many(&doomed).await.unwrap();
    assert_eq!(
        list_keys(&store, Default::default()).await,
        ["dm/1", "dm/3", "dm/5", "dm/7", "dm/9"]
    );
    store.delete_many(&[]).await.unwrap();
    Ok(())
}

/// A store declaring `max_batch_writes` takes a batch of exactly that many ops, and
/// refuses one more with `InvalidInput` before writing (or deleting) anything.
pub async fn batch_writes_up_to_max_batch_writes(store: Arc<dyn Store>) -> Outcome {
    let max = store.capabilities().max_batch_writes;
    let Some(max) = max else {
        return Err(Skip("no max_batch_writes".into()));
    };
    // Past this the case would be a load test, not a check of the declared limit.
    require(max <= 10_000, "max_batch_writes above 10,000")?;
    let ops = |at: &str, n: usize| -> Vec<PutOp> {
        (0..n)
            .map(|i| PutOp::overwrite(key(&format!("mb/{at}/{i:05}")), pattern(i, i as u8)))
            .collect()
    };
    let full = ops("full", max);
    let metas = store.put_many(full.clone()).await.unwrap();
    assert_eq!(metas.len(), max);
    assert_eq!(list_keys(&store, under("mb/full/")).await.len(), max);

    let err = store
        .put_many(ops("over", max + 1))
        .await
        .expect_err("put_many above max_batch_writes");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        list_keys(&store, under("mb/over/")).await.is_empty(),
        "a refused put_many wrote keys"
    );

    // One more key than allowed, all of them present: none may disappear.
    let mut doomed: Vec<_> = full.iter().map(|op| op.key.clone()).collect();
    doomed.push(key("mb/full/extra"));
    store
        .put(&key("mb/full/extra"), val("x"), PutMode::Overwrite)
        .await
        .unwrap();
    let err = store
        .delete_many(&doomed)
        .await
        .expect_err("delete_many above max_batch_writes");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        list_keys(&store, under("mb/full/")).await.len(),
        max + 1,
        "a refused delete_many deleted keys"
    );
    store.delete_many(&doomed[..max]).await.unwrap();
    assert_eq!(
        list_keys(&store, under("mb/full/")).await,
        ["mb/full/extra"]
    );
    Ok(())
}

/// A store declaring `max_batch_bytes` takes a `put_many` of exactly that many bytes of
/// keys and values, and refuses one byte more with `InvalidInput`, writing nothing.
pub async fn put_many_up_to_max_batch_bytes(store: Arc<dyn Store>) -> Outcome {
    let caps = store.capabilities();
    let Some(max) = caps.max_batch_bytes else {
        return Err(Skip("no max_batch_bytes".into()));
    };
    // Past this the case would be a load test, not a check of the declared limit.
    require(max <= 16 << 20, "max_batch_bytes above 16 MiB")?;
    // As few ops as values the store takes allow, each value below its size limit.
    let per_value = caps.max_value_size.unwrap_or(u64::MAX).min(1 << 20) - 1;
    let name = |at: &str, i: usize| key(&format!("mbb/{at}/{i:03}"));
    let key_len = name("full", 0).as_str().len() as u64;
    let count = max.div_ceil(per_value + key_len).max(1) as usize;
    require(
        count <= caps.write_batch(count),
        "max_batch_bytes needs more ops than max_batch_writes allows",
    )?;
    require(
        max > count as u64 * key_len,
        "max_batch_bytes smaller than the keys",
    )?;
    let ops = |at: &str, extra: u64| -> Vec<PutOp> {
        let values = max - count as u64 * key_len + extra;
        (0..count)
            .map(|i| {
                let share = values / count as u64 + u64::from((i as u64) < values % count as u64);
                PutOp::overwrite(name(at, i), pattern(share as usize, i as u8))
            })
            .collect()
    };
    let full = ops("full", 0);
    let bytes: u64 = full.iter().map(PutOp::batch_bytes).sum();
    assert_eq!(bytes, max, "the case's own arithmetic");
    let metas = store.put_many(full).await.unwrap();
    assert_eq!(metas.len(), count);
    assert_eq!(list_keys(&store, under("mbb/full/")).await.len(), count);

    let err = store
        .put_many(ops("over", 1))
        .await
        .expect_err("put_many above max_batch_bytes");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        list_keys(&store, under("mbb/over/")).await.is_empty(),
        "a refused put_many wrote keys"
    );
    Ok(())
}

fn under(prefix: &str) -> ListOptions {
    ListOptions::prefix(Prefix::new(prefix).expect("a valid prefix"))
}
