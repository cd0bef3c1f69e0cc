//! Running CPU-heavy work (compression, encryption) without stalling the async runtime.

use store_core::{Error, Result};

/// Values at least this large are processed on tokio's blocking pool: compressing or
/// encrypting megabytes on a runtime worker would stall every other task on it, while
/// handing a small value to another thread costs more than the work itself.
pub(crate) const OFF_RUNTIME_BYTES: usize = 256 << 10;

/// Run `work` for a value of `len` bytes: inline when small, on the blocking pool when
/// large (outside a tokio runtime, always inline).
pub(crate) async fn cpu<T, F>(len: usize, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    if len < OFF_RUNTIME_BYTES || tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::backend("a value-processing task failed", e))?
}
