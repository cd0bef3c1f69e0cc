//! Reading rows back, on the blocking pool: point reads and `list` steps.
//!
//! Three rules, on every read path (`get`, `get_range`, `get_many`, `head`, `list`):
//! - every row is decoded through its checksum (`codec.rs`): damaged bytes are `Corrupted`
//!   naming the key, never a wrong value or wrong metadata;
//! - every call into redb runs under [`no_panic`]: a panic on a damaged page is `Corrupted`
//!   naming the key being read (or the file, for a listing);
//! - a key with only one of its two rows is damaged, not missing: a point read that finds
//!   no row looks in the other table before it answers "no value", so a row that a damaged
//!   page lost (or moved under another key) is reported instead of vanishing silently.

use std::ops::{Bound, Range};

use bytes::Bytes;

use redb::{ReadOnlyTable, ReadTransaction, TableDefinition};
use store_core::{Entry, Error, Key, ListOptions, Meta, Result};

use crate::codec::{entry_from_row, meta_from_row, range_from_row};
use crate::errors::{damaged, no_panic, panicked_at_key, redb_error};
use crate::schema::{META, VALUES};
use crate::writer::Core;

type Rows = ReadOnlyTable<&'static str, &'static [u8]>;

/// Point reads in one read transaction; each table is opened when first needed.
pub(crate) struct Reader<'c> {
    core: &'c Core,
    txn: ReadTransaction,
    values: Option<Rows>,
    meta: Option<Rows>,
}

/// The table in `slot`, opened on first use.
fn open<'s>(
    core: &Core,
    txn: &ReadTransaction,
    slot: &'s mut Option<Rows>,
    table: Table,
) -> Result<&'s Rows> {
    if slot.is_none() {
        let opened = no_panic(
            || {
                txn.open_table(table)
                    .map_err(|e| redb_error("open a table", e))
            },
            |panic| damaged(&core.path, "opening a table", panic),
        )?;
        *slot = Some(opened);
    }
    slot.as_ref().ok_or_else(|| core.closed())
}

/// Whether `table` has a row at `key` (for telling a damaged key from a missing one).
fn has_row(table: &Rows, key: &Key) -> Result<bool> {
    Ok(table
        .get(key.as_str())
        .map_err(|e| redb_error("read a row", e).with_key(key))?
        .is_some())
}

impl<'c> Reader<'c> {
    /// A fresh read transaction: it sees every write acknowledged before this call.
    pub(crate) fn begin(core: &'c Core) -> Result<Self> {
        let txn = no_panic(
            || core.begin_read(),
            |panic| damaged(&core.path, "beginning a read", panic),
        )?;
        Ok(Reader {
            core,
            txn,
            values: None,
            meta: None,
        })
    }

    /// What [`lookup`] needs: the transaction and both table slots.
    fn parts(&mut self) -> (Context<'_>, &mut Option<Rows>, &mut Option<Rows>) {
        ((self.core, &self.txn), &mut self.values, &mut self.meta)
    }

    /// The entry at `key`, verified.
    pub(crate) fn entry(&mut self, key: &Key) -> Result<Option<Entry>> {
        let (cx, values, meta) = self.parts();
        let lost = "its metadata row exists but its value row is missing";
        lookup(
            cx,
            (values, VALUES),
            (meta, META),
            key,
            entry_from_row,
            lost,
        )
    }

    /// The bytes of `range` in the value at `key` (cut at its end), and its metadata; the
    /// row's checksum is verified, and only the range is copied out of it.
    pub(crate) fn range(&mut self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let (cx, values, meta) = self.parts();
        let lost = "its metadata row exists but its value row is missing";
        let decode = |key: Key, row: &[u8]| range_from_row(key, row, &range);
        lookup(cx, (values, VALUES), (meta, META), key, decode, lost)
    }

