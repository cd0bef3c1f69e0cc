//! redb's failures, mapped to store errors in one place: its error values, and its panics.
//!
//! redb trusts its file. On a page damaged outside redb (a bit flip, a stray write) it may
//! return `Corrupted`, or panic: debug builds of redb assert on states "no file redb wrote
//! can reach", and some release paths index past a damaged length. A panic must not reach
//! the caller as "store closed" or "task panicked", so every call into redb runs under
//! [`no_panic`], which turns it into `Corrupted` naming the key (or the database path when
//! no key applies).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use store_core::{Error, ErrorKind, Result};

/// Map a redb error to a store error at the edge, keeping the cause.
pub(crate) fn redb_error(context: &str, err: impl Into<redb::Error>) -> Error {
    match err.into() {
        redb::Error::Io(io) => Error::io(context, io),
        redb::Error::Corrupted(why) => Error::new(
            ErrorKind::Corrupted,
            format!("{context}: the database file is corrupted: {why}"),
        ),
        redb::Error::DatabaseAlreadyOpen => Error::new(
            ErrorKind::Locked,
            format!("{context}: the database is already open in another process"),
        ),
        redb::Error::ValueTooLarge(n) => Error::unsupported(format!(
            "{context}: a {n}-byte value exceeds redb's 3 GiB limit"
        )),
        other => Error::backend(context, other),
    }
}

/// Run `f`; if it panics (inside redb), return the error `on_panic` builds from the panic's
/// message instead.
///
/// Unwind safety: callers hand in closures whose state is either local to the call or
/// redb's own; after a panic they treat that state as damaged (the writer refuses further
/// writes, a read drops its transaction).
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

/// `Corrupted` for a panic inside redb while doing `what` with the key `key`.
pub(crate) fn panicked_at_key(
    path: &Path,
    key: impl std::fmt::Display,
    what: &str,
    panic: &str,
) -> Error {
    damaged(path, what, panic).with_key(key)
}

/// `Corrupted` for a panic inside redb while doing `what` with no particular key.
pub(crate) fn damaged(path: &Path, what: &str, panic: &str) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!(
            "the redb database `{}` is damaged: redb failed an internal check while it was \
             {what} ({panic})",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_corrupted_errors() {
        let path = Path::new("/data/x.redb");
        let got: Result<()> = no_panic(
            || panic!("index out of bounds: the len is 3 but the index is 9"),
            |msg| panicked_at_key(path, "a/b", "reading the value", msg),
        );
        let err = got.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted);
        assert_eq!(err.key(), Some("a/b"));
        assert!(err.message().contains("/data/x.redb"), "{err}");
        assert!(err.message().contains("the index is 9"), "{err}");
        let ok = no_panic(|| Ok(7), |msg| damaged(path, "opening it", msg));
        assert_eq!(ok.unwrap(), 7);
    }
}
