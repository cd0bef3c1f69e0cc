//! # strata-tests: the conformance suite every Strata store must pass
//!
//! One set of async cases over `Arc<dyn Store>` ([`cases`]) and a harness ([`harness`])
//! that runs them against any store factory, skipping only what the store's declared
//! capabilities exclude. Every backend and wrapper calls
//! [`conformance_tests!`](crate::conformance_tests) in its test file, which generates one
//! `#[test]` per case:
//!
//! ```no_run
//! use std::sync::Arc;
//! use store_memory::MemoryStore;
//! use strata_tests::harness::Fixture;
//!
//! strata_tests::conformance_tests!(|| async { Fixture::new(Arc::new(MemoryStore::new())) });
//! # fn main() {}
//! ```
//!
//! [`harness::run_suite`] runs the whole suite programmatically and returns a report; the
//! meta-test uses it to prove the suite fails a store that ignores `PutMode`.
#![deny(missing_docs)]

pub mod azureenv;
pub mod batchlimit;
pub mod bench;
pub mod cases;
pub mod crash;
pub mod crash_create;
pub mod dynamoenv;
pub mod gcsenv;
pub mod harness;
pub mod latency;
pub mod pgenv;
pub mod probe;
pub mod redisenv;
pub mod roundtrip;
pub mod s3env;
pub mod vectors;
