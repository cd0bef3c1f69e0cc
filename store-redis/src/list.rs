//! Listing: pages of the key index in byte order (`ZRANGEBYLEX`), each page's metadata
//! fetched in one pipelined round trip. Never scans the keyspace.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use store_core::{Key, ListOptions, Meta, Result};

use crate::errors::damaged;
use crate::reads::{MetaFields, meta};
use crate::store::Inner;

/// How many keys `list` reads from the index per round trip.
pub const LIST_PAGE: usize = 500;

struct Cursor {
    inner: Arc<Inner>,
    prefix: String,
    /// The `ZRANGEBYLEX` lower bound of the next page.
    from: String,
    /// How many more entries may be yielded.
    remaining: usize,
    done: bool,
}

pub(crate) fn list(inner: Arc<Inner>, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
    let prefix = options.prefix.as_str().to_owned();
    let from = match &options.start_after {
        Some(after) if after.as_str() >= prefix.as_str() => format!("({after}"),
        _ if prefix.is_empty() => "-".to_owned(),
        _ => format!("[{prefix}"),
    };
    let cursor = Cursor {
        inner,
        prefix,
        from,
        remaining: options.limit.unwrap_or(usize::MAX),
        done: false,
    };
    stream::unfold(cursor, |mut cursor| async move {
        if cursor.done || cursor.remaining == 0 {
            return None;
        }
        let page = match next_page(&mut cursor).await {
            Ok(page) => page,
            Err(err) => {
                cursor.done = true;
                vec![Err(err)]
            }
        };
        Some((stream::iter(page), cursor))
    })
    .flatten()
    .boxed()
}

async fn next_page(cursor: &mut Cursor) -> Result<Vec<Result<Meta>>> {
    let inner = cursor.inner.clone();
    let error = |e| inner.server.error("list", e);
    let mut conn = inner.conn.clone();
    let count = LIST_PAGE.min(cursor.remaining);
    let members: Vec<Vec<u8>> = redis::cmd("ZRANGEBYLEX")
        .arg(inner.names.index())
        .arg(&cursor.from)
        .arg("+")
        .arg("LIMIT")
        .arg(0)
        .arg(count)
        .query_async(&mut conn)
        .await
        .map_err(error)?;
    if members.len() < count {
        cursor.done = true;
    }
    let mut keys = Vec::with_capacity(members.len());
    for member in &members {
        if !member.starts_with(cursor.prefix.as_bytes()) {
            // The index is sorted: every later key is past the prefix too.
            cursor.done = true;
            break;
        }
        let raw = String::from_utf8_lossy(member);
        keys.push(Key::new(&*raw).map_err(|_| damaged(&raw, "the index holds an invalid key")));
    }
    if let Some(last) = members.last() {
        cursor.from = format!("({}", String::from_utf8_lossy(last));
    }
    let valid: Vec<&Key> = keys.iter().filter_map(|k| k.as_ref().ok()).collect();
    let mut pipe = redis::pipe();
    for key in &valid {
        pipe.cmd("HMGET")
            .arg(inner.names.entry(key))
            .arg(&["ver", "size", "mod"]);
    }
    let rows: Vec<MetaFields> = if valid.is_empty() {
        Vec::new()
    } else {
        pipe.query_async(&mut conn).await.map_err(error)?
    };
    let mut rows = rows.into_iter();
    let mut page = Vec::with_capacity(keys.len());
    for key in keys {
        let item = match key {
            Err(damage) => Some(Err(damage)),
            // A key deleted since the index was read has no hash: it is gone, not listed.
            Ok(key) => meta(&key, rows.next().unwrap_or((None, None, None))).transpose(),
        };
        if let Some(item) = item {
            page.push(item);
            cursor.remaining -= 1;
            if cursor.remaining == 0 {
                break;
            }
        }
    }
    Ok(page)
}
