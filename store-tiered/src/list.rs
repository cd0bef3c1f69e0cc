//! Listing: the backend's keys merged with pending write-behind writes, in key order.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Key, ListOptions, Meta, Result};

use crate::config::WritePolicy;
use crate::shared::Shared;

struct State {
    shared: Arc<Shared>,
    /// The backend's (or, for frontend-only tiers, the frontend's) listing.
    source: BoxStream<'static, Result<Meta>>,
    peeked: Option<Meta>,
    source_done: bool,
    /// Pending writes at the start of the listing (`None` is a delete).
    pending: VecDeque<(Key, Option<Meta>)>,
    remaining: Option<usize>,
    frontend_only: bool,
}

/// List what a caller of this tiered store would read, honouring `options`.
pub(crate) fn list(shared: Arc<Shared>, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
    let frontend_only = shared.options.write_policy == WritePolicy::FrontendOnly;
    // The limit applies after merging, so the source is listed without one.
    let source_options = ListOptions {
        limit: None,
        ..options.clone()
    };
    let source = if frontend_only {
        shared.front.store.list(source_options)
    } else {
        shared.backend.list(source_options)
    };
    let pending = shared
        .queue
        .as_ref()
        .map(|q| q.snapshot(&options).into())
        .unwrap_or_default();
    let state = State {
        shared,
        source,
        peeked: None,
        source_done: false,
        pending,
        remaining: options.limit,
        frontend_only,
    };
    stream::try_unfold(state, next).boxed()
}

async fn next(mut st: State) -> Result<Option<(Meta, State)>> {
    loop {
        if st.remaining == Some(0) {
            return Ok(None);
        }
        if st.peeked.is_none() && !st.source_done {
            match st.source.next().await {
                Some(item) => st.peeked = Some(item?),
                None => st.source_done = true,
            }
        }
        let take_pending = match (&st.peeked, st.pending.front()) {
            (None, None) => return Ok(None),
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(meta), Some((key, _))) => {
                if *key == meta.key {
                    // The pending write is newer than what the source has.
                    st.peeked = None;
                    true
                } else {
                    *key < meta.key
                }
            }
        };
        let meta = if take_pending {
            match st.pending.pop_front() {
                Some((_, Some(meta))) => meta,
                _ => continue, // a pending delete hides the key
            }
        } else {
            let Some(meta) = st.peeked.take() else {
                continue;
            };
            match resolve(&st.shared, st.frontend_only, meta).await? {
                Some(meta) => meta,
                None => continue,
            }
        };
        if let Some(remaining) = st.remaining.as_mut() {
            *remaining -= 1;
        }
        return Ok(Some((meta, st)));
    }
}

/// What a caller sees for a listed key: under write-behind the version we showed it (the
/// frontend's copy says), for frontend-only tiers the envelope's metadata (or nothing for
/// a tombstone).
async fn resolve(shared: &Shared, frontend_only: bool, meta: Meta) -> Result<Option<Meta>> {
    if frontend_only {
        return Ok(shared
            .front
            .read(&meta.key)
            .await?
            .filter(|envelope| !envelope.tombstone)
            .map(|envelope| envelope.meta(&meta.key)));
    }
    if shared.queue.is_some() {
        return Ok(Some(shared.shown_meta(meta).await));
    }
    Ok(Some(meta))
}
