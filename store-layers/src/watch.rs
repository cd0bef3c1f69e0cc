//! # Watch: a stream of the writes made through a store
//!
//! [`Watch`] wraps a store (on [`store_core::Layer`], so everything it does not watch is
//! the inner store's own) and announces every write made *through it* to the streams
//! [`Watch::watch`] hands out. Writes made to the inner store directly, or by another
//! process, are not seen.
//!
//! - A [`Change`] (key, new version, put or delete) is sent only after the inner store
//!   acknowledged the write, so a watcher that reads the key on receipt finds that
//!   version or a later one. Batches (`put_many`, `delete_many`) announce one change per
//!   key, in the batch's order.
//! - A write whose outcome is unknown (an error other than a failed condition or an
//!   invalid argument, e.g. a timeout; or any error of a batch that is not atomic) may
//!   have applied: each of its keys is announced as [`Event::MayHaveChanged`]. A write
//!   that certainly did not apply announces nothing.
//! - Watchers share one bounded buffer ([`Watch::with_capacity`], default
//!   [`DEFAULT_CAPACITY`]). A writer never waits for a watcher: a watcher that falls more
//!   than the capacity behind loses the oldest changes and receives
//!   [`Event::Lagged(n)`](Event::Lagged) (`n` changes missed, of every prefix) in their
//!   place, then continues with the oldest change still buffered.
//!
//! ```
//! use std::sync::Arc;
//! use futures::StreamExt;
//! use store_core::{Bytes, Key, Prefix, PutMode, Store};
//! use store_layers::watch::{ChangeKind, Event, Watch};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> store_core::Result<()> {
//! let store = Watch::new(Arc::new(store_memory::MemoryStore::new()));
//! let mut users = store.watch(Prefix::new("users/")?);
//! store.put(&Key::new("logs/1")?, Bytes::from("not watched"), PutMode::Overwrite).await?;
//! let meta = store.put(&Key::new("users/ada")?, Bytes::from("hi"), PutMode::Create).await?;
//! let Some(Event::Change(change)) = users.next().await else { panic!("a change") };
//! assert_eq!((change.key.as_str(), change.kind), ("users/ada", ChangeKind::Put));
//! assert_eq!(change.version, Some(meta.version));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use store_core::{
    Error, ErrorKind, Key, Layer, Meta, Prefix, PutMode, PutOp, Result, Store, Version,
};
use tokio::sync::broadcast;

/// How many changes the shared buffer holds by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A value was written.
    Put,
    /// The key was deleted (or was already absent).
    Delete,
}

/// One acknowledged write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key written.
    pub key: Key,
    /// The version the put gave it; `None` for a delete.
    pub version: Option<Version>,
    /// Put or delete.
    pub kind: ChangeKind,
}

/// What a watch stream yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An acknowledged write.
    Change(Change),
    /// A write to this key failed in a way that leaves open whether it applied.
    MayHaveChanged(Key),
    /// This watcher fell behind and missed this many changes (of any prefix).
    Lagged(u64),
}

impl Event {
    fn key(&self) -> Option<&Key> {
        match self {
            Event::Change(change) => Some(&change.key),
            Event::MayHaveChanged(key) => Some(key),
            Event::Lagged(_) => None,
        }
    }
}

/// A store that announces the writes made through it (see the [module docs](self)).
#[derive(Debug)]
pub struct Watch {
    inner: Arc<dyn Store>,
    sender: broadcast::Sender<Event>,
}

impl Watch {
    /// Watch writes to `inner`, with a buffer of [`DEFAULT_CAPACITY`] changes.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// Watch writes to `inner`, with a buffer of `capacity` changes (at least 1).
    pub fn with_capacity(inner: Arc<dyn Store>, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Watch { inner, sender }
    }

    /// The changes to keys under `prefix` made from now on, until the `Watch` is dropped.
    pub fn watch(&self, prefix: Prefix) -> BoxStream<'static, Event> {
        let receiver = self.sender.subscribe();
        stream::unfold(receiver, |mut receiver| async move {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(n)) => Event::Lagged(n),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((event, receiver))
        })
        .filter(move |event| {
            let wanted = event.key().is_none_or(|key| key.starts_with(&prefix));
            futures::future::ready(wanted)
        })
        .boxed()
    }

    fn announce(&self, event: Event) {
        // No receiver is no error: nobody is watching.
        let _ = self.sender.send(event);
    }

    fn put_done(&self, key: &Key, meta: &Meta) {
        self.announce(Event::Change(Change {
            key: key.clone(),
            version: Some(meta.version.clone()),
            kind: ChangeKind::Put,
        }));
    }

    fn deleted(&self, key: &Key) {
        self.announce(Event::Change(Change {
            key: key.clone(),
            version: None,
            kind: ChangeKind::Delete,
        }));
    }

    /// After a failed write of `keys`: announce them unless the write surely did not apply.
    fn failed<'k>(&self, error: &Error, atomic: bool, keys: impl Iterator<Item = &'k Key>) {
        if atomic && did_not_apply(error) {
            return;
        }
        for key in keys {
            self.announce(Event::MayHaveChanged(key.clone()));
        }
    }
}

/// Whether an error says the write was refused before anything was changed.
fn did_not_apply(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::AlreadyExists
            | ErrorKind::VersionMismatch
            | ErrorKind::InvalidKey
            | ErrorKind::InvalidInput
            | ErrorKind::Unsupported
    )
}

#[async_trait]
impl Layer for Watch {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        let outcome = self.inner.put(key, value, mode).await;
        match &outcome {
            Ok(meta) => self.put_done(key, meta),
            Err(e) => self.failed(e, true, std::iter::once(key)),
        }
        outcome
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let outcome = self.inner.delete(key).await;
        match &outcome {
            Ok(()) => self.deleted(key),
            Err(e) => self.failed(e, true, std::iter::once(key)),
        }
        outcome
    }

    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        let keys: Vec<Key> = ops.iter().map(|op| op.key.clone()).collect();
        let atomic = self.inner.capabilities().atomic_batches;
        let outcome = self.inner.put_many(ops).await;
        match &outcome {
            Ok(metas) => keys
                .iter()
                .zip(metas)
                .for_each(|(key, meta)| self.put_done(key, meta)),
            Err(e) => self.failed(e, atomic, keys.iter()),
        }
        outcome
    }

    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        let atomic = self.inner.capabilities().atomic_batches;
        let outcome = self.inner.delete_many(keys).await;
        match &outcome {
            Ok(()) => keys.iter().for_each(|key| self.deleted(key)),
            Err(e) => self.failed(e, atomic, keys.iter()),
        }
        outcome
    }
}
