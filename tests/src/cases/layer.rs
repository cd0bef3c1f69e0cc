//! Layers: a wrapper built on [`Layer`] that overrides nothing is the store it wraps, with
//! its capabilities, its atomic batches and its `flush`.
//!
//! Each case takes the wrapping as a [`Wrap`]; the suite passes [`do_nothing`], and the
//! meta-test passes a wrapper that forgets the batch methods and `flush` (what a
//! hand-written forwarding impl falls back to) to prove the cases catch it. A
//! `Counting` layer between the wrapper and the store under test sees which calls
//! reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use store_core::{Entry, Key, Layer, Meta, PutMode, PutOp, Result, Store, async_trait};

use super::batch::atomic_on_conflict;
use super::util::{key, list_keys, must_get, val};
use crate::harness::Outcome;

/// How a case wraps the store it is given.
pub type Wrap = fn(Arc<dyn Store>) -> Arc<dyn Store>;

/// A layer that overrides nothing.
#[derive(Debug)]
pub struct DoNothing(Arc<dyn Store>);

impl Layer for DoNothing {
    fn inner(&self) -> &dyn Store {
        &*self.0
    }
}

/// Wraps `store` in a [`DoNothing`] layer.
pub fn do_nothing(store: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(DoNothing(store))
}

/// Counts the calls that reach the store it wraps, by method.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Store>,
    get: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    get_many: AtomicU64,
    put_many: AtomicU64,
    delete_many: AtomicU64,
    flush: AtomicU64,
}

impl Counting {
    fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            get: AtomicU64::new(0),
            put: AtomicU64::new(0),
            delete: AtomicU64::new(0),
            get_many: AtomicU64::new(0),
            put_many: AtomicU64::new(0),
            delete_many: AtomicU64::new(0),
            flush: AtomicU64::new(0),
        })
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn seen(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Layer for Counting {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        Counting::count(&self.get);
        self.inner.get(key).await
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        Counting::count(&self.put);
        self.inner.put(key, value, mode).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        Counting::count(&self.delete);
        self.inner.delete(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        Counting::count(&self.get_many);
        self.inner.get_many(keys).await
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        Counting::count(&self.put_many);
        self.inner.put_many(ops).await
    }
    async fn delete_many(&self, keys: &[Key]) -> Result<()> {
        Counting::count(&self.delete_many);
        self.inner.delete_many(keys).await
    }
    async fn flush(&self) -> Result<()> {
        Counting::count(&self.flush);
        self.inner.flush().await
    }
}

/// A do-nothing layer declares exactly the capabilities and locations of its store.
pub async fn layer_keeps_capabilities(store: Arc<dyn Store>) -> Outcome {
    keeps_capabilities(store, do_nothing).await
}

/// [`layer_keeps_capabilities`] for the layer `wrap` makes.
pub async fn keeps_capabilities(store: Arc<dyn Store>, wrap: Wrap) -> Outcome {
    let wrapped = wrap(store.clone());
    assert_eq!(wrapped.capabilities(), store.capabilities());
    assert_eq!(wrapped.locations(), store.locations());
    Ok(())
}

/// Each batch call on a do-nothing layer reaches the store as that one batch call (so it
/// is the store's own batch, atomic where the store's is), never as single-key calls.
pub async fn layer_forwards_batches(store: Arc<dyn Store>) -> Outcome {
    forwards_batches(store, do_nothing).await
}

/// [`layer_forwards_batches`] for the layer `wrap` makes.
pub async fn forwards_batches(store: Arc<dyn Store>, wrap: Wrap) -> Outcome {
    let counting = Counting::new(store.clone());
    let wrapped = wrap(counting.clone());
    let keys: Vec<Key> = ["lb/a", "lb/b", "lb/c"].map(key).into();
    let ops = keys
        .iter()
        .map(|k| PutOp::overwrite(k.clone(), val(k.as_str())))
        .collect();
    let metas = wrapped.put_many(ops).await.unwrap();
    assert_eq!(metas.len(), 3);
    let got = wrapped.get_many(&keys).await.unwrap();
    assert!(got.iter().all(Option::is_some), "put_many wrote every key");
    wrapped.delete_many(&keys[..2]).await.unwrap();
    assert_eq!(list_keys(&store, Default::default()).await, ["lb/c"]);
    let calls = Counting::seen;
    assert_eq!(
        (calls(&counting.put_many), calls(&counting.put)),
        (1, 0),
        "put_many reaches the store as one put_many, not as puts"
    );
    assert_eq!(
        (calls(&counting.get_many), calls(&counting.get)),
        (1, 0),
        "get_many reaches the store as one get_many, not as gets"
    );
    assert_eq!(
        (calls(&counting.delete_many), calls(&counting.delete)),
        (1, 0),
        "delete_many reaches the store as one delete_many, not as deletes"
    );
    Ok(())
}

/// Where the store's batches are atomic, they still are through a do-nothing layer: a
/// `put_many` with one failing condition writes nothing.
pub async fn layer_keeps_atomic_put_many(store: Arc<dyn Store>) -> Outcome {
    keeps_atomic_put_many(store, do_nothing).await
}

/// [`layer_keeps_atomic_put_many`] for the layer `wrap` makes.
pub async fn keeps_atomic_put_many(store: Arc<dyn Store>, wrap: Wrap) -> Outcome {
    let caps = store.capabilities();
    atomic_on_conflict(&wrap(store), caps).await
}

/// `flush` on a do-nothing layer reaches the store (its durability barrier), once.
pub async fn layer_forwards_flush(store: Arc<dyn Store>) -> Outcome {
    forwards_flush(store, do_nothing).await
}

/// [`layer_forwards_flush`] for the layer `wrap` makes.
pub async fn forwards_flush(store: Arc<dyn Store>, wrap: Wrap) -> Outcome {
    let counting = Counting::new(store.clone());
    let wrapped = wrap(counting.clone());
    let k = key("lf/a");
    wrapped.put(&k, val("a"), PutMode::Overwrite).await.unwrap();
    wrapped.flush().await.unwrap();
    assert_eq!(
        Counting::seen(&counting.flush),
        1,
        "flush did not reach the wrapped store"
    );
    assert_eq!(must_get(&store, &k).await, val("a"));
    Ok(())
}
