//! The conformance suite against `MemoryStore`, the reference implementation.

use std::sync::Arc;

use store_memory::MemoryStore;
use strata_tests::harness::Fixture;

strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(MemoryStore::new())) });
