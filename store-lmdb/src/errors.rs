//! Engine panics, mapped to store errors in one place (each engine maps its error values
//! in its own folder: `redb/errors.rs`, `lmdb/errors.rs`).
//!
//! An engine trusts its file. On a page damaged outside it (a bit flip, a stray write) it
//! may return an error, or panic: debug builds of redb assert on states "no file redb wrote
//! can reach", and some release paths index past a damaged length. A panic must not reach
//! the caller as "store closed" or "task panicked", so every call into an engine runs under
//! [`no_panic`], which turns it into `Corrupted` naming the key (or the database path when
//! no key applies; see `Core::damaged`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use store_core::{Error, Result};

/// Run `f`; if it panics (inside the engine), return the error `on_panic` builds from the
/// panic's message instead.
///
/// Unwind safety: callers hand in closures whose state is either local to the call or
/// the engine's own; after a panic they treat that state as damaged (the writer refuses
/// further writes, a read drops its transaction).
pub(crate) fn no_panic<T>(
    f: impl FnOnce() -> Result<T>,
    on_panic: impl FnOnce(&str) -> Error,
) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(on_panic(&message(&*payload))))
}

/// The text of a panic's payload.
fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::ErrorKind;

    #[test]
    fn panics_become_the_callers_error() {
        let got: Result<()> = no_panic(
            || panic!("index out of bounds: the len is 3 but the index is 9"),
            |msg| Error::corrupted("a/b", format!("reading it ({msg})")),
        );
        let err = got.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted);
        assert_eq!(err.key(), Some("a/b"));
        assert!(err.message().contains("the index is 9"), "{err}");
        let ok = no_panic(|| Ok(7), |msg| Error::corrupted("x", msg));
        assert_eq!(ok.unwrap(), 7);
    }
}
