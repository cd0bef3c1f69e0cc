//! The redb engine: one database file, three tables (`schema.rs`), created atomically
//! (`create.rs`), configured by [`RedbConfig`].

pub(crate) mod config;
pub(crate) mod create;
pub(crate) mod errors;
mod factory;
pub(crate) mod schema;
mod store;

pub use factory::RedbFactory;
pub use store::RedbStore;

use std::cell::OnceCell;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
};
use store_core::{Error, Result};

pub use config::RedbConfig;

use crate::config::RedbDurability;

use crate::engine::{Engine, ReadRows, Rows, Table, WriteRows};
use crate::open::{Settings, Shared, open_shared};
use create::{open_database, resolve};
use errors::redb_error;
use schema::{FORMAT, META, VALUES, prepare};

type Def = TableDefinition<'static, &'static str, &'static [u8]>;

fn def(table: Table) -> Def {
    match table {
        Table::Meta => META,
        Table::Values => VALUES,
    }
}

/// An open redb database.
struct RedbEngine {
    db: Database,
    durability: redb::Durability,
}

/// Open (or share) the database `config` names. Blocking: call it off the runtime.
pub(crate) fn open_blocking(config: RedbConfig) -> Result<Arc<Shared>> {
    let path = resolve(&config.path, config.creates())?;
    let mut settings = config.clone();
    settings.path.clone_from(&path);
    let durability = config.durability;
    let value_cache = config.value_cache_size;
    open_shared(
        "redb",
        path.clone(),
        Settings::Redb(settings),
        durability,
        value_cache,
        || open_engine(&config, &path),
    )
}

fn open_engine(config: &RedbConfig, path: &Path) -> Result<(Box<dyn Engine>, u64)> {
    let mut builder = Database::builder();
    if let Some(bytes) = config.cache_size {
        builder.set_cache_size(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    let db = open_database(&builder, path, config.creates())?;
    let counter = prepare(&db, path)?;
    let durability = match config.durability {
        RedbDurability::Immediate => redb::Durability::Immediate,
        RedbDurability::None => redb::Durability::None,
    };
    Ok((Box::new(RedbEngine { db, durability }), counter))
}

/// A read transaction; each table is opened when first needed.
struct RedbRead {
    txn: ReadTransaction,
    meta: OnceCell<ReadOnlyTable<&'static str, &'static [u8]>>,
    values: OnceCell<ReadOnlyTable<&'static str, &'static [u8]>>,
}

impl RedbRead {
    fn table(&self, table: Table) -> Result<&ReadOnlyTable<&'static str, &'static [u8]>> {
        let slot = match table {
            Table::Meta => &self.meta,
            Table::Values => &self.values,
        };
        if let Some(opened) = slot.get() {
            return Ok(opened);
        }
        let opened = self
            .txn
            .open_table(def(table))
            .map_err(|e| redb_error("open a table", e))?;
        Ok(slot.get_or_init(|| opened))
    }
}

impl Rows for RedbRead {
    fn get(&self, table: Table, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool> {
        let row = self
            .table(table)?
            .get(key)
            .map_err(|e| redb_error("read a row", e))?;
        Ok(row.map(|row| found(row.value())).is_some())
    }
}

impl ReadRows for RedbRead {
    fn scan(
        &self,
        table: Table,
        from: Bound<&str>,
        each: &mut dyn FnMut(&str, &[u8]) -> bool,
    ) -> Result<()> {
        let range = self
            .table(table)?
            .range::<&str>((from, Bound::Unbounded))
            .map_err(|e| redb_error("list", e))?;
        for row in range {
            let (key, value) = row.map_err(|e| redb_error("list", e))?;
            if !each(key.value(), value.value()) {
                break;
            }
        }
        Ok(())
    }
}

/// The tables of a write transaction.
struct RedbWrite<'txn> {
    meta: redb::Table<'txn, &'static str, &'static [u8]>,
    values: redb::Table<'txn, &'static str, &'static [u8]>,
    format: redb::Table<'txn, &'static str, &'static [u8]>,
}

impl<'txn> RedbWrite<'txn> {
    fn table(&self, table: Table) -> &redb::Table<'txn, &'static str, &'static [u8]> {
        match table {
            Table::Meta => &self.meta,
            Table::Values => &self.values,
        }
    }

    fn table_mut(&mut self, table: Table) -> &mut redb::Table<'txn, &'static str, &'static [u8]> {
        match table {
            Table::Meta => &mut self.meta,
            Table::Values => &mut self.values,
        }
    }
}

impl Rows for RedbWrite<'_> {
    fn get(&self, table: Table, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool> {
        let row = self
            .table(table)
            .get(key)
            .map_err(|e| redb_error("read a row", e))?;
        Ok(row.map(|row| found(row.value())).is_some())
    }
}

impl WriteRows for RedbWrite<'_> {
    fn put(
        &mut self,
        table: Table,
        key: &str,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<()> {
        let mut row = self
            .table_mut(table)
            .insert_reserve(key, len)
            .map_err(|e| redb_error("write a row", e))?;
        fill(row.as_mut());
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &str) -> Result<()> {
        self.table_mut(table)
            .remove(key)
            .map_err(|e| redb_error("delete a row", e))?;
        Ok(())
    }

    fn put_counter(&mut self, name: &str, row: &[u8]) -> Result<()> {
        self.format
            .insert(name, row)
            .map_err(|e| redb_error("store a counter", e))?;
        Ok(())
    }
}

impl Engine for RedbEngine {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadRows) -> Result<()>) -> Result<()> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| redb_error("begin a read transaction", e))?;
        f(&RedbRead {
            txn,
            meta: OnceCell::new(),
            values: OnceCell::new(),
        })
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteRows) -> Result<()>) -> Result<()> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| redb_error("begin a write transaction", e))?;
        txn.set_durability(self.durability)
            .map_err(|e| redb_error("set durability", e))?;
        {
            let open = |def: Def, what: &str| txn.open_table(def).map_err(|e| redb_error(what, e));
            let mut tables = RedbWrite {
                meta: open(META, "open meta")?,
                values: open(VALUES, "open values")?,
                format: open(FORMAT, "open the format table")?,
            };
            // Dropping `txn` unused aborts it.
            f(&mut tables)?;
        }
        txn.commit()
            .map_err(|e| redb_error("commit a write group", e))
    }

    fn sync(&self) -> Result<()> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| redb_error("begin a write transaction", e))?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(|e| redb_error("set durability", e))?;
        txn.commit().map_err(|e| redb_error("durable commit", e))
    }

    fn compact(&mut self) -> Result<bool> {
        match self.db.compact() {
            Ok(done) => Ok(done),
            Err(redb::CompactionError::TransactionInProgress) => Err(Error::unavailable(
                "compact: read transactions stayed open (long lists or reads); try again",
            )),
            Err(e) => Err(redb_error("compact", e)),
        }
    }
}

/// Whether this process has the redb file `path` open.
pub(crate) fn is_open(path: &Path) -> bool {
    resolve(path, false).is_ok_and(|p| crate::open::is_open(&p))
}
