//! Helpers shared by this crate's integration tests.

use store_core::Key;

/// A two-worker runtime, as applications run the store.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A key known to be valid.
pub fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}
