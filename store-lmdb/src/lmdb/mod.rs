//! The LMDB engine (through heed; LMDB is compiled from its vendored C source): one
//! environment directory, three named databases holding the rows of `codec.rs`, exactly
//! as redb's three tables do.
//!
//! - **Layout.** `strata_meta`, `strata_values` and `strata_format` (the counter rows),
//!   keys as the key's UTF-8 bytes (LMDB orders them bytewise, which is Strata's key
//!   order). Built with heed's `longer-keys`, so keys up to LMDB's page-derived limit
//!   (about 2 KiB on 4 KiB pages) fit Strata's 1 KiB keys.
//! - **Durability.** `immediate`: LMDB's default, every commit fsynced. `none`:
//!   `MDB_NOSYNC`, so a commit reaches the OS page cache only; `flush` (and the last
//!   handle's close) calls `mdb_env_sync`. A killed process loses nothing acknowledged;
//!   an OS crash or power loss before a flush can lose recent commits.
//! - **One process.** LMDB lets several processes share an environment, but the writer
//!   keeps the version counter in memory, so a second process writing would hand out the
//!   same versions. Each open therefore takes an exclusive lock on `strata.lock` in the
//!   directory: another process gets `Locked`. In this process, `open.rs` shares one
//!   environment per directory (LMDB forbids opening one twice).
//! - **Full map.** LMDB never grows past its map: a write that needs more fails with
//!   `Unsupported` naming `map_size` (its group fails; the environment stays usable).

mod config;
mod errors;
mod factory;
mod store;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RoTxn, RwTxn, WithoutTls};
use store_core::{Error, ErrorKind, Result};

pub use config::{DEFAULT_MAP_SIZE, LmdbConfig, LmdbDurability};
pub use factory::LmdbFactory;
pub use store::LmdbStore;

use crate::codec::{FORMAT_VERSION, decode_counter, encode_counter};
use crate::config::RedbDurability;
use crate::dirs::create_dirs;
use crate::engine::{Engine, FORMAT_ROW, ReadRows, Rows, Table, VERSION_COUNTER, WriteRows};
use crate::open::{Settings, Shared, open_shared};
use errors::lmdb_error;

/// The lock file that keeps a second process out.
const LOCK_FILE: &str = "strata.lock";
/// LMDB's data file in the environment directory.
const DATA_FILE: &str = "data.mdb";

type Db = Database<Bytes, Bytes>;

/// The three databases of an environment.
#[derive(Clone, Copy)]
struct Dbs {
    meta: Db,
    values: Db,
    format: Db,
}

impl Dbs {
    fn of(&self, table: Table) -> Db {
        match table {
            Table::Meta => self.meta,
            Table::Values => self.values,
        }
    }
}

/// An open environment.
struct LmdbEngine {
    env: Env<WithoutTls>,
    dbs: Dbs,
    path: PathBuf,
    map_size: u64,
    durability: RedbDurability,
    /// Held (exclusively locked) while the environment is open; see the module docs.
    _lock: File,
}

impl LmdbEngine {
    fn error(&self, context: &str, e: heed::Error) -> Error {
        lmdb_error(context, &self.path, self.map_size, e)
    }
}

/// The canonical directory of the environment `path` names, created if missing and
/// `create` allows; otherwise a missing one is `NotFound`, and nothing is created.
fn resolve(path: &Path, create: bool) -> Result<PathBuf> {
    let missing = || {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "no LMDB environment at `{}`, and creation is off (`create = false`), so \
                 nothing was created",
                path.display()
            ),
        )
    };
    if !path.join(DATA_FILE).is_file() {
        if !create {
            return Err(missing());
        }
        if !path.is_dir() {
            create_dirs(path)
                .map_err(|e| Error::io(format!("create the directory `{}`", path.display()), e))?;
        }
    }
    std::fs::canonicalize(path).map_err(|e| Error::io(format!("resolve `{}`", path.display()), e))
}

/// Open (or share) the environment `config` names. Blocking: call it off the runtime.
pub(crate) fn open_blocking(config: LmdbConfig) -> Result<Arc<Shared>> {
    let path = resolve(&config.path, config.creates())?;
    let mut settings = config.clone();
    settings.path.clone_from(&path);
    open_shared(
        "lmdb",
        path.clone(),
        Settings::Lmdb(settings),
        config.durability,
        config.value_cache_size,
        || open_engine(&config, path),
    )
}

