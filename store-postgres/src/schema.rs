//! The table a store lives in: created when asked, validated on every open, and the
//! server settings that decide what an acknowledged write survives.

use store_core::{Durability, Error, Result};
use tokio_postgres::Client;

use crate::errors::{Target, from_pg};

/// The columns a store's table must have, in order: name, type as `format_type` prints
/// it, collation (`C` for the key, so the server orders keys by their bytes). `crc` is the
/// value's CRC32C (unsigned 32 bits, so a `bigint`).
const COLUMNS: [(&str, &str, &str); 6] = [
    ("key", "text", "C"),
    ("version", "bigint", ""),
    ("size", "bigint", ""),
    ("modified", "timestamp with time zone", ""),
    ("value", "bytea", ""),
    ("crc", "bigint", ""),
];

/// Create `table` if it is missing and `create` allows, then check its shape.
pub(crate) async fn prepare(
    client: &Client,
    table: &str,
    create: bool,
    target: &Target,
) -> Result<()> {
    if create && !exists(client, table, target).await? {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
               key text COLLATE \"C\" PRIMARY KEY, \
               version bigint NOT NULL, \
               size bigint NOT NULL, \
               modified timestamptz NOT NULL, \
               value bytea NOT NULL, \
               crc bigint NOT NULL)"
        );
        if let Err(e) = client.batch_execute(&ddl).await {
            // Two processes creating the same table race on the catalog; the loser's
            // error is harmless when the table is there now.
            if !exists(client, table, target).await? {
                return Err(from_pg(&format!("create table `{table}`"), target, e));
            }
        }
    }
    validate(client, table, target).await
}

async fn exists(client: &Client, table: &str, target: &Target) -> Result<bool> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(|e| from_pg(&format!("look up table `{table}`"), target, e))?;
    Ok(row.get(0))
}

/// A table of any other shape is refused: never written into, never read as a store.
async fn validate(client: &Client, table: &str, target: &Target) -> Result<()> {
    let what = format!("check table `{table}`");
    if !exists(client, table, target).await? {
        return Err(Error::new(
            store_core::ErrorKind::NotFound,
            format!("{what}: no such table in {target} (and `create_table` is false)"),
        ));
    }
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    coalesce(c.collname::text, '') \
             FROM pg_attribute a LEFT JOIN pg_collation c \
               ON c.oid = a.attcollation AND a.attcollation <> 0 \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&table],
        )
        .await
        .map_err(|e| from_pg(&what, target, e))?;
    let found: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = || {
        COLUMNS
            .iter()
            .map(|(n, t, c)| {
                if c.is_empty() {
                    format!("{n} {t}")
                } else {
                    format!("{n} {t} COLLATE \"{c}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let shape_matches = found.len() == COLUMNS.len()
        && found
            .iter()
            .zip(COLUMNS)
            .all(|((n, t, c), (en, et, ec))| n == en && t == et && (ec.is_empty() || c == ec));
    if !shape_matches {
        let shown: Vec<String> = found
            .iter()
            .map(|(n, t, c)| {
                if c.is_empty() || c == "default" {
                    format!("{n} {t}")
                } else {
                    format!("{n} {t} COLLATE \"{c}\"")
                }
            })
            .collect();
        let missing: Vec<String> = COLUMNS
            .iter()
            .filter(|(n, _, _)| !found.iter().any(|(f, _, _)| f == n))
            .map(|(n, _, _)| format!("missing column `{n}`"))
            .collect();
        let missing = if missing.is_empty() {
            String::new()
        } else {
            format!(" ({})", missing.join(", "))
        };
        return Err(Error::invalid_config(
            "table",
            format!(
                "table `{table}` in {target} is not a Strata store{missing}: it has columns \
                 ({}), a store needs ({})",
                shown.join(", "),
                expected()
            ),
        ));
    }
    let primary = client
        .query_opt(
            "SELECT array_agg(a.attname::text) FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
            &[&table],
        )
        .await
        .map_err(|e| from_pg(&what, target, e))?
        .and_then(|r| r.get::<_, Option<Vec<String>>>(0));
    if primary.as_deref() != Some(&["key".to_owned()][..]) {
        return Err(Error::invalid_config(
            "table",
            format!(
                "table `{table}` in {target} is not a Strata store: its primary key must be `key`"
            ),
        ));
    }
    Ok(())
}

/// What an acknowledged commit survives on this server, from `fsync` and
/// `synchronous_commit` as the store's session sees them.
pub(crate) async fn durability(client: &Client, target: &Target) -> Result<Durability> {
    let row = client
        .query_one(
            "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
            &[],
        )
        .await
        .map_err(|e| from_pg("read the server's durability settings", target, e))?;
    let fsync: String = row.get(0);
    let synchronous_commit: String = row.get(1);
    Ok(durability_of(&fsync, &synchronous_commit))
}

/// `fsync = on` with a synchronous commit: the commit record is on disk before the
/// answer. Otherwise the server's own memory (its WAL buffers, or the OS page cache) holds
/// it for a while, so only a crash of the client process is survived.
pub(crate) fn durability_of(fsync: &str, synchronous_commit: &str) -> Durability {
    let synced = matches!(
        synchronous_commit,
        "on" | "local" | "remote_write" | "remote_apply"
    );
    if fsync == "on" && synced {
        Durability::PowerLoss
    } else {
        Durability::ProcessCrash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_follows_the_settings() {
        assert_eq!(durability_of("on", "on"), Durability::PowerLoss);
        assert_eq!(durability_of("on", "remote_apply"), Durability::PowerLoss);
        assert_eq!(durability_of("on", "off"), Durability::ProcessCrash);
        assert_eq!(durability_of("off", "on"), Durability::ProcessCrash);
    }
}
