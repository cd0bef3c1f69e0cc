//! `list`: a `Query` on the namespace's partition, in sort-key (byte) order, `begins_with`
//! the prefix, resumed with `ExclusiveStartKey` (from `start_after`, then from each page's
//! `LastEvaluatedKey`), reading only the metadata attributes.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value, json};
use store_core::{Error, ListOptions, Meta, Result};

use crate::item::{self, META_PROJECTION};
use crate::store::Inner;

/// The most entries one `Query` asks for (the service also stops each page at 1 MB).
pub const LIST_PAGE: usize = 1000;

/// Where the listing goes on from.
enum Next {
    /// Start here (`None`: at the partition's start).
    From(Option<Value>),
    Done,
}

pub(crate) fn list(inner: Arc<Inner>, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
    let limit = options.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return stream::empty().boxed();
    }
    let prefix = options.prefix.as_str().to_owned();
    // DynamoDB refuses an `ExclusiveStartKey` outside the key condition ("outside query
    // boundaries"), so only a `start_after` under the prefix becomes one (it need not be a
    // stored key). Keys under a prefix are one contiguous range: a `start_after` before it
    // admits all of them, one past it none.
    let start = match &options.start_after {
        Some(after) if after.as_str().starts_with(prefix.as_str()) => {
            Some(item::key_of(&inner.namespace, after.as_str()))
        }
        Some(after) if after.as_str() > prefix.as_str() => return stream::empty().boxed(),
        _ => None,
    };
    let state = (Next::From(start), limit);
    stream::unfold(state, move |(next, remaining)| {
        let inner = inner.clone();
        let prefix = prefix.clone();
        async move {
            let Next::From(start) = next else {
                return None;
            };
            if remaining == 0 {
                return None;
            }
            match page(&inner, &prefix, start, remaining).await {
                Ok((metas, last)) => {
                    let left = remaining.saturating_sub(metas.len());
                    let next = match last {
                        Some(last) if left > 0 => Next::From(Some(last)),
                        _ => Next::Done,
                    };
                    Some((stream::iter(metas), (next, left)))
                }
                Err(e) => Some((stream::iter(vec![Err(e)]), (Next::Done, 0))),
            }
        }
    })
    .flatten()
    .boxed()
}

/// One page: its entries (a damaged one as a `Corrupted` error naming its key) and where
/// the next page starts, if there is one.
async fn page(
    inner: &Inner,
    prefix: &str,
    start: Option<Value>,
    remaining: usize,
) -> Result<(Vec<Result<Meta>>, Option<Value>)> {
    let mut names = item::meta_names();
    names["#pk"] = "pk".into();
    let mut values = json!({":pk": {"S": inner.namespace}});
    let condition = if prefix.is_empty() {
        "#pk = :pk"
    } else {
        values[":prefix"] = json!({"S": prefix});
        "#pk = :pk AND begins_with(#sk, :prefix)"
    };
    let mut request = json!({
        "TableName": inner.table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ProjectionExpression": META_PROJECTION,
        "ConsistentRead": true,
        "Limit": remaining.min(LIST_PAGE),
    });
    if let Some(start) = start {
        request["ExclusiveStartKey"] = start;
    }
    let answer = inner
        .client
        .call("Query", &request)
        .await
        .map_err(|e| inner.error(e))?;
    let metas = answer["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|found| {
            let found: &Map<String, Value> = found
                .as_object()
                .ok_or_else(|| Error::corrupted("<unreadable key>", "DynamoDB item not a map"))?;
            let key = item::item_key(found).ok_or_else(|| {
                Error::corrupted(
                    "<unreadable key>",
                    "DynamoDB item without a readable sort key",
                )
            })?;
            item::decode_meta(&key, found)
        })
        .collect();
    let last = answer
        .get("LastEvaluatedKey")
        .filter(|k| k.is_object())
        .cloned();
    Ok((metas, last))
}