fn open_engine(config: &LmdbConfig, path: PathBuf) -> Result<(Box<dyn Engine>, u64)> {
    let lock_path = path.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("open `{}`", lock_path.display()), e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "the LMDB environment `{}` is already open in another process",
                    path.display()
                ),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::io(format!("lock `{}`", lock_path.display()), e));
        }
    }
    let map_size = config.map_bytes();
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options
        .map_size(usize::try_from(map_size).unwrap_or(usize::MAX))
        .max_dbs(3)
        // A reader slot per concurrent read transaction: above tokio's blocking pool
        // (512 threads by default), so reads never fail for want of a slot.
        .max_readers(1024);
    let err = |context: &str, e| lmdb_error(context, &path, map_size, e);
    if config.durability == RedbDurability::None {
        // SAFETY: MDB_NOSYNC only skips the fsync at commit; LMDB stays consistent for
        // every process crash, and `flush`/close force a sync (see the module docs).
        #[allow(unsafe_code)]
        unsafe {
            options.flags(EnvFlags::NO_SYNC);
        }
    }
    // SAFETY: the map is only unsound if the file is modified behind LMDB's back. Our
    // `strata.lock` (taken above) keeps other Strata processes out, `open.rs` keeps one
    // environment per directory in this process, and every access goes through LMDB's
    // transactions; other programs writing the file are outside the contract, as for
    // every embedded database.
    #[allow(unsafe_code)]
    let env = unsafe { options.open(&path) }.map_err(|e| err("open the environment", e))?;
    let mut txn = env
        .write_txn()
        .map_err(|e| err("begin a write transaction", e))?;
    let mut create = |name: &str| {
        env.create_database::<Bytes, Bytes>(&mut txn, Some(name))
            .map_err(|e| err("open a database", e))
    };
    let dbs = Dbs {
        meta: create("strata_meta")?,
        values: create("strata_values")?,
        format: create("strata_format")?,
    };
    let found = read_counters(&txn, dbs.format, &path, map_size)?;
    if found.is_none() {
        for (name, value) in [(FORMAT_ROW, FORMAT_VERSION), (VERSION_COUNTER, 0)] {
            dbs.format
                .put(&mut txn, name.as_bytes(), &encode_counter(name, value))
                .map_err(|e| err("write the format rows", e))?;
        }
    }
    // Committed even when nothing changed: database handles opened in an aborted
    // transaction are closed with it.
    txn.commit()
        .map_err(|e| err("commit the table layout", e))?;
    if found.is_none() {
        // Even with `none`, a new environment's layout is durable before first use.
        env.force_sync().map_err(|e| err("sync", e))?;
    }
    let counter = found.unwrap_or(0);
    let engine = LmdbEngine {
        env,
        dbs,
        path,
        map_size,
        durability: config.durability,
        _lock: lock,
    };
    Ok((Box::new(engine), counter))
}

/// The version counter of an initialised environment (`None` for a new one), after
/// checking its format.
fn read_counters(txn: &RwTxn<'_>, format: Db, path: &Path, map_size: u64) -> Result<Option<u64>> {
    let corrupted = |why: String| {
        Error::new(
            ErrorKind::Corrupted,
            format!(
                "the LMDB environment `{}` is damaged: {why}",
                path.display()
            ),
        )
    };
    let read = |name: &str| -> Result<Option<u64>> {
        let row = format
            .get(txn, name.as_bytes())
            .map_err(|e| lmdb_error("read the format rows", path, map_size, e))?;
        row.map(|row| decode_counter(name, row).map_err(&corrupted))
            .transpose()
    };
    let Some(version) = read(FORMAT_ROW)? else {
        return Ok(None);
    };
    if version != FORMAT_VERSION {
        return Err(Error::unsupported(format!(
            "`{}` is in Strata's format {version}; this build reads format {FORMAT_VERSION} \
             (a newer Strata wrote it: open it with that version)",
            path.display()
        )));
    }
    read(VERSION_COUNTER)?
        .map(Some)
        .ok_or_else(|| corrupted(format!("its `{VERSION_COUNTER}` row is missing")))
}

