//! The policy layers' own promises (retry, timeout, concurrency limit) against stores that
//! fail, stall or count on purpose, and every layer factory's config handling.

mod layers_support;

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use layers_support::{key, memory};
use store_core::{
    Entry, Error, ErrorKind, Key, ListOptions, Meta, PutMode, PutOp, Result, Store, async_trait,
};
use store_layers::limit::Limit;
use store_layers::retry::{Retry, RetryPolicy};
use store_layers::timeout::Timeout;

fn rt() -> tokio::runtime::Runtime {
    strata_tests::harness::runtime()
}

/// What the next call of a kind does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Fail with a retryable error without doing anything.
    Before,
    /// Do the call, then report a retryable failure (the reply was lost).
    After,
    /// Fail with a non-retryable error.
    Broken,
}

/// A store whose calls fail as scripted, counting calls by kind.
#[derive(Debug, Default)]
struct Flaky {
    inner: Option<Arc<dyn Store>>,
    puts: Mutex<VecDeque<Fault>>,
    gets: Mutex<VecDeque<Fault>>,
    /// Listings fail (retryably) after yielding this many entries, once per entry.
    list_fail_after: Mutex<VecDeque<usize>>,
    put_calls: AtomicU64,
    get_calls: AtomicU64,
    list_calls: AtomicU64,
    batch_calls: AtomicU64,
}

impl Flaky {
    fn new() -> Arc<Self> {
        Arc::new(Flaky {
            inner: Some(memory()),
            ..Default::default()
        })
    }
    fn store(&self) -> &dyn Store {
        self.inner.as_deref().expect("inner")
    }
    fn script(queue: &Mutex<VecDeque<Fault>>, faults: &[Fault]) {
        queue.lock().unwrap().extend(faults);
    }
}

fn lost() -> Error {
    Error::unavailable("connection reset")
}

#[async_trait]
impl store_core::Layer for Flaky {
    fn inner(&self) -> &dyn Store {
        self.store()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.get_calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.gets.lock().unwrap().pop_front();
        match fault {
            Some(Fault::Before) => Err(lost()),
            Some(Fault::Broken) => Err(Error::corrupted(key, "bad bytes")),
            Some(Fault::After) => self.store().get(key).await.and(Err(lost())),
            None => self.store().get(key).await,
        }
    }
    async fn put(&self, key: &Key, value: Bytes, mode: PutMode) -> Result<Meta> {
        self.put_calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.puts.lock().unwrap().pop_front();
        match fault {
            Some(Fault::Before) => Err(lost()),
            Some(Fault::Broken) => Err(Error::backend("engine", "broken")),
            Some(Fault::After) => self.store().put(key, value, mode).await.and(Err(lost())),
            None => self.store().put(key, value, mode).await,
        }
    }
    async fn put_many(&self, ops: Vec<PutOp>) -> Result<Vec<Meta>> {
        self.batch_calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.puts.lock().unwrap().pop_front();
        match fault {
            Some(_) => Err(lost()),
            None => self.store().put_many(ops).await,
        }
    }
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        self.list_calls.fetch_add(1, Ordering::SeqCst);
        let inner = self.store().list(options);
        match self.list_fail_after.lock().unwrap().pop_front() {
            Some(n) => inner
                .take(n)
                .chain(futures::stream::once(async { Err(lost()) }))
                .boxed(),
            None => inner,
        }
    }
}

fn retry(flaky: &Arc<Flaky>, attempts: u32) -> Retry {
    let policy = RetryPolicy {
        max_attempts: attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    };
    Retry::new(flaky.clone(), policy)
}

#[test]
fn retryable_failures_are_retried_a_bounded_number_of_times() {
    rt().block_on(async {
        let flaky = Flaky::new();
        let k = key("r/a");
        flaky
            .store()
            .put(&k, "v".into(), PutMode::Overwrite)
            .await
            .unwrap();
        Flaky::script(&flaky.gets, &[Fault::Before, Fault::Before]);
        let got = retry(&flaky, 3).get(&k).await.unwrap().unwrap();
        assert_eq!(
            (got.value, flaky.get_calls.load(Ordering::SeqCst)),
            ("v".into(), 3)
        );

        Flaky::script(&flaky.gets, &[Fault::Before, Fault::Before]);
        let err = retry(&flaky, 2).get(&k).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(flaky.get_calls.load(Ordering::SeqCst), 5);

        flaky.gets.lock().unwrap().clear();
        Flaky::script(&flaky.gets, &[Fault::Broken]);
        let err = retry(&flaky, 5).get(&k).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Corrupted,
            "not retryable: returned at once"
        );
        assert_eq!(flaky.get_calls.load(Ordering::SeqCst), 6);
    });
}

