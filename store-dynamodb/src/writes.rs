//! Writes: `put` (`PutItem` with the mode's condition, decided by the service), `delete`
//! (`DeleteItem`), and `put_many` / `delete_many` as one `TransactWriteItems` each.

use std::collections::HashSet;
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};
use store_core::{Error, Key, Meta, PutMode, PutOp, Result};

use crate::client::{ApiError, CallError, cancellation_codes};
use crate::item;
use crate::store::Inner;

/// The most writes one `put_many` or `delete_many` takes: DynamoDB's limit on the items
/// of one transaction. Larger batches fail with `InvalidInput` rather than being split,
/// which would quietly make them non-atomic.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// DynamoDB's limit on the aggregate size of one transaction's items: 4 MB (counted here
/// as 4,000,000 bytes, the smaller reading).
pub const MAX_TRANSACTION_BYTES: u64 = 4_000_000;

/// The most key and value bytes one `put_many` takes (`Capabilities::max_batch_bytes`):
/// the transaction limit less the most every item adds besides its key and value.
pub(crate) fn max_batch_bytes(ns_len: usize) -> u64 {
    MAX_TRANSACTION_BYTES - MAX_TRANSACTION_ITEMS as u64 * item::overhead_without_key(ns_len)
}

/// The condition of `mode` as (expression, values), or `None` for `Overwrite`.
fn condition(mode: &PutMode) -> Option<(&'static str, Value)> {
    match mode {
        PutMode::Overwrite => None,
        PutMode::Create => Some(("attribute_not_exists(sk)", Value::Null)),
        PutMode::Update(expected) => Some((
            "#ver = :expected",
            json!({":expected": {"S": expected.as_str()}}),
        )),
    }
}

/// Add `mode`'s condition to a `PutItem` request or a transaction's `Put`.
fn add_condition(request: &mut Value, mode: &PutMode) {
    if let Some((expression, values)) = condition(mode) {
        request["ConditionExpression"] = expression.into();
        if !values.is_null() {
            request["ExpressionAttributeValues"] = values;
            request["ExpressionAttributeNames"] = json!({"#ver": "ver"});
        }
    }
}

/// The error of a write whose condition failed: the mode says which.
fn condition_failed(key: &Key, mode: &PutMode) -> Error {
    match mode {
        PutMode::Update(expected) => Error::version_mismatch(key, expected),
        _ => Error::already_exists(key),
    }
}

fn check_size(inner: &Inner, key: &Key, len: usize) -> Result<()> {
    if len as u64 > inner.max_value_size {
        return Err(Error::invalid_input(format!(
            "a value of {len} bytes is larger than this DynamoDB store takes ({} bytes: the \
             400 KB item limit less the key and metadata)",
            inner.max_value_size
        ))
        .with_key(key));
    }
    Ok(())
}

pub(crate) async fn put(inner: &Inner, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
    check_size(inner, key, value.len())?;
    let version = item::new_version();
    let now = SystemTime::now();
    let mut request = json!({
        "TableName": inner.table,
        "Item": item::encode(&inner.namespace, key, &value, &version, now),
    });
    add_condition(&mut request, &mode);
    match inner.client.call("PutItem", &request).await {
        Ok(_) => Ok(item::written_meta(key, value.len(), version, now)),
        Err(CallError::Api(api)) if api.code == "ConditionalCheckFailedException" => {
            // An earlier attempt whose answer was lost may have written this very item:
            // then the condition failed on our own write, which is a success.
            if api.after_ambiguous && is_ours(inner, key, &version).await? {
                return Ok(item::written_meta(key, value.len(), version, now));
            }
            Err(condition_failed(key, &mode))
        }
        Err(e) => Err(inner.error(e).with_key(key)),
    }
}

/// Whether the item at `key` carries `version` (which only this write made).
async fn is_ours(inner: &Inner, key: &Key, version: &store_core::Version) -> Result<bool> {
    let current = crate::reads::get_item(inner, key, true).await?;
    Ok(current
        .and_then(|found| item::decode_meta(key, &found).ok())
        .is_some_and(|meta| &meta.version == version))
}

pub(crate) async fn delete(inner: &Inner, key: &Key) -> Result<()> {
    let request = json!({
        "TableName": inner.table,
        "Key": item::key_of(&inner.namespace, key.as_str()),
    });
    inner
        .client
        .call("DeleteItem", &request)
        .await
        .map(drop)
        .map_err(|e| inner.error(e).with_key(key))
}