fn get(
    engine: &LmdbEngine,
    txn: &RoTxn<'_, WithoutTls>,
    table: Table,
    key: &str,
    found: &mut dyn FnMut(&[u8]),
) -> Result<bool> {
    let row = engine
        .dbs
        .of(table)
        .get(txn, key.as_bytes())
        .map_err(|e| engine.error("read a row", e))?;
    Ok(row.map(found).is_some())
}

/// A read transaction.
struct LmdbRead<'e> {
    engine: &'e LmdbEngine,
    txn: RoTxn<'e, WithoutTls>,
}

impl Rows for LmdbRead<'_> {
    fn get(&self, table: Table, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool> {
        get(self.engine, &self.txn, table, key, found)
    }
}

impl ReadRows for LmdbRead<'_> {
    fn scan(
        &self,
        table: Table,
        from: Bound<&str>,
        each: &mut dyn FnMut(&str, &[u8]) -> bool,
    ) -> Result<()> {
        // LMDB refuses an empty key, even as a bound: "from the empty key" is "from the start".
        let from = match from {
            Bound::Included("") => Bound::Unbounded,
            other => other.map(str::as_bytes),
        };
        let range = self
            .engine
            .dbs
            .of(table)
            .range(&self.txn, &(from, Bound::Unbounded))
            .map_err(|e| self.engine.error("list", e))?;
        for row in range {
            let (key, value) = row.map_err(|e| self.engine.error("list", e))?;
            // A key that is not UTF-8 is damage: its lossy spelling fails its row's
            // checksum (which binds the key), so it is reported, not skipped.
            let key: Cow<'_, str> = String::from_utf8_lossy(key);
            if !each(&key, value) {
                break;
            }
        }
        Ok(())
    }
}

/// A write transaction.
struct LmdbWrite<'e> {
    engine: &'e LmdbEngine,
    txn: RwTxn<'e>,
}

impl Rows for LmdbWrite<'_> {
    fn get(&self, table: Table, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool> {
        get(self.engine, &self.txn, table, key, found)
    }
}

impl WriteRows for LmdbWrite<'_> {
    fn put(
        &mut self,
        table: Table,
        key: &str,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<()> {
        self.engine
            .dbs
            .of(table)
            .put_reserved(&mut self.txn, key.as_bytes(), len, |space| {
                // Zeroing first gives a safe view of the whole reserved space.
                space.fill_zeroes();
                fill(space.written_mut());
                Ok(())
            })
            .map_err(|e| self.engine.error("write a row", e))
    }

    fn delete(&mut self, table: Table, key: &str) -> Result<()> {
        self.engine
            .dbs
            .of(table)
            .delete(&mut self.txn, key.as_bytes())
            .map_err(|e| self.engine.error("delete a row", e))?;
        Ok(())
    }

    fn put_counter(&mut self, name: &str, row: &[u8]) -> Result<()> {
        self.engine
            .dbs
            .format
            .put(&mut self.txn, name.as_bytes(), row)
            .map_err(|e| self.engine.error("store a counter", e))
    }
}

impl Engine for LmdbEngine {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadRows) -> Result<()>) -> Result<()> {
        let txn = self
            .env
            .read_txn()
            .map_err(|e| self.error("begin a read transaction", e))?;
        f(&LmdbRead { engine: self, txn })
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteRows) -> Result<()>) -> Result<()> {
        let txn = self
            .env
            .write_txn()
            .map_err(|e| self.error("begin a write transaction", e))?;
        let mut rows = LmdbWrite { engine: self, txn };
        // On an error, dropping the transaction aborts it.
        f(&mut rows)?;
        rows.txn
            .commit()
            .map_err(|e| self.error("commit a write group", e))
    }

    fn sync(&self) -> Result<()> {
        if self.durability == RedbDurability::Immediate {
            return Ok(());
        }
        self.env.force_sync().map_err(|e| self.error("sync", e))
    }
}

/// Whether this process has the environment `path` open.
pub(crate) fn is_open(path: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| crate::open::is_open(&p))
}
