//! The conformance suite against `MemoryStore`, the reference implementation.

use std::sync::Arc;

use store_memory::MemoryStore;
use strata_tests::harness::Fixture;

strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(MemoryStore::new())) });

/// The suite through a layer with DynamoDB-like batch limits: the batch-limit case runs
/// (and every other case must still pass with batches of at most 100 writes).
mod batch_limited {
    use std::sync::Arc;

    use store_memory::MemoryStore;
    use strata_tests::batchlimit::BatchLimit;
    use strata_tests::harness::Fixture;

    strata_tests::conformance_tests!(|| async {
        let limited = BatchLimit::new(Arc::new(MemoryStore::new()), 100).bytes(64 * 1024);
        Fixture::new(Arc::new(limited))
    });
}
