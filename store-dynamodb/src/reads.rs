//! Reads: `get` and `head` (strongly consistent `GetItem`), `get_many` (`BatchGetItem`
//! in requests of 100 keys, retrying what the service left unprocessed).

use std::collections::HashMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};
use store_core::{Entry, Error, Key, Meta, Result};

use crate::client::backoff;
use crate::item::{self, META_PROJECTION};
use crate::store::Inner;

/// `BatchGetItem` takes at most 100 keys per request.
const BATCH_GET_KEYS: usize = 100;

/// How many `BatchGetItem` requests one `get_many` keeps in flight.
const BATCH_GETS_IN_FLIGHT: usize = 4;

/// How many rounds in a row may leave keys unprocessed without any progress before
/// `get_many` fails with a retryable `Unavailable`.
const STALLED_ROUNDS: u32 = 8;

/// The item at `key`; only its metadata attributes if `meta_only`.
pub(crate) async fn get_item(
    inner: &Inner,
    key: &Key,
    meta_only: bool,
) -> Result<Option<Map<String, Value>>> {
    let mut request = json!({
        "TableName": inner.table,
        "Key": item::key_of(&inner.namespace, key.as_str()),
        "ConsistentRead": true,
    });
    if meta_only {
        request["ProjectionExpression"] = META_PROJECTION.into();
        request["ExpressionAttributeNames"] = item::meta_names();
    }
    let answer = inner
        .client
        .call("GetItem", &request)
        .await
        .map_err(|e| inner.error(e).with_key(key))?;
    Ok(answer.get("Item").and_then(Value::as_object).cloned())
}

pub(crate) async fn get(inner: &Inner, key: &Key) -> Result<Option<Entry>> {
    match get_item(inner, key, false).await? {
        Some(found) => item::decode_entry(key, &found).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn head(inner: &Inner, key: &Key) -> Result<Option<Meta>> {
    match get_item(inner, key, true).await? {
        Some(found) => item::decode_meta(key, &found).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn get_many(inner: &Inner, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
    // BatchGetItem refuses a key twice in one request: ask for each once.
    let mut unique: Vec<&Key> = keys.iter().collect();
    unique.sort();
    unique.dedup();
    // Requests of 100 keys, a few in flight: over a network each is a round trip.
    let mut found: HashMap<String, Entry> = HashMap::new();
    // Collecting the futures first sidesteps a higher-ranked lifetime limitation of
    // `Send` checking for closures over borrowed keys (as store-core's defaults do).
    let requests: Vec<_> = unique
        .chunks(BATCH_GET_KEYS)
        .map(|chunk| batch_get(inner, chunk))
        .collect();
    let mut answers = stream::iter(requests).buffer_unordered(BATCH_GETS_IN_FLIGHT);
    while let Some(entries) = answers.try_next().await? {
        found.extend(entries);
    }
    Ok(keys
        .iter()
        .map(|k| found.get(k.as_str()).cloned())
        .collect())
}

/// The entries of `chunk` (at most 100 distinct keys) that exist, by key.
async fn batch_get(inner: &Inner, chunk: &[&Key]) -> Result<Vec<(String, Entry)>> {
    let mut pending: Vec<Value> = chunk
        .iter()
        .map(|k| item::key_of(&inner.namespace, k.as_str()))
        .collect();
    let mut found = Vec::new();
    let mut stalled = 0;
    while !pending.is_empty() {
        let request = json!({"RequestItems": {&inner.table: {
            "Keys": pending,
            "ConsistentRead": true,
        }}});
        let answer = inner
            .client
            .call("BatchGetItem", &request)
            .await
            .map_err(|e| inner.error(e))?;
        let items = answer["Responses"][&inner.table].as_array();
        for found_item in items.into_iter().flatten().filter_map(Value::as_object) {
            let Some(key) = item::item_key(found_item) else {
                return Err(Error::corrupted(
                    "<unreadable key>",
                    "DynamoDB item without a readable sort key",
                ));
            };
            let entry = item::decode_entry(&key, found_item)?;
            found.push((key.as_str().to_owned(), entry));
        }
        let left: Vec<Value> = answer["UnprocessedKeys"][&inner.table]["Keys"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // The service leaves keys unprocessed when throttled or past 16 MB per answer;
        // progress resets the stall count, a round without any backs off.
        if left.len() >= pending.len() {
            if stalled >= STALLED_ROUNDS {
                return Err(Error::unavailable(format!(
                    "DynamoDB table `{}` left {} keys of a get_many unprocessed {STALLED_ROUNDS} times in a row",
                    inner.table,
                    left.len()
                )));
            }
            tokio::time::sleep(backoff(stalled)).await;
            stalled += 1;
        } else {
            stalled = 0;
        }
        pending = left;
    }
    Ok(found)
}
