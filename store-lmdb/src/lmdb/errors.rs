//! LMDB's (heed's) errors, mapped to store errors in one place.

use std::path::Path;

use heed::MdbError;
use store_core::{Error, ErrorKind};

/// Map a heed error to a store error at the edge, keeping the cause. `map_size` is the
/// configured map, named when it is full.
pub(crate) fn lmdb_error(context: &str, path: &Path, map_size: u64, err: heed::Error) -> Error {
    match err {
        heed::Error::Io(io) => Error::io(context, io),
        heed::Error::Mdb(MdbError::MapFull | MdbError::MapResized) => Error::unsupported(format!(
            "{context}: the LMDB environment `{}` is full: it reached its map_size of \
             {map_size} bytes; reopen it with a larger `map_size` (the data is kept)",
            path.display()
        )),
        heed::Error::Mdb(
            e @ (MdbError::Corrupted
            | MdbError::PageNotFound
            | MdbError::Panic
            | MdbError::Invalid
            | MdbError::VersionMismatch),
        ) => Error::new(
            ErrorKind::Corrupted,
            format!(
                "{context}: the LMDB environment `{}` is damaged: {e}",
                path.display()
            ),
        ),
        heed::Error::Mdb(MdbError::ReadersFull) => Error::unavailable(format!(
            "{context}: every LMDB reader slot is in use; try again"
        )),
        heed::Error::EnvAlreadyOpened => Error::new(
            ErrorKind::Locked,
            format!(
                "{context}: the LMDB environment `{}` is already open in this process",
                path.display()
            ),
        ),
        other => Error::backend(context, other),
    }
}