    /// The metadata at `key`, verified.
    pub(crate) fn meta(&mut self, key: &Key) -> Result<Option<Meta>> {
        let (cx, values, meta) = self.parts();
        let lost = "its value row exists but its metadata row is missing";
        lookup(cx, (meta, META), (values, VALUES), key, meta_from_row, lost)
    }
}

type Context<'a> = (&'a Core, &'a ReadTransaction);
type Table = TableDefinition<'static, &'static str, &'static [u8]>;

/// Read `key`'s row in the `primary` table and decode it; if there is none, a row in the
/// `other` table means the key is damaged (`lost`), not missing.
fn lookup<T>(
    (core, txn): Context<'_>,
    (primary, primary_def): (&mut Option<Rows>, Table),
    (other, other_def): (&mut Option<Rows>, Table),
    key: &Key,
    decode: impl FnOnce(Key, &[u8]) -> Result<T>,
    lost: &str,
) -> Result<Option<T>> {
    let on_panic = |panic: &str| panicked_at_key(&core.path, key, "reading it", panic);
    let table = open(core, txn, primary, primary_def)?;
    let found = no_panic(
        || {
            Ok(table
                .get(key.as_str())
                .map_err(|e| redb_error("read a row", e).with_key(key))?
                .map(|row| decode(key.clone(), row.value())))
        },
        on_panic,
    )?;
    if let Some(found) = found {
        return found.map(Some);
    }
    let table = open(core, txn, other, other_def)?;
    if no_panic(|| has_row(table, key), on_panic)? {
        return Err(Error::corrupted(key, lost));
    }
    Ok(None)
}

/// One `list` step.
pub(crate) struct Chunk {
    /// Entries in key order; a damaged row is an `Err` naming its key, and a failure that
    /// ends the listing is the last item.
    pub items: Vec<Result<Meta>>,
    /// The last stored key this step passed, where the next step resumes.
    pub last: Option<String>,
    /// Whether the listing is over (the range ran out, or a failure ended it).
    pub end: bool,
}

/// Up to `max` metadata rows of `options`' range after `after`, in a fresh read
/// transaction (one per step, so a slowly consumed listing pins no old snapshot).
pub(crate) fn list_chunk(
    core: &Core,
    options: &ListOptions,
    after: Option<&str>,
    max: usize,
) -> Chunk {
    let mut chunk = Chunk {
        items: Vec::with_capacity(max.min(crate::store::LIST_CHUNK)),
        last: None,
        end: false,
    };
    let scanned = no_panic(
        || {
            let txn = core.begin_read()?;
            let table = txn
                .open_table(META)
                .map_err(|e| redb_error("open meta", e))?;
            let prefix = options.prefix.as_str();
            let lower = match after {
                Some(key) if key >= prefix => Bound::Excluded(key),
                _ => Bound::Included(prefix),
            };
            let range = table
                .range::<&str>((lower, Bound::Unbounded))
                .map_err(|e| redb_error("list", e))?;
            let mut scanned = 0;
            for row in range {
                if scanned >= max {
                    break;
                }
                let (key, meta) = row.map_err(|e| redb_error("list", e))?;
                let raw = key.value();
                if !options.prefix.matches(raw) {
                    return Ok(None);
                }
                scanned += 1;
                chunk.last = Some(raw.to_owned());
                chunk.items.push(match Key::new(raw) {
                    Ok(key) => meta_from_row(key, meta.value()),
                    Err(e) => Err(Error::corrupted(
                        raw.escape_debug(),
                        format!("stored key is invalid: {e}"),
                    )),
                });
            }
            Ok(Some(scanned))
        },
        |panic| damaged(&core.path, "listing", panic),
    );
    match scanned {
        Ok(Some(scanned)) => chunk.end = scanned < max,
        // Past the prefix.
        Ok(None) => chunk.end = true,
        Err(e) => {
            chunk.items.push(Err(e));
            chunk.end = true;
        }
    }
    chunk
}