#[test]
fn overwrites_are_retried_even_after_an_ambiguous_failure() {
    rt().block_on(async {
        let flaky = Flaky::new();
        Flaky::script(&flaky.puts, &[Fault::After, Fault::Before]);
        retry(&flaky, 3)
            .put(&key("o"), "v".into(), PutMode::Overwrite)
            .await
            .unwrap();
        assert_eq!(flaky.put_calls.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn a_conditional_put_that_wrote_nothing_is_retried() {
    rt().block_on(async {
        let flaky = Flaky::new();
        let k = key("c/create");
        Flaky::script(&flaky.puts, &[Fault::Before]);
        retry(&flaky, 3)
            .put(&k, "mine".into(), PutMode::Create)
            .await
            .unwrap();
        assert_eq!(flaky.put_calls.load(Ordering::SeqCst), 2);

        let v = flaky.store().head(&k).await.unwrap().unwrap().version;
        Flaky::script(&flaky.puts, &[Fault::Before]);
        retry(&flaky, 3)
            .put(&k, "next".into(), PutMode::Update(v))
            .await
            .unwrap();
        assert_eq!(flaky.store().get(&k).await.unwrap().unwrap().value, "next");
    });
}

#[test]
fn a_conditional_put_whose_outcome_is_unknown_is_not_retried_nor_called_a_conflict() {
    rt().block_on(async {
        let flaky = Flaky::new();
        let k = key("c/ambiguous");
        // The Create landed but its reply was lost: a blind retry would say AlreadyExists
        // about our own write.
        Flaky::script(&flaky.puts, &[Fault::After]);
        let err = retry(&flaky, 3)
            .put(&k, "mine".into(), PutMode::Create)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains("outcome is unknown"), "{err}");
        assert_eq!(flaky.put_calls.load(Ordering::SeqCst), 1);

        let v = flaky.store().head(&k).await.unwrap().unwrap().version;
        Flaky::script(&flaky.puts, &[Fault::After]);
        let err = retry(&flaky, 3)
            .put(&k, "2".into(), PutMode::Update(v))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert_eq!(flaky.put_calls.load(Ordering::SeqCst), 2);

        // A real conflict is reported as one, and at once.
        let err = retry(&flaky, 3)
            .put(&k, "x".into(), PutMode::Create)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(flaky.put_calls.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn conditional_batches_are_not_retried_unconditional_ones_are() {
    rt().block_on(async {
        let flaky = Flaky::new();
        let ops = vec![PutOp::new(key("b/1"), "1", PutMode::Create)];
        Flaky::script(&flaky.puts, &[Fault::Before]);
        retry(&flaky, 3).put_many(ops).await.unwrap_err();
        assert_eq!(flaky.batch_calls.load(Ordering::SeqCst), 1);
        Flaky::script(&flaky.puts, &[Fault::Before]);
        retry(&flaky, 3)
            .put_many(vec![PutOp::overwrite(key("b/2"), "2")])
            .await
            .unwrap();
        assert_eq!(flaky.batch_calls.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn a_listing_that_fails_part_way_resumes_after_its_last_key() {
    rt().block_on(async {
        let flaky = Flaky::new();
        let keys: Vec<Key> = (0..30).map(|i| key(&format!("l/{i:02}"))).collect();
        for k in &keys {
            flaky
                .store()
                .put(k, "v".into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        flaky.list_fail_after.lock().unwrap().extend([7, 5, 0]);
        let listed: Vec<Key> = retry(&flaky, 3)
            .list(ListOptions::default())
            .map_ok(|m| m.key)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, keys);
        assert_eq!(flaky.list_calls.load(Ordering::SeqCst), 4);
        // With a limit the resumed listing stops at the limit all the same.
        flaky.list_fail_after.lock().unwrap().extend([4]);
        let limited: Vec<Key> = retry(&flaky, 3)
            .list(ListOptions::default().limit(10))
            .map_ok(|m| m.key)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(limited, keys[..10]);
        // Out of attempts: the error ends the listing.
        flaky.list_fail_after.lock().unwrap().extend([0, 0, 0]);
        let err = retry(&flaky, 3)
            .list(ListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    });
}

#[test]
fn backoff_grows_to_its_cap_with_jitter() {
    let policy = RetryPolicy {
        max_attempts: 10,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(80),
    };
    for retry in 1..12 {
        let cap = Duration::from_millis((10u64 << (retry - 1).min(3)).min(80));
        let pauses: Vec<_> = (0..50).map(|_| policy.backoff(retry)).collect();
        assert!(pauses.iter().all(|p| *p <= cap), "{retry}: {pauses:?}");
        assert!(pauses.iter().any(|p| *p != pauses[0]), "jittered");
    }
}

/// A store whose calls take `delay` each, counting how many run at once.
#[derive(Debug)]
struct Slow {
    inner: Arc<dyn Store>,
    delay: Duration,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl Slow {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Slow {
            inner: memory(),
            delay,
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        })
    }
    async fn work(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        /// Counts down even when the call is abandoned mid-sleep.
        struct Done<'a>(&'a AtomicUsize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _done = Done(&self.running);
        tokio::time::sleep(self.delay).await;
    }
}

#[async_trait]
impl store_core::Layer for Slow {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.work().await;
        self.inner.get(key).await
    }
    async fn get_range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        self.work().await;
        self.inner.get_range(key, range).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'static, Result<Meta>> {
        let delay = self.delay;
        self.inner
            .list(options)
            .then(move |item| async move {
                tokio::time::sleep(delay).await;
                item
            })
            .boxed()
    }
}

#[test]
fn a_call_past_its_deadline_fails_retryably_and_leaves_the_store_usable() {
    rt().block_on(async {
        let slow = Slow::new(Duration::from_millis(300));
        let store = Timeout::new(slow.clone(), Duration::from_millis(30));
        let k = key("t/slow");
        store.put(&k, "v".into(), PutMode::Overwrite).await.unwrap();
        let started = std::time::Instant::now();
        let err = store.get(&k).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "cut off at the deadline"
        );
        assert_eq!(
            (err.kind(), err.key()),
            (ErrorKind::Unavailable, Some("t/slow"))
        );
        assert!(err.retryable(), "{err}");
        assert_eq!(
            slow.running.load(Ordering::SeqCst),
            0,
            "the abandoned call was dropped"
        );
        // Untimed calls (put, head) still work; so does a timed one with time to spare.
        assert!(store.head(&k).await.unwrap().is_some());
        let patient = Timeout::new(slow.clone(), Duration::from_secs(5));
        assert_eq!(patient.get(&k).await.unwrap().unwrap().value, "v");
        // A listing whose next entry is late ends with the timeout error.
        let items: Vec<_> = store.list(ListOptions::default()).collect().await;
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].as_ref().unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    });
}

#[test]
fn the_limit_bounds_operations_in_flight() {
    rt().block_on(async {
        let slow = Slow::new(Duration::from_millis(20));
        let store = Arc::new(Limit::new(slow.clone(), 3));
        let k = key("lim");
        store.put(&k, "v".into(), PutMode::Overwrite).await.unwrap();
        let calls = (0..24).map(|_| {
            let (store, k) = (store.clone(), k.clone());
            tokio::spawn(async move { store.get(&k).await })
        });
        for call in futures::future::join_all(calls).await {
            call.unwrap().unwrap();
        }
        assert_eq!(slow.most.load(Ordering::SeqCst), 3);
        assert_eq!(store.available(), 3);
    });
}

#[test]
fn a_cancelled_call_gives_its_permit_back() {
    rt().block_on(async {
        let slow = Slow::new(Duration::from_millis(500));
        let limit = Arc::new(Limit::new(slow.clone(), 1));
        let store = Timeout::new(limit.clone(), Duration::from_millis(20));
        store
            .put(&key("p"), "v".into(), PutMode::Overwrite)
            .await
            .unwrap();
        for _ in 0..3 {
            let err = store.get(&key("p")).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable);
            assert_eq!(
                limit.available(),
                1,
                "the timed-out call released its permit"
            );
        }
    });
}

#[test]
fn open_listings_are_bounded_and_do_not_block_other_calls() {
    rt().block_on(async {
        let store = Limit::new(memory(), 2);
        for i in 0..3 {
            store
                .put(&key(&format!("o/{i}")), "v".into(), PutMode::Overwrite)
                .await
                .unwrap();
        }
        let mut first = store.list(ListOptions::default());
        let mut second = store.list(ListOptions::default());
        first.next().await.unwrap().unwrap();
        second.next().await.unwrap().unwrap();
        assert_eq!(store.available_lists(), 0);
        // Reading values while both listings are open does not wait on them.
        assert!(store.get(&key("o/0")).await.unwrap().is_some());
        let mut third = store.list(ListOptions::default());
        let waited = tokio::time::timeout(Duration::from_millis(50), third.next()).await;
        assert!(waited.is_err(), "a third listing waits for a permit");
        drop(first);
        let entry = tokio::time::timeout(Duration::from_secs(5), third.next()).await;
        assert!(entry.expect("a permit came back").unwrap().is_ok());
        drop((second, third));
        assert_eq!(store.available_lists(), 2);
    });
}
