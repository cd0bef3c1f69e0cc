//! # store-layers: konserve's layers over any Strata store
//!
//! Each layer is a [`store_core::Store`] wrapping another store, built on the forwarding
//! base [`store_core::Layer`], so it overrides only what it changes and keeps the inner
//! store's batches and `flush`. Whole-store operations (GC, the append log, write hooks)
//! work over any store through the contract alone.
//!
//! Whole-store operations: [`gc`] sweeps what no root reaches, with its lease and safe
//! point in the store so collectors and writers in other processes cannot race;
//! [`watch`] streams the writes made through a store; [`log`] is an append log, totally
//! ordered across processes, on any store with compare-and-swap.
#![deny(missing_docs)]

// Whole-store operations
//
// `gc` sweeps unreachable values with a lease and a safe point kept in the store itself,
// so collectors and writers in different processes cannot race.
pub mod gc;
// `watch` streams the writes made through a store to watchers, never blocking a writer.
pub mod watch;
// `log` is an append log (totally ordered across processes) on any store with CAS.
pub mod log;