/// Refuse batches one transaction cannot hold.
fn check_batch<'a>(what: &str, keys: impl ExactSizeIterator<Item = &'a Key>) -> Result<()> {
    let count = keys.len();
    if count > MAX_TRANSACTION_ITEMS {
        return Err(Error::invalid_input(format!(
            "{what} of {count} entries: a DynamoDB transaction holds at most \
             {MAX_TRANSACTION_ITEMS}, and splitting it would not be atomic; send batches of \
             at most {MAX_TRANSACTION_ITEMS}"
        )));
    }
    Ok(())
}

pub(crate) async fn put_many(inner: &Inner, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
    check_batch("put_many", ops.iter().map(|op| &op.key))?;
    let bytes: u64 = ops.iter().map(PutOp::batch_bytes).sum();
    let most = max_batch_bytes(inner.namespace.len());
    if bytes > most {
        return Err(Error::invalid_input(format!(
            "put_many of {bytes} bytes of keys and values: a DynamoDB transaction holds at \
             most 4 MB of items, {most} bytes of keys and values in this store, and \
             splitting it would not be atomic; send smaller batches \
             (Capabilities::put_batches cuts them)"
        )));
    }
    let mut seen = HashSet::new();
    for op in &ops {
        check_size(inner, &op.key, op.value.len())?;
        if !seen.insert(&op.key) {
            return Err(Error::invalid_input(
                "put_many writes this key twice: a DynamoDB transaction writes each item once",
            )
            .with_key(&op.key));
        }
    }
    if ops.is_empty() {
        return Ok(Vec::new());
    }
    let now = SystemTime::now();
    let versions: Vec<_> = ops.iter().map(|_| item::new_version()).collect();
    let items: Vec<Value> = ops
        .iter()
        .zip(&versions)
        .map(|(op, version)| {
            let mut put = json!({
                "TableName": inner.table,
                "Item": item::encode(&inner.namespace, &op.key, &op.value, version, now),
            });
            add_condition(&mut put, &op.mode);
            json!({"Put": put})
        })
        .collect();
    transact(inner, items, |api| {
        let codes = cancellation_codes(&api.body);
        let failed = codes.iter().position(|c| c == "ConditionalCheckFailed");
        let op = match failed {
            Some(i) => ops.get(i),
            // No reasons given: name the first conditional write.
            None if api.code == "TransactionCanceledException" => {
                ops.iter().find(|op| op.mode != PutMode::Overwrite)
            }
            None => None,
        };
        op.map(|op| condition_failed(&op.key, &op.mode))
    })
    .await?;
    Ok(ops
        .iter()
        .zip(versions)
        .map(|(op, version)| item::written_meta(&op.key, op.value.len(), version, now))
        .collect())
}

pub(crate) async fn delete_many(inner: &Inner, keys: &[Key]) -> Result<()> {
    // Deleting a key twice is deleting it once; a transaction may name it only once.
    let mut unique: Vec<&Key> = keys.iter().collect();
    unique.sort();
    unique.dedup();
    check_batch("delete_many", unique.iter().copied())?;
    if unique.is_empty() {
        return Ok(());
    }
    let items = unique
        .iter()
        .map(|key| {
            json!({"Delete": {
                "TableName": inner.table,
                "Key": item::key_of(&inner.namespace, key.as_str()),
            }})
        })
        .collect();
    transact(inner, items, |_| None).await
}

/// Run one transaction; `on_cancel` turns a cancellation into the failed condition's
/// error, if it was one.
async fn transact(
    inner: &Inner,
    items: Vec<Value>,
    on_cancel: impl FnOnce(&ApiError) -> Option<Error>,
) -> Result<()> {
    // The token makes the service apply a retried transaction at most once.
    let token = format!("{:032x}", rand::random::<u128>());
    let request = json!({"TransactItems": items, "ClientRequestToken": token});
    match inner.client.call("TransactWriteItems", &request).await {
        Ok(_) => Ok(()),
        Err(CallError::Api(api)) if api.code == "TransactionCanceledException" => {
            Err(on_cancel(&api).unwrap_or_else(|| inner.error(CallError::Api(api))))
        }
        Err(e) => Err(inner.error(e)),
    }
}
