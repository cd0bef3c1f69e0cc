//! `list` as primary-key range scans, one page of [`LIST_PAGE`] keys per round trip,
//! fetched as the stream is consumed (no connection is held between pages).

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Key, ListOptions, Meta, Result};

use crate::sql::prefix_successor;
use crate::store::{Inner, LIST_PAGE, meta_of};

struct Cursor {
    inner: Arc<Inner>,
    prefix: String,
    upper: Option<String>,
    after: String,
    remaining: Option<usize>,
    done: bool,
}

pub(crate) fn list(inner: Arc<Inner>, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
    let prefix = options.prefix.as_str().to_owned();
    let cursor = Cursor {
        upper: prefix_successor(&prefix),
        prefix,
        inner,
        after: options
            .start_after
            .map(|k| k.as_str().to_owned())
            .unwrap_or_default(),
        remaining: options.limit,
        done: options.limit == Some(0),
    };
    stream::try_unfold(cursor, |mut cursor| async move {
        if cursor.done {
            return Ok(None);
        }
        let page = next_page(&mut cursor).await?;
        Ok(Some((stream::iter(page.into_iter().map(Ok)), cursor)))
    })
    .map(|page: Result<_>| match page {
        Ok(items) => items.left_stream(),
        Err(e) => stream::once(async move { Err(e) }).right_stream(),
    })
    .flatten()
    .boxed()
}

async fn next_page(cursor: &mut Cursor) -> Result<Vec<Meta>> {
    let want = cursor.remaining.map_or(LIST_PAGE, |r| r.min(LIST_PAGE));
    let inner = cursor.inner.clone();
    let rows = inner
        .bounded("list", async {
            let client = inner.client("list").await?;
            let limit = want as i64;
            match &cursor.upper {
                Some(upper) => {
                    let stmt = client
                        .prepare_cached(&inner.sql.list_bounded)
                        .await
                        .map_err(|e| inner.pg("list", e))?;
                    client
                        .query(&stmt, &[&cursor.after, &cursor.prefix, &limit, upper])
                        .await
                }
                None => {
                    let stmt = client
                        .prepare_cached(&inner.sql.list)
                        .await
                        .map_err(|e| inner.pg("list", e))?;
                    client
                        .query(&stmt, &[&cursor.after, &cursor.prefix, &limit])
                        .await
                }
            }
            .map_err(|e| inner.pg("list", e))
        })
        .await?;
    if rows.len() < want {
        cursor.done = true;
    }
    let mut page = Vec::with_capacity(rows.len());
    let mut skipped = 0usize;
    for row in &rows {
        let name: String = row.get(0);
        match Key::new(&name) {
            Ok(key) => page.push(meta_of(key, row, 1)?),
            // Rows other tools inserted under names that are not keys are skipped.
            Err(_) => skipped += 1,
        }
        cursor.after = name;
    }
    // Only keys count toward the limit; skipped rows do not.
    if let Some(remaining) = &mut cursor.remaining {
        *remaining = remaining.saturating_sub(page.len());
        cursor.done |= *remaining == 0;
    }
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "list: skipped rows whose names are not Strata keys"
        );
    }
    Ok(page)
}
