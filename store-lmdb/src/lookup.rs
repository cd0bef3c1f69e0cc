//! Reading rows back, in any engine: point reads and `list` steps.
//!
//! Three rules, on every read path (`get`, `get_range`, `get_many`, `head`, `list`):
//! - every row is decoded through its checksum (`codec.rs`): damaged bytes are `Corrupted`
//!   naming the key, never a wrong value or wrong metadata;
//! - every call into the engine runs under [`no_panic`]: a panic on a damaged page is
//!   `Corrupted` naming the key being read (or the database, for a listing);
//! - a key with only one of its two rows is damaged, not missing: a point read that finds
//!   no row looks in the other table before it answers "no value", so a row that a damaged
//!   page lost (or moved under another key) is reported instead of vanishing silently.

use std::ops::{Bound, Range};

use bytes::Bytes;
use store_core::{Entry, Error, Key, ListOptions, Meta, Result};

use crate::codec::{entry_from_row, meta_from_row, range_from_row};
use crate::core::Core;
use crate::engine::{ReadRows, Table, get_with};
use crate::errors::no_panic;

/// Point reads in one read transaction.
pub(crate) struct Reader<'a> {
    core: &'a Core,
    rows: &'a dyn ReadRows,
}

const VALUE_LOST: &str = "its metadata row exists but its value row is missing";
const META_LOST: &str = "its value row exists but its metadata row is missing";

impl<'a> Reader<'a> {
    /// Point reads of `core` in the transaction `rows`.
    pub(crate) fn new(core: &'a Core, rows: &'a dyn ReadRows) -> Self {
        Reader { core, rows }
    }

    /// The entry at `key`, verified.
    pub(crate) fn entry(&self, key: &Key) -> Result<Option<Entry>> {
        self.lookup(Table::Values, key, entry_from_row, VALUE_LOST)
    }

    /// The bytes of `range` in the value at `key` (cut at its end), and its metadata; the
    /// row's checksum is verified, and only the range is copied out of it.
    pub(crate) fn range(&self, key: &Key, range: Range<u64>) -> Result<Option<(Bytes, Meta)>> {
        let decode = |key: Key, row: &[u8]| range_from_row(key, row, &range);
        self.lookup(Table::Values, key, decode, VALUE_LOST)
    }

    /// The metadata at `key`, verified.
    pub(crate) fn meta(&self, key: &Key) -> Result<Option<Meta>> {
        self.lookup(Table::Meta, key, meta_from_row, META_LOST)
    }

    /// Read `key`'s row in `primary` and decode it; if there is none, a row in the other
    /// table means the key is damaged (`lost`), not missing.
    fn lookup<T>(
        &self,
        primary: Table,
        key: &Key,
        decode: impl FnOnce(Key, &[u8]) -> Result<T>,
        lost: &str,
    ) -> Result<Option<T>> {
        let on_panic = |panic: &str| self.core.damaged_at(key, "reading it", panic);
        let found = no_panic(
            || {
                get_with(self.rows, primary, key.as_str(), |row| {
                    decode(key.clone(), row)
                })
                .map_err(|e| e.with_key(key))
            },
            on_panic,
        )?;
        if let Some(found) = found {
            return found.map(Some);
        }
        let other = match primary {
            Table::Meta => Table::Values,
            Table::Values => Table::Meta,
        };
        let has_other = no_panic(
            || {
                get_with(self.rows, other, key.as_str(), |_| ())
                    .map(|found| found.is_some())
                    .map_err(|e| e.with_key(key))
            },
            on_panic,
        )?;
        if has_other {
            return Err(Error::corrupted(key, lost));
        }
        Ok(None)
    }
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
            core.read(|rows| {
                let prefix = options.prefix.as_str();
                let lower = match after {
                    Some(key) if key >= prefix => Bound::Excluded(key),
                    _ => Bound::Included(prefix),
                };
                let mut scanned = 0;
                let mut past_prefix = false;
                rows.scan(Table::Meta, lower, &mut |raw, meta| {
                    if scanned >= max {
                        return false;
                    }
                    if !options.prefix.matches(raw) {
                        past_prefix = true;
                        return false;
                    }
                    scanned += 1;
                    chunk.last = Some(raw.to_owned());
                    chunk.items.push(match Key::new(raw) {
                        Ok(key) => meta_from_row(key, meta),
                        Err(e) => Err(Error::corrupted(
                            raw.escape_debug(),
                            format!("stored key is invalid: {e}"),
                        )),
                    });
                    true
                })?;
                Ok((!past_prefix).then_some(scanned))
            })
        },
        |panic| core.damaged("listing", panic),
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
