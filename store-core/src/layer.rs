//! `Layer`: the forwarding base every wrapper store is built on.
//!
//! A wrapper (a stats layer, a cache, compression, a test probe) names the store it wraps
//! and overrides only what it changes; every other method forwards to the inner store,
//! *including* the batch methods and `flush`. A hand-written forwarding impl that forgets
//! `put_many` silently falls back to `Store`'s default, which is not atomic, and one that
//! forgets `flush` silently drops the durability barrier. With `Layer`, forgetting is
//! impossible: the default is the inner store's own behaviour. (The same idea as OpenDAL's
//! `LayeredAccess`.)

use std::fmt::Debug;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::capabilities::Capabilities;
use crate::error::Result;
use crate::key::Key;
use crate::meta::{Entry, ListOptions, Meta, PutMode, PutOp};
use crate::store::Store;

/// A store that wraps another one. Every type implementing `Layer` is a [`Store`]; each
/// method forwards to [`inner`](Layer::inner) unless the layer overrides it.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use store_core::{async_trait, Bytes, Key, Layer, Meta, PutMode, Result, Store};
///
/// /// Counts puts; everything else (batches, flush, listing) is the inner store's.
/// #[derive(Debug)]
/// struct CountPuts { inner: Arc<dyn Store>, puts: AtomicU64 }
///
/// #[async_trait]
/// impl Layer for CountPuts {
///     fn inner(&self) -> &dyn Store { &*self.inner }
///     async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
///         self.puts.fetch_add(1, Ordering::Relaxed);
///         self.inner.put(key, value, mode).await
///     }
/// }
/// # fn assert_store<S: Store>() {}
/// # assert_store::<CountPuts>();
/// ```
#[async_trait]
pub trait Layer: Send + Sync + Debug {
    /// The store this layer wraps.
    fn inner(&self) -> &dyn Store;

    /// See [`Store::capabilities`]. A layer that weakens a promise (or changes
    /// `max_value_size`) must override this to say so.
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }

    /// See [`Store::get`].
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.inner().get(key).await
    }

    /// See [`Store::get_range`].
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        self.inner().get_range(key, range).await
    }

    /// See [`Store::head`].
    async fn head(&self, key: &Key) -> Result<Option<Meta>> {
        self.inner().head(key).await
    }

    /// See [`Store::put`].
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.inner().put(key, value, mode).await
    }

    /// See [`Store::delete`].
    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner().delete(key).await
    }

    /// See [`Store::list`].
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.inner().list(options)
    }

    /// See [`Store::get_many`].
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        self.inner().get_many(keys).await
    }

    /// See [`Store::put_many`].
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.inner().put_many(ops).await
    }

    /// See [`Store::delete_many`].
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        self.inner().delete_many(keys).await
    }

    /// See [`Store::flush`].
    async fn flush(&self) -> Result<()> {
        self.inner().flush().await
    }

    /// See [`Store::locations`].
    fn locations(&self) -> Vec<String> {
        self.inner().locations()
    }
}

// Written out rather than with `#[async_trait]`, so that a call through a layer boxes one
// future (the layer's own), not two: each method hands back the future `Layer` built.
// The signatures are exactly what `#[async_trait]` generates for `Store`.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl<L: Layer> Store for L {
    fn capabilities(&self) -> Capabilities {
        Layer::capabilities(self)
    }

    fn get<'s, 'k, 'f>(&'s self, key: &'k Key) -> Boxed<'f, Option<Entry>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::get(self, key)
    }

    fn get_range<'s, 'k, 'f>(
        &'s self,
        key: &'k Key,
        range: Range<u64>,
    ) -> Boxed<'f, Option<(Bytes, Meta)>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::get_range(self, key, range)
    }

    fn head<'s, 'k, 'f>(&'s self, key: &'k Key) -> Boxed<'f, Option<Meta>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::head(self, key)
    }

    fn put<'s, 'k, 'f>(&'s self, key: &'k Key, value: Bytes, mode: PutMode) -> Boxed<'f, Meta>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::put(self, key, value, mode)
    }

    fn delete<'s, 'k, 'f>(&'s self, key: &'k Key) -> Boxed<'f, ()>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::delete(self, key)
    }

    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        Layer::list(self, options)
    }

    fn get_many<'s, 'k, 'f>(&'s self, keys: &'k [Key]) -> Boxed<'f, Vec<Option<Entry>>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::get_many(self, keys)
    }

    fn put_many<'s, 'f>(&'s self, ops: Vec<PutOp>) -> Boxed<'f, Vec<Meta>>
    where
        's: 'f,
        Self: 'f,
    {
        Layer::put_many(self, ops)
    }

    fn delete_many<'s, 'k, 'f>(&'s self, keys: &'k [Key]) -> Boxed<'f, ()>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        Layer::delete_many(self, keys)
    }

    fn flush<'s, 'f>(&'s self) -> Boxed<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        Layer::flush(self)
    }

    fn locations(&self) -> Vec<String> {
        Layer::locations(self)
    }
}
