//! How every cloud's object_store client talks HTTP: the same timeouts and retry rule
//! from each config's `allow_http`, `request_timeout`, `max_retries` and `retry_timeout`.

use std::time::Duration;

use object_store::{BackoffConfig, ClientOptions, RetryConfig};

/// Client options: plain HTTP as allowed, and one request (connecting included) bounded
/// by `request_timeout`.
pub(crate) fn client_options(allow_http: bool, request_timeout: Duration) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout(request_timeout)
        .with_connect_timeout(request_timeout)
}

/// Retries with object_store's default backoff, at most `max_retries` of them within
/// `retry_timeout`.
pub(crate) fn retry(max_retries: usize, retry_timeout: Duration) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries,
        retry_timeout,
    }
}
