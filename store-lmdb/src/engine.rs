//! The seam between the engine-independent store and an embedded engine (redb or LMDB).
//!
//! Everything above this trait — the row codec, group commit, conditions, the value cache,
//! coalesced misses, lookups that tell a damaged key from a missing one, chunked listing —
//! is shared. An engine supplies only transactions over its three tables: point reads and
//! ordered scans in a read transaction, puts and deletes in a write transaction committed
//! with the configured durability, and a durable commit for `flush`.
//!
//! The trait is object safe (the store holds a `Box<dyn Engine>`): transactions are scoped
//! to a callback, so engines whose transactions borrow their environment (heed's `RoTxn<'env>`)
//! and those whose tables borrow the transaction (redb's `Table<'txn>`) fit alike, and no
//! transaction can outlive the call (no read transaction is ever held across an await).

use std::ops::Bound;

use store_core::{Error, Result};

/// One of an engine's row tables (see `codec.rs` for what their rows hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// key → metadata row; `head` and `list` read only this table.
    Meta,
    /// key → value row; `get` reads only this table.
    Values,
}

/// The counter row holding the last version handed out, persisted in every commit.
pub(crate) const VERSION_COUNTER: &str = "version_counter";
/// The counter row holding the format version.
pub(crate) const FORMAT_ROW: &str = "format";

/// Point reads, in a read or a write transaction.
pub(crate) trait Rows {
    /// Call `found` with the row at `key` in `table`; `Ok(false)` if there is none.
    fn get(&self, table: Table, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool>;
}

/// A read transaction: point reads and ordered scans of one snapshot.
pub(crate) trait ReadRows: Rows {
    /// Call `each` with the rows of `table` from `from` on, in key order, until it returns
    /// `false` or the table ends.
    fn scan(
        &self,
        table: Table,
        from: Bound<&str>,
        each: &mut dyn FnMut(&str, &[u8]) -> bool,
    ) -> Result<()>;
}

/// A write transaction.
pub(crate) trait WriteRows: Rows {
    /// Store a `len`-byte row at `key` in `table`, written by `fill` in place (the engine's
    /// reserved space, so a value is copied once).
    fn put(
        &mut self,
        table: Table,
        key: &str,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<()>;
    /// Remove the row at `key` in `table`, if any.
    fn delete(&mut self, table: Table, key: &str) -> Result<()>;
    /// Store the counter row `row` named `name`.
    fn put_counter(&mut self, name: &str, row: &[u8]) -> Result<()>;
}

/// An open database of one engine.
pub(crate) trait Engine: Send + Sync {
    /// Run `f` in a fresh read transaction: it sees every commit finished before the call.
    fn read(&self, f: &mut dyn FnMut(&dyn ReadRows) -> Result<()>) -> Result<()>;
    /// Run `f` in a write transaction and commit it, with the configured durability, if
    /// `f` succeeded; abort it otherwise.
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteRows) -> Result<()>) -> Result<()>;
    /// Make every commit so far durable (a no-op if every commit already is).
    fn sync(&self) -> Result<()>;
    /// Reclaim free space; `Ok(true)` if the file shrank or could shrink further.
    fn compact(&mut self) -> Result<bool> {
        Err(Error::unsupported("this engine does not compact in place"))
    }
}

/// Run `f` in a read transaction of `engine` and return what it returns.
pub(crate) fn read<T>(
    engine: &dyn Engine,
    f: impl FnOnce(&dyn ReadRows) -> Result<T>,
) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    engine.read(&mut |rows| {
        if let Some(f) = f.take() {
            out = Some(f(rows)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| Error::backend("read", "the engine did not run the read"))
}

/// Call `decode` with the row at `key` in `table`, if there is one.
pub(crate) fn get_with<T>(
    rows: &dyn Rows,
    table: Table,
    key: &str,
    decode: impl FnOnce(&[u8]) -> T,
) -> Result<Option<T>> {
    let mut decode = Some(decode);
    let mut out = None;
    rows.get(table, key, &mut |row| {
        if let Some(decode) = decode.take() {
            out = Some(decode(row));
        }
    })?;
    Ok(out)
}
