//! Listing: the backend's keys merged with pending write-behind writes, in key order.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Error, Key, ListOptions, Meta, Result};

use crate::config::WritePolicy;
use crate::shared::Shared;

/// What the source listing said next: an entry, or a damaged entry at this key.
enum Item {
    Entry(Meta),
    Damaged(Key, Error),
}

impl Item {
    fn key(&self) -> &Key {
        match self {
            Item::Entry(meta) => &meta.key,
            Item::Damaged(key, _) => key,
        }
    }
}

/// What the tiered store knows about a key that the source listing may not show.
enum Overlay {
    /// A pending write-behind put.
    Write(Meta),
    /// A pending write-behind delete: the key is hidden.
    Delete,
    /// A journal record recovery found damaged: reported, whatever the source says.
    Damaged(Error),
}

/// Pending writes and damaged journal records that `options` admits, in key order (a
/// pending write is newer than a damaged record of its key).
fn overlay(shared: &Shared, options: &ListOptions) -> VecDeque<(Key, Overlay)> {
    let pending = shared.queue.as_ref().map(|q| q.snapshot(options));
    let mut pending = pending.unwrap_or_default().into_iter().peekable();
    let mut damaged = shared
        .damaged_journal
        .admitted(options)
        .into_iter()
        .peekable();
    let mut out = VecDeque::new();
    loop {
        let next = match (pending.peek(), damaged.peek()) {
            (None, None) => return out,
            (Some((p, _)), Some(d)) if p == d => {
                damaged.next();
                continue;
            }
            (Some((p, _)), Some(d)) => p < d,
            (p, _) => p.is_some(),
        };
        let item = if next {
            pending.next().map(|(key, write)| {
                let write = write.map_or(Overlay::Delete, Overlay::Write);
                (key, write)
            })
        } else {
            damaged.next().map(|key| {
                let error = Error::corrupted(
                    &key,
                    "write-behind found this key's journal record damaged; its last write \
                     may be lost",
                );
                (key, Overlay::Damaged(error))
            })
        };
        out.extend(item);
    }
}

struct State {
    shared: Arc<Shared>,
    /// The backend's (or, for frontend-only tiers, the frontend's) listing.
    source: BoxStream<'static, Result<Meta>>,
    peeked: Option<Item>,
    source_done: bool,
    /// An error ended the listing.
    failed: bool,
    /// Pending writes and damaged journal records at the start of the listing.
    pending: VecDeque<(Key, Overlay)>,
    remaining: Option<usize>,
    frontend_only: bool,
}

/// List what a caller of this tiered store would read, honouring `options`. A damaged
/// entry (in the source listing, or the frontend's record of a listed key where it may be
/// the only copy) is an `Err` naming its key, and the listing goes on.
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
    let pending = overlay(&shared, &options);
    let state = State {
        shared,
        source,
        peeked: None,
        source_done: false,
        failed: false,
        pending,
        remaining: options.limit,
        frontend_only,
    };
    stream::unfold(state, |mut st| async move {
        if st.failed {
            return None;
        }
        let item = next(&mut st).await.transpose()?;
        match &item {
            // A reported damaged entry is not one of the `limit` entries listed.
            Ok(_) => {
                if let Some(remaining) = st.remaining.as_mut() {
                    *remaining -= 1;
                }
            }
            Err(error) => st.failed = error.damaged_key().is_none(),
        }
        Some((item, st))
    })
    .boxed()
}

async fn next(st: &mut State) -> Result<Option<Meta>> {
    loop {
        if st.remaining == Some(0) {
            return Ok(None);
        }
        if st.peeked.is_none() && !st.source_done {
            match st.source.next().await {
                Some(Ok(meta)) => st.peeked = Some(Item::Entry(meta)),
                Some(Err(error)) => match error.key().map(Key::new) {
                    Some(Ok(key)) if error.damaged_key().is_some() => {
                        st.peeked = Some(Item::Damaged(key, error));
                    }
                    _ => return Err(error),
                },
                None => st.source_done = true,
            }
        }
        let take_pending = match (&st.peeked, st.pending.front()) {
            (None, None) => return Ok(None),
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(item), Some((key, _))) => {
                if key == item.key() {
                    // The pending write (or damaged record) is newer than what the source has.
                    st.peeked = None;
                    true
                } else {
                    key < item.key()
                }
            }
        };
        if take_pending {
            match st.pending.pop_front() {
                Some((_, Overlay::Write(meta))) => return Ok(Some(meta)),
                Some((_, Overlay::Damaged(error))) => return Err(error),
                _ => continue, // a pending delete hides the key
            }
        }
        match st.peeked.take() {
            None => continue,
            Some(Item::Damaged(_, error)) => return Err(error),
            Some(Item::Entry(meta)) => {
                if let Some(meta) = resolve(&st.shared, st.frontend_only, meta).await? {
                    return Ok(Some(meta));
                }
            }
        }
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
        return shared.shown_meta(meta).await.map(Some);
    }
    Ok(Some(meta))
}
