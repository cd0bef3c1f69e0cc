//! The stats wrapper passes the conformance suite and counts correctly.

use std::sync::Arc;

use futures::TryStreamExt;
use store_memory::MemoryStore;
use strata::stats::{Op, StatsStore};
use strata::{Key, ListOptions, PutMode, PutOp, Store};
use strata_tests::harness::{Fixture, runtime};

mod conformance {
    use super::*;
    strata_tests::conformance_tests!(|| async {
        Fixture::new(Arc::new(StatsStore::new(Arc::new(MemoryStore::new()))))
    });
}

#[test]
fn counts_requests_errors_and_bytes() {
    runtime().block_on(async {
        let store = StatsStore::new(Arc::new(MemoryStore::new()));
        let stats = store.stats();
        let a = Key::new("a").unwrap();
        let b = Key::new("b").unwrap();
        store
            .put(&a, vec![1; 10].into(), PutMode::Overwrite)
            .await
            .unwrap();
        store
            .put(&a, vec![2; 5].into(), PutMode::Create)
            .await
            .unwrap_err();
        store.get(&a).await.unwrap();
        store.get(&b).await.unwrap();
        store.head(&a).await.unwrap();
        store
            .put_many(vec![PutOp::overwrite(b.clone(), vec![3; 7])])
            .await
            .unwrap();
        store.get_many(&[a.clone(), b.clone()]).await.unwrap();
        let listed: Vec<_> = store
            .list(ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        store.delete(&a).await.unwrap();

        let s = stats.snapshot();
        assert_eq!(s.op(Op::Put).requests, 2);
        assert_eq!(
            s.op(Op::Put).errors,
            1,
            "the failed Create counts as an error"
        );
        assert_eq!(s.op(Op::Get).requests, 2);
        assert_eq!(s.op(Op::Head).requests, 1);
        assert_eq!(s.op(Op::PutMany).requests, 1);
        assert_eq!(s.op(Op::GetMany).requests, 1);
        assert_eq!(
            s.op(Op::List).requests,
            1,
            "a list counts once, when its stream ends"
        );
        assert_eq!(s.op(Op::Delete).requests, 1);
        assert_eq!(s.op(Op::Flush).requests, 0);
        assert_eq!(s.bytes_written, 10 + 7, "failed writes add no bytes");
        assert_eq!(s.bytes_read, 10 + 10 + 7);
        assert!(s.op(Op::Get).p50 <= s.op(Op::Get).max);
        assert!(s.to_string().contains("put_many"));
    });
}

#[test]
fn a_range_read_counts_as_get_range_with_the_bytes_it_returned() {
    runtime().block_on(async {
        let store = StatsStore::new(Arc::new(MemoryStore::new()));
        let stats = store.stats();
        let a = Key::new("a").unwrap();
        store
            .put(&a, vec![1; 100].into(), PutMode::Overwrite)
            .await
            .unwrap();
        let (bytes, meta) = store.get_range(&a, 10..30).await.unwrap().unwrap();
        assert_eq!((bytes.len(), meta.size), (20, 100));
        assert!(
            store
                .get_range(&a, std::ops::Range { start: 5, end: 1 })
                .await
                .is_err()
        );
        let s = stats.snapshot();
        assert_eq!(s.op(Op::GetRange).requests, 2);
        assert_eq!(s.op(Op::GetRange).errors, 1, "start after end is an error");
        assert_eq!(s.op(Op::Get).requests, 0, "a range read is not a get");
        assert_eq!(s.bytes_read, 20, "only the bytes of the range");
    });
}
