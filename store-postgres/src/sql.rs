//! The statements a store runs, built once from its (validated, unquoted) table name.
//! Writes bind `$1` key, `$2` version, `$3` size, `$4` value, `$5` the value's CRC32C
//! (and an update `$6` the expected version).

/// Every statement of one store. Metadata statements never name the `value` column.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) get: String,
    pub(crate) get_range: String,
    pub(crate) head: String,
    pub(crate) get_many: String,
    pub(crate) overwrite: String,
    pub(crate) create: String,
    pub(crate) update: String,
    pub(crate) delete: String,
    /// The versions of several keys, to find out whether a lost commit landed.
    pub(crate) versions: String,
    pub(crate) delete_many: String,
    /// A list page: `$1` the last key seen (exclusive), `$2` the prefix (also an inclusive
    /// lower bound, so the index scan starts there), `$3` the page size.
    pub(crate) list: String,
    /// A list page with an upper bound (exclusive) `$4`, the prefix's successor, so the
    /// index scan stops at the prefix's end.
    pub(crate) list_bounded: String,
}

impl Statements {
    pub(crate) fn new(table: &str) -> Self {
        let insert = format!(
            "INSERT INTO {table} (key, version, size, modified, value, crc) \
             VALUES ($1, $2, $3, now(), $4, $5)"
        );
        let list = format!(
            "SELECT key, version, size, modified FROM {table} \
             WHERE key > $1 AND key >= $2 AND starts_with(key, $2) ORDER BY key LIMIT $3"
        );
        Statements {
            get: format!("SELECT version, size, modified, value, crc FROM {table} WHERE key = $1"),
            get_range: format!(
                "SELECT version, size, modified, substring(value FROM $2 FOR $3), crc \
                 FROM {table} WHERE key = $1"
            ),
            head: format!("SELECT version, size, modified FROM {table} WHERE key = $1"),
            get_many: format!(
                "SELECT key, version, size, modified, value, crc FROM {table} \
                 WHERE key = ANY($1)"
            ),
            overwrite: format!(
                "{insert} ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, \
                 size = EXCLUDED.size, modified = EXCLUDED.modified, value = EXCLUDED.value, \
                 crc = EXCLUDED.crc RETURNING modified"
            ),
            create: format!("{insert} ON CONFLICT (key) DO NOTHING RETURNING modified"),
            update: format!(
                "UPDATE {table} SET version = $2, size = $3, modified = now(), value = $4, \
                 crc = $5 WHERE key = $1 AND version = $6 RETURNING modified"
            ),
            delete: format!("DELETE FROM {table} WHERE key = $1"),
            versions: format!("SELECT key, version, modified FROM {table} WHERE key = ANY($1)"),
            delete_many: format!("DELETE FROM {table} WHERE key = ANY($1)"),
            list_bounded: list.replace("WHERE key > $1", "WHERE key > $1 AND key < $4"),
            list,
        }
    }
}

/// The smallest string above every string that starts with `prefix` (in code point order,
/// which is `COLLATE "C"` byte order for UTF-8), or `None` if there is none.
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_bounds_the_prefix() {
        assert_eq!(prefix_successor("logs/"), Some("logs0".to_owned()));
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".to_owned()));
        assert_eq!(prefix_successor("\u{D7FF}"), Some("\u{E000}".to_owned()));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }

    #[test]
    fn metadata_statements_never_read_values() {
        let s = Statements::new("t");
        for sql in [&s.head, &s.list, &s.list_bounded, &s.versions] {
            assert!(!sql.contains("value"), "{sql}");
        }
    }

    #[test]
    fn every_write_stores_and_every_read_fetches_the_checksum() {
        let s = Statements::new("t");
        for sql in [
            &s.overwrite,
            &s.create,
            &s.update,
            &s.get,
            &s.get_many,
            &s.get_range,
        ] {
            assert!(sql.contains("crc"), "{sql}");
        }
        assert!(
            s.overwrite.contains("crc = EXCLUDED.crc"),
            "{}",
            s.overwrite
        );
    }
}
