//! Where the rows of `codec.rs` live in redb, and bringing a database file to the current
//! format when it is opened.
//!
//! Three tables, all `&str → &[u8]`:
//! - `strata_meta`: key → metadata row; `head` and `list` read only this table;
//! - `strata_values`: key → value row; `get` reads only this table (one lookup);
//! - `strata_format`: the counter rows `format` (the format version) and
//!   `version_counter` (the last version handed out, persisted in every commit).
//!
//! Format 0 (Strata before checksums) had `strata_meta` typed `(u64, u64, u64)`, unchecked
//! value rows and a `strata_state` table with the counter, and no format row. Opening such
//! a file upgrades it in place, in one durable write transaction: a crash during the
//! upgrade leaves it as it was. Because format 1 keeps the name `strata_meta` with another
//! type, a build that knows only format 0 refuses a format-1 file (redb reports a table
//! type mismatch) instead of misreading it. A format newer than this build's is refused
//! with `Unsupported`.

use std::collections::HashSet;
use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition, TableHandle, WriteTransaction};
use store_core::{Error, ErrorKind, Result};

use super::errors::redb_error;
use crate::codec::{
    FORMAT_VERSION, VALUE_HEADER_LEN, decode_counter, decode_value_v0, encode_counter, encode_meta,
    encode_value_into,
};
use crate::engine::{FORMAT_ROW, VERSION_COUNTER};

/// Metadata rows.
pub(crate) const META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("strata_meta");
/// Value rows.
pub(crate) const VALUES: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("strata_values");
/// Counter rows: [`FORMAT_ROW`] and [`VERSION_COUNTER`].
pub(crate) const FORMAT: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("strata_format");

/// Format 0's metadata table.
const META_V0: TableDefinition<'static, &str, (u64, u64, u64)> =
    TableDefinition::new("strata_meta");
/// Format 0's counter table.
const STATE_V0: TableDefinition<'static, &str, u64> = TableDefinition::new("strata_state");
/// The upgrade writes format-1 tables under these names, then renames them into place.
const META_NEXT: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("strata_meta_upgrading");
const VALUES_NEXT: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("strata_values_upgrading");

fn corrupted(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Corrupted,
        format!("the redb database `{}` is damaged: {why}", path.display()),
    )
}

/// Create the tables and counter rows of a new database in `txn`.
pub(crate) fn initialise(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(META)
        .map_err(|e| redb_error("create the meta table", e))?;
    txn.open_table(VALUES)
        .map_err(|e| redb_error("create the value table", e))?;
    write_counters(txn, 0)
}

fn write_counters(txn: &WriteTransaction, counter: u64) -> Result<()> {
    let mut format = txn
        .open_table(FORMAT)
        .map_err(|e| redb_error("create the format table", e))?;
    for (name, value) in [(FORMAT_ROW, FORMAT_VERSION), (VERSION_COUNTER, counter)] {
        format
            .insert(name, encode_counter(name, value).as_slice())
            .map_err(|e| redb_error("write the format table", e))?;
    }
    Ok(())
}

/// Bring the database at `path` to the current format (initialising an empty one,
/// upgrading format 0) and return its version counter. On the opening thread, before the
/// writer starts.
pub(crate) fn prepare(db: &Database, path: &Path) -> Result<u64> {
    let mut txn = db
        .begin_write()
        .map_err(|e| redb_error("begin a write transaction", e))?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| redb_error("set durability", e))?;
    let tables: HashSet<String> = txn
        .list_tables()
        .map_err(|e| redb_error("list the tables", e))?
        .map(|t| t.name().to_owned())
        .collect();
    if tables.contains(FORMAT.name()) {
        let counter = read_counters(&txn, path)?;
        // Nothing changed: no commit, no fsync.
        txn.abort()
            .map_err(|e| redb_error("end the opening transaction", e))?;
        return Ok(counter);
    }
    let legacy = [META.name(), VALUES.name(), STATE_V0.name()];
    let counter = if legacy.iter().any(|t| tables.contains(*t)) {
        upgrade_from_v0(&txn, path)?
    } else {
        initialise(&txn)?;
        0
    };
    txn.commit()
        .map_err(|e| redb_error("commit the table layout", e))?;
    Ok(counter)
}

