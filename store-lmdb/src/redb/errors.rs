//! redb's error values, mapped to store errors in one place (its panics: `crate::errors`).

use store_core::{Error, ErrorKind};

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