/// Check the format row and read the version counter.
fn read_counters(txn: &WriteTransaction, path: &Path) -> Result<u64> {
    let format = txn
        .open_table(FORMAT)
        .map_err(|e| redb_error("open the format table", e))?;
    let read = |name: &str| -> Result<u64> {
        let row = format
            .get(name)
            .map_err(|e| redb_error("read the format table", e))?
            .ok_or_else(|| corrupted(path, format!("its `{name}` row is missing")))?;
        decode_counter(name, row.value()).map_err(|why| corrupted(path, why))
    };
    let version = read(FORMAT_ROW)?;
    if version != FORMAT_VERSION {
        return Err(Error::unsupported(format!(
            "`{}` is in Strata's redb format {version}; this build reads format \
             {FORMAT_VERSION} (a newer Strata wrote it: open it with that version)",
            path.display()
        )));
    }
    read(VERSION_COUNTER)
}

/// Rewrite a format-0 database as format 1 in `txn`; returns the version counter.
///
/// The value rows are the truth (they are what `get` returned): each becomes a checksummed
/// value row and a metadata row built from it. Their bytes carry no checksum to verify, so
/// they are taken as they are; a row too short to hold its header stops the upgrade (and
/// the open), naming the key, with the file left unchanged.
fn upgrade_from_v0(txn: &WriteTransaction, path: &Path) -> Result<u64> {
    let mut counter = {
        let state = txn
            .open_table(STATE_V0)
            .map_err(|e| redb_error("open the format-0 state table", e))?;
        state
            .get("version_counter")
            .map_err(|e| redb_error("read the format-0 version counter", e))?
            .map_or(0, |g| g.value())
    };
    {
        let old = txn
            .open_table(VALUES)
            .map_err(|e| redb_error("open the format-0 value table", e))?;
        let mut meta = txn
            .open_table(META_NEXT)
            .map_err(|e| redb_error("create the meta table", e))?;
        let mut values = txn
            .open_table(VALUES_NEXT)
            .map_err(|e| redb_error("create the value table", e))?;
        let rows = old
            .iter()
            .map_err(|e| redb_error("read the format-0 value table", e))?;
        for row in rows {
            let (key, row) = row.map_err(|e| redb_error("read the format-0 value table", e))?;
            let key = key.value();
            let (m, value) = decode_value_v0(row.value()).map_err(|why| {
                Error::corrupted(
                    key.escape_debug(),
                    format!(
                        "cannot upgrade `{}` to format {FORMAT_VERSION}: {why}",
                        path.display()
                    ),
                )
            })?;
            // Versions never go back, even if the old counter lagged a row.
            counter = counter.max(m.version);
            meta.insert(key, encode_meta(key, m).as_slice())
                .map_err(|e| redb_error("write metadata", e))?;
            let mut out = values
                .insert_reserve(key, VALUE_HEADER_LEN + value.len())
                .map_err(|e| redb_error("write a value", e))?;
            encode_value_into(out.as_mut(), key, m.version, m.mtime, value);
        }
    }
    for old in [META_V0.name(), VALUES.name(), STATE_V0.name()] {
        txn.delete_table(TableDefinition::<&str, &[u8]>::new(old))
            .map_err(|e| redb_error("drop a format-0 table", e))?;
    }
    txn.rename_table(META_NEXT, META)
        .map_err(|e| redb_error("rename the meta table", e))?;
    txn.rename_table(VALUES_NEXT, VALUES)
        .map_err(|e| redb_error("rename the value table", e))?;
    write_counters(txn, counter)?;
    Ok(counter)
}
